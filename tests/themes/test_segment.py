"""The themes page with one of the team's segments: per theme, how many of its answers come
from the segment's members (matched as the panel keys people), bad input, anonymity, and the
query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Submission, Theme, ThemeSet
from tests.factories import PanelMemberFactory, SegmentFactory

from .conftest import add_answers, planted
from .test_pages import computed
from .test_splits import survey_world

pytestmark = pytest.mark.django_db


def with_submissions(question, count: int, start: int = 0):
    answers = add_answers(question, planted(count, seed=count), start=start)
    for i, answer in enumerate(answers, start=start):
        Submission.objects.create(
            call=question.call,
            email=f"Person{i}@Example.org",  # the panel keys addresses lower-cased
            response_id=answer.response_id,
            submitted_at=timezone.now(),
            confirmed_at=timezone.now(),
        )
    return answers


def url(question, segment=None):
    base = reverse("manage:question_themes", args=[question.pk])
    return base if segment is None else f"{base}?segment={segment}"


def test_a_call_theme_says_how_many_answers_come_from_the_segment(client, call_question):
    with_submissions(call_question, 60)
    theme_set = computed(call_question)
    theme = Theme.objects.filter(theme_set=theme_set).order_by("-size").first()
    team = call_question.call.team
    ids = theme.answers.values_list("answer__response__submission__email", flat=True)
    for email in ids:
        PanelMemberFactory(team=team, email=email.lower())
    segment = SegmentFactory(team=team, name="Everyone who agreed")
    client.force_login(call_question.organizer)
    body = client.get(url(call_question, segment.pk)).content.decode()
    overall = round(100 * theme.size / theme_set.answers_count)
    expected = f"{theme.size} answers, 100% of this theme vs {overall}% overall."
    assert "From “Everyone who agreed”: " + expected in body
    assert "Segment of the panel" in client.get(url(call_question)).content.decode()


@pytest.mark.parametrize("raw", ["abc", "9" * 40, "-1"])
def test_a_bad_segment_is_a_400_that_says_so(client, call_question, raw):
    with_submissions(call_question, 20)
    client.force_login(call_question.organizer)
    response = client.get(url(call_question, raw))
    assert response.status_code == 400
    assert "is not one of the team&#x27;s segments" in response.content.decode()


def test_another_teams_segment_is_a_404(client, call_question):
    client.force_login(call_question.organizer)
    assert client.get(url(call_question, SegmentFactory().pk)).status_code == 404


def test_anonymous_survey_segment_under_three_says_fewer_than_3(client):
    survey, question, _nps = survey_world(30, anonymous=True)
    computed(question)
    first = question.answers.first().response.survey_recipient.user
    PanelMemberFactory(team=survey.event.team, email=first.email.lower())
    segment = SegmentFactory(team=survey.event.team)
    client.force_login(survey.event.team.memberships.first().user)
    body = client.get(url(question, segment.pk)).content.decode()
    assert "fewer than 3 answers" in body
    assert f"{segment.name}”: 1 answer" not in body


def test_segment_queries_are_the_same_at_5_and_500_answers(client, call_question):
    team = call_question.call.team
    segment = SegmentFactory(team=team)
    client.force_login(call_question.organizer)
    counts = []
    for count in (5, 500):
        Submission.objects.all().delete()
        ThemeSet.objects.all().delete()
        with_submissions(call_question, count, start=count * 10)
        for i in range(count * 10, count * 10 + count, 2):
            PanelMemberFactory(team=team, email=f"person{i}@example.org")
        computed(call_question)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(call_question, segment.pk)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_survey_theme_counts_recipients_in_the_segment_by_their_account(client):
    survey, question, _nps = survey_world(40)
    theme_set = computed(question)
    theme = Theme.objects.filter(theme_set=theme_set).order_by("-size").first()
    emails = theme.answers.values_list("answer__response__survey_recipient__user__email", flat=True)
    for email in emails:
        PanelMemberFactory(team=survey.event.team, email=email.lower())
    segment = SegmentFactory(team=survey.event.team, name="Theirs")
    client.force_login(survey.event.team.memberships.first().user)
    body = client.get(url(question, segment.pk)).content.decode()
    overall = round(100 * theme.size / theme_set.answers_count)
    assert f"From “Theirs”: {theme.size} answers, 100% of this theme vs {overall}% overall." in body
