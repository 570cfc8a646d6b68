"""Teams and their members: creating a team, adding members, changing roles, removing people.
Every change is written to the team's history in the same transaction, with who did it.

The one rule that needs care: a team always keeps at least one owner. Every change that could
take away an owner locks the team row first, so two owners demoting (or removing) each other
at once are serialized, and the second one sees the first one's change."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import User, validate_timezone

from ..models import Membership, Role, Team, TeamHistory
from . import ServiceError

History = TeamHistory.Action
TEAM_FIELDS = {"name", "slug", "timezone", "language", "reviewers_may_export"}


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
        raise ServiceError("A team needs a name.")
    if "\x00" in name or len(name) > 100:
        raise ServiceError("A team's name is at most 100 characters.")
    team.name = name
    team.slug = slugify(team.slug or name)[:50].strip("-")
    if not team.slug:
        raise ServiceError("A team needs a short name of letters, numbers and hyphens.")
    try:
        validate_timezone(team.timezone)
    except ValidationError:
        raise ServiceError(f"{team.timezone} is not a known time zone.") from None
    if team.language not in Team.Language.values:
        raise ServiceError("The team's language is English or French.")
    if Team.objects.filter(slug=team.slug).exclude(pk=team.pk).exists():
        raise ServiceError(f"The short name {team.slug} is taken; choose another.")


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
        raise ServiceError(f"The short name {team.slug} is taken; choose another.") from None
    first = owner or actor
    Membership.objects.create(team=team, user=first, role=Role.OWNER)
    _record(team, actor=actor, action=History.CREATED)
    _record(team, actor=actor, action=History.ADDED, subject=first.email, role=Role.OWNER)
    return team


@transaction.atomic
def update_team(*, team: Team, actor: User, **changes: object) -> Team:
    unknown = set(changes) - TEAM_FIELDS
    if unknown:
        raise TypeError(f"Unknown team fields: {sorted(unknown)}")
    team = Team.objects.select_for_update().get(pk=team.pk)
    for name, value in changes.items():
        setattr(team, name, value)
    _check_fields(team)
    team.save()
    _record(team, actor=actor, action=History.SETTINGS_CHANGED)
    return team


def _role(role: str) -> str:
    if role not in Role.values:
        raise ServiceError("Choose one of the roles: owner, organizer, reviewer or door staff.")
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
        raise ServiceError(f"{user.email} is already in the team.")
    _record(team, actor=actor, action=action, subject=user.email, role=role)
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
        raise ServiceError("That person is no longer in the team.") from None


@transaction.atomic
def change_role(*, team: Team, actor: User, membership: Membership, role: str) -> Membership:
    """Give a member another role. The last owner cannot stop being one."""
    _role(role)
    membership = _locked(team, membership)
    previous = membership.role
    if previous == role:
        return membership
    if previous == Role.OWNER and _owners_left(team, without=membership) == 0:
        raise ServiceError("A team needs at least one owner: make someone else owner first.")
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
    return membership


@transaction.atomic
def remove_member(*, team: Team, actor: User, membership: Membership) -> None:
    """Take someone out of the team (or, when it is the actor, leave it). The last owner
    stays. Their access ends with their next request: every page reads membership afresh."""
    membership = _locked(team, membership)
    if membership.role == Role.OWNER and _owners_left(team, without=membership) == 0:
        raise ServiceError("A team needs at least one owner: make someone else owner first.")
    leaving = membership.user_id == actor.pk
    membership.delete()
    _record(
        team,
        actor=actor,
        action=History.LEFT if leaving else History.REMOVED,
        subject=membership.user.email,
        previous_role=membership.role,
    )


@transaction.atomic
def delete_team(*, team: Team, actor: User) -> None:
    """Delete an empty team. A team's events and calls carry people's registrations and
    submissions; they are never deleted as a side effect of deleting the team."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.events.exists() or team.calls.exists():
        raise ServiceError("This team still has events or open calls; it cannot be deleted.")
    team.delete()
