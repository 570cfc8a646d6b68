"""The teams' message: "you're invited to join a team", with its join link."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import timefmt
from ..models import Notification
from ..models.team import ROLE_HELP, Role
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services import teams


def context(notification: Notification, context: dict) -> None:
    invitation = notification.team_invitation
    if invitation is None:
        return  # the team is gone: the message is skipped, never rendered
    nonce = notification.payload.get("nonce") or invitation.nonce
    team = invitation.team
    inviter = invitation.invited_by
    # Someone without an account yet reads the expiry in the team's zone, not in UTC.
    zone = context["recipient_zone"] if notification.recipient else team.timezone
    context.update(
        team=team,
        role=Role(invitation.role).label,
        role_help=ROLE_HELP[Role(invitation.role)],
        inviter=inviter.name if inviter else _("The owners of {team}").format(team=team.name),
        expires=timefmt.deadline_text(invitation.expires_at, zone),
        recipient_zone=zone,
    )
    context["links"]["join"] = absolute(
        reverse("events:team_join", args=[teams.join_token(invitation, nonce=nonce)])
    )


def still_relevant(notification: Notification) -> str:
    invitation = notification.team_invitation
    if invitation is None:
        return gettext_noop("The team is gone.")
    return teams.why_closed(invitation, notification.payload.get("nonce", ""))


def language(notification: Notification) -> str:
    invitation = notification.team_invitation
    return invitation.team.language if invitation is not None else ""


def register(registry: Registry) -> None:
    registry.register(
        Notification.Kind.TEAM_INVITATION,
        context=context,
        still_relevant=still_relevant,
        related=("team_invitation__team", "team_invitation__invited_by"),
        language=language,
    )
