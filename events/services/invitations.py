"""Invitations: organizers invite lists of people to a session (or to an event, the invitee
picking the session); an invitation may hold a seat, which then counts against capacity
until it is answered or lapses. Links are signed tokens scoped to one invitation."""

from dataclasses import dataclass, field
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User

from ..invite_parsing import Row
from ..models import Event, Invitation, Notification, Registration, Session, Team
from ..outbox import owe
from ..outbox.webhooks import emit as emit_webhook
from ..permissions import may
from . import ServiceError, audit, contact, tombstones
from .registration import accept_terms, register
from .seats import lock_session, take_seats
from .waitlist import release_and_refill

Status = Invitation.Status
TOKEN_SALT = "events.invitation"  # noqa: S105 - a signing namespace, not a secret


# Tokens


def token_for(invitation: Invitation, nonce: str | None = None) -> str:
    return signing.dumps({"i": invitation.pk, "n": nonce or invitation.nonce}, salt=TOKEN_SALT)


def from_token(token: str) -> Invitation | None:
    """The invitation a link is for, or None for a forged, altered or superseded link."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    invitation = Invitation.objects.select_related("event", "session__event").filter(pk=pk).first()
    if invitation is None or invitation.nonce != nonce:
        return None
    return invitation


def note_language(*, invitation: Invitation, language: str) -> None:
    """Remember the language the invitee reads our pages in: the reminders and the answer
    to their invitation are written in it. Written only when it changed (the page is
    opened often, by mail scanners too)."""
    if language and invitation.language != language:
        Invitation.objects.filter(pk=invitation.pk).update(language=language)
        invitation.language = language


# Preview


@dataclass
class Preview:
    valid: list[Row] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (line, email, reason)
    # Refused by the team's cool-down or limit only: an owner or organizer may invite them
    # anyway, with a written reason. Also listed in `refused`, with that reason.
    held_back: list[Row] = field(default_factory=list)


def preview(
    *, event: Event, session: Session | None, rows: list[Row], team: Team | None = None
) -> Preview:
    """Sort a parsed list into who will be invited and who not, and why: already there,
    unsubscribed or blocked, or within the team's cool-down or limit (services.contact). A
    fixed number of queries, whatever the length of the list."""
    emails = {r.email for r in rows}
    active = Registration.objects.filter(
        user__email__in=emails, status__in=Registration.ACTIVE
    ).filter(**({"session": session} if session else {"session__event": event}))
    registered = set(active.values_list("user__email", flat=True))
    invited = set(
        Invitation.objects.filter(
            event=event, session=session, email__in=emails, status=Status.PENDING
        ).values_list("email", flat=True)
    )
    rules = contact.verdicts(team or event.team, emails)
    result, seen = Preview(), set()
    for row in rows:
        email = row.email.lower()
        if row.email in seen:
            result.refused.append((row.line, row.email, _("Listed twice: invited once.")))
        elif row.email in registered:
            result.refused.append((row.line, row.email, _("Already registered.")))
        elif row.email in invited:
            result.refused.append((row.line, row.email, _("Already invited (pending).")))
        elif email in rules.blocked:
            result.refused.append((row.line, row.email, rules.blocked[email]))
        elif email in rules.held_back:
            result.refused.append((row.line, row.email, rules.held_back[email]))
            result.held_back.append(row)
        else:
            result.valid.append(row)
        seen.add(row.email)
    return result


# Creating


@transaction.atomic
def create_batch(
    *,
    event: Event,
    session: Session | None,
    rows: list[Row],
    actor: User,
    expires_in_days: int = 7,
    holds_seat: bool = False,
    message: str = "",
    allow_any_account: bool = False,
    override_reason: str | None = None,
) -> list[Invitation]:
    """Invite everyone in `rows` who is still invitable, in bulk (a bounded number of
    queries for 5,000 people). Held seats are taken all at once or the batch is refused.

    The team's contact rules apply (services.contact): nobody unsubscribed or blocked is
    invited, ever; nobody within the cool-down or over the limit, unless an owner or organizer
    gives `override_reason` (required and non-empty once they ask to override), which is then
    kept on each invitation that needed it. The team's row is locked first, so two batches
    of one team at once take turns and the second sees the first's invitations."""
    team = contact.lock_team(event.team_id)
    if override_reason is not None:
        override_reason = contact.clean_reason(override_reason)
        if not may(actor, "invitation.send", event):
            raise ServiceError(_("Only the team's owners and organizers may set its rules aside."))
    if event.status == Event.Status.CANCELLED:
        raise ServiceError(_("This event is cancelled."))
    if session is not None:
        session = Session.objects.select_for_update().get(pk=session.pk, event=event)
        if session.is_cancelled or session.has_started:
            raise ServiceError(_("This session is cancelled or has started."))
    if holds_seat and session is None:
        raise ServiceError(_("Only invitations to one session can hold a seat."))
    if not 1 <= expires_in_days <= 90:
        raise ServiceError(_("Invitations expire after 1 to 90 days."))
    checked = preview(event=event, session=session, rows=rows, team=team)
    overridden = {id(row) for row in checked.held_back} if override_reason else set()
    chosen = {id(row) for row in checked.valid} | overridden
    valid = [row for row in rows if id(row) in chosen]
    if not valid:
        raise ServiceError(_("Nobody in this list can be invited (see the reasons listed)."))
    if holds_seat and session is not None and not take_seats(session.pk, len(valid)):
        free = session.capacity - session.seats_taken
        raise ServiceError(
            ngettext(
                "Only %(free)s seat is free: hold seats for at most %(free)s invitations, or "
                "send these without holding seats.",
                "Only %(free)s seats are free: hold seats for at most %(free)s invitations, or "
                "send these without holding seats.",
                free,
            )
            % {"free": free}
        )
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days)
    if session is not None:
        expires_at = min(expires_at, session.starts_at)
    remind_at = expires_at - timedelta(hours=event.invitation_reminder_hours)
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(
                event=event,
                session=session,
                email=row.email,
                name=row.name,
                note=row.note,
                message=message,
                holds_seat=holds_seat,
                seat_held=holds_seat,
                allow_any_account=allow_any_account,
                expires_at=expires_at,
                remind_at=remind_at if remind_at > now else None,
                created_by=actor,
                override_reason=(override_reason or "") if id(row) in overridden else "",
            )
            for row in valid
        ]
    )
    _owe_invitations(invitations, kind=Notification.Kind.INVITATION)
    # Who was invited is in the invitations (by id, range below); the log keeps no address.
    audit.record(
        actor=actor,
        action="invitation.batch_sent",
        team=event.team_id,
        event=event,
        object_type="session" if session is not None else "event",
        object_id=session.pk if session is not None else event.pk,
        summary={
            "invited": len(invitations),
            "overridden": len(overridden),
            "holds_seat": holds_seat,
            "expires_in_days": expires_in_days,
            "invitations": [invitations[0].pk, invitations[-1].pk],
        },
    )
    return invitations


# Answering


def _lock(invitation: Invitation) -> Invitation:
    """The invitation as it is now, locked; its session's row first, the order of
    cancel_session() and of transitions.lock() (see there): an invitee giving back a held
    seat while the organizer cancels the session would otherwise deadlock."""
    lock_session(Subquery(Invitation.objects.filter(pk=invitation.pk).values("session_id")))
    return (
        # `of`: lock the invitation row only (the session join is an outer join, which
        # PostgreSQL cannot lock).
        Invitation.objects.select_for_update(of=("self",))
        .select_related("event", "session__event")
        .get(pk=invitation.pk)
    )


def _release(invitation: Invitation) -> None:
    """Give back a held seat (to the waitlist first)."""
    if invitation.seat_held and invitation.session_id is not None:  # only a session's holds
        Invitation.objects.filter(pk=invitation.pk).update(seat_held=False)
        invitation.seat_held = False
        release_and_refill(invitation.session_id)


def check_open(invitation: Invitation) -> None:
    if invitation.status == Status.ACCEPTED:
        raise ServiceError(_("This invitation has already been accepted."))
    if invitation.status == Status.DECLINED:
        raise ServiceError(_("This invitation was declined."))
    if invitation.status == Status.REVOKED:
        if contact.unsubscribed(invitation.event.team_id, invitation.email):
            raise ServiceError(
                _(
                    "This invitation was withdrawn when you unsubscribed from these "
                    "organizers' mail."
                )
            )
        raise ServiceError(_("This invitation was withdrawn by the organizers."))
    if invitation.status == Status.EXPIRED or invitation.expires_at <= timezone.now():
        raise ServiceError(_("This invitation has expired."))


def may_accept(invitation: Invitation, user: User | AnonymousUser) -> bool:
    if invitation.allow_any_account:
        return True
    return EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()


@transaction.atomic
def accept(
    *,
    invitation: Invitation,
    user: User,
    session: Session | None = None,
    terms_version: int | None = None,
) -> Registration:
    """Take up an invitation: a confirmed seat (the held one, or a free one), or the
    waitlist when none is free. The invited address must be one of the person's verified
    addresses, unless the organizer allowed any account. `terms_version` is the version of
    the confidentiality terms `user` accepted on the invitation page (None when none were
    asked): stored with the place, so a refused acceptance leaves none."""
    invitation = _lock(invitation)
    check_open(invitation)
    if not may_accept(invitation, user):
        raise ServiceError(
            _(
                "This invitation was sent to another email address. Log in with the account "
                "of that address (or add and verify it in your account) to accept it."
            )
        )
    target = invitation.session
    if target is None:
        if session is None or session.event_id != invitation.event_id:
            raise ServiceError(_("Choose one of the event's sessions."))
        target = session
    if terms_version is not None:
        accept_terms(user=user, event=invitation.event, version=terms_version)
    registration = register(user=user, session=target, invited_seat=invitation.seat_held)
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Status.ACCEPTED,
        seat_held=False,
        responded_at=timezone.now(),
        registration=registration,
        remind_at=None,
    )
    emit_webhook("invitation.accepted", about=invitation)
    return registration


def _close(invitation: Invitation, status: str) -> Invitation:
    Invitation.objects.filter(pk=invitation.pk).update(
        status=status, responded_at=timezone.now(), remind_at=None
    )
    invitation.status = status
    _release(invitation)
    return invitation


@transaction.atomic
def decline(*, invitation: Invitation) -> Invitation:
    """No account needed: the link is the proof. A held seat goes to the waitlist."""
    invitation = _lock(invitation)
    check_open(invitation)
    emit_webhook("invitation.declined", about=_close(invitation, Status.DECLINED))
    return invitation


def addressed_to(emails: list[str]) -> Q:
    """Invitations to any of these addresses, whatever their case."""
    query = Q(pk__in=[])
    for email in emails:
        query |= Q(email__iexact=email)
    return query


@transaction.atomic
def forget_invitee(*, emails: list[str], team: Team | None = None) -> int:
    """The person with these addresses deleted their account (or asked `team` to forget
    them): every invitation to them (from the team's events) goes, and with it the mail owed
    for it. A seat one of them held goes back to the waitlist first, as a decline would give
    it. Returns how many invitations went."""
    invitations = Invitation.objects.filter(addressed_to(emails))
    if team is not None:
        invitations = invitations.filter(event__team=team)
    return drop(invitations)


def drop(invitations: QuerySet[Invitation]) -> int:
    """Delete these invitations (their mail goes with them), after giving back to the
    waitlist every seat one of them held, as a decline would. Returns how many went."""
    for invitation in invitations.filter(seat_held=True):
        _release(_lock(invitation))
    _total, deleted = tombstones.remove(invitations)
    return deleted.get(Invitation._meta.label, 0)


@transaction.atomic
def revoke(*, invitation: Invitation, actor: User) -> Invitation:
    invitation = _lock(invitation)
    if invitation.status != Status.PENDING:
        state = invitation.get_status_display().lower()
        raise ServiceError(
            _("Only a pending invitation can be revoked (this one is %(state)s).")
            % {"state": state}
        )
    _audit(actor, "invitation.revoked", invitation)
    return _close(invitation, Status.REVOKED)


def _audit(actor: User, action: str, invitation: Invitation, **summary: object) -> None:
    audit.record(
        actor=actor,
        action=action,
        team=invitation.event.team_id,
        event=invitation.event_id,
        target=invitation,
        summary={"session": invitation.session_id, **summary},
    )


def withdraw_for_do_not_contact(*, team_id: int, email: str) -> int:
    """The address went on the team's do-not-contact list (services.contact, which holds the
    team's lock): each of its pending invitations from the team's events is revoked, as an
    organizer revokes one. A held seat goes back, to the waitlist first; no reminder is owed
    any more; the invitation mail still waiting in the outbox is skipped. Registrations are not
    touched: mail about a seat the person holds still goes. Returns how many were withdrawn.
    In the caller's transaction."""
    pending = (
        Invitation.objects.annotate(address=Lower("email"))
        .filter(event__team_id=team_id, address=email.lower(), status=Status.PENDING)
        # Session by session, always in the same order: this path may lock several sessions.
        .order_by("session_id", "pk")
        .values_list("pk", flat=True)
    )
    withdrawn = 0
    for pk in list(pending):
        invitation = _lock(Invitation(pk=pk))
        if invitation.status == Status.PENDING:  # answered a moment ago: it stays answered
            _close(invitation, Status.REVOKED)
            withdrawn += 1
    return withdrawn


@transaction.atomic
def extend(*, invitation: Invitation, actor: User, days: int = 7) -> Invitation:
    """Give more time: a pending or expired invitation runs `days` more from now (never past
    the session's start). An expired one that held a seat holds one again if one is free."""
    invitation = _lock(invitation)
    if invitation.status not in (Status.PENDING, Status.EXPIRED):
        raise ServiceError(_("Only a pending or expired invitation can be extended."))
    if not 1 <= days <= 90:
        raise ServiceError(_("Extend by 1 to 90 days."))
    newer = Invitation.objects.filter(
        event=invitation.event_id,
        session=invitation.session_id,
        email=invitation.email,
        status=Status.PENDING,
    ).exclude(pk=invitation.pk)
    if invitation.status == Status.EXPIRED and newer.exists():
        raise ServiceError(
            _("%(email)s has a newer pending invitation; extend that one instead.")
            % {"email": invitation.email}
        )
    now = timezone.now()
    expires_at = now + timedelta(days=days)
    session = invitation.session
    if session is not None:
        if session.has_started or session.is_cancelled:
            raise ServiceError(_("The session has started or is cancelled."))
        expires_at = min(expires_at, session.starts_at)
    seat_held = invitation.seat_held
    if invitation.holds_seat and not seat_held and session is not None:
        if not take_seats(session.pk, 1):
            raise ServiceError(
                _("No seat is free to hold again: revoke it or invite without a seat.")
            )
        seat_held = True
    remind_at = expires_at - timedelta(hours=invitation.event.invitation_reminder_hours)
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Status.PENDING,
        expires_at=expires_at,
        seat_held=seat_held,
        remind_at=remind_at if remind_at > now else None,
    )
    _audit(
        actor,
        "invitation.extended",
        invitation,
        expires_at=[invitation.expires_at, expires_at],
        days=days,
    )
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def resend(*, invitation: Invitation, actor: User) -> Invitation:
    """Send the invitation again with a new link; the old link stops working."""
    invitation = _lock(invitation)
    if invitation.status != Status.PENDING or invitation.expires_at <= timezone.now():
        raise ServiceError(_("Only a pending invitation can be sent again."))
    if contact.is_blocked(invitation.event.team_id, invitation.email):
        raise ServiceError(
            _(
                "%(email)s unsubscribed or is on the team's do-not-contact list: nothing is "
                "sent to them."
            )
            % {"email": invitation.email}
        )
    from ..models.invitation import new_nonce

    invitation.nonce = new_nonce()
    Invitation.objects.filter(pk=invitation.pk).update(nonce=invitation.nonce, sent_at=None)
    _owe_invitations([invitation], kind=Notification.Kind.INVITATION)
    _audit(actor, "invitation.resent", invitation)
    return invitation


def _owe_invitations(invitations: list[Invitation], *, kind: str) -> list[int]:
    """Owe an invitation (or its reminder) to each invitee, in bulk: a fixed number of
    queries for a batch of thousands. The link's nonce is recorded, so a re-sent invitation's
    old message can never carry the new link."""

    def about(invitation: Invitation) -> tuple:
        # A reminder is owed once per link and expiry: extending the link owes a new one.
        return (f"inv{invitation.pk}", invitation.nonce, f"{invitation.expires_at:%Y%m%dT%H%M%S}")

    invitations = owe.unowed(kind, invitations, about=about)
    users = {
        u.email.lower(): u.pk for u in User.objects.filter(email__in=[i.email for i in invitations])
    }
    return owe.owe_many(
        kind=kind,
        rows=[
            owe.Owed(
                about=about(i),
                email=i.email,
                recipient_id=users.get(i.email.lower()),
                invitation_id=i.pk,
                session_id=i.session_id,
                payload={"nonce": i.nonce},
            )
            for i in invitations
        ],
    )


# Sweeps


def expire_due(*, now=None) -> int:
    """Pending invitations past their expiry lapse; held seats go to the waitlist."""
    now = now or timezone.now()
    ids = list(
        Invitation.objects.filter(status=Status.PENDING, expires_at__lte=now).values_list(
            "pk", flat=True
        )[:5000]
    )
    for pk in ids:
        with transaction.atomic():
            invitation = _lock(Invitation(pk=pk))
            if invitation.status == Status.PENDING:
                _close(invitation, Status.EXPIRED)
    return len(ids)


def remind_due(*, now=None) -> int:
    """A reminder to pending invitees some hours before their link expires, once."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.PENDING, remind_at__lte=now, expires_at__gt=now)
            .select_related("event", "session")[:5000]
        )
        Invitation.objects.filter(pk__in=[i.pk for i in due]).update(remind_at=None)
        _owe_invitations(due, kind=Notification.Kind.INVITATION_REMINDER)
    return len(due)
