"""How a survey's themes split by session, role and NPS group: the counts, the highlight,
anonymity, and the page's query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from events.models import Answer, Question, SurveyRecipient, Theme, ThemeSet
from events.services import themes as service
from tests.factories import SessionFactory, SurveyFactory, UserFactory

from .conftest import add_answers, planted
from .test_pages import computed

pytestmark = pytest.mark.django_db


def survey_world(count: int, *, anonymous: bool = False, start: int = 0):
    """A survey whose `count` text answers come from recipients of two sessions, half of
    them developers; every answer's respondent also gave an NPS score of 10."""
    survey = SurveyFactory()
    if anonymous:
        survey.anonymous = True
        survey.save()
    question = survey.questionnaire.questions.filter(kind=Question.Kind.LONG_TEXT).first()
    nps = survey.questionnaire.questions.get(kind=Question.Kind.NPS)
    answers = add_answers(question, planted(count, seed=count), start=start)
    sessions = [SessionFactory(event=survey.event, title=t) for t in ("Morning", "Evening")]
    for i, answer in enumerate(answers):
        role = User.Role.DEVELOPER if i % 2 else User.Role.RESEARCHER
        SurveyRecipient.objects.create(
            survey=survey,
            user=UserFactory(role=role, display_name=f"Respondent Zq{i}"),
            session=sessions[i % 2],
            response_id=answer.response_id,
        )
        Answer.objects.create(response_id=answer.response_id, question=nps, number=10)
    return survey, question, nps


def test_a_theme_of_detractors_is_highlighted(client):
    survey, question, nps = survey_world(60)
    theme_set = computed(question)
    theme = Theme.objects.filter(theme_set=theme_set).order_by("-size").first()
    theirs = theme.answers.values("answer__response_id")
    Answer.objects.filter(question=nps, response_id__in=theirs).update(number=3)
    client.force_login(survey.event.team.memberships.first().user)
    body = client.get(reverse("manage:question_themes", args=[question.pk])).content.decode()
    overall = round(100 * theme.answers.count() / theme_set.placements.count())
    assert f"Detractors (0-6): 100% of this theme vs {overall}% overall." in body
    assert "By session" in body and "Morning" in body
    owner = service.owner_of(question)
    row = next(
        r
        for r in service.with_splits(
            service.overview(question=question, owner=owner), owner=owner
        ).rows
        if r.theme.pk == theme.pk
    )
    by = {split.by: split for split in row.splits}
    assert {"Session", "Role", "Recommendation"} == set(by)
    assert sum(cell.n or 0 for cell in by["Session"].cells) == theme.answers.count()


def test_anonymous_cells_under_three_say_fewer_than_3_and_name_no_one(client):
    survey, question, nps = survey_world(40, anonymous=True)
    theme_set = computed(question)
    theme = Theme.objects.filter(theme_set=theme_set).order_by("-size").first()
    # Two of the theme's respondents are detractors: too few to show on their own.
    two = list(theme.answers.values_list("answer__response_id", flat=True)[:2])
    Answer.objects.filter(question=nps, response_id__in=two).update(number=0)
    owner = service.owner_of(question)
    rows = service.with_splits(service.overview(question=question, owner=owner), owner=owner).rows
    row = next(r for r in rows if r.theme.pk == theme.pk)
    cell = next(c for s in row.splits for c in s.cells if c.label.startswith("Detractors"))
    assert cell.n is None and cell.share == 0 and cell.overall == 0
    # Shown, the promoters' count would give the detractors' as the theme's size less it.
    split = next(s for s in row.splits if s.by == "Recommendation")
    assert [c.n for c in split.cells] == [None, None]
    client.force_login(survey.event.team.memberships.first().user)
    body = client.get(reverse("manage:question_themes", args=[question.pk])).content.decode()
    assert "fewer than 3" in body
    assert "Respondent Zq" not in body


def test_split_queries_are_the_same_at_5_and_500_answers(client):
    counts = []
    for count in (5, 500):
        ThemeSet.objects.all().delete()
        survey, question, _nps = survey_world(count, start=count * 10)
        computed(question)
        client.force_login(survey.event.team.memberships.first().user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("manage:question_themes", args=[question.pk]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_chance_is_not_highlighted():
    # 6 of 9 answers from a group that gave half of all answers: chance, not a finding.
    chance = service.Split("Session", [service.Cell("Morning", 6, 67, 50)], 9)
    assert chance.highlight is None
    found = service.Split("Recommendation", [service.Cell("Detractors", 31, 62, 30)], 50)
    assert found.highlight is not None and found.highlight.label == "Detractors"
    hidden = service.Split("Role", [service.Cell("Other", None, 0, 0)], 2)
    assert hidden.highlight is None
