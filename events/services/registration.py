"""Registering, applying and cancelling: the rules a developer meets when signing up."""

from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import User

from .. import metrics
from ..models import (
    Event,
    Invitation,
    Notification,
    Question,
    Registration,
    Session,
    TermsAcceptance,
)
from ..permissions import may
from ..speed.prepared import Prepared, insert
from . import ServiceError, audit
from .reminders import next_reminder_at
from .screening import asked, clean_answers
from .seats import take_seat
from .transitions import lock, record_creation, transition
from .waitlist import release_and_refill

Status = Registration.Status
Kind = Notification.Kind


def check_can_sign_up(*, user: User, session: Session, invited: bool = False) -> None:
    """Everything that must hold before anyone may sign up; raises with the reason. An
    invitation stands in for the registration mode and window (it has its own expiry)."""
    event = session.event
    verified = getattr(session, "user_verified", None)
    if verified is None:
        verified = EmailAddress.objects.filter(user=user, verified=True).exists()
    if not verified:
        raise ServiceError(_("Verify your email address before you sign up for a session."))
    if event.status == Event.Status.CANCELLED or session.is_cancelled:
        raise ServiceError(_("This session is cancelled."))
    if event.status != Event.Status.PUBLISHED:
        raise ServiceError(_("This event is not open for registration."))
    if session.has_started:
        raise ServiceError(_("This session has already started."))
    if invited:
        pass
    elif event.registration_mode == Event.Mode.INVITATION:
        raise ServiceError(_("This session is by invitation only."))
    elif event.registration_opens_at and timezone.now() < event.registration_opens_at:
        opens = timezone.localtime(event.registration_opens_at)
        raise ServiceError(
            # Translators: "Tue 8 Dec 2026", "15:00", "CET" (day and time in the language's
            # own formats, see events/timefmt.py).
            _("Registration for this event opens on %(day)s at %(time)s %(zone)s.")
            % {
                "day": dateformat.format(opens, pgettext("date format", "D j M Y")),
                "time": dateformat.format(opens, pgettext("time format", "H:i")),
                "zone": opens.tzname(),
            }
        )
    elif not event.registration_is_open():
        raise ServiceError(_("Registration for this event is closed."))
    if event.is_confidential and not has_accepted_terms(user=user, event=event):
        raise ServiceError(_("Accept the confidentiality terms to sign up for this event."))


def organizes(*, user: User | AnonymousUser, event: Event) -> bool:
    return may(user, "event.view", event)


def may_see(*, user: User | AnonymousUser, event: Event) -> bool:
    """Published (or cancelled) events are visible to anyone with the link; drafts only to
    their organizers; invitation-only events to the people invited (see is_invitee)."""
    if event.status == Event.Status.DRAFT and not organizes(user=user, event=event):
        return False
    return event.registration_mode != Event.Mode.INVITATION or is_invitee(user=user, event=event)


def is_invitee(*, user: User | AnonymousUser, event: Event) -> bool:
    """Invitation-only events are seen by their organizers and the people invited (by any
    of their verified addresses) or already registered."""
    if not user.is_authenticated:
        return False
    if organizes(user=user, event=event):
        return True
    emails = EmailAddress.objects.filter(user=user, verified=True).values("email")
    return (
        Invitation.objects.filter(event=event, email__in=emails)
        .exclude(status=Invitation.Status.REVOKED)
        .exists()
        or Registration.objects.filter(user=user, session__event=event).exists()
    )


def has_accepted_terms(*, user: User, event: Event) -> bool:
    return TermsAcceptance.objects.filter(
        user=user, event=event, version=event.terms_version
    ).exists()


def accept_terms(
    *, user: User, event: Event, version: int, via: str = TermsAcceptance.Via.SITE
) -> TermsAcceptance:
    """Record that `user` accepted the terms they were shown, and how (`via`); refuse an
    outdated version. A version accepted before keeps its first record."""
    if not event.is_confidential:
        raise ServiceError(_("This event has no confidentiality terms."))
    if version != event.terms_version:
        raise ServiceError(_("The terms have changed since you opened the page; read them again."))
    acceptance, _created = TermsAcceptance.objects.get_or_create(
        user=user, event=event, version=version, defaults={"via": via}
    )
    return acceptance


def confirmed_at_the_same_time(starts_at, ends_at) -> Q:
    """Registrations holding a confirmed seat in a scheduled session overlapping the time from
    `starts_at` to `ends_at` (values, or OuterRefs to a session's)."""
    return Q(
        status=Status.CONFIRMED,
        session__status=Session.Status.SCHEDULED,
        session__starts_at__lt=ends_at,
        session__ends_at__gt=starts_at,
    )


def check_no_overlap(*, user: User, session: Session, exclude: int | None = None) -> None:
    others = Registration.objects.filter(
        confirmed_at_the_same_time(session.starts_at, session.ends_at), user=user
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    clash = others.select_related("session__event").first()
    if clash:
        raise ServiceError(
            _("You already have a confirmed seat at that time: %(event)s.")
            % {"event": clash.session.event.title}
        )


# The sign-up path is the hot one of a rush: its reads are compiled once (see speed/prepared.py).
SESSION_WITH_EVENT = Prepared(lambda pk: Session.objects.select_related("event").filter(pk=pk))


def session_with_event(pk: int) -> Session | None:
    return SESSION_WITH_EVENT.first(pk=pk)


def _sign_up_state(pk: int, user: int) -> QuerySet[Session]:
    """The session with its event, and in the same query what signing up `user` depends on:
    a verified address, their row for this session, a confirmed seat elsewhere at that time."""
    mine = Registration.objects.filter(user_id=user, session_id=OuterRef("pk"))
    return (
        Session.objects.select_related("event")
        .filter(pk=pk)
        .annotate(
            user_verified=Exists(EmailAddress.objects.filter(user_id=user, verified=True)),
            mine=Subquery(mine.values("pk")[:1]),
            clashes=Exists(
                Registration.objects.filter(
                    confirmed_at_the_same_time(OuterRef("starts_at"), OuterRef("ends_at")),
                    user_id=user,
                ).exclude(session_id=OuterRef("pk"))
            ),
        )
    )


SIGN_UP_STATE = Prepared(_sign_up_state)


def sign_up_state(*, pk: int, user: User) -> Session | None:
    """The session as signing up `user` sees it (see _sign_up_state); None when it does not
    exist."""
    return SIGN_UP_STATE.first(pk=pk, user=user.pk)


def register(
    *, user, session: Session, answers: dict | None = None, invited_seat: bool | None = None
) -> Registration:
    """Sign `user` up for `session` according to the event's mode.

    Open: a seat if one is free, else the waitlist (or a refusal when the session has none).
    Approval and lottery: an application that waits for the organizers or the draw; after a
    lottery has been drawn, latecomers are served first come, first served.

    `invited_seat` is for the invitation service only: not None means an invitation lets the
    person in whatever the mode; True means the invitation already holds their seat in
    seats_taken, so it becomes theirs without taking another.
    """
    try:
        with _one_per_person(user=user, pk=session.pk), transaction.atomic():
            state = sign_up_state(pk=session.pk, user=user)
            if state is None:
                raise ServiceError(_("This session no longer exists."))
            registration = _register(
                user=user, session=state, answers=answers or {}, invited_seat=invited_seat
            )
    except ServiceError:
        metrics.sign_up("refused")
        raise
    # Counted once it holds: an invitation's acceptance calls this inside its own transaction.
    status = registration.status
    transaction.on_commit(lambda: metrics.sign_up(status))
    return registration


@dataclass(frozen=True)
class SignUpInput:
    """What the sign-up page sent, as sent: the terms version it showed and whether the box
    was ticked, and the answers by question id (every value a list, as forms post them)."""

    terms_version: str | None = None
    accepted_terms: bool = False
    answers: Mapping[str, list[str]] = field(default_factory=dict)


class SignUpRefused(ServiceError):
    """A sign-up the page shows again, with why: `errors` by form field when what was sent
    does not do, else `message`. `session` is the session as read (None when it does not
    exist or the person may not see it: a 404, never a hint that it exists), `needs_terms`
    whether the page must ask for the terms."""

    def __init__(
        self,
        message: str,
        *,
        session: Session | None,
        needs_terms: bool = False,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.session = session
        self.needs_terms = needs_terms
        self.errors = errors or {}


def sign_up(*, user: User, pk: int, sent: SignUpInput) -> Registration:
    """The sign-up page's path to register(): in one transaction, one read of the session and
    the person's standing (the hot path of a rush), then what the page sent is checked, the
    terms accepted on it are stored and the person signed up. Every refusal is a
    SignUpRefused carrying that read, so the page can be shown again without another; the
    acceptance is stored with the place, so a refused sign-up leaves none."""
    try:
        registration = _sign_up(user=user, pk=pk, sent=sent)
    except SignUpRefused:
        metrics.sign_up("refused")
        raise
    metrics.sign_up(registration.status)
    return registration


def _sign_up(*, user: User, pk: int, sent: SignUpInput) -> Registration:
    session, needs_terms = None, False  # as read, for a refusal raised after the rollback
    try:
        with _one_per_person(user=user, pk=pk), transaction.atomic():
            session = sign_up_state(pk=pk, user=user)
            if session is None or not may_see(user=user, event=session.event):
                raise SignUpRefused(_("This session does not exist."), session=None)
            event = session.event
            needs_terms = event.is_confidential and not has_accepted_terms(user=user, event=event)
            # Read once for both the check of the answers and the sign-up's own.
            questions = asked(event=event) if event.uses_applications else []
            answers, terms_version, errors = _read_sign_up(
                event=event, needs_terms=needs_terms, sent=sent, questions=questions
            )
            if errors:
                text = " ".join(message for messages in errors.values() for message in messages)
                raise SignUpRefused(text, session=session, needs_terms=needs_terms, errors=errors)
            if terms_version is not None:
                accept_terms(user=user, event=event, version=terms_version)
            return _register(
                user=user,
                session=session,
                answers=answers,
                invited_seat=None,
                questions=questions,
            )
    except SignUpRefused:
        raise
    except ServiceError as error:
        raise SignUpRefused(error.message, session=session, needs_terms=needs_terms) from None
    except ValidationError as error:
        text = " ".join(error.messages)
        raise SignUpRefused(text, session=session, needs_terms=needs_terms) from None


def _read_sign_up(
    *, event: Event, needs_terms: bool, sent: SignUpInput, questions: list[Question]
) -> tuple[dict, int | None, dict[str, list[str]]]:
    """The answers (typed as their questions ask), the terms version accepted (None when none
    were asked), and what does not do, by form field."""
    errors: dict[str, list[str]] = {}
    version = None
    if needs_terms:
        try:
            version = int(sent.terms_version or "")
        except ValueError:
            errors["terms_version"] = [_("Enter a whole number.")]
        if not sent.accepted_terms:
            errors["accept_terms"] = [_("You need to accept the terms to sign up.")]
    answers: dict = {}
    if event.uses_applications:
        for question in questions:
            given = sent.answers.get(str(question.pk), [])
            multiple = question.kind == Question.Kind.MULTIPLE
            answers[str(question.pk)] = list(given) if multiple else (given[-1] if given else "")
        try:
            clean_answers(event=event, raw=answers, questions=questions)
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    return answers, version, errors


@contextmanager
def _one_per_person(*, user: User, pk: int):
    """Two requests of the same person can race past the check for an existing row; the
    unique constraint lets one through, and the other is told why (after its rollback)."""
    try:
        yield
    except IntegrityError:
        if Registration.objects.filter(user=user, session_id=pk).exists():
            raise ServiceError(_("You are already signed up for this session.")) from None
        raise


def _register(
    *,
    user: User,
    session: Session,
    answers: dict,
    invited_seat: bool | None,
    questions: list[Question] | None = None,
) -> Registration:
    # `session` comes from sign_up_state(), read in this transaction: the session, its event
    # and the person's standing in one query, as this path is the hot one of a rush.
    event = session.event
    invited = invited_seat is not None
    check_can_sign_up(user=user, session=session, invited=invited)
    # `mine` and `clashes` are annotations of sign_up_state()'s query.
    mine = session.mine  # type: ignore[attr-defined]
    existing = Registration.objects.get(pk=mine) if mine else None
    if existing and existing.is_active:
        raise ServiceError(
            _("You are already on this session (%(status)s).")
            % {"status": existing.get_status_display()}
        )
    if existing and existing.status == Status.REJECTED:
        raise ServiceError(_("The organizers did not select you for this session."))
    applying = event.uses_applications and not session.lottery_drawn_at and not invited
    if applying and event.registration_mode == Event.Mode.LOTTERY and _drawn_meanwhile(session):
        applying = False  # too late for the draw: first come, first served, as after it
    cleaned = clean_answers(event=event, raw=answers, questions=questions) if applying else {}
    now = timezone.now()
    extra: dict[str, Any]
    if applying:
        status, notify, extra = Status.APPLIED, Kind.APPLIED, {}
    else:
        if session.clashes:  # type: ignore[attr-defined]
            check_no_overlap(user=user, session=session)  # raises, naming the other event
        if invited_seat or take_seat(session.pk):
            status, notify, extra = Status.CONFIRMED, Kind.CONFIRMED, {"confirmed_at": now}
        elif session.waitlist_enabled:
            status, notify, extra = Status.WAITLISTED, Kind.WAITLISTED, {"waitlisted_at": now}
        else:
            raise ServiceError(_("This session is full."))

    if existing:
        # Someone who cancelled (or declined, or let an offer lapse) signs up again: same row,
        # back of the queue, history kept.
        existing.session = session
        return transition(
            existing,
            status,
            allowed_from=[Status.CANCELLED, Status.DECLINED, Status.EXPIRED],
            actor=user,
            note="Signed up again",
            notify=notify,
            answers=cleaned,
            cancelled_at=None,
            offered_at=None,
            offer_expires_at=None,
            **{"confirmed_at": None, "waitlisted_at": None, **extra},
        )
    if status == Status.CONFIRMED:
        # Written with the row, not after it: the first invite's SEQUENCE and the reminder.
        extra["remind_at"] = next_reminder_at(session, after=now)
        extra["calendar_sequence"] = session.sequence
    registration = insert(
        Registration(session=session, user=user, status=status, answers=cleaned, **extra)
    )
    record_creation(registration, actor=user, notify=notify)
    return registration


def _drawn_meanwhile(session: Session) -> bool:
    """Whether the lottery was drawn after `session` was read, waiting for a draw under way to
    end: an application written after it would never be drawn. FOR SHARE waits for the draw's
    row lock but not for other applicants. SQLite needs nothing: its IMMEDIATE transactions
    run one at a time, so what this one read is still true."""
    if connection.vendor != "postgresql":
        return False
    table = connection.ops.quote_name(Session._meta.db_table)
    with connection.cursor() as db:
        db.execute(f"SELECT lottery_drawn_at FROM {table} WHERE id = %s FOR SHARE", [session.pk])  # noqa: S608
        row = db.fetchone()
    return bool(row and row[0])


@transaction.atomic
def cancel(
    *, registration: Registration, actor, by_organizer: bool = False, note: str = ""
) -> Registration:
    """Give up a place (or an application, or a waitlist spot). A freed seat is offered to the
    next waitlisted person at once. The person leaves the waitlist for good. `note` says how,
    in the history, when it is not the usual (a "No" in their calendar)."""
    registration = lock(registration)
    if not by_organizer and registration.user_id != actor.pk:
        raise ServiceError(_("This registration is not yours."))
    if not registration.is_active:
        raise ServiceError(_("This registration is already closed."))
    if registration.session.ends_at <= timezone.now():
        raise ServiceError(_("This session is over: there is nothing left to cancel."))
    was_seated = registration.status in Registration.SEATED
    transition(
        registration,
        Status.CANCELLED,
        allowed_from=Registration.ACTIVE,
        actor=actor,
        note=note or ("Cancelled by an organizer" if by_organizer else "Cancelled"),
        notify=Kind.CANCELLED_BY_ORGANIZER if by_organizer else Kind.CANCELLED,
        cancelled_at=timezone.now(),
        offer_expires_at=None,
    )
    if by_organizer or registration.user_id != actor.pk:
        # An organizer's or staff's act; a person cancelling their own place is not logged.
        audit.record_for_registration(
            actor=actor, action="registration.cancelled", registration=registration
        )
    if was_seated:
        release_and_refill(registration.session_id)
    return registration


def note_calendar_download(*, registration: Registration) -> None:
    """The person downloaded their session's .ics, the invite itself: from now their calendar
    may hold the entry, so a later cancellation carries its calendar part even if no emailed
    invite ever reached them (delivery.invited). The first download is the one that counts."""
    Registration.objects.filter(pk=registration.pk, calendar_downloaded_at__isnull=True).update(
        calendar_downloaded_at=timezone.now()
    )
