"""Registering, applying and cancelling: the rules a developer meets when signing up."""

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from ..models import Event, Notification, Registration, Session, TermsAcceptance
from . import ServiceError
from .reminders import next_reminder_at
from .screening import clean_answers
from .seats import take_seat
from .transitions import lock, record_creation, transition
from .waitlist import release_and_refill

Status = Registration.Status
Kind = Notification.Kind


def check_can_sign_up(*, user, session: Session, invited: bool = False) -> None:
    """Everything that must hold before anyone may sign up; raises with the reason. An
    invitation stands in for the registration mode and window (it has its own expiry)."""
    event = session.event
    verified = getattr(session, "user_verified", None)
    if verified is None:
        verified = EmailAddress.objects.filter(user=user, verified=True).exists()
    if not verified:
        raise ServiceError("Verify your email address before you sign up for a session.")
    if event.status == Event.Status.CANCELLED or session.is_cancelled:
        raise ServiceError("This session is cancelled.")
    if event.status != Event.Status.PUBLISHED:
        raise ServiceError("This event is not open for registration.")
    if session.has_started:
        raise ServiceError("This session has already started.")
    if invited:
        pass
    elif event.registration_mode == Event.Mode.INVITATION:
        raise ServiceError("This session is by invitation only.")
    elif event.registration_opens_at and timezone.now() < event.registration_opens_at:
        opens = timezone.localtime(event.registration_opens_at)
        raise ServiceError(
            f"Registration for this event opens on {opens:%a %-d %b %Y at %H:%M %Z}."
        )
    elif not event.registration_is_open():
        raise ServiceError("Registration for this event is closed.")
    if event.is_confidential and not has_accepted_terms(user=user, event=event):
        raise ServiceError("Accept the confidentiality terms to sign up for this event.")


def has_accepted_terms(*, user, event: Event) -> bool:
    return TermsAcceptance.objects.filter(
        user=user, event=event, version=event.terms_version
    ).exists()


def accept_terms(*, user, event: Event, version: int) -> TermsAcceptance:
    """Record that `user` accepted the terms they were shown; refuse an outdated version."""
    if not event.is_confidential:
        raise ServiceError("This event has no confidentiality terms.")
    if version != event.terms_version:
        raise ServiceError("The terms have changed since you opened the page; read them again.")
    acceptance, _ = TermsAcceptance.objects.get_or_create(user=user, event=event, version=version)
    return acceptance


def confirmed_at_the_same_time(session: Session) -> Q:
    """Registrations holding a confirmed seat in a scheduled session overlapping `session`."""
    return Q(
        status=Status.CONFIRMED,
        session__status=Session.Status.SCHEDULED,
        session__starts_at__lt=session.ends_at,
        session__ends_at__gt=session.starts_at,
    )


def check_no_overlap(*, user, session: Session, exclude: int | None = None) -> None:
    clash = (
        Registration.objects.filter(confirmed_at_the_same_time(session), user=user)
        .exclude(pk=exclude)
        .select_related("session__event")
        .first()
    )
    if clash:
        raise ServiceError(
            f"You already have a confirmed seat at that time: {clash.session.event.title}."
        )


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
        with transaction.atomic():
            return _register(
                user=user, session=session, answers=answers or {}, invited_seat=invited_seat
            )
    except IntegrityError:
        # Two requests of the same person raced; the unique constraint let one through.
        if Registration.objects.filter(user=user, session=session).exists():
            raise ServiceError("You are already signed up for this session.") from None
        raise


def _register(*, user, session: Session, answers: dict, invited_seat: bool | None) -> Registration:
    # One query reads the session as it is now (inside this transaction), its event, and
    # whether the person has a verified address: this path is the hot one of a rush.
    session = (
        Session.objects.select_related("event")
        .annotate(user_verified=Exists(EmailAddress.objects.filter(user=user, verified=True)))
        .get(pk=session.pk)
    )
    event = session.event
    invited = invited_seat is not None
    check_can_sign_up(user=user, session=session, invited=invited)
    # The person's row for this session, and any confirmed seat at the same time, together.
    mine = list(
        Registration.objects.filter(user=user).filter(
            Q(session=session) | confirmed_at_the_same_time(session)
        )
    )
    existing = next((r for r in mine if r.session_id == session.pk), None)
    if existing and existing.is_active:
        raise ServiceError(f"You are already on this session ({existing.get_status_display()}).")
    if existing and existing.status == Status.REJECTED:
        raise ServiceError("The organizers did not select you for this session.")
    applying = event.uses_applications and not session.lottery_drawn_at and not invited
    cleaned = clean_answers(event=event, raw=answers) if applying else {}
    now = timezone.now()

    if applying:
        status, notify, extra = Status.APPLIED, Kind.APPLIED, {}
    else:
        clash = next((r for r in mine if r.session_id != session.pk), None)
        if clash:
            check_no_overlap(user=user, session=session)  # raises, naming the other event
        if invited_seat or take_seat(session.pk):
            status, notify, extra = Status.CONFIRMED, Kind.CONFIRMED, {"confirmed_at": now}
        elif session.waitlist_enabled:
            status, notify, extra = Status.WAITLISTED, Kind.WAITLISTED, {"waitlisted_at": now}
        else:
            raise ServiceError("This session is full.")

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
    registration = Registration.objects.create(
        session=session, user=user, status=status, answers=cleaned, **extra
    )
    record_creation(registration, actor=user, notify=notify)
    return registration


@transaction.atomic
def cancel(*, registration: Registration, actor, by_organizer: bool = False) -> Registration:
    """Give up a place (or an application, or a waitlist spot). A freed seat is offered to the
    next waitlisted person at once. The person leaves the waitlist for good."""
    registration = lock(registration)
    if not by_organizer and registration.user_id != actor.pk:
        raise ServiceError("This registration is not yours.")
    if not registration.is_active:
        raise ServiceError("This registration is already closed.")
    if registration.session.ends_at <= timezone.now():
        raise ServiceError("This session is over: there is nothing left to cancel.")
    was_seated = registration.status in Registration.SEATED
    transition(
        registration,
        Status.CANCELLED,
        allowed_from=Registration.ACTIVE,
        actor=actor,
        note="Cancelled by an organizer" if by_organizer else "Cancelled",
        notify=Kind.CANCELLED_BY_ORGANIZER if by_organizer else Kind.CANCELLED,
        cancelled_at=timezone.now(),
        offer_expires_at=None,
    )
    if was_seated:
        release_and_refill(registration.session_id)
    return registration
