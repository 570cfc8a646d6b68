"""The attendance services: check-in, undo, walk-ins, the no-show sweep, corrections, and the
numbers they add up to, checked against hand-made data."""

from collections import Counter
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from events import tasks
from events.models import Notification, Registration, RegistrationChange, Session
from events.services import ServiceError, attendance, scheduling
from events.services import registration as registration_service
from tests import harness
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    RegistrationFactory,
    UserFactory,
    organizer_of,
    team_of,
)

from .conftest import door_session, move, seat

pytestmark = pytest.mark.django_db
Status = Registration.Status


def notes(registration: Registration) -> list[str]:
    return list(registration.changes.order_by("pk").values_list("note", flat=True))


# Check-in ----------------------------------------------------------------------------------


def test_checking_in_marks_the_person_present_and_records_who_and_when(session, owner):
    (registration,) = seat(session)

    outcome = attendance.check_in(registration=registration, actor=owner)

    assert outcome.changed
    assert outcome.message == f"{registration.user.name} is checked in."
    registration.refresh_from_db()
    assert registration.checked_in_at is not None
    assert registration.checked_in_by == owner
    assert registration.status == Status.CONFIRMED
    change = registration.changes.order_by("pk").last()
    assert (change.from_status, change.to_status, change.actor, change.note) == (
        "confirmed",
        "confirmed",
        owner,
        "Checked in",
    )


def test_checking_in_twice_is_harmless_and_says_when_it_happened(session, owner):
    (registration,) = seat(session)
    first = attendance.check_in(registration=registration, actor=owner)
    second_organizer = OrganizerFactory()

    again = attendance.check_in(registration=registration, actor=second_organizer)

    assert not again.changed
    assert "was already checked in at" in again.message
    assert f"by {owner.name}" in again.message
    registration.refresh_from_db()
    assert registration.checked_in_at == first.registration.checked_in_at
    assert registration.checked_in_by == owner
    assert notes(registration).count("Checked in") == 1


@pytest.mark.parametrize("status", ["waitlisted", "cancelled", "applied", "offered"])
def test_only_confirmed_people_can_be_checked_in(session, owner, status):
    (registration,) = seat(session)
    Registration.objects.filter(pk=registration.pk).update(status=status)

    with pytest.raises(ServiceError, match="only confirmed attendees can be checked in"):
        attendance.check_in(registration=registration, actor=owner)

    assert Registration.objects.get(pk=registration.pk).checked_in_at is None


def test_check_in_opens_a_day_before_the_start(event, owner):
    session = door_session(event=event)
    (registration,) = seat(session)
    move(session, starts_in=timedelta(hours=25))

    with pytest.raises(ServiceError, match="Check-in opens 24 hours before"):
        attendance.check_in(registration=registration, actor=owner)

    move(session, starts_in=timedelta(hours=23))
    assert attendance.check_in(registration=registration, actor=owner).changed


def test_late_arrivals_can_be_checked_in_after_the_end(session, owner):
    (registration,) = seat(session)
    move(session, starts_in=-timedelta(hours=3))

    assert attendance.check_in(registration=registration, actor=owner).changed


def test_check_in_is_refused_when_the_event_does_not_check_people_in(event, session, owner):
    (registration,) = seat(session)
    event.checkin_enabled = False
    event.save(update_fields=["checkin_enabled"])

    with pytest.raises(ServiceError, match="Check-in is turned off"):
        attendance.check_in(registration=registration, actor=owner)


def test_nobody_is_checked_in_to_a_cancelled_session(session, owner):
    (registration,) = seat(session)
    scheduling.cancel_session(session=session, actor=owner)

    with pytest.raises(ServiceError):
        attendance.check_in(registration=registration, actor=owner)


# Undo ----------------------------------------------------------------------------------------


def test_undo_takes_the_check_in_back_and_records_it(session, owner):
    (registration,) = seat(session)
    attendance.check_in(registration=registration, actor=owner)

    outcome = attendance.undo_check_in(registration=registration, actor=owner)

    assert outcome.changed
    registration.refresh_from_db()
    assert registration.checked_in_at is None
    assert registration.checked_in_by is None
    assert not registration.no_show
    assert notes(registration)[-2:] == ["Checked in", "Check-in undone"]


def test_undoing_twice_is_harmless(session, owner):
    (registration,) = seat(session)
    attendance.check_in(registration=registration, actor=owner)
    attendance.undo_check_in(registration=registration, actor=owner)

    again = attendance.undo_check_in(registration=registration, actor=owner)

    assert not again.changed
    assert "nothing to undo" in again.message
    assert notes(registration).count("Check-in undone") == 1


def test_undo_after_the_sweep_makes_the_person_a_no_show(session, owner):
    first, second = seat(session, 2)
    attendance.check_in(registration=first, actor=owner)
    attendance.check_in(registration=second, actor=owner)
    move(session, starts_in=-timedelta(hours=2))
    attendance.mark_no_shows()

    attendance.undo_check_in(registration=second, actor=owner)

    second.refresh_from_db()
    assert second.no_show and second.checked_in_at is None


# Walk-ins ------------------------------------------------------------------------------------


def test_a_walk_in_without_an_account_gets_an_unverified_one_a_seat_and_a_check_in(
    session, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        outcome = attendance.add_walk_in(
            session=session, actor=owner, email=" New.Person@Example.com ", name="New Person"
        )

    registration = outcome.registration
    assert outcome.changed
    assert "is in as a walk-in and checked in. 4 seats left." in outcome.message
    person = User.objects.get(email="new.person@example.com")
    assert registration.user == person
    assert person.display_name == "New Person"
    assert not person.has_usable_password()
    assert EmailAddress.objects.get(user=person).verified is False
    registration.refresh_from_db()
    assert registration.status == Status.CONFIRMED
    assert registration.walk_in and registration.checked_in_at and registration.remind_at is None
    assert registration.checked_in_by == owner
    assert Session.objects.get(pk=session.pk).seats_taken == 1
    # Nothing is mailed to someone standing at the door.
    assert not Notification.objects.filter(recipient=person).exists()


def test_a_walk_in_is_refused_when_the_session_is_full_and_nothing_is_written(event, owner):
    session = door_session(event=event, capacity=2)
    seat(session, 2)
    users_before = User.objects.count()

    with pytest.raises(ServiceError, match="The session is full"):
        attendance.add_walk_in(session=session, actor=owner, email="late@example.com")

    assert User.objects.count() == users_before
    assert Session.objects.get(pk=session.pk).seats_taken == 2
    assert not Registration.objects.filter(user__email="late@example.com").exists()


def test_a_walk_in_who_already_has_a_seat_is_simply_checked_in(session, owner):
    (registration,) = seat(session)
    email = registration.user.email.upper()

    outcome = attendance.add_walk_in(session=session, actor=owner, email=email, name="Other")

    assert outcome.registration.pk == registration.pk
    assert "already had a seat" in outcome.message
    registration.refresh_from_db()
    assert registration.checked_in_at and not registration.walk_in
    assert Session.objects.get(pk=session.pk).seats_taken == 1
    assert registration.user.display_name != "Other"  # an existing account keeps its name


def test_a_waitlisted_person_at_the_door_takes_a_freed_seat_as_a_walk_in(event, owner):
    session = door_session(event=event, capacity=1)
    (holder,) = seat(session)
    waiting = registration_service.register(user=UserFactory(), session=session)
    assert waiting.status == Status.WAITLISTED
    # The seat holder cancels; the seat is offered to the waitlisted person, who is at the door.
    registration_service.cancel(registration=holder, actor=holder.user)
    waiting.refresh_from_db()
    assert waiting.status == Status.OFFERED

    outcome = attendance.add_walk_in(session=session, actor=owner, email=waiting.user.email)

    waiting.refresh_from_db()
    assert outcome.registration.pk == waiting.pk
    assert waiting.status == Status.CONFIRMED and waiting.walk_in and waiting.checked_in_at
    # The offered seat was already counted: no second seat is taken.
    assert Session.objects.get(pk=session.pk).seats_taken == 1
    assert "Walk-in: let in at the door (was seat offered)" in notes(waiting)


def test_someone_who_cancelled_can_come_back_as_a_walk_in_if_a_seat_is_free(session, owner):
    (registration,) = seat(session)
    registration_service.cancel(registration=registration, actor=registration.user)

    attendance.add_walk_in(session=session, actor=owner, email=registration.user.email)

    registration.refresh_from_db()
    assert registration.status == Status.CONFIRMED and registration.checked_in_at
    assert registration.cancelled_at is None
    assert Session.objects.get(pk=session.pk).seats_taken == 1


def test_a_waitlisted_walk_in_is_refused_when_no_seat_is_free(event, owner):
    session = door_session(event=event, capacity=1)
    seat(session)
    waiting = registration_service.register(user=UserFactory(), session=session)

    with pytest.raises(ServiceError, match="The session is full"):
        attendance.add_walk_in(session=session, actor=owner, email=waiting.user.email)

    assert Registration.objects.get(pk=waiting.pk).status == Status.WAITLISTED


def test_a_walk_in_needs_a_valid_email(session, owner):
    with pytest.raises(ServiceError, match="valid email"):
        attendance.add_walk_in(session=session, actor=owner, email="not an email")


def test_walk_ins_wait_for_the_door_to_open(event, owner):
    session = door_session(event=event)
    move(session, starts_in=timedelta(days=3))

    with pytest.raises(ServiceError, match="Check-in opens"):
        attendance.add_walk_in(session=session, actor=owner, email="early@example.com")

    assert not User.objects.filter(email="early@example.com").exists()


# The no-show sweep ---------------------------------------------------------------------------


def test_the_sweep_marks_only_confirmed_people_not_checked_in_of_ended_sessions(event, owner):
    ended = door_session(event=event, capacity=4)
    came, walked_in, absent, cancelled = seat(ended, 4)
    waiting = registration_service.register(user=UserFactory(), session=ended)
    registration_service.cancel(registration=cancelled, actor=cancelled.user)
    waiting.refresh_from_db()  # offered the freed seat, never answered
    attendance.check_in(registration=came, actor=owner)
    attendance.check_in(registration=walked_in, actor=owner)
    running = door_session(event=event)
    (in_progress,) = seat(running)
    attendance.check_in(registration=seat(running)[0], actor=owner)
    move(ended, starts_in=-timedelta(hours=2))
    move(running, starts_in=-timedelta(minutes=30))

    assert attendance.mark_no_shows() == 1

    marked = set(Registration.objects.filter(no_show=True).values_list("pk", flat=True))
    assert marked == {absent.pk}
    assert notes(absent)[-1] == "No-show: not checked in by the end of the session"
    assert Session.objects.get(pk=ended.pk).attendance_closed_at is not None
    assert Session.objects.get(pk=running.pk).attendance_closed_at is None
    assert not Registration.objects.get(pk=in_progress.pk).no_show


def test_the_sweep_is_safe_to_run_twice(session, owner):
    came, absent = seat(session, 2)
    attendance.check_in(registration=came, actor=owner)
    move(session, starts_in=-timedelta(hours=2))

    assert attendance.mark_no_shows() == 1
    closed_at = Session.objects.get(pk=session.pk).attendance_closed_at
    assert attendance.mark_no_shows() == 0

    assert Session.objects.get(pk=session.pk).attendance_closed_at == closed_at
    assert notes(absent).count("No-show: not checked in by the end of the session") == 1


def test_the_beat_task_runs_the_sweep_every_five_minutes(session, owner, settings):
    came, _absent = seat(session, 2)
    attendance.check_in(registration=came, actor=owner)
    move(session, starts_in=-timedelta(hours=2))

    assert tasks.mark_no_shows.apply().get() == 1
    assert tasks.mark_no_shows.apply().get() == 0
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["events.tasks.mark_no_shows"] == 300.0


def test_a_session_where_nobody_was_checked_in_is_closed_without_marking_anyone(session):
    seat(session, 3)
    move(session, starts_in=-timedelta(hours=2))

    assert attendance.mark_no_shows() == 0

    assert Session.objects.get(pk=session.pk).attendance_closed_at is not None
    assert not Registration.objects.filter(no_show=True).exists()


def test_the_sweep_marks_nobody_when_the_event_does_not_check_people_in(event, session, owner):
    came, _absent = seat(session, 2)
    attendance.check_in(registration=came, actor=owner)
    event.checkin_enabled = False
    event.save(update_fields=["checkin_enabled"])
    move(session, starts_in=-timedelta(hours=2))

    assert attendance.mark_no_shows() == 0
    assert not Registration.objects.filter(no_show=True).exists()


def test_a_late_check_in_after_the_sweep_clears_the_no_show(session, owner):
    came, late = seat(session, 2)
    attendance.check_in(registration=came, actor=owner)
    move(session, starts_in=-timedelta(hours=2))
    attendance.mark_no_shows()

    attendance.check_in(registration=late, actor=owner)

    late.refresh_from_db()
    assert late.checked_in_at and not late.no_show


# Corrections ---------------------------------------------------------------------------------


def test_the_organizer_corrects_a_no_show_to_attended_and_back(session, owner):
    came, forgot = seat(session, 2)
    attendance.check_in(registration=came, actor=owner)
    move(session, starts_in=-timedelta(hours=2))
    attendance.mark_no_shows()

    fixed = attendance.correct_attendance(registration=forgot, actor=owner, attended=True)
    again = attendance.correct_attendance(registration=forgot, actor=owner, attended=True)

    assert fixed.changed and not again.changed
    forgot.refresh_from_db()
    assert forgot.checked_in_at and not forgot.no_show and forgot.checked_in_by == owner

    attendance.correct_attendance(registration=forgot, actor=owner, attended=False)

    forgot.refresh_from_db()
    assert forgot.no_show and forgot.checked_in_at is None
    assert notes(forgot)[-2:] == ["Attendance corrected: attended", "Attendance corrected: no-show"]


def test_attendance_is_not_corrected_before_the_session_starts(event, owner):
    session = door_session(event=event)
    (registration,) = seat(session)
    move(session, starts_in=timedelta(hours=2))

    with pytest.raises(ServiceError, match="has not started"):
        attendance.correct_attendance(registration=registration, actor=owner, attended=False)


def test_attendance_is_corrected_for_confirmed_people_only(session, owner):
    (registration,) = seat(session)
    registration_service.cancel(registration=registration, actor=registration.user)
    move(session, starts_in=-timedelta(hours=2))

    with pytest.raises(ServiceError, match="confirmed attendees only"):
        attendance.correct_attendance(registration=registration, actor=owner, attended=True)


# Concurrency (real threads, real PostgreSQL) ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_phones_checking_in_the_same_person_at_once_record_one_check_in():
    session = door_session(capacity=5)
    (registration,) = seat(session)
    organizers = [OrganizerFactory() for _ in range(8)]

    def scan(organizer, registration_id: int) -> str:
        outcome = attendance.check_in(
            registration=Registration(pk=registration_id), actor=organizer
        )
        return "checked in" if outcome.changed else "already"

    outcomes = harness.rush(scan, organizers, registration.pk)

    assert Counter(outcomes) == {"checked in": 1, "already": 7}, outcomes
    assert (
        RegistrationChange.objects.filter(registration=registration, note="Checked in").count() == 1
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_walk_ins_rushing_the_last_seats_never_overbook():
    session = door_session(capacity=5)
    seat(session, 2)
    organizer = OrganizerFactory()
    emails = [f"walker{i}@example.com" for i in range(10)]

    def walk_in(email, session_id: int) -> str:
        attendance.add_walk_in(
            session=Session(pk=session_id), actor=organizer, email=email, name=""
        )
        return "in"

    outcomes = harness.rush(walk_in, emails, session.pk)

    assert outcomes.count("in") == 3, outcomes
    assert all(o == "in" or "The session is full" in o for o in outcomes), outcomes
    assert Session.objects.get(pk=session.pk).seats_taken == 5
    assert Registration.objects.filter(session=session, status="confirmed").count() == 5


# History and summaries, against hand-made data ----------------------------------------------


@pytest.fixture
def record(owner):
    """One person's past, in events `owner` organizes (and one event they do not):

    - attended two sessions (one checked in, one in an event without check-in),
    - a no-show in a third,
    - cancelled a seat 2 hours before a start (late), another 3 days before (not late),
    - was cancelled by an organizer 1 hour before a start (not held against them),
    - lost a seat when a session was cancelled (not held against them),
    - a no-show in an event organized by someone else.
    """
    person = UserFactory(display_name="Pat Person")
    mine = EventFactory(organizer=owner)
    unchecked = EventFactory(organizer=owner)
    unchecked.checkin_enabled = False
    unchecked.save(update_fields=["checkin_enabled"])
    theirs = EventFactory()

    def signed_up(event) -> Registration:
        return registration_service.register(user=person, session=door_session(event=event))

    def shift(registration, hours: float) -> None:
        move(registration.session, starts_in=timedelta(hours=hours))

    attended = signed_up(mine)
    attendance.check_in(registration=attended, actor=owner)
    shift(attended, -50)
    shift(signed_up(unchecked), -40)
    absent = signed_up(mine)
    other = seat(absent.session)[0]
    attendance.check_in(registration=other, actor=owner)
    shift(absent, -30)
    late = signed_up(mine)
    registration_service.cancel(registration=late, actor=person)
    Registration.objects.filter(pk=late.pk).update(
        cancelled_at=timezone.now() + timedelta(hours=100 - 2)
    )
    shift(late, 100)
    early = signed_up(mine)
    registration_service.cancel(registration=early, actor=person)
    shift(early, 72 + 1)
    by_organizer = signed_up(mine)
    registration_service.cancel(registration=by_organizer, actor=owner, by_organizer=True)
    dropped = signed_up(mine)
    scheduling.cancel_session(session=dropped.session, actor=owner)
    elsewhere = signed_up(theirs)
    attendance.check_in(registration=seat(elsewhere.session)[0], actor=organizer_of(theirs))
    shift(elsewhere, -20)
    attendance.mark_no_shows()
    return person


def test_a_persons_history_counts_attended_no_shows_and_late_cancellations(record, owner):
    assert attendance.history(user=record) == attendance.History(
        attended=2, no_shows=2, late_cancellations=1
    )


def test_a_team_sees_the_history_of_its_own_events_only(record, owner):
    assert attendance.history(user=record, team=team_of(owner)) == attendance.History(
        attended=2, no_shows=1, late_cancellations=1
    )
    assert not attendance.history(user=record, team=team_of(OrganizerFactory()))


def test_histories_of_many_people_take_one_query(record, owner, django_assert_num_queries):
    newcomer = UserFactory()
    team = team_of(owner)

    with django_assert_num_queries(1):
        records = attendance.histories(users=[record.pk, newcomer.pk], team=team)

    assert records[record.pk].no_shows == 1
    assert newcomer.pk not in records


def test_the_session_summary_adds_up_on_a_hand_made_session(event, owner):
    session = door_session(event=event, capacity=10)
    came, came_too, absent, late, early, kicked = seat(session, 6)
    attendance.check_in(registration=came, actor=owner)
    attendance.check_in(registration=came_too, actor=owner)
    attendance.add_walk_in(session=session, actor=owner, email="walker@example.com")
    registration_service.cancel(registration=late, actor=late.user)  # 10 minutes before
    registration_service.cancel(registration=early, actor=early.user)
    Registration.objects.filter(pk=early.pk).update(
        cancelled_at=session.starts_at - timedelta(days=2)
    )
    registration_service.cancel(registration=kicked, actor=owner, by_organizer=True)
    # Never held a seat: not among the registered.
    RegistrationFactory(session=session, user=UserFactory(), status=Status.WAITLISTED)

    before = attendance.summary(session=session)
    move(session, starts_in=-timedelta(hours=2))
    attendance.mark_no_shows()
    after = attendance.summary(session=session)

    assert before == attendance.Summary(
        registered=7,
        attended=3,
        no_shows=0,
        not_checked_in=1,
        cancelled=3,
        late_cancellations=1,
        walk_ins=1,
    )
    assert before.attendance_rate == 75
    assert after == attendance.Summary(
        registered=7,
        attended=3,
        no_shows=1,
        not_checked_in=0,
        cancelled=3,
        late_cancellations=1,
        walk_ins=1,
    )
    assert Registration.objects.get(pk=absent.pk).no_show


def test_summaries_of_many_sessions_take_one_query(event, owner, django_assert_num_queries):
    first, second, empty = (door_session(event=event) for _ in range(3))
    seat(first, 2)
    attendance.check_in(registration=seat(second)[0], actor=owner)

    with django_assert_num_queries(1):
        per = attendance.summaries(sessions=[first.pk, second.pk, empty.pk])

    assert per[first.pk].not_checked_in == 2
    assert per[second.pk].attended == 1
    assert empty.pk not in per  # the caller shows an empty Summary()
    assert per[first.pk] + per[second.pk] == attendance.Summary(
        registered=3, attended=1, not_checked_in=2
    )


def test_door_counts_are_expected_checked_in_and_remaining(session, owner):
    first, _second, third = seat(session, 3)
    attendance.check_in(registration=first, actor=owner)
    attendance.add_walk_in(session=session, actor=owner, email="walker@example.com")
    registration_service.cancel(registration=third, actor=third.user)

    counts = attendance.door_counts(session=Session.objects.get(pk=session.pk))

    assert (counts.expected, counts.checked_in, counts.remaining) == (3, 2, 1)
    assert (counts.walk_ins, counts.seats_left) == (1, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_phones_adding_the_same_walk_in_at_once_give_one_seat():
    session = door_session(capacity=5)
    organizers = [OrganizerFactory() for _ in range(4)]

    def walk_in(organizer, session_id: int) -> str:
        outcome = attendance.add_walk_in(
            session=Session(pk=session_id), actor=organizer, email="same@example.com"
        )
        return "added" if outcome.changed and "walk-in" in outcome.message else "already"

    outcomes = harness.rush(walk_in, organizers, session.pk)

    assert Counter(outcomes) == {"added": 1, "already": 3}, outcomes
    assert Session.objects.get(pk=session.pk).seats_taken == 1
    assert User.objects.filter(email="same@example.com").count() == 1


def test_a_full_session_of_one_seat_says_seat_not_seats(event, owner):
    session = door_session(event=event, capacity=1)
    seat(session, 1)

    with pytest.raises(ServiceError) as refusal:
        attendance.add_walk_in(session=session, actor=owner, email="late@example.com")

    assert "(1 of 1 seat given)" in refusal.value.message
