"""The pool filtered by a theme: only the people whose answer is in it (or in a theme merged
into it), another call's theme ignored, and the pool's query count the same at 5 and 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Question, Submission, Theme, ThemeSet
from events.services import themes as service
from tests.factories import OpenCallFactory

from .test_pages import computed
from .test_segment import with_submissions

pytestmark = pytest.mark.django_db


def pool(client, question, theme):
    return client.get(reverse("manage:pool", args=[question.call.pk]), {"theme": theme})


def test_the_pool_lists_only_the_themes_people(client, call_question):
    with_submissions(call_question, 60)
    theme_set = computed(call_question)
    theme = Theme.objects.filter(theme_set=theme_set).order_by("size").first()
    client.force_login(call_question.organizer)
    response = pool(client, call_question, theme.pk)
    assert response.status_code == 200
    assert response.context["total"] == theme.size < 60
    body = response.content.decode()
    assert f"Only people whose answer is in the theme “{theme.name}”" in body
    theirs = set(theme.answers.values_list("answer__response__submission__email", flat=True))
    listed = {s.email for s in response.context["rows"]}
    assert listed == theirs
    themes_page = client.get(reverse("manage:question_themes", args=[call_question.pk]))
    assert f"?theme={theme.pk}" in themes_page.content.decode()


def test_a_merged_theme_filters_by_the_theme_it_joined(client, call_question):
    with_submissions(call_question, 60)
    theme_set = computed(call_question)
    small, big = Theme.objects.filter(theme_set=theme_set).order_by("size")[:2]
    service.merge(theme=small, into=big, actor=call_question.organizer)
    big.refresh_from_db()
    client.force_login(call_question.organizer)
    response = pool(client, call_question, small.pk)
    assert response.context["total"] == big.size
    assert response.context["filters"].theme == big.pk


@pytest.mark.parametrize("raw", ["other", "abc", "9" * 40, "-1", "0"])
def test_another_calls_theme_or_nonsense_is_ignored(client, call_question, raw):
    with_submissions(call_question, 30)
    computed(call_question)
    other = OpenCallFactory()
    question = Question.objects.create(
        questionnaire=other.questionnaire, kind=Question.Kind.LONG_TEXT, label="Other"
    )
    other_set = ThemeSet.objects.create(question=question)
    foreign = Theme.objects.create(theme_set=other_set, position=0, label="foreign")
    client.force_login(call_question.organizer)
    response = pool(client, call_question, foreign.pk if raw == "other" else raw)
    assert response.status_code == 200
    assert response.context["total"] == 30
    assert "Only people whose answer is in the theme" not in response.content.decode()


def test_pool_queries_with_a_theme_are_the_same_at_5_and_500(client, call_question):
    client.force_login(call_question.organizer)
    counts = []
    for count in (5, 500):
        Submission.objects.all().delete()
        ThemeSet.objects.all().delete()
        with_submissions(call_question, count, start=count * 10)
        theme = Theme.objects.filter(theme_set=computed(call_question)).order_by("-size").first()
        pool(client, call_question, theme.pk)  # warm the session alike
        with CaptureQueriesContext(connection) as queries:
            response = pool(client, call_question, theme.pk)
        assert response.status_code == 200 and response.context["total"] > 0
        counts.append(len(queries))
    assert counts[0] == counts[1]
