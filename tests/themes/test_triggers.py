"""What sets a computation going: a confirmed submission or a survey answer, and the task
itself (thin: it runs the service)."""

import pytest
from django.core.cache import cache

from events.models import Question, Theme, ThemeAnswer, ThemeSet
from events.services import open_calls, surveys
from events.services import themes as service
from events.tasks import compute_themes, place_theme_answers
from tests.factories import EventFactory, SessionFactory, SurveyFactory
from tests.surveys.conftest import end, invite, seat

from .conftest import add_answers, planted

pytestmark = pytest.mark.django_db


def test_a_confirmed_submission_asks_again_for_themes_already_asked_for(
    call_question, django_capture_on_commit_callbacks
):
    call = call_question.call
    open_calls.set_status(call=call, actor=call_question.organizer, published=True)
    theme_set = ThemeSet.objects.create(question=call_question)
    with django_capture_on_commit_callbacks() as callbacks:
        submitted = open_calls.submit(
            call=call,
            email="ada@example.com",
            profile={"name": "Ada"},
            answers={call_question.pk: "The install is too large for my laptop disk"},
        ).submission
        open_calls.confirm(submission=submitted, nonce=submitted.nonce)
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED
    assert theme_set.requested_at is not None
    assert [c for c in callbacks if c.__module__ == service.__name__]  # the task is enqueued


def test_questions_nobody_asked_themes_of_are_left_alone(call_question):
    add_answers(call_question, ["an answer"])
    service.answers_changed(call_question.questionnaire_id)
    assert not ThemeSet.objects.exists()


def test_the_task_computes_and_twice_is_harmless(call_question):
    add_answers(call_question, planted(60))
    theme_set = ThemeSet.objects.create(question=call_question, seed=11)
    count = compute_themes.apply(args=[theme_set.pk]).get()
    assert count == Theme.objects.count() > 0
    labels = sorted(Theme.objects.values_list("label", flat=True))
    assert compute_themes.apply(args=[theme_set.pk]).get() == count
    assert sorted(Theme.objects.values_list("label", flat=True)) == labels
    assert compute_themes.apply(args=[theme_set.pk + 1000]).get() == 0  # gone: nothing to do


def test_a_survey_answer_asks_again_for_themes_already_asked_for(
    django_capture_on_commit_callbacks,
):

    event = EventFactory()
    session = SessionFactory(event=event)
    [registration] = seat(session)
    end(session)
    survey = SurveyFactory(event=event)
    question = survey.questionnaire.questions.filter(kind=Question.Kind.LONG_TEXT).first()
    theme_set = ThemeSet.objects.create(question=question)
    recipient = invite(survey, registration.user, session)
    with django_capture_on_commit_callbacks() as callbacks:
        surveys.answer(recipient=recipient, answers={question.pk: "More hands-on time"})
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED
    assert [c for c in callbacks if c.__module__ == service.__name__]


def test_new_answers_to_computed_themes_are_placed_in_them_not_recomputed(
    call_question, monkeypatch, django_capture_on_commit_callbacks
):
    """Once themes are computed, answers arriving later join them (one placing task for
    answers arriving together), and the organizer's names stand: no recomputation."""
    add_answers(call_question, planted(80))
    ThemeSet.objects.create(question=call_question, seed=2026)
    theme_set = service.request(call_question)
    service.compute(theme_set.pk)
    theme_set.refresh_from_db()
    first = Theme.objects.filter(theme_set=theme_set).order_by("position").first()
    service.rename(theme=first, actor=call_question.organizer, name="Install pains")
    cache.delete(f"themes-place:{theme_set.pk}")
    queued = []
    monkeypatch.setattr(
        place_theme_answers,
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        add_answers(call_question, planted(2, seed=9), start=500)
        service.answers_changed(call_question.questionnaire_id)
        service.answers_changed(call_question.questionnaire_id)
    assert queued == [((theme_set.pk,), service.PLACE_DELAY)]
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.IDLE  # nothing queued for a recomputation
    assert place_theme_answers.apply(args=[theme_set.pk]).get() == 2
    assert ThemeAnswer.objects.filter(theme_set=theme_set).count() == 82
    assert Theme.objects.get(pk=first.pk).custom_name == "Install pains"
    assert place_theme_answers.apply(args=[theme_set.pk]).get() == 0  # twice is harmless
