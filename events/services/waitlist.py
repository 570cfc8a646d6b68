"""The waitlist: first come, first served; a freed seat goes to the next person as an offer
with a deadline. Someone who cancelled, declined or let an offer expire has left the list and
is never offered a seat again (the waiting-list bugs users report in pretix)."""

import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Notification, Registration, Session
from . import ServiceError
from .seats import lock_session, release_seat, take_seat
from .transitions import lock, transition

Status = Registration.Status
log = logging.getLogger(__name__)


def fill_vacancies(session_id: int) -> list[Registration]:
    """Offer every free seat to the next waitlisted person, in order. Call it in the same
    transaction as whatever freed the seat."""
    session = Session.objects.select_related("event").get(pk=session_id)
    if session.is_cancelled or session.has_started:
        return []
    offered = []
    while True:
        candidate = (
            # `of`: the registration row only (the user row needs no lock, and a lock held on
            # it elsewhere must not make this skip the first person in line).
            Registration.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(session_id=session_id, status=Status.WAITLISTED)
            .order_by("waitlisted_at", "pk")
            .select_related("user")
            .first()
        )
        if candidate is None or not take_seat(session_id):
            break
        now = timezone.now()
        expires = min(now + timedelta(hours=session.event.offer_hours), session.starts_at)
        offered.append(
            transition(
                candidate,
                Status.OFFERED,
                allowed_from=[Status.WAITLISTED],
                note="A seat was freed",
                notify=Notification.Kind.OFFERED,
                offered_at=now,
                offer_expires_at=expires,
            )
        )
    return offered


def release_and_refill(session_id: int) -> None:
    """Give a seat back and offer it on, in the caller's transaction; and once that has
    committed, look again shortly (see refill_soon)."""
    release_seat(session_id)
    fill_vacancies(session_id)
    refill_soon(session_id)


# Long enough for a sign-up that raced the release to commit (a few ms), short enough that
# nobody notices the wait.
REFILL_DELAY = 2
FILL_SESSION = "events.tasks.fill_session"


def refill_soon(session_id: int) -> None:
    """A release's fill_vacancies cannot see a sign-up that found the session full just
    before the release and has not committed yet: that person is waitlisted after the release
    committed, with the seat still free. Once the release has committed, a task fills the
    session again a moment later; the minute sweep (fill_open_seats) covers a lost task."""

    def ring() -> None:
        try:
            # By name: the tasks module calls this one, and an import back would close a cycle.
            current_app.tasks[FILL_SESSION].apply_async((session_id,), countdown=REFILL_DELAY)
        except Exception:  # noqa: BLE001 - any broker failure; the minute sweep fills it
            log.warning("Could not enqueue a refill of session %s; the sweep will", session_id)

    transaction.on_commit(ring)


def fill_session(session_id: int, *, skip_locked: bool = False) -> list[Registration]:
    """Offer the free seats of one session to its waitlist, in a transaction of its own that
    locks the session row first (the order of every other path: transitions.lock). Safe to
    run twice or concurrently: each offer takes a seat by the conditional UPDATE. With
    `skip_locked`, a session someone else holds is left for the next run."""
    with transaction.atomic():
        if not lock_session(session_id, skip_locked=skip_locked):
            return []
        return fill_vacancies(session_id)


def sessions_to_fill(*, now=None):
    """Scheduled sessions yet to start with a free seat and someone waitlisted: what no seat
    may stay in for long. The waitlisted side is found through the (status, ...) index of
    registrations (few rows wait at any time), the sessions by their primary key."""
    now = now or timezone.now()
    waiting = Registration.objects.filter(session_id=OuterRef("pk"), status=Status.WAITLISTED)
    return Session.objects.filter(
        Exists(waiting),
        status=Session.Status.SCHEDULED,
        starts_at__gt=now,
        seats_taken__lt=F("capacity"),
    ).order_by()


def fill_open_seats(*, now=None) -> int:
    """The minute sweep: offer every seat left free while someone waits (a release that raced
    a sign-up, or a refill task lost with the broker). One transaction per session; sessions
    locked elsewhere are skipped until the next run. The number of offers made."""
    due = list(sessions_to_fill(now=now).values_list("pk", flat=True))
    return sum(len(fill_session(pk, skip_locked=True)) for pk in due)


@transaction.atomic
def accept_offer(*, registration: Registration, user: User) -> Registration:
    """The offered person takes the seat that was kept for them."""
    registration = lock(registration)
    if registration.user_id != user.pk:
        raise ServiceError(_("This offer is not yours."))
    if registration.status != Status.OFFERED:
        raise ServiceError(_("There is no open offer on this registration any more."))
    if registration.offer_expires_at and registration.offer_expires_at <= timezone.now():
        raise ServiceError(_("This offer has expired; the seat went to the next person."))
    if registration.session.has_started:
        raise ServiceError(_("This session has already started."))
    from .registration import check_no_overlap

    check_no_overlap(user=user, session=registration.session, exclude=registration.pk)
    return transition(
        registration,
        Status.CONFIRMED,
        allowed_from=[Status.OFFERED],
        actor=user,
        note="Accepted the offer",
        notify=Notification.Kind.CONFIRMED,
        confirmed_at=timezone.now(),
    )


@transaction.atomic
def decline_offer(*, registration: Registration, user: User) -> Registration:
    registration = lock(registration)
    if registration.user_id != user.pk:
        raise ServiceError(_("This offer is not yours."))
    if registration.status != Status.OFFERED:
        raise ServiceError(_("There is no open offer on this registration any more."))
    transition(
        registration,
        Status.DECLINED,
        allowed_from=[Status.OFFERED],
        actor=user,
        note="Declined the offer",
    )
    release_and_refill(registration.session_id)
    return registration


def expire_offers(*, now=None) -> int:
    """Offers past their deadline pass to the next person. One transaction per offer, so one
    failure does not hold back the rest; safe to run twice (the status guard skips done ones)."""
    now = now or timezone.now()
    due = list(
        Registration.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            registration = lock(Registration(pk=pk))
            try:
                transition(
                    registration,
                    Status.EXPIRED,
                    allowed_from=[Status.OFFERED],
                    note="The offer expired",
                    notify=Notification.Kind.OFFER_EXPIRED,
                )
            except ServiceError:
                continue  # accepted or declined in the meantime
            release_and_refill(registration.session_id)
            expired += 1
    return expired
