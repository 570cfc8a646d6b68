"""Teams and their members: creating a team, adding members, changing roles, removing people.
Every change is written to the team's history in the same transaction, with who did it.

The one rule that needs care: a team always keeps at least one owner. Every change that could
take away an owner locks the team row first, so two owners demoting (or removing) each other
at once are serialized, and the second one sees the first one's change."""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User, validate_timezone

from ..models import Membership, Notification, Role, Team, TeamHistory, TeamInvitation
from ..models.team import new_nonce
from ..outbox import owe
from . import ServiceError, audit
from .contact import check_settings as check_contact_rules

History = TeamHistory.Action
TEAM_FIELDS = {
    "name",
    "slug",
    "timezone",
    "language",
    "reviewers_may_export",
    # The contact rules (services.contact).
    "invite_cooldown_days",
    "attended_cooldown_days",
    "max_invitations_per_90_days",
}


def may_create_team(user: User) -> bool:
    """TEAM_CREATION "open": any verified user; "staff": staff only."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if getattr(settings, "TEAM_CREATION", "staff") != "open":
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def _record(
    team: Team,
    *,
    actor: User | None,
    action: str,
    subject: str = "",
    role: str = "",
    previous_role: str = "",
) -> None:
    TeamHistory.objects.create(
        team=team,
        actor=actor,
        action=action,
        subject_email=subject,
        role=role,
        previous_role=previous_role,
    )


def _check_fields(team: Team) -> None:
    name = team.name.strip()
    if not name:
        raise ServiceError(_("A team needs a name."))
    if "\x00" in name or len(name) > 100:
        raise ServiceError(_("A team's name is at most 100 characters."))
    team.name = name
    team.slug = slugify(team.slug or name)[:50].strip("-")
    if not team.slug:
        raise ServiceError(_("A team needs a short name of letters, numbers and hyphens."))
    try:
        validate_timezone(team.timezone)
    except ValidationError:
        raise ServiceError(
            _("%(zone)s is not a known time zone.") % {"zone": team.timezone}
        ) from None
    if team.language not in Team.Language.values:
        raise ServiceError(_("The team's language is English or French."))
    check_contact_rules(team)
    if Team.objects.filter(slug=team.slug).exclude(pk=team.pk).exists():
        raise ServiceError(
            _("The short name %(slug)s is taken; choose another.") % {"slug": team.slug}
        )


@transaction.atomic
def create_team(*, actor: User, owner: User | None = None, **fields: object) -> Team:
    """A new team, with `owner` (the actor by default) as its first owner. Whether the actor
    may create teams at all is the caller's check (may_create_team; the admin and the
    create_team command are staff-only)."""
    unknown = set(fields) - TEAM_FIELDS
    if unknown:
        raise TypeError(f"Unknown team fields: {sorted(unknown)}")
    team = Team(**fields)
    _check_fields(team)
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        # Two teams created at once with one short name: the unique index decides.
        raise ServiceError(
            _("The short name %(slug)s is taken; choose another.") % {"slug": team.slug}
        ) from None
    first = owner or actor
    Membership.objects.create(team=team, user=first, role=Role.OWNER)
    _record(team, actor=actor, action=History.CREATED)
    _record(team, actor=actor, action=History.ADDED, subject=first.email, role=Role.OWNER)
    audit.record(
        actor=actor,
        action="team.created",
        team=team,
        target=team,
        summary={"fields": audit.snapshot(team, ["name", "slug"]), "owner": first.pk},
    )
    return team


@transaction.atomic
def update_team(*, team: Team, actor: User, **changes: object) -> Team:
    unknown = set(changes) - TEAM_FIELDS
    if unknown:
        raise TypeError(f"Unknown team fields: {sorted(unknown)}")
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = audit.snapshot(team, set(changes))
    for name, value in changes.items():
        setattr(team, name, value)
    _check_fields(team)
    team.save()
    _record(team, actor=actor, action=History.SETTINGS_CHANGED)
    if diff := audit.changes(before, audit.snapshot(team, before)):
        audit.record(
            actor=actor, action="team.updated", team=team, target=team, summary={"changes": diff}
        )
    return team


def _role(role: str) -> str:
    if role not in Role.values:
        raise ServiceError(_("Choose one of the roles: owner, organizer, reviewer or door staff."))
    return role


@transaction.atomic
def add_member(
    *, team: Team, actor: User | None, user: User, role: str, action: str = History.ADDED
) -> Membership:
    """Add `user` with `role`; someone already in the team keeps their membership and gets the
    new role only through change_role."""
    _role(role)
    Team.objects.select_for_update().filter(pk=team.pk).first()
    membership, created = Membership.objects.get_or_create(
        team=team, user=user, defaults={"role": role}
    )
    if not created:
        raise ServiceError(_("%(email)s is already in the team.") % {"email": user.email})
    _record(team, actor=actor, action=action, subject=user.email, role=role)
    audit.record(
        actor=actor,
        action="member.added",
        team=team,
        target=membership,
        summary={"user": user.pk, "role": role},
    )
    return membership


def _owners_left(team: Team, *, without: Membership) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).exclude(pk=without.pk).count()


def _locked(team: Team, membership: Membership) -> Membership:
    """Lock the team (the owners' rule is about all its members), then re-read the membership:
    it may have changed, or gone, since the page was shown."""
    Team.objects.select_for_update().get(pk=team.pk)
    try:
        return Membership.objects.select_related("user").get(pk=membership.pk, team=team)
    except Membership.DoesNotExist:
        raise ServiceError(_("That person is no longer in the team.")) from None


@transaction.atomic
def change_role(*, team: Team, actor: User, membership: Membership, role: str) -> Membership:
    """Give a member another role. The last owner cannot stop being one."""
    _role(role)
    membership = _locked(team, membership)
    previous = membership.role
    if previous == role:
        return membership
    if previous == Role.OWNER and _owners_left(team, without=membership) == 0:
        raise ServiceError(_("A team needs at least one owner: make someone else owner first."))
    membership.role = role
    membership.save(update_fields=["role"])
    _record(
        team,
        actor=actor,
        action=History.ROLE_CHANGED,
        subject=membership.user.email,
        role=role,
        previous_role=previous,
    )
    audit.record(
        actor=actor,
        action="member.role_changed",
        team=team,
        target=membership,
        summary={"user": membership.user_id, "changes": {"role": [previous, role]}},
    )
    return membership


@transaction.atomic
def remove_member(*, team: Team, actor: User, membership: Membership) -> None:
    """Take someone out of the team (or, when it is the actor, leave it). The last owner
    stays. Their access ends with their next request: every page reads membership afresh."""
    membership = _locked(team, membership)
    if membership.role == Role.OWNER and _owners_left(team, without=membership) == 0:
        raise ServiceError(_("A team needs at least one owner: make someone else owner first."))
    leaving = membership.user_id == actor.pk
    membership_id = membership.pk
    membership.delete()
    _record(
        team,
        actor=actor,
        action=History.LEFT if leaving else History.REMOVED,
        subject=membership.user.email,
        previous_role=membership.role,
    )
    audit.record(
        actor=actor,
        action="member.left" if leaving else "member.removed",
        team=team,
        object_type="membership",
        object_id=membership_id,
        summary={"user": membership.user_id, "role": membership.role},
    )


@transaction.atomic
def delete_team(*, team: Team, actor: User) -> None:
    """Delete an empty team. A team's events and calls carry people's registrations and
    submissions; they are never deleted as a side effect of deleting the team."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.events.exists() or team.calls.exists():
        raise ServiceError(_("This team still has events or open calls; it cannot be deleted."))
    team.delete()


# Invitations: members join by email. The link carries a signed (id, nonce); the nonce changes
# when the invitation is sent again, so only the latest link works. Opening it shows a page;
# accepting is a POST by the invited, verified address (the join view, accept_invitation).

JOIN_SALT = "events.team_invitation"  # a signing namespace, not a secret


def join_token(invitation: TeamInvitation, nonce: str | None = None) -> str:
    # No timestamp in it: the expiry is the invitation's own (expires_at), and one mail
    # rendered twice (a retry) carries the same link.
    return signing.Signer(salt=JOIN_SALT).sign_object(
        {"t": invitation.pk, "n": nonce or invitation.nonce}
    )


def from_join_token(token: str) -> tuple[TeamInvitation | None, str]:
    """The invitation a join link names and the nonce it carries; (None, "") when the link was
    not made by us (tampered, truncated) or names no invitation."""
    try:
        data = signing.Signer(salt=JOIN_SALT).unsign_object(token)
        pk, nonce = int(data["t"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, ""
    invitation = TeamInvitation.objects.select_related("team", "invited_by").filter(pk=pk).first()
    return invitation, nonce if invitation else ""


def why_closed(invitation: TeamInvitation, nonce: str) -> str:
    """Why the link with `nonce` can no longer be used to join ('' when it can)."""
    if invitation.accepted_at is not None:
        return _("This invitation has been used already: it lets one person join, once.")
    if invitation.revoked_at is not None:
        return _("The team's owners withdrew this invitation. Ask them for a new one.")
    if invitation.nonce != nonce:
        return _(
            "The team's owners sent this invitation again since: only the link in the "
            "latest email works."
        )
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask the team's owners to send it again.")
    return ""


def is_pending(invitation: TeamInvitation) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > timezone.now()
    )


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        if len(email) > 254:  # what the column holds (RFC 5321's limit on a path)
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        if not email:
            raise ServiceError(_("An empty address is not an email address.")) from None
        raise ServiceError(_("%(email)s is not an email address.") % {"email": email}) from None
    return email


def _member_with(team: Team, email: str) -> bool:
    users = EmailAddress.objects.filter(email__iexact=email).values("user")
    return Membership.objects.filter(
        Q(user__email__iexact=email) | Q(user__in=users), team=team
    ).exists()


def _owe_invitation(invitation: TeamInvitation) -> Notification:
    recipient = User.objects.filter(email__iexact=invitation.email).first()
    return owe.owe(
        kind=Notification.Kind.TEAM_INVITATION,
        about=[f"team{invitation.team_id}", f"tinv{invitation.pk}", invitation.nonce],
        email=invitation.email,
        payload={"nonce": invitation.nonce},
        fresh=True,
        recipient=recipient,
        team_invitation=invitation,
    )


def _expiry() -> timedelta:
    return timedelta(days=getattr(settings, "TEAM_INVITATION_DAYS", 7))


@transaction.atomic
def invite_member(*, team: Team, actor: User, email: str, role: str) -> TeamInvitation:
    """Invite `email` to join with `role`: an invitation mail, owed through the outbox, with a
    link valid for TEAM_INVITATION_DAYS. Someone already in the team, or an address with an
    invitation still open, is refused (resend or revoke that one instead)."""
    email = _clean_email(email)
    _role(role)
    Team.objects.select_for_update().get(pk=team.pk)
    if _member_with(team, email):
        raise ServiceError(_("%(email)s is already in the team.") % {"email": email})
    open_one = (
        TeamInvitation.objects.filter(
            team=team,
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-expires_at")
        .first()
    )
    if open_one is not None:
        raise ServiceError(
            _("%(email)s has an invitation already: send it again, or revoke it, below.")
            % {"email": email}
        )
    invitation = TeamInvitation.objects.create(
        team=team,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + _expiry(),
    )
    _record(team, actor=actor, action=History.INVITED, subject=email, role=role)
    _audit_invitation(actor, "team_invitation.sent", invitation)
    _owe_invitation(invitation)
    return invitation


def _audit_invitation(actor: User, action: str, invitation: TeamInvitation) -> None:
    # The address is the invitation's (and the team history's); the log names it by id.
    audit.record(
        actor=actor,
        action=action,
        team=invitation.team_id,
        target=invitation,
        summary={"role": invitation.role},
    )


def _locked_invitation(team: Team, invitation: TeamInvitation) -> TeamInvitation:
    Team.objects.select_for_update().get(pk=team.pk)
    try:
        return TeamInvitation.objects.select_for_update().get(pk=invitation.pk, team=team)
    except TeamInvitation.DoesNotExist:
        raise ServiceError(_("That invitation is not one of this team's.")) from None


@transaction.atomic
def resend_invitation(*, team: Team, actor: User, invitation: TeamInvitation) -> TeamInvitation:
    """Send the invitation again with a new link and a new expiry; the old link stops
    working. An expired invitation may be sent again; an accepted or revoked one may not."""
    invitation = _locked_invitation(team, invitation)
    if invitation.accepted_at is not None:
        raise ServiceError(_("%(email)s has joined already.") % {"email": invitation.email})
    if invitation.revoked_at is not None:
        raise ServiceError(_("That invitation was revoked; invite the person again instead."))
    if _member_with(team, invitation.email):
        raise ServiceError(_("%(email)s is already in the team.") % {"email": invitation.email})
    invitation.nonce = new_nonce()
    invitation.expires_at = timezone.now() + _expiry()
    invitation.save(update_fields=["nonce", "expires_at"])
    _record(
        team,
        actor=actor,
        action=History.INVITATION_RESENT,
        subject=invitation.email,
        role=invitation.role,
    )
    _audit_invitation(actor, "team_invitation.resent", invitation)
    _owe_invitation(invitation)
    return invitation


@transaction.atomic
def revoke_invitation(*, team: Team, actor: User, invitation: TeamInvitation) -> TeamInvitation:
    """Withdraw an invitation: its link stops working, and a mail not yet sent is skipped."""
    invitation = _locked_invitation(team, invitation)
    if invitation.accepted_at is not None:
        raise ServiceError(
            _("%(email)s has joined already: remove them from the team instead.")
            % {"email": invitation.email}
        )
    if invitation.revoked_at is not None:
        raise ServiceError(_("That invitation was revoked already."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _record(
        team,
        actor=actor,
        action=History.INVITATION_REVOKED,
        subject=invitation.email,
        role=invitation.role,
    )
    _audit_invitation(actor, "team_invitation.revoked", invitation)
    return invitation


def has_verified(user: User, email: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    """Join the team with the invited role. Only with the link of the latest mail, before it
    expires, once, and only as an account for which the invited address is verified. The team
    and the invitation are locked first, so two clicks (or two tabs) add one membership."""
    found, nonce = from_join_token(token)
    if found is None:
        raise ServiceError(_("This join link is not valid: it may be mistyped or cut short."))
    invitation = _locked_invitation(found.team, found)
    closed = why_closed(invitation, nonce)
    if closed:
        raise ServiceError(closed)
    if not has_verified(user, invitation.email):
        raise ServiceError(
            _(
                "This invitation was sent to %(invited)s, and you are logged in as %(you)s. "
                "Log in with %(invited)s (or add it to your account and verify it) to join."
            )
            % {"invited": invitation.email, "you": user.email}
        )
    team = invitation.team
    if Membership.objects.filter(team=team, user=user).exists():
        raise ServiceError(_("You are already in %(team)s.") % {"team": team.name})
    membership = Membership.objects.create(team=team, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _record(team, actor=user, action=History.JOINED, subject=user.email, role=invitation.role)
    return membership
