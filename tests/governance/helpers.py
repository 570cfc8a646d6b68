"""What the contact-governance tests share: history written directly at a given age."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from events.models import Invitation
from tests.factories import InvitationFactory, RegistrationFactory, SessionFactory, UserFactory


def invited_days_ago(event, email: str, days: float, **fields) -> Invitation:
    """An invitation from `event`'s team, `days` old (answered: it blocks no new one by itself)."""
    invitation = InvitationFactory(event=event, email=email, status="declined", **fields)
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )
    return invitation


def attended_days_ago(event, email: str, days: float):
    """`email` attended (checked in) a session of `event`'s team `days` ago."""
    starts = timezone.now() - timedelta(days=days)
    session = SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=1))
    user = User.objects.filter(email=email).first() or UserFactory(email=email)
    return RegistrationFactory(session=session, user=user, checked_in_at=starts)
