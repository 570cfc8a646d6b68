from .event import Event, Session, TermsAcceptance
from .invitation import Invitation
from .notification import Notification
from .open_call import OpenCall, PoolTag, Review, Submission
from .questionnaire import Answer, Choice, Question, Questionnaire, Response
from .registration import Registration, RegistrationChange
from .survey import Survey, SurveyRecipient, SurveySending

__all__ = [
    "Answer",
    "Choice",
    "Event",
    "Invitation",
    "Notification",
    "OpenCall",
    "PoolTag",
    "Question",
    "Questionnaire",
    "Registration",
    "RegistrationChange",
    "Response",
    "Review",
    "Session",
    "Submission",
    "Survey",
    "SurveyRecipient",
    "SurveySending",
    "TermsAcceptance",
]
