"""The organizer's survey settings and sending switch: bad input gets a 400 with the reason
and changes nothing; good input is saved and moves what is due."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from events.models import Survey, SurveySending
from events.services import ServiceError, surveys
from tests.factories import SessionFactory
from tests.surveys.conftest import Kind, survey_for

pytestmark = pytest.mark.django_db

GOOD = {
    "intro": "Thanks for coming!",
    "send_after_hours": "4",
    "audience": "confirmed",
    "reminder_after_days": "2",
    "closes_at": "2031-03-01T18:30",
}


@pytest.fixture
def session(event):
    """On a fixed date (GOOD's closing date is a month after it), not the factory's moving
    one: the closing date is bounded by the event's last session."""
    starts = datetime(2031, 2, 1, 9, tzinfo=UTC)
    return SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=1))


@pytest.fixture
def survey(event, session):
    return survey_for(event, [(Kind.RATING, "How was it?", None, True)])


def post_settings(client, event, **changes):
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    return client.post(reverse("manage:survey_settings", args=[event.pk]), data)


def snapshot(survey) -> tuple:
    survey.refresh_from_db()
    return (
        survey.intro,
        survey.send_after_hours,
        survey.audience,
        survey.reminder_after_days,
        survey.closes_at,
        survey.anonymous,
    )


def test_good_settings_are_saved_in_the_events_time_zone(survey, event, organizer_client):
    page = post_settings(organizer_client, event, anonymous="on")

    assert page.status_code == 302
    survey.refresh_from_db()
    assert survey.send_after_hours == 4 and survey.reminder_after_days == 2
    assert survey.audience == "confirmed" and survey.anonymous is True
    # 18:30 in Berlin in March (CET) is 17:30 UTC.
    assert survey.closes_at == datetime(2031, 3, 1, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"send_after_hours": "-1"}, "greater than or equal to 0"),
        ({"send_after_hours": "721"}, "less than or equal to 720"),
        ({"send_after_hours": "two"}, "Enter a whole number."),
        ({"reminder_after_days": "100000"}, "less than or equal to 60"),
        ({"reminder_after_days": "-3"}, "greater than or equal to 0"),
        ({"closes_at": "next friday"}, "Enter a valid date/time."),
        ({"closes_at": "9999-01-01T00:00"}, "between the years 2000 and 2200"),
        ({"closes_at": "2031-03-30T02:30"}, "This time does not exist in Europe/Berlin"),
        ({"closes_at": None}, "This field is required."),
        ({"audience": "everyone"}, "Select a valid choice."),
        ({"intro": "x" * 5001}, "at most 5000 characters"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(
    survey, event, organizer_client, changes, message
):
    before = snapshot(survey)

    page = post_settings(organizer_client, event, **changes)

    assert page.status_code == 400
    assert message in page.content.decode()
    assert snapshot(survey) == before


def test_a_refused_form_keeps_what_was_typed(survey, event, organizer_client):
    page = post_settings(organizer_client, event, send_after_hours="-1", intro="Kept intro")

    text = page.content.decode()
    assert "Kept intro</textarea>" in text
    assert 'value="-1"' in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"send_after_hours": -1}, "Send between 0 and 720 hours"),
        ({"send_after_hours": 10_000}, "Send between 0 and 720 hours"),
        ({"reminder_after_days": 61}, "Remind within 60 days"),
        ({"audience": "everyone"}, "Unknown audience"),
        ({"is_active": True}, "Unknown settings: is_active"),
    ],
)
def test_the_service_refuses_bad_settings_from_any_caller(survey, changes, message):
    before = snapshot(survey)

    with pytest.raises(ServiceError, match=message):
        surveys.update_settings(survey=survey, actor=None, **changes)

    assert snapshot(survey) == before
    survey.refresh_from_db()
    assert survey.is_active is False


# How long a survey, and with it every link it sent, stays open

LAST_END = datetime(2031, 2, 1, 10, tzinfo=UTC)  # the session fixture's end


def test_a_survey_closes_at_most_90_days_after_the_events_last_session_ends(survey):
    before = snapshot(survey)

    with pytest.raises(ServiceError, match="at most 90 days after the event's last session"):
        surveys.update_settings(
            survey=survey, actor=None, closes_at=LAST_END + timedelta(days=90, minutes=1)
        )

    assert snapshot(survey) == before
    surveys.update_settings(survey=survey, actor=None, closes_at=LAST_END + timedelta(days=90))
    survey.refresh_from_db()
    assert survey.closes_at == LAST_END + timedelta(days=90)


def test_the_bound_follows_the_last_session_that_takes_place(survey, event):
    later = SessionFactory(
        event=event, starts_at=LAST_END + timedelta(days=9), ends_at=LAST_END + timedelta(days=10)
    )
    SessionFactory(
        event=event,
        starts_at=LAST_END + timedelta(days=50),
        ends_at=LAST_END + timedelta(days=50, hours=1),
        status="cancelled",
    )

    surveys.update_settings(survey=survey, actor=None, closes_at=later.ends_at + timedelta(days=90))
    with pytest.raises(ServiceError, match="at most 90 days"):
        surveys.update_settings(
            survey=survey, actor=None, closes_at=later.ends_at + timedelta(days=91)
        )

    survey.refresh_from_db()
    assert survey.closes_at == later.ends_at + timedelta(days=90)


def test_a_closing_date_years_away_is_refused_on_the_page_and_nothing_is_written(
    survey, event, organizer_client
):
    before = snapshot(survey)

    page = post_settings(organizer_client, event, closes_at="2034-02-01T12:00", intro="Changed")

    assert page.status_code == 400
    text = page.content.decode()
    assert "A survey closes at most 90 days after the event&#x27;s last session ends" in text
    assert "Fri 2 May 2031, 12:00 CEST at the latest" in text
    assert snapshot(survey) == before


def test_other_settings_can_still_be_saved_beside_an_earlier_closing_date_past_the_bound(
    survey, event, organizer_client
):
    far = datetime(2033, 1, 1, 11, tzinfo=UTC)
    Survey.objects.filter(pk=survey.pk).update(closes_at=far)

    page = post_settings(organizer_client, event, closes_at="2033-01-01T12:00", intro="New")

    assert page.status_code == 302
    survey.refresh_from_db()
    assert (survey.intro, survey.closes_at) == ("New", far)


def test_sending_is_turned_on_and_off_from_the_page(survey, event, session, organizer_client):
    url = reverse("manage:survey_sending", args=[event.pk])

    on = organizer_client.post(url, {"action": "start"}, follow=True)
    assert b"Sending is on" in on.content
    assert SurveySending.objects.get(session=session).due_at == session.ends_at + timedelta(hours=2)
    off = organizer_client.post(url, {"action": "stop"}, follow=True)
    assert b"Sending is off" in off.content
    assert SurveySending.objects.get(session=session).due_at is None
    assert organizer_client.post(url, {"action": "explode"}).status_code == 400
    assert Survey.objects.get(pk=survey.pk).is_active is False


def test_turning_sending_on_for_a_closed_survey_says_why(survey, event, organizer_client):
    Survey.objects.filter(pk=survey.pk).update(closes_at=datetime(2020, 1, 1, tzinfo=UTC))

    page = organizer_client.post(
        reverse("manage:survey_sending", args=[event.pk]), {"action": "start"}, follow=True
    )

    assert b"The survey has closed: move its closing date first." in page.content
    assert Survey.objects.get(pk=survey.pk).is_active is False


def test_creating_the_survey_twice_keeps_one(event, organizer_client):
    url = reverse("manage:survey_create", args=[event.pk])

    organizer_client.post(url)
    organizer_client.post(url)

    assert Survey.objects.filter(event=event).count() == 1
    assert Survey.objects.get(event=event).questionnaire.questions.count() == 4
