"""Free text is personal data (#23): a person who withdraws or deletes their account leaves
the themes too, their quotes at once, their words once the recomputation that erasure asks
for has run."""

import pytest
from django.urls import reverse

from accounts.services import delete_account
from events.models import Answer, Question, Theme, ThemeAnswer, ThemeSet
from events.services import open_calls, surveys
from events.services import themes as service
from events.themes import Model
from tests.factories import EventFactory, SessionFactory, SurveyFactory, UserFactory
from tests.surveys.conftest import end, invite, seat

from .conftest import add_answers, planted

pytestmark = pytest.mark.django_db

UNIQUE = "frobnicatorix"  # a word only the erased person wrote


def vocabulary(theme_set: ThemeSet) -> tuple[str, ...]:
    theme_set.refresh_from_db()
    return Model.from_bytes(bytes(theme_set.model)).vocabulary


def quoted_person(call_question, user):
    """A call with 39 planted answers and one of `user`'s (with a word nobody else wrote),
    its themes computed and that answer quoted on the page."""
    call = call_question.call
    open_calls.set_status(call=call, actor=call_question.organizer, published=True)
    text = f"The install is too large for my laptop disk, {UNIQUE} everywhere"
    submitted = open_calls.submit(
        call=call,
        email=user.email,
        profile={"name": "Ada"},
        answers={call_question.pk: text},
    ).submission
    open_calls.confirm(submission=submitted, nonce=submitted.nonce)
    add_answers(call_question, planted(39))
    theme_set, _ = ThemeSet.objects.get_or_create(question=call_question, defaults={"seed": 5})
    ThemeSet.objects.filter(pk=theme_set.pk).update(seed=5)
    service.compute(theme_set.pk)
    answer = Answer.objects.get(question=call_question, text=text)
    placed = ThemeAnswer.objects.get(answer=answer)
    theme = placed.theme or Theme.objects.filter(theme_set=theme_set).first()
    assert theme is not None
    if answer.pk not in theme.quote_answer_ids:  # make sure it is quoted, whatever the engine chose
        theme.quote_answer_ids = [answer.pk, *theme.quote_answer_ids[:4]]
        theme.save(update_fields=["quote_answer_ids"])
    assert UNIQUE in vocabulary(theme_set)
    return theme_set, submitted, text


def page(client, question) -> str:
    response = client.get(reverse("manage:question_themes", args=[question.pk]))
    assert response.status_code == 200
    return response.content.decode()


def sizes(theme_set: ThemeSet) -> int:
    return sum(
        Theme.objects.filter(theme_set=theme_set, merged_into=None).values_list("size", flat=True)
    )


def test_deleting_a_quoted_persons_account_removes_their_quote_and_later_their_words(
    client, call_question, django_capture_on_commit_callbacks
):
    user = UserFactory()
    theme_set, _submission, text = quoted_person(call_question, user)
    client.force_login(call_question.organizer)
    assert UNIQUE in page(client, call_question)
    placed_before = ThemeAnswer.objects.filter(theme_set=theme_set, theme__isnull=False).count()
    assert sizes(theme_set) == placed_before

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delete_account(user=user)

    # At once: no quote, no placement, sizes counted again, a recomputation queued.
    body = page(client, call_question)
    assert UNIQUE not in body and "Ada" not in body
    assert not Answer.objects.filter(text=text).exists()
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED
    assert theme_set.answers_count == 39
    assert (
        sizes(theme_set)
        == ThemeAnswer.objects.filter(theme_set=theme_set, theme__isnull=False).count()
    )
    assert [c for c in callbacks if c.__module__ == service.__name__]
    # The stored model still has their word until the recomputation replaces it.
    assert UNIQUE in vocabulary(theme_set)

    service.compute(theme_set.pk)
    assert UNIQUE not in vocabulary(theme_set)
    for theme in Theme.objects.filter(theme_set=theme_set):
        quotes = Answer.objects.filter(pk__in=theme.quote_answer_ids).values_list("text", flat=True)
        assert all(UNIQUE not in q for q in quotes)
        assert UNIQUE not in " ".join(theme.terms) and UNIQUE not in theme.label
    assert UNIQUE not in page(client, call_question)


def test_withdrawing_removes_the_quote_at_once_and_asks_for_a_recomputation(
    client, call_question, django_capture_on_commit_callbacks
):
    user = UserFactory()
    theme_set, submission, _text = quoted_person(call_question, user)
    client.force_login(call_question.organizer)
    with django_capture_on_commit_callbacks(execute=True):
        open_calls.withdraw(submission=submission)
    assert UNIQUE not in page(client, call_question)
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED and theme_set.answers_count == 39
    service.compute(theme_set.pk)
    assert UNIQUE not in vocabulary(theme_set)


def test_a_survey_respondent_deleting_their_account_asks_for_a_recomputation(
    django_capture_on_commit_callbacks,
):
    event = EventFactory()
    session = SessionFactory(event=event)
    [registration] = seat(session)
    end(session)
    survey = SurveyFactory(event=event)
    question = survey.questionnaire.questions.filter(kind=Question.Kind.LONG_TEXT).first()
    recipient = invite(survey, registration.user, session)
    surveys.answer(recipient=recipient, answers={question.pk: f"More {UNIQUE} please"})
    add_answers(question, planted(20), start=100)
    theme_set, _ = ThemeSet.objects.get_or_create(question=question)
    service.compute(theme_set.pk)
    assert UNIQUE in vocabulary(theme_set)
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(user=registration.user)
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED and theme_set.answers_count == 20
    service.compute(theme_set.pk)
    assert UNIQUE not in vocabulary(theme_set)


def test_nothing_erased_or_no_themes_asks_nothing(
    call_question, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        service.answers_erased()
        service.answers_erased(questionnaire_ids=[call_question.questionnaire_id])
    assert not ThemeSet.objects.exists()
    assert not [c for c in callbacks if c.__module__ == service.__name__ and c.__name__ == "ring"]
