"""Contact governance: whom a team may invite, and whom it may mail at all.

Two kinds of rule, both per team:

- Cool-down and limits (the team's settings): nobody is invited again within
  `invite_cooldown_days` of an invitation from the team, nor within `attended_cooldown_days`
  of attending one of its sessions, nor once they have had `max_invitations_per_90_days`
  invitations in 90 days. An owner or organizer may set these aside for a batch, with a
  written reason stored on each invitation that needed it.
- Do-not-contact (ContactBlock): someone who unsubscribed, or whom the team blocked, is never
  invited by it and gets no programme mail from it (invitations, their reminders, surveys:
  the outbox checks `is_blocked` just before each leaves, see events/messages/__init__.py);
  their pending invitations are withdrawn as they go on the list; nothing overrides it. Mail
  about a seat they hold still goes.
- Suppression (ContactSuppression): when a person on the list is erased (account deleted, or
  forgotten by the team), their entry becomes a keyed hash of the team and the address
  (`suppress`), so the wish outlives the address: an address typed again is recognised
  (`suppressed`) and treated as on the list, by every check below (`blocked_emails`,
  `verdicts`, `is_blocked`, `unsubscribed`). Nobody can list the addresses back: the team
  sees how many there are (`suppressed_count`).

The rules are computed from the source rows (invitations and registrations of the team's
events, by email), not from the panel: a few queries for a whole list, whatever its length.
The caller holds the team's row lock (`lock_team`) when it is about to write, so two batches
at once see each other's invitations."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User

from ..models import ContactBlock, ContactSuppression, Invitation, Registration, Team
from . import ServiceError, audit
from .attendance import attended_q

LIMIT_WINDOW = timedelta(days=90)
MAX_DAYS = 365  # the longest cool-down a team may set
MAX_PER_90_DAYS = 100
MAX_REASON = 500
UNSUBSCRIBE_SALT = "events.unsubscribe"
# The purpose of the suppression key (salted_hmac derives a key from
# settings.CONTACT_SUPPRESSION_KEY and this): no other HMAC of the project can be taken for,
# or compared with, a suppression's digest.
SUPPRESSION_SALT = "events.contact.suppression"
Reason = ContactBlock.Reason


def lock_team(team_id: int) -> Team:
    """The team's row, locked: every invitation batch of the team takes turns here."""
    return Team.objects.select_for_update().get(pk=team_id)


def _out_of_range(name: str, most: int) -> str:
    # Whole sentences per setting: French gives each its own article and agreement.
    words = {"most": most}
    if name == "invite_cooldown_days":
        return _("The days between invitations must be a whole number from 0 to %(most)s.") % words
    if name == "attended_cooldown_days":
        return (
            _("The days of rest after attending must be a whole number from 0 to %(most)s.") % words
        )
    return (
        _("The invitations per person in 90 days must be a whole number from 0 to %(most)s.")
        % words
    )


def check_settings(team: Team) -> None:
    """The contact rules a team may set: whole numbers of days and invitations, none
    negative, none absurd."""
    for name, most in (
        ("invite_cooldown_days", MAX_DAYS),
        ("attended_cooldown_days", MAX_DAYS),
        ("max_invitations_per_90_days", MAX_PER_90_DAYS),
    ):
        value = getattr(team, name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
            raise ServiceError(_out_of_range(name, most))


def clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            _(
                "Write why these people should be invited despite the team's cool-down or "
                "limit: the reason is kept with each invitation."
            )
        )
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise ServiceError(_("The reason is at most %(most)s characters.") % {"most": MAX_REASON})
    return reason


# Checking a list


@dataclass
class Verdicts:
    """Why each address of a list may not be invited now: `blocked` can never be set aside;
    `held_back` (cool-down, limit) can, by an owner or organizer with a reason."""

    blocked: dict[str, str]
    held_back: dict[str, str]


def _invited_ago(moment: datetime, now: datetime, cooldown: int) -> str:
    days = (now - moment).days
    if days == 0:
        text = _("Invited by this team today (cool-down: %(cooldown)s days).")
    elif days == 1:
        text = _("Invited by this team yesterday (cool-down: %(cooldown)s days).")
    else:
        text = ngettext(
            "Invited by this team %(days)s day ago (cool-down: %(cooldown)s days).",
            "Invited by this team %(days)s days ago (cool-down: %(cooldown)s days).",
            days,
        )
    return text % {"days": days, "cooldown": cooldown}


def _attended_ago(moment: datetime, now: datetime, rest: int) -> str:
    days = (now - moment).days
    if days == 0:
        text = _("Attended a session today (rest: %(rest)s days).")
    elif days == 1:
        text = _("Attended a session yesterday (rest: %(rest)s days).")
    else:
        text = ngettext(
            "Attended a session %(days)s day ago (rest: %(rest)s days).",
            "Attended a session %(days)s days ago (rest: %(rest)s days).",
            days,
        )
    return text % {"days": days, "rest": rest}


# Suppression: the do-not-contact wish of people who were erased


def _normal(email: str) -> str:
    return (email or "").strip().lower()


def suppression_digest(team_id: int, email: str) -> str:
    """The keyed hash a suppression stores: of the team and the normalised address, so the
    same person's digests in two teams cannot be matched with each other. Keyed by
    CONTACT_SUPPRESSION_KEY, which is never rotated: under SECRET_KEY, a rotation (once its
    fallbacks are removed) would silently forget every wish kept this way."""
    key = settings.CONTACT_SUPPRESSION_KEY
    if not key:
        raise ImproperlyConfigured("CONTACT_SUPPRESSION_KEY is not set.")
    return salted_hmac(
        SUPPRESSION_SALT, f"{team_id}:{_normal(email)}", secret=key, algorithm="sha256"
    ).hexdigest()


def _digests(team_id: int, email: str) -> list[str]:
    return [suppression_digest(team_id, email)]


def suppressed(team_id: int, emails: Iterable[str]) -> dict[str, str]:
    """The addresses among `emails` that the team suppressed when their person was erased,
    with the erased entry's reason, in one query on the (team, digest) index."""
    lowered = {_normal(e) for e in emails}
    by_digest = {digest: email for email in lowered for digest in _digests(team_id, email)}
    if not by_digest:
        return {}
    rows = ContactSuppression.objects.filter(team_id=team_id, digest__in=list(by_digest))
    return {by_digest[digest]: reason for digest, reason in rows.values_list("digest", "reason")}


def suppress(blocks: Iterable[ContactBlock]) -> None:
    """Keep the wish of these entries' people, whose entries are about to be erased: a
    digest per entry (an address that was on no list leaves none)."""
    ContactSuppression.objects.bulk_create(
        [
            ContactSuppression(
                team_id=block.team_id,
                digest=suppression_digest(block.team_id, block.email),
                reason=block.reason,
            )
            for block in blocks
        ],
        ignore_conflicts=True,  # erased once already, by another team's or an earlier erasure
    )


def suppressions_of(addresses: Iterable[str]) -> list[ContactSuppression]:
    """The suppressions of these addresses, in every team that keeps any (for the person's
    own export: a team that forgot them but keeps their wish)."""
    teams = ContactSuppression.objects.values_list("team_id", flat=True).distinct()
    digests = [d for team_id in teams for email in addresses for d in _digests(team_id, email)]
    return list(
        ContactSuppression.objects.filter(digest__in=digests)
        .select_related("team")
        .order_by("created_at", "pk")
    )


def suppressed_count(team: Team) -> int:
    """How many erased people's addresses the team still may not contact (never which)."""
    return ContactSuppression.objects.filter(team=team).count()


SUPPRESSED = "suppressed"  # the reason `blocked_emails` gives for a suppressed address


def blocked_emails(team_id: int, emails: Iterable[str]) -> dict[str, str]:
    """The addresses among `emails` the team may not contact, with the reason (an entry's
    reason, or SUPPRESSED), in one query on the (team, email) and (team, digest) indexes."""
    lowered = {e.lower() for e in emails}
    if not lowered:
        return {}
    by_digest = {digest: email for email in lowered for digest in _digests(team_id, email)}
    rows = (
        # No ORDER BY in either half (ContactBlock's Meta orders): SQLite refuses one inside
        # a compound statement, and the union needs none.
        ContactBlock.objects.filter(team_id=team_id, email__in=lowered)
        .order_by()
        .values_list("email", "reason")
        .union(
            ContactSuppression.objects.filter(team_id=team_id, digest__in=list(by_digest))
            .order_by()
            .values_list("digest", "reason"),
            all=True,
        )
    )
    found: dict[str, str] = {}
    suppressed_ = set()
    for key, reason in rows:
        if key in by_digest:  # a digest is 64 hex digits, never an address
            suppressed_.add(by_digest[key])
        else:
            found[key] = reason
    for email in suppressed_ - set(found):  # an entry says more than a digest
        found[email] = SUPPRESSED
    return found


def verdicts(team: Team, emails: Iterable[str], *, now: datetime | None = None) -> Verdicts:
    """Check a list against the team's rules: three queries, whatever its length."""
    now = now or timezone.now()
    lowered = {e.lower() for e in emails}
    result = Verdicts(blocked={}, held_back={})
    if not lowered:
        return result
    for email, reason in blocked_emails(team.pk, lowered).items():
        if reason == Reason.UNSUBSCRIBED:
            result.blocked[email] = _("Unsubscribed from this team's mail: never invited again.")
        elif reason == SUPPRESSED:
            result.blocked[email] = _(
                "Asked not to be contacted, then had their data erased: never invited again."
            )
        else:
            result.blocked[email] = _("On the team's do-not-contact list.")
    cooldown = team.invite_cooldown_days
    limit = team.max_invitations_per_90_days
    if cooldown or limit:
        since = now - max(timedelta(days=cooldown), LIMIT_WINDOW if limit else timedelta(0))
        invited = (
            Invitation.objects.annotate(address=Lower("email"))
            .filter(event__team=team, address__in=lowered, created_at__gte=since)
            # A revoked invitation whose mail never left contacted nobody.
            .exclude(status=Invitation.Status.REVOKED, sent_at__isnull=True)
            .order_by()
            .values("address")
            .annotate(
                last=Max("created_at"),
                in_window=Count("pk", filter=Q(created_at__gte=now - LIMIT_WINDOW)),
            )
        )
        for row in invited:
            email = row["address"]
            if cooldown and row["last"] > now - timedelta(days=cooldown):
                result.held_back.setdefault(email, _invited_ago(row["last"], now, cooldown))
            elif limit and row["in_window"] >= limit:
                result.held_back.setdefault(
                    email,
                    ngettext(
                        "Already invited %(count)s time in 90 days (limit: %(limit)s).",
                        "Already invited %(count)s times in 90 days (limit: %(limit)s).",
                        row["in_window"],
                    )
                    % {"count": row["in_window"], "limit": limit},
                )
    rest = team.attended_cooldown_days
    if rest:
        attended = (
            Registration.objects.filter(
                attended_q(now),
                session__event__team=team,
                user__email__in=lowered,
                session__starts_at__gte=now - timedelta(days=rest),
            )
            .order_by()
            .values("user__email")
            .annotate(last=Max("session__starts_at"))
        )
        for seen in attended:
            result.held_back.setdefault(
                seen["user__email"].lower(), _attended_ago(seen["last"], now, rest)
            )
    for email in result.blocked:
        result.held_back.pop(email, None)
    return result


# Do-not-contact


def is_blocked(team_id: int, email: str) -> bool:
    return bool(blocked_emails(team_id, [email]))


def unsubscribed(team_id: int, email: str) -> bool:
    """On the list by the person's own wish (a team's block is not told to the person), or
    suppressed after they unsubscribed and were erased."""
    if ContactBlock.objects.filter(
        team_id=team_id, email=email.lower(), reason=Reason.UNSUBSCRIBED
    ).exists():
        return True
    return suppressed(team_id, [email]).get(_normal(email)) == Reason.UNSUBSCRIBED


@dataclass(frozen=True)
class Listed:
    """What putting an address on the do-not-contact list did."""

    entry: ContactBlock
    already: bool  # it was on the list already, as the person's own wish: nothing changed
    withdrawn: int  # its pending invitations from the team's events, withdrawn just now


def _withdraw_invitations(team: Team, email: str) -> int:
    # The invitations service imports this module (for the team's rules): imported here.
    from . import invitations

    return invitations.withdraw_for_do_not_contact(team_id=team.pk, email=email)


@transaction.atomic
def block(*, team: Team, actor: User, email: str, note: str = "") -> Listed:
    """Put an address on the team's do-not-contact list: its pending invitations from the
    team's events are withdrawn at once (held seats go back), nothing of the programme is sent
    to it any more; registrations it holds stay, with their mail."""
    email = (email or "").strip().lower()
    note = (note or "").strip()
    if not email or len(email) > 254 or "@" not in email:
        raise ServiceError(_("Enter an email address."))
    if len(note) > MAX_REASON or "\x00" in note:
        raise ServiceError(_("The note is at most %(most)s characters.") % {"most": MAX_REASON})
    # The team's lock, as an invitation batch takes it: a batch checked before this entry
    # existed cannot invite the address after its invitations were withdrawn.
    lock_team(team.pk)
    existing = ContactBlock.objects.filter(team=team, email=email).first()
    if existing is not None:
        raise ServiceError(
            _("%(email)s is already on the list (%(reason)s).")
            % {"email": email, "reason": existing.get_reason_display().lower()}
        )
    try:
        with transaction.atomic():
            entry = ContactBlock.objects.create(
                team=team, email=email, reason=Reason.BLOCKED, note=note, created_by=actor
            )
    except IntegrityError:  # added by someone else a moment ago
        raise ServiceError(_("%(email)s is already on the list.") % {"email": email}) from None
    withdrawn = _withdraw_invitations(team, email)
    # The address itself stays out of the log: the entry's id says which one.
    audit.record(
        actor=actor,
        action="contact.blocked",
        team=team,
        target=entry,
        summary={"invitations_withdrawn": withdrawn},
    )
    return Listed(entry=entry, already=False, withdrawn=withdrawn)


@transaction.atomic
def unblock(*, team: Team, actor: User, entry: ContactBlock) -> None:
    """Lift the team's own block. Someone who unsubscribed stays unsubscribed: only they may
    change their mind, never the team. Invitations withdrawn by the block stay withdrawn."""
    entry = ContactBlock.objects.select_for_update().get(pk=entry.pk, team=team)
    if entry.reason == Reason.UNSUBSCRIBED:
        raise ServiceError(
            _("%(email)s unsubscribed themselves: only they can ask to hear from the team again.")
            % {"email": entry.email}
        )
    # The team lifts its own block of this address, also one it kept as a digest when the
    # person was erased (typed again since); a person's own wish stays.
    lifted = ContactSuppression.objects.filter(
        team=team, digest__in=_digests(team.pk, entry.email), reason=Reason.BLOCKED
    ).delete()[0]
    audit.record(
        actor=actor,
        action="contact.unblocked",
        team=team,
        target=entry,
        summary={"suppressions_lifted": lifted} if lifted else None,
    )
    entry.delete()


# The unsubscribe link


def unsubscribe_token(team_id: int, email: str) -> str:
    """An unforgeable link for one address and one team; it needs no expiry (it can only ever
    unsubscribe)."""
    return signing.dumps({"t": team_id, "e": email.lower()}, salt=UNSUBSCRIBE_SALT)


def from_unsubscribe_token(token: str) -> tuple[Team, str] | None:
    """The team and address a link is for, or None for a forged or altered one."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        team_id, email = int(data["t"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    team = Team.objects.filter(pk=team_id).first()
    return (team, email) if team is not None and email else None


def unsubscribe_url(team_id: int, email: str) -> str:
    """The absolute address of the unsubscribe page (and of the one-click POST)."""
    path = reverse("events:unsubscribe", args=[unsubscribe_token(team_id, email)])
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def unsubscribe(*, team: Team, email: str) -> Listed:
    """The person's own wish: no more programme mail from the team, and their pending
    invitations from its events withdrawn (held seats go back); mail about seats they hold
    still goes. Asking again changes nothing (`already`). An address the team had blocked
    becomes unsubscribed: the wish is theirs now, and the team can no longer lift it."""
    email = email.lower()
    lock_team(team.pk)  # as in block()
    entry = ContactBlock.objects.filter(team=team, email=email).first()
    if entry is not None and entry.reason == Reason.UNSUBSCRIBED:
        return Listed(entry=entry, already=True, withdrawn=0)
    if entry is not None:
        # From now on the entry is the person's: dated by their wish, made by nobody on the
        # team (the team's note stays).
        entry.reason, entry.created_at, entry.created_by = Reason.UNSUBSCRIBED, timezone.now(), None
        entry.save(update_fields=["reason", "created_at", "created_by"])
    else:
        entry = ContactBlock.objects.create(team=team, email=email, reason=Reason.UNSUBSCRIBED)
    return Listed(entry=entry, already=False, withdrawn=_withdraw_invitations(team, email))
