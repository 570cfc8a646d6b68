"""The invitations domain's messages: an invitation and its reminder, with the one-click
link of the current nonce. Both are programme mail (see events/messages/__init__.py)."""

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from .. import timefmt
from ..models import Invitation, Notification
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services.invitations import token_for

Kind = Notification.Kind


def _invitation(notification: Notification) -> Invitation:
    # These kinds are owed with their invitation, and deleted with it (CASCADE).
    invitation = notification.invitation
    assert invitation is not None
    return invitation


def context(notification: Notification, context: dict) -> None:
    invitation = _invitation(notification)
    if context["recipient"] is None:
        context["recipient_name"] = invitation.name
    if context["session"] is None:
        context["event"] = invitation.event  # an event-wide invitation
    token = token_for(invitation, nonce=notification.payload.get("nonce"))
    context["links"]["invitation"] = absolute(reverse("events:invitation", args=[token]))
    context["invitation_expires"] = timefmt.deadline_text(
        invitation.expires_at, context["recipient_zone"]
    )


def still_relevant(notification: Notification) -> str:
    invitation = _invitation(notification)
    if invitation.status != invitation.Status.PENDING or invitation.expires_at <= timezone.now():
        return gettext_noop(
            "The invitation was answered, withdrawn or expired before the mail went out."
        )
    if invitation.nonce != notification.payload.get("nonce"):
        return gettext_noop("The invitation was sent again with a new link.")
    return ""


def team_of(notification: Notification) -> int:
    return _invitation(notification).event.team_id


def language(notification: Notification) -> str:
    """An invitee without an account reads the language they last used on the invitation's
    page, else their team's default."""
    invitation = _invitation(notification)
    return invitation.language or invitation.event.team.language


def prefetch(rows: list[Notification]) -> None:
    invitations = Invitation.objects.select_related("event__team").in_bulk(
        [n.invitation_id for n in rows if n.invitation_id]
    )
    for notification in rows:
        if notification.invitation_id:
            notification.invitation = invitations[notification.invitation_id]


def sent(notification: Notification, now: datetime) -> None:
    # The invitations table shows when the invitation (or its reminder) really went out.
    field = "sent_at" if notification.kind == Kind.INVITATION else "reminder_sent_at"
    invitation_id = notification.invitation_id
    assert invitation_id is not None  # as in _invitation; the row itself is not loaded here
    Invitation.objects.filter(pk=invitation_id).update(**{field: now})


def register(registry: Registry) -> None:
    registry.register_many(
        [Kind.INVITATION, Kind.INVITATION_REMINDER],
        context=context,
        still_relevant=still_relevant,
        prefetch=prefetch,
        on_sent=sent,
        programme=team_of,
        language=language,
    )
