from .api import ApiToken, IdempotentRequest
from .audit import AuditEntry
from .calendar_reply import CalendarReply
from .contact import ContactBlock, ContactSuppression
from .event import Event, Session, TermsAcceptance
from .invitation import Invitation
from .notification import DeliveryCount, Notification
from .open_call import CallQuota, CallRule, OpenCall, PoolTag, Review, Submission
from .panel import Draw, PanelAttribute, PanelErasure, PanelMember, Segment
from .questionnaire import Answer, Choice, Question, Questionnaire, Response
from .registration import Registration, RegistrationChange
from .retention import PanelRenewal, RetentionLog
from .survey import Survey, SurveyRecipient, SurveySending
from .team import Membership, Role, Team, TeamHistory, TeamInvitation
from .themes import Theme, ThemeAnswer, ThemeSet
from .tombstone import Tombstone
from .webhook import WebhookEndpoint, WebhookMessage

__all__ = [
    "Answer",
    "ApiToken",
    "AuditEntry",
    "CalendarReply",
    "CallQuota",
    "CallRule",
    "Choice",
    "ContactBlock",
    "ContactSuppression",
    "DeliveryCount",
    "Draw",
    "Event",
    "IdempotentRequest",
    "Invitation",
    "Membership",
    "Notification",
    "OpenCall",
    "PanelAttribute",
    "PanelErasure",
    "PanelMember",
    "PanelRenewal",
    "PoolTag",
    "Question",
    "Questionnaire",
    "Registration",
    "RegistrationChange",
    "Response",
    "RetentionLog",
    "Review",
    "Role",
    "Segment",
    "Session",
    "Submission",
    "Survey",
    "SurveyRecipient",
    "SurveySending",
    "Team",
    "TeamHistory",
    "TeamInvitation",
    "TermsAcceptance",
    "Theme",
    "ThemeAnswer",
    "ThemeSet",
    "Tombstone",
    "WebhookEndpoint",
    "WebhookMessage",
]
