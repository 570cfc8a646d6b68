"""The one-click link: no login, for one person and one survey, dead when altered, when
signed for something else and when an older link was replaced; alive exactly as long as the
survey takes answers, however long ago it was signed."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Answer, Response, Survey, SurveyRecipient
from events.services import invitations, surveys
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.surveys.conftest import Kind, answer, field, invite, link, questions_of, survey_for

pytestmark = pytest.mark.django_db

QUESTIONS = [(Kind.RATING, "How was it?", None, True)]


@pytest.fixture
def survey(event):
    return survey_for(event, QUESTIONS)


@pytest.fixture
def ada(survey, session):
    return invite(survey, UserFactory(display_name="Ada"), session)


@pytest.fixture
def bob(survey, session):
    return invite(survey, UserFactory(display_name="Bob"), session)


def rating(survey, value: str) -> dict:
    return {field(questions_of(survey)[0]): value}


def survey_path(token: str) -> str:
    return reverse("events:survey", args=[token])


def signed(payload: dict, *, salt: str = surveys.TOKEN_SALT, at: float | None = None, **kw) -> str:
    """A token signed with the site's key, as if at the moment `at` (seconds since epoch)."""
    if at is None:
        return signing.dumps(payload, salt=salt)
    real = signing.time
    signing.time = SimpleNamespace(time=lambda: at)
    try:
        return signing.dumps(payload, salt=salt)
    finally:
        signing.time = real


def payload(recipient: SurveyRecipient, **changes) -> dict:
    return {"r": recipient.pk, "s": recipient.survey_id, "n": recipient.nonce, **changes}


def assert_dead(token: str) -> None:
    client = Client()
    page = client.get(survey_path(token))
    assert page.status_code == 404
    assert b"This survey link is not valid" in page.content
    assert client.post(survey_path(token), {"q1": "5"}).status_code == 404
    assert client.get(reverse("events:survey_thanks", args=[token])).status_code == 404


def test_the_link_opens_the_form_without_logging_in(ada, survey):
    page = Client().get(link(ada))

    assert page.status_code == 200
    assert b"How was Model preview?" in page.content
    assert b"How was it?" in page.content


def test_opening_the_link_marks_it_opened_and_writes_no_answer(ada):
    Client().get(link(ada))

    ada.refresh_from_db()
    assert ada.opened_at is not None and ada.answered_at is None
    assert Response.objects.count() == 0


def test_an_altered_signature_is_refused(ada):
    token = surveys.token_for(ada)
    value, signature = token.rsplit(":", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_dead(f"{value}:{flipped}")
    assert_dead(token[:-3])
    assert_dead("not-a-token")


def test_a_payload_swapped_for_another_persons_id_is_refused(ada, bob):
    """Bob's id put into Ada's token breaks the signature."""
    value, timestamp, signature = surveys.token_for(ada).rsplit(":", 2)
    other_value = surveys.token_for(bob).rsplit(":", 2)[0]

    assert_dead(f"{other_value}:{timestamp}:{signature}")
    assert value != other_value


def test_a_correctly_signed_link_for_another_person_with_the_wrong_nonce_is_refused(ada, bob):
    assert_dead(signed(payload(bob, n=ada.nonce)))


def test_a_link_for_the_right_person_but_another_survey_is_refused(ada):
    other = survey_for(EventFactory(), QUESTIONS)

    assert_dead(signed(payload(ada, s=other.pk)))


def test_a_token_signed_for_invitations_does_not_open_a_survey(ada):
    assert_dead(signed(payload(ada), salt=invitations.TOKEN_SALT))


def test_a_survey_token_does_not_open_an_invitation(ada):
    assert invitations.from_token(surveys.token_for(ada)) is None


@pytest.mark.parametrize(
    "data", [[1, 2, 3], "text", {"r": "x", "s": 1, "n": "a"}, {"r": 1}, {"r": None, "s": 1}]
)
def test_a_signed_token_with_a_malformed_payload_is_refused(ada, data):
    assert_dead(signed(data))


def test_an_older_link_stops_working_when_the_nonce_changes(ada, survey):
    old = surveys.token_for(ada)
    SurveyRecipient.objects.filter(pk=ada.pk).update(nonce="fresh-nonce")
    ada.refresh_from_db()

    assert_dead(old)
    assert Client().get(link(ada)).status_code == 200


def test_a_link_signed_long_ago_works_while_the_survey_is_still_open(ada, survey):
    """No age of its own: a survey open for two years keeps its first links working."""
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() + timedelta(days=800))
    two_years_ago = time.time() - timedelta(days=730).total_seconds()
    token = signed(payload(ada), at=two_years_ago)

    assert Client().get(survey_path(token)).status_code == 200
    assert Client().post(survey_path(token), rating(survey, "4")).status_code == 302
    ada.refresh_from_db()
    assert ada.answered_at is not None


def test_a_fresh_link_stops_working_when_the_survey_closes(ada, survey):
    token = surveys.token_for(ada)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    assert Client().get(survey_path(token)).status_code == 410
    assert Client().post(survey_path(token), rating(survey, "4")).status_code == 410


def test_moving_the_closing_date_later_keeps_the_links_working_until_then(ada, survey):
    token = surveys.token_for(ada)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(survey_path(token)).status_code == 410

    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() + timedelta(days=30))

    assert Client().get(survey_path(token)).status_code == 200


def test_a_closed_survey_shows_a_closed_page_and_refuses_answers(ada, survey):
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    client = Client()

    page = client.get(link(ada))
    posted = client.post(link(ada), rating(survey, "5"))

    assert page.status_code == 410 and posted.status_code == 410
    assert b"This survey has closed" in page.content
    assert Response.objects.count() == 0
    ada.refresh_from_db()
    assert ada.answered_at is None and ada.opened_at is None


def test_the_service_refuses_answers_after_closing_even_with_the_page_open(ada, survey):
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(surveys.ServiceError, match="closed"):
        answer(recipient=ada, data=rating(survey, "5"))
    assert Response.objects.count() == 0


def test_answers_from_a_link_are_that_persons_whoever_is_logged_in(ada, bob, survey, client_for):
    """The token names the person; a logged-in account does not change whose answers they
    are, and no one's link writes another's response."""
    as_bob = client_for(bob.user)

    assert as_bob.post(link(ada), rating(survey, "2")).status_code == 302
    assert Client().post(link(bob), rating(survey, "5")).status_code == 302

    ada.refresh_from_db()
    bob.refresh_from_db()
    assert ada.response.respondent == f"user{ada.user_id}"
    assert bob.response.respondent == f"user{bob.user_id}"
    assert surveys.saved_answers(ada) == {questions_of(survey)[0].pk: 2}
    assert surveys.saved_answers(bob) == {questions_of(survey)[0].pk: 5}


def test_the_form_shows_only_the_persons_own_saved_answers(ada, bob, survey):
    Client().post(link(bob), rating(survey, "1"))

    page = Client().get(link(ada))

    assert b"checked" not in page.content
    assert b"your answers are saved" not in page.content


def test_answering_needs_the_csrf_token_of_the_page(ada, survey):
    client = Client(enforce_csrf_checks=True)
    page = client.get(link(ada))
    token = page.context["csrf_token"]

    refused = client.post(link(ada), rating(survey, "4"))
    accepted = client.post(link(ada), {**rating(survey, "4"), "csrfmiddlewaretoken": str(token)})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert Answer.objects.count() == 1


def test_a_link_for_one_survey_gives_no_access_to_another_events_survey(ada, survey):
    other_event = EventFactory()
    other = survey_for(other_event, QUESTIONS)
    stranger = invite(other, UserFactory(), SessionFactory(event=other_event))
    foreign = questions_of(other)[0]

    page = Client().post(link(ada), {field(foreign): "5"})

    assert page.status_code == 400
    assert Response.objects.count() == 0
    assert Client().get(link(stranger)).status_code == 200


def test_a_survey_closing_while_the_form_is_sent_answers_with_a_closed_page(
    ada, survey, monkeypatch
):
    """The view saw the survey open; by the time the answers are kept it has closed."""
    real_is_open = surveys.is_open
    calls = []

    def open_once(survey, now=None):
        calls.append(survey.pk)
        if len(calls) == 1:
            return True
        return real_is_open(survey, now)

    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    monkeypatch.setattr(surveys, "is_open", open_once)

    page = Client().post(link(ada), rating(survey, "5"))

    assert len(calls) == 2
    assert page.status_code == 410
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert b"This survey has closed; thank you all the same." in page.content
    assert Response.objects.count() == 0
