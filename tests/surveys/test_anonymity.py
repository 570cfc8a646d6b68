"""Anonymous surveys: organizers see answers without names, and a breakdown (by session or
role) answered by fewer than three people is withheld, on the page and in the CSV."""

import csv
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Notification, Survey
from events.services import surveys
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of
from tests.surveys.conftest import Kind, answer, field, invite, questions_of, survey_for

pytestmark = pytest.mark.django_db

QUESTIONS = [
    (Kind.RATING, "How was it?", None, True),
    (Kind.SHORT_TEXT, "One word for it", None, False),
]


@pytest.fixture
def world(event, session):
    """An anonymous survey answered by two developers in the first session and three
    researchers in the second; one more person in the second has not answered."""
    survey = survey_for(event, QUESTIONS, anonymous=True)
    second = SessionFactory(event=event)
    rating, word = questions_of(survey)
    people = []
    for index, (where, role) in enumerate(
        [(session, "developer")] * 2 + [(second, "researcher")] * 3
    ):
        person = UserFactory(
            display_name=f"Secret Name{index}", email=f"secret{index}@example.org", role=role
        )
        recipient = invite(survey, person, where)
        answer(
            recipient=recipient, data={field(rating): str(index + 1), field(word): f"word{index}"}
        )
        people.append(person)
    silent = UserFactory(display_name="Quiet Person", email="quiet@example.org", role="researcher")
    invite(survey, silent, second)
    survey.refresh_from_db()
    return survey, session, second, [*people, silent]


def results_page(client, event, **filters):
    return client.get(reverse("manage:survey_results", args=[event.pk]), filters)


def csv_of(client, event, **filters):
    return client.get(reverse("manage:survey_csv", args=[event.pk]), filters)


def test_a_session_answered_by_two_people_is_withheld(world, event, organizer_client):
    _survey, first, _, _ = world

    page = results_page(organizer_client, event, session=first.pk)

    assert page.status_code == 200
    text = page.content.decode()
    assert "Fewer than 3 people answered in this group." in text
    assert "word0" not in text and "word1" not in text
    assert page.context["results"] is None


def test_a_session_answered_by_three_people_is_shown(world, event, organizer_client):
    _, _, second, _ = world

    page = results_page(organizer_client, event, session=second.pk)

    text = page.content.decode()
    assert "Fewer than 3" not in text
    assert all(f"word{i}" in text for i in (2, 3, 4))
    assert "word0" not in text
    # Ratings 3, 4 and 5: a mean of 4.
    assert page.context["results"].questions[0].mean == 4


def test_a_role_answered_by_fewer_than_three_is_withheld_and_three_is_shown(
    world, event, organizer_client
):
    withheld = results_page(organizer_client, event, role="developer")
    shown = results_page(organizer_client, event, role="researcher")

    assert withheld.context["results"] is None
    assert b"Fewer than 3 people answered" in withheld.content
    assert shown.context["results"].respondents == 3


def test_session_and_role_together_count_the_group_they_both_select(world, event, organizer_client):
    _, _first, second, _ = world

    empty = results_page(organizer_client, event, session=second.pk, role="developer")
    both = results_page(organizer_client, event, session=second.pk, role="researcher")

    assert empty.context["results"] is None
    assert both.context["results"].respondents == 3


def test_the_csv_of_a_withheld_group_is_refused(world, event, organizer_client):
    _, first, second, _ = world

    refused = csv_of(organizer_client, event, session=first.pk)
    by_role = csv_of(organizer_client, event, role="developer")
    allowed = csv_of(organizer_client, event, session=second.pk)

    assert refused.status_code == 403 and by_role.status_code == 403
    assert b"Fewer than 3 people answered" in refused.content
    assert allowed.status_code == 200
    rows = b"".join(allowed.streaming_content).decode().strip().splitlines()
    assert len(rows) == 1 + 3


def test_no_name_or_email_appears_on_the_results_csv_or_pending_page(
    world, event, organizer_client
):
    *_, people = world
    pages = [
        results_page(organizer_client, event).content.decode(),
        b"".join(csv_of(organizer_client, event).streaming_content).decode(),
        organizer_client.get(reverse("manage:survey_pending", args=[event.pk])).content.decode(),
        organizer_client.get(reverse("manage:survey", args=[event.pk])).content.decode(),
    ]

    for text in pages:
        for person in people:
            assert person.display_name not in text
            assert person.email not in text
    header = pages[1].splitlines()[0]
    assert header == "How was it?,One word for it"
    assert "who has answered is not shown" in pages[2]


def test_the_same_people_are_named_when_the_survey_is_not_anonymous(world, event, organizer_client):
    survey, *_, _people = world
    Survey.objects.filter(pk=survey.pk).update(anonymous=False)

    pending = organizer_client.get(reverse("manage:survey_pending", args=[event.pk]))
    csv = b"".join(csv_of(organizer_client, event).streaming_content).decode()

    assert "Quiet Person" in pending.content.decode()
    assert "Secret Name0" not in pending.content.decode()  # answered: not pending
    assert "secret0@example.org" in csv and "Name,Email,Role" in csv.splitlines()[0]


def test_the_anonymous_csv_carries_no_time_of_answering(world, event, organizer_client):
    """When someone answered can say who it was (the one who left the session early, the
    one seen filling it in at 10:14): an anonymous export has answers and nothing else."""
    text = b"".join(csv_of(organizer_client, event).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0] == ["How was it?", "One word for it"]
    assert [len(row) for row in rows[1:]] == [2] * 5
    assert sorted(rows[1:]) == [[str(i + 1), f"word{i}"] for i in range(5)]
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}", text)


def test_the_anonymous_csv_has_no_response_id_and_does_not_follow_the_order_of_answering(
    event, session, organizer_client
):
    """Response ids come from a sequence shared with open-call submissions: beside the
    answers, or as the order of the rows, they say who answered first, then next. So the
    export carries no id, and its rows come in no order the database keeps."""
    survey = survey_for(event, QUESTIONS, anonymous=True)
    rating, word = questions_of(survey)
    count = 24
    for index in range(count):
        recipient = invite(survey, UserFactory(), session)
        answer(recipient=recipient, data={field(rating): "3", field(word): f"answer{index:02}"})
    # The order of answering, which is also the words' sorted order.
    answered = [f"answer{i:02}" for i in range(count)]

    orders = []
    for _ in range(3):
        text = b"".join(csv_of(organizer_client, event).streaming_content).decode()
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["How was it?", "One word for it"]
        words = [row[1] for row in rows[1:]]
        assert sorted(words) == answered
        orders.append(words)

    # Neither the order of answering nor its reverse (24! orders: a match by chance is
    # one in 10^23), and not one fixed order either.
    assert all(order not in (answered, answered[::-1]) for order in orders)
    assert len({tuple(order) for order in orders}) > 1


def test_a_named_survey_keeps_the_time_of_answering_in_the_csv(world, event, organizer_client):
    survey, *_ = world
    Survey.objects.filter(pk=survey.pk).update(anonymous=False)

    text = b"".join(csv_of(organizer_client, event).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0][:2] == ["Response", "Answered at"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+", row[1]) for row in rows[1:])


def test_anonymity_cannot_be_turned_off_once_someone_answered(world, event, organizer_client):
    survey, *_ = world

    with pytest.raises(surveys.ServiceError, match="stays anonymous"):
        surveys.update_settings(survey=survey, actor=None, anonymous=False)
    # Its closing date as it is (the form shows it so): only anonymity is refused.
    closes = f"{timezone.localtime(survey.closes_at, ZoneInfo(event.timezone)):%Y-%m-%dT%H:%M}"
    page = organizer_client.post(
        reverse("manage:survey_settings", args=[event.pk]),
        {
            "send_after_hours": "2",
            "audience": "auto",
            "reminder_after_days": "3",
            "closes_at": closes,
        },
    )

    assert page.status_code == 400
    assert "People answered this survey on the promise of anonymity" in page.content.decode()
    survey.refresh_from_db()
    assert survey.anonymous is True


def test_anonymity_can_be_turned_off_before_anyone_answered(event):
    survey = survey_for(event, QUESTIONS, anonymous=True)

    surveys.update_settings(survey=survey, actor=None, anonymous=False)

    survey.refresh_from_db()
    assert survey.anonymous is False


def test_an_anonymous_survey_cannot_be_resent_to_one_person(world, organizer, client_for):
    survey, *_, people = world
    silent = survey.recipients.get(user=people[-1])
    client = client_for(organizer)

    page = client.post(reverse("manage:survey_resend", args=[silent.pk]), follow=True)

    assert b"who has answered is not shown or used" in page.content
    assert not Notification.objects.filter(survey_recipient=silent).exists()
    silent.refresh_from_db()
    assert silent.resent == 0


def test_the_session_messages_page_does_not_tell_who_answered_an_anonymous_survey(
    world, event, organizer_client
):
    """Reminders go only to those who have not answered: listing them per person (or as
    skipped because they answered) would tell the organizers who answered."""
    survey, _, second, people = world
    survey.recipients.update(remind_at=survey.closes_at.replace(year=2000))
    Survey.objects.filter(pk=survey.pk).update(is_active=True)
    assert surveys.queue_reminders() == 1

    page = organizer_client.get(reverse("manage:session_messages", args=[second.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Survey reminder" not in text
    assert people[-1].email not in text
    # The same page lists it when the survey names people anyway.
    Survey.objects.filter(pk=survey.pk).update(anonymous=False)
    named = organizer_client.get(reverse("manage:session_messages", args=[second.pk]))
    assert "Survey reminder" in named.content.decode()


def test_the_anonymous_results_show_words_in_their_own_order_not_the_latest_first(
    event, session, organizer_client
):
    """The results page (and the API's results) list a sample of free-text answers: for a
    named survey the latest ones, first; for an anonymous one, chosen and ordered by their
    words, so that the newest answer is not at the top for whoever saw who just left."""
    survey = survey_for(event, QUESTIONS, anonymous=True)
    rating, word = questions_of(survey)
    answered = ["pear", "apple", "zucchini", "mango"]  # in the order of answering
    for words in answered:
        answer(
            recipient=invite(survey, UserFactory(), session),
            data={field(rating): "3", field(word): words},
        )

    [_rating, texts] = surveys.results(survey=survey).results.questions
    html = results_page(organizer_client, event).content.decode()

    assert texts.texts == sorted(answered)
    positions = [html.index(w) for w in sorted(answered)]
    assert positions == sorted(positions)
    Survey.objects.filter(pk=survey.pk).update(anonymous=False)
    survey.refresh_from_db()
    [_rating, texts] = surveys.results(survey=survey).results.questions
    assert texts.texts == answered[::-1]  # a named survey: the latest first


def test_an_anonymous_answer_reaches_webhooks_without_id_session_or_time(event, session, settings):
    from events.models import WebhookMessage
    from events.services import webhooks

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    webhooks.create_endpoint(
        team=event.team,
        actor=organizer_of(event),
        url="http://127.0.0.1:9/hook",
        event_types=["survey.response"],
    )
    survey = survey_for(event, QUESTIONS, anonymous=True)
    rating, _word = questions_of(survey)
    answer(recipient=invite(survey, UserFactory(), session), data={field(rating): "5"})

    [message] = WebhookMessage.objects.filter(type="survey.response")
    assert message.payload["data"] == {"response": {"survey_id": survey.pk, "event_id": event.pk}}


def test_the_panel_does_not_count_answers_to_anonymous_surveys(event, session):
    """Who answered an anonymous survey is not shown or used: with one respondent, the
    panel's "surveys answered" beside the survey's results would name them."""
    from events.models import PanelMember
    from events.services import panel
    from events.services.registration import register

    person = UserFactory(email="quiet.one@example.org")
    register(user=person, session=session)
    named = survey_for(event, QUESTIONS, anonymous=False)
    other = SessionFactory(event=EventFactory(team=event.team), capacity=10)
    register(user=person, session=other)
    anonymous = survey_for(other.event, QUESTIONS, anonymous=True)
    for survey, where in ((named, session), (anonymous, other)):
        rating, _word = questions_of(survey)
        answer(recipient=invite(survey, person, where), data={field(rating): "4"})

    panel.refresh(team=event.team)

    assert PanelMember.objects.get(user=person).surveys_answered == 1
