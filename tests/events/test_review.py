"""What organizers do with people: approve, reject, move in from the waitlist
(events.services.review)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Notification, Registration, RegistrationChange, Session
from events.services import ServiceError
from events.services.registration import cancel, register
from events.services.review import apply_to_many, approve, move_in, reject
from tests.factories import SessionFactory, UserFactory, organizer_of

pytestmark = pytest.mark.django_db

Status = Registration.Status


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def assert_seats_add_up(session: Session) -> None:
    session.refresh_from_db()
    seated = Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
    assert session.seats_taken == seated
    assert seated <= session.capacity


def snapshot(session: Session) -> tuple:
    session.refresh_from_db()
    return (
        session.seats_taken,
        list(
            Registration.objects.filter(session=session)
            .order_by("pk")
            .values_list("pk", "status", "confirmed_at", "waitlisted_at")
        ),
        RegistrationChange.objects.count(),
        Notification.objects.count(),
    )


def last_change(registration: Registration) -> tuple:
    change = fresh(registration).changes.last()
    return change.from_status, change.to_status, change.actor, change.note


def applications(count: int, *, capacity: int = 2, **fields):
    session = SessionFactory(event__registration_mode="approval", capacity=capacity, **fields)
    organizer = organizer_of(session.event)
    applied = [register(user=UserFactory(), session=session) for _ in range(count)]
    return session, organizer, applied


def test_approving_an_applicant_confirms_them():
    session, organizer, [applicant] = applications(1)

    approve(registration=applicant, actor=organizer)

    approved = fresh(applicant)
    assert approved.status == Status.CONFIRMED
    assert approved.confirmed_at is not None
    assert last_change(applicant) == (Status.APPLIED, Status.CONFIRMED, organizer, "Approved")
    assert_seats_add_up(session)
    assert session.seats_taken == 1


def test_approving_beyond_capacity_is_refused_with_a_clear_message_and_changes_nothing():
    session, organizer, [first, second] = applications(2, capacity=1)
    approve(registration=first, actor=organizer)
    before = snapshot(session)

    with pytest.raises(ServiceError) as refusal:
        approve(registration=second, actor=organizer)

    assert refusal.value.message == (
        f"The session is full: approving {second.user.name} would overbook it."
    )
    assert snapshot(session) == before
    assert fresh(second).status == Status.APPLIED


def test_approving_when_full_can_put_the_applicant_on_the_waitlist():
    session, organizer, [first, second] = applications(2, capacity=1)
    approve(registration=first, actor=organizer)

    approve(registration=second, actor=organizer, when_full="waitlist")

    waiting = fresh(second)
    assert waiting.status == Status.WAITLISTED
    assert waiting.waitlisted_at is not None
    assert last_change(second)[:3] == (Status.APPLIED, Status.WAITLISTED, organizer)
    assert_seats_add_up(session)
    assert session.seats_taken == 1


def test_an_approved_person_waiting_gets_the_next_freed_seat():
    session, organizer, [first, second] = applications(2, capacity=1)
    approve(registration=first, actor=organizer)
    approve(registration=second, actor=organizer, when_full="waitlist")

    cancel(registration=first, actor=first.user)

    assert fresh(second).status == Status.OFFERED
    assert_seats_add_up(session)


def test_approving_someone_who_is_not_an_applicant_is_refused():
    session, organizer, [applicant] = applications(1)
    approve(registration=applicant, actor=organizer)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="is Confirmed, not applied"):
        approve(registration=applicant, actor=organizer)

    assert snapshot(session) == before


def test_rejecting_an_applicant_turns_them_down():
    session, organizer, [applicant] = applications(1)

    reject(registration=applicant, actor=organizer)

    assert fresh(applicant).status == Status.REJECTED
    assert last_change(applicant) == (Status.APPLIED, Status.REJECTED, organizer, "Not selected")
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def test_rejecting_a_waitlisted_person_takes_them_off_the_list():
    session = SessionFactory(capacity=1)
    organizer = organizer_of(session.event)
    seated = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)

    reject(registration=waiting, actor=organizer)
    cancel(registration=seated, actor=seated.user)

    assert fresh(waiting).status == Status.REJECTED
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def test_a_confirmed_person_cannot_be_rejected():
    session, organizer, [applicant] = applications(1)
    approve(registration=applicant, actor=organizer)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="only applicants and people waiting"):
        reject(registration=applicant, actor=organizer)

    assert snapshot(session) == before


def waitlist_with_a_free_seat():
    """A full session with one person waiting, then the start passes and someone cancels: the
    seat is free but offers are over, so only an organizer at the door can move someone in."""
    session = SessionFactory(capacity=1)
    organizer = organizer_of(session.event)
    seated = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    cancel(registration=seated, actor=seated.user)
    assert fresh(waiting).status == Status.WAITLISTED
    session.refresh_from_db()
    assert session.seats_taken == 0
    return session, organizer, waiting


def test_moving_a_waitlisted_person_in_confirms_them_when_a_seat_is_free():
    session, organizer, waiting = waitlist_with_a_free_seat()

    move_in(registration=waiting, actor=organizer)

    moved = fresh(waiting)
    assert moved.status == Status.CONFIRMED
    assert moved.confirmed_at is not None
    assert last_change(waiting)[:3] == (Status.WAITLISTED, Status.CONFIRMED, organizer)
    assert_seats_add_up(session)
    assert session.seats_taken == 1


def test_moving_in_is_refused_when_the_session_is_full():
    session = SessionFactory(capacity=1)
    organizer = organizer_of(session.event)
    register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="The session is full: there is no free seat"):
        move_in(registration=waiting, actor=organizer)

    assert snapshot(session) == before
    assert fresh(waiting).status == Status.WAITLISTED


def test_moving_in_someone_with_a_confirmed_seat_at_the_same_time_is_refused():
    session, organizer, waiting = waitlist_with_a_free_seat()
    soon = timezone.now() + timedelta(minutes=10)  # inside the session, which has started
    clashing = SessionFactory(starts_at=soon, ends_at=soon + timedelta(hours=1))
    elsewhere = register(user=waiting.user, session=clashing)
    assert elsewhere.status == Status.CONFIRMED
    before = snapshot(session)

    with pytest.raises(ServiceError, match="already has a confirmed seat at that time"):
        move_in(registration=waiting, actor=organizer)

    assert snapshot(session) == before
    assert fresh(waiting).status == Status.WAITLISTED


def test_moving_in_someone_who_is_not_waiting_is_refused():
    session, organizer, [applicant] = applications(1)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="is not on the waitlist"):
        move_in(registration=applicant, actor=organizer)

    assert snapshot(session) == before


def test_approving_many_counts_what_was_done_and_collects_the_refusals():
    session, organizer, applied = applications(4, capacity=2)
    approve(registration=applied[0], actor=organizer)  # one seat of two already given

    done, refusals = apply_to_many(approve, applied, actor=organizer)

    assert done == 1
    assert refusals == [
        f"{applied[0].user.name} is Confirmed, not applied.",
        f"The session is full: approving {applied[2].user.name} would overbook it.",
        f"The session is full: approving {applied[3].user.name} would overbook it.",
    ]
    assert [fresh(r).status for r in applied] == [
        Status.CONFIRMED,
        Status.CONFIRMED,
        Status.APPLIED,
        Status.APPLIED,
    ]
    assert_seats_add_up(session)


def test_approving_many_onto_the_waitlist_refuses_nobody():
    session, organizer, applied = applications(3, capacity=1)

    done, refusals = apply_to_many(approve, applied, actor=organizer, when_full="waitlist")

    assert (done, refusals) == (3, [])
    assert [fresh(r).status for r in applied] == [
        Status.CONFIRMED,
        Status.WAITLISTED,
        Status.WAITLISTED,
    ]
    assert_seats_add_up(session)


def test_rejecting_many_applicants_at_once():
    session, organizer, applied = applications(3)

    assert apply_to_many(reject, applied, actor=organizer) == (3, [])

    assert {fresh(r).status for r in applied} == {Status.REJECTED}
    assert_seats_add_up(session)
