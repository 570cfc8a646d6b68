from .event import Event, ScreeningQuestion, Session, TermsAcceptance
from .invitation import Invitation
from .notification import Notification
from .questionnaire import Answer, Question, Questionnaire, Response
from .registration import Registration, RegistrationChange
from .survey import Survey, SurveyRecipient, SurveySending

__all__ = [
    "Answer",
    "Event",
    "Invitation",
    "Notification",
    "Question",
    "Questionnaire",
    "Registration",
    "RegistrationChange",
    "Response",
    "ScreeningQuestion",
    "Session",
    "Survey",
    "SurveyRecipient",
    "SurveySending",
    "TermsAcceptance",
]
