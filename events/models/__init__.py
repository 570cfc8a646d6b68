from .event import Event, ScreeningQuestion, Session, TermsAcceptance
from .invitation import Invitation
from .notification import Notification
from .registration import Registration, RegistrationChange

__all__ = [
    "Event",
    "Invitation",
    "Notification",
    "Registration",
    "RegistrationChange",
    "ScreeningQuestion",
    "Session",
    "TermsAcceptance",
]
