"""The waitlist: first come, first served; a freed seat goes to the next person as an offer
with a deadline. Someone who cancelled, declined or let an offer expire has left the list and
is never offered a seat again (the waiting-list bugs users report in pretix)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Notification, Registration, Session
from . import ServiceError
from .seats import release_seat, take_seat
from .transitions import lock, transition

Status = Registration.Status


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
    release_seat(session_id)
    fill_vacancies(session_id)


@transaction.atomic
def accept_offer(*, registration: Registration, user) -> Registration:
    """The offered person takes the seat that was kept for them."""
    registration = lock(registration)
    if registration.user_id != user.pk:
        raise ServiceError("This offer is not yours.")
    if registration.status != Status.OFFERED:
        raise ServiceError("There is no open offer on this registration any more.")
    if registration.offer_expires_at and registration.offer_expires_at <= timezone.now():
        raise ServiceError("This offer has expired; the seat went to the next person.")
    if registration.session.has_started:
        raise ServiceError("This session has already started.")
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
def decline_offer(*, registration: Registration, user) -> Registration:
    registration = lock(registration)
    if registration.user_id != user.pk:
        raise ServiceError("This offer is not yours.")
    if registration.status != Status.OFFERED:
        raise ServiceError("There is no open offer on this registration any more.")
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
