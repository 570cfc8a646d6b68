"""Attendance of online sessions comes from joins: a join is a check-in (through the
attendance service), so the no-show sweep, late check-ins, the organizer's corrections and
the survey's sending work as they do at a door."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import AuditEntry, Registration, SurveyRecipient
from events.services import attendance, joining, scheduling, surveys
from tests.factories import (
    RegistrationFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
    organizer_of,
)

pytestmark = pytest.mark.django_db

MEETING = "https://meet.example.com/demo"


def session_on_now(**fields):
    """An online session that started 50 minutes ago and ends in 10."""
    now = timezone.now()
    fields.setdefault("location", "")
    return SessionFactory(
        starts_at=now - timedelta(minutes=50),
        ends_at=now + timedelta(minutes=10),
        online_url=MEETING,
        **fields,
    )


def seat(session, **person) -> Registration:
    """A seat confirmed the day before (the session has started: sign-up is closed)."""
    return RegistrationFactory(
        session=session,
        user=UserFactory(**person),
        confirmed_at=timezone.now() - timedelta(days=1),
    )


def join(registration: Registration):
    return Client().post(reverse("events:join", args=[registration.join_token]))


def test_after_the_end_those_who_did_not_join_are_no_shows_and_the_survey_goes_to_those_who_did():
    session = session_on_now()
    joined, absent = seat(session), seat(session)
    survey = SurveyFactory(event=session.event)
    surveys.start_sending(survey=survey, actor=organizer_of(session.event))

    assert join(joined)["Location"] == MEETING
    after = session.ends_at + timedelta(minutes=1)
    assert attendance.mark_no_shows(now=after) == 1

    joined.refresh_from_db()
    absent.refresh_from_db()
    assert joined.checked_in_at is not None and not joined.no_show
    assert absent.no_show
    summary = attendance.summary(session=session, now=after)
    assert (summary.attended, summary.no_shows, summary.attendance_rate) == (1, 1, 50)
    assert attendance.history(user=absent.user).no_shows == 1

    surveys.queue_due(now=session.ends_at + timedelta(hours=survey.send_after_hours, minutes=1))
    asked = set(SurveyRecipient.objects.filter(survey=survey).values_list("user_id", flat=True))
    assert asked == {joined.user_id}


def test_someone_joining_late_gets_the_survey_already_sent_to_the_others():
    session = session_on_now(join_closes_after=60)
    early, late = seat(session), seat(session)
    survey = SurveyFactory(event=session.event)
    surveys.update_settings(survey=survey, actor=organizer_of(session.event), send_after_hours=0)
    surveys.start_sending(survey=survey, actor=organizer_of(session.event))
    join(early)
    # The session ended (for this test: it is moved to have ended a minute ago) and the
    # survey went out; the late one joins in the window's extra hour.
    scheduling.update_session(
        session=session,
        actor=organizer_of(session.event),
        ends_at=timezone.now() - timedelta(minutes=1),
    )
    attendance.mark_no_shows()
    surveys.queue_due()
    assert set(SurveyRecipient.objects.values_list("user_id", flat=True)) == {early.user_id}
    late.refresh_from_db()
    assert late.no_show

    assert join(late)["Location"] == MEETING
    late.refresh_from_db()
    assert late.checked_in_at is not None and not late.no_show  # the no-show is cleared
    assert set(SurveyRecipient.objects.values_list("user_id", flat=True)) == {
        early.user_id,
        late.user_id,
    }


def test_the_organizer_sees_the_join_and_can_correct_it(client_for):
    session = session_on_now()
    registration = seat(session, display_name="Grace Hopper")
    join(registration)
    organizer = organizer_of(session.event)
    client = client_for(organizer)
    page = client.get(reverse("manage:attendance", args=[session.pk])).content.decode()
    row = page[page.index(f'id="r{registration.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Attended" in row and "Joined online at" in row
    assert "by Grace Hopper" not in row  # they checked themselves in by joining

    client.post(
        reverse("manage:correct", args=[registration.pk]), {"attended": "0", "back": "attendance"}
    )
    registration.refresh_from_db()
    assert registration.no_show and registration.checked_in_at is None
    # The record of the join stays: the organizer's word is what counts.
    assert registration.first_joined_at is not None
    assert attendance.describe(registration=registration)[0] == "No-show"


def test_with_check_in_turned_off_a_join_is_recorded_and_checks_nobody_in():
    session = session_on_now(event__checkin_enabled=False)
    registration = seat(session)
    assert join(registration)["Location"] == MEETING
    registration.refresh_from_db()
    assert registration.first_joined_at is not None and registration.checked_in_at is None


def test_joins_in_a_hybrid_session_add_to_the_doors_check_ins():
    session = session_on_now(location="Room 2")
    at_door, online = seat(session), seat(session)
    attendance.check_in(registration=at_door, actor=organizer_of(session.event))
    join(online)
    assert attendance.door_counts(session=session).checked_in == 2
    assert joining.look(Registration.objects.get(pk=online.pk)).door == joining.Door.OPEN


def test_a_join_is_the_attendees_own_act_and_the_audit_log_does_not_name_them():
    """The check-in a join makes is recorded with no actor (the attendee is not a member of
    the team): the audit log keeps the registration's id, never the attendee as who acted."""
    session = session_on_now()
    registration = seat(session, display_name="Ada Joiner")
    assert join(registration)["Location"] == MEETING

    registration.refresh_from_db()
    assert registration.checked_in_at is not None and registration.checked_in_by is None
    [entry] = AuditEntry.objects.filter(action="attendance.checked_in")
    assert (entry.actor_id, entry.actor_role) == (None, "system")
    assert entry.object_id == registration.pk
