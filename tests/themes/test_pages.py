"""The themes pages: what they show, who sees what, bad input, and their query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Question, Response, Theme, ThemeSet
from events.services import surveys
from events.services import themes as service
from tests.factories import SurveyFactory, UserFactory

from .conftest import add_answers, planted

pytestmark = pytest.mark.django_db


def computed(question, seed: int = 2026) -> ThemeSet:
    # A fixed seed (a new set's is random): the same themes on every run of the test.
    ThemeSet.objects.get_or_create(question=question, defaults={"seed": seed})
    theme_set = service.request(question)
    service.compute(theme_set.pk)
    theme_set.refresh_from_db()
    return theme_set


def page(client, question):
    return client.get(reverse("manage:question_themes", args=[question.pk]))


def test_nothing_computed_says_so_and_never_computes(client, call_question):
    add_answers(call_question, planted(40))
    client.force_login(call_question.organizer)
    body = page(client, call_question).content.decode()
    assert "No themes have been computed for this question yet." in body
    assert "Compute themes" in body
    assert not ThemeSet.objects.exists()


def test_the_recompute_button_queues(client, call_question, django_capture_on_commit_callbacks):
    client.force_login(call_question.organizer)
    url = reverse("manage:question_themes_request", args=[call_question.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, follow=True)
    assert len(callbacks) == 1
    assert ThemeSet.objects.get().status == ThemeSet.Status.QUEUED
    assert "The themes will be computed in a moment" in response.content.decode()


def test_the_page_shows_themes_with_quotes_escaped(client, call_question):
    add_answers(call_question, [*planted(60), "<script>alert(1)</script> install docker image"])
    theme_set = computed(call_question)
    client.force_login(call_question.organizer)
    body = page(client, call_question).content.decode()
    assert "Computed " in body
    for theme in Theme.objects.filter(theme_set=theme_set):
        assert theme.label in body.replace("&#x27;", "'")
    assert "<script>alert(1)</script>" not in body
    assert "Respondents&#x27; roles" in body or "Respondents' roles" in body
    theme = Theme.objects.filter(theme_set=theme_set).first()
    answers = client.get(reverse("manage:theme", args=[theme.pk]))
    assert answers.status_code == 200
    assert answers.content.decode().count("<li>") >= min(theme.size, 50)
    csv = client.get(reverse("manage:theme_csv", args=[theme.pk]))
    assert b"".join(csv.streaming_content).decode().count("\n") == theme.size + 1


def test_the_survey_results_link_to_the_themes(client):
    survey = SurveyFactory()
    question = survey.questionnaire.questions.filter(kind=Question.Kind.LONG_TEXT).first()
    add_answers(question, ["an answer"])
    client.force_login(survey.event.team.memberships.first().user)
    body = client.get(reverse("manage:survey_results", args=[survey.event_id])).content
    assert reverse("manage:question_themes", args=[question.pk]).encode() in body


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("manage:theme_merge", "self", "A theme cannot be merged with itself"),
        ("manage:theme_rename", {"name": "x" * 500}, "at most 120 characters"),
    ],
)
def test_bad_input_is_said_not_a_500(client, call_question, url, data, message):
    add_answers(call_question, planted(60))
    theme = Theme.objects.filter(theme_set=computed(call_question)).first()
    client.force_login(call_question.organizer)
    if data == "self":
        data = {"into": theme.pk}
    response = client.post(reverse(url, args=[theme.pk]), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    bad = client.post(reverse("manage:theme_merge", args=[theme.pk]), {"into": "x" * 40})
    assert bad.status_code == 400


def test_a_nul_in_a_name_is_a_400_and_changes_nothing(client, call_question):
    add_answers(call_question, planted(60))
    theme = Theme.objects.filter(theme_set=computed(call_question)).first()
    client.force_login(call_question.organizer)
    url = reverse("manage:theme_rename", args=[theme.pk])
    assert client.post(url, {"name": "a\x00b"}).status_code == 400
    theme.refresh_from_db()
    assert theme.custom_name == ""


def test_anonymous_surveys_show_no_names_and_hide_small_themes(client):
    survey = SurveyFactory()
    survey.anonymous = True
    survey.save()
    question = survey.questionnaire.questions.filter(kind=Question.Kind.LONG_TEXT).first()
    answers = add_answers(question, planted(60))
    writer = UserFactory(display_name="Zelda Quill")
    Response.objects.filter(pk=answers[0].response_id).update(respondent=f"user{writer.pk}")
    theme_set = computed(question)
    small = Theme.objects.filter(theme_set=theme_set).order_by("size").first()
    Theme.objects.filter(pk=small.pk).update(size=2)
    organizer = survey.event.team.memberships.first().user
    client.force_login(organizer)
    body = page(client, question).content.decode()
    assert "they are not shown on their own" in body
    big = Theme.objects.filter(theme_set=theme_set).exclude(pk=small.pk).first()
    answers_page = client.get(reverse("manage:theme", args=[big.pk])).content.decode()
    assert "Zelda Quill" not in body + answers_page
    assert client.get(reverse("manage:theme_csv", args=[small.pk])).status_code == 403
    small_page = client.get(reverse("manage:theme", args=[small.pk])).content.decode()
    assert "not shown on their own" in small_page
    assert surveys.ANONYMITY_THRESHOLD == 3


def test_strangers_get_a_404(client, call_question):
    client.force_login(UserFactory())
    assert page(client, call_question).status_code == 404


def test_query_count_is_the_same_at_5_and_500_answers(client, call_question):
    client.force_login(call_question.organizer)
    counts = []
    for count in (5, 500):
        from events.models import Answer

        Answer.objects.filter(question=call_question).delete()
        ThemeSet.objects.all().delete()
        add_answers(call_question, planted(count, seed=count), start=count * 10)
        computed(call_question)
        with CaptureQueriesContext(connection) as queries:
            assert page(client, call_question).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
