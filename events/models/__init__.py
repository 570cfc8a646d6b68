from .event import Event, ScreeningQuestion, Session, TermsAcceptance
from .notification import Notification
from .registration import Registration, RegistrationChange

__all__ = [
    "Event",
    "Notification",
    "Registration",
    "RegistrationChange",
    "ScreeningQuestion",
    "Session",
    "TermsAcceptance",
]
