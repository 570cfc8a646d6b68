"""Results against a hand-made data set: every figure below was worked out by hand from the
six responses, not computed with the code under test."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import SurveyRecipient
from events.services import questionnaire as engine
from events.services import surveys
from tests.factories import SessionFactory, UserFactory
from tests.surveys.conftest import Kind, answer, field, invite, questions_of, survey_for

pytestmark = pytest.mark.django_db

QUESTIONS = [
    (Kind.RATING, "How was it?", None, False),
    (Kind.NPS, "Would you recommend it?", None, False),
    (Kind.SINGLE, "Which track?", ["Models", "Tools", "Docs"], False),
    (Kind.MULTIPLE, "What did you try?", ["API", "CLI", "Playground"], False),
    (Kind.SHORT_TEXT, "One word for it", None, False),
]

# rating, nps, single, multiple, text; in the order people answered. The first three were
# developers in the first session, the last three researchers in the second.
ANSWERS = [
    (5, 10, 0, [0, 1], "first"),
    (4, 9, 0, [0], "second"),
    (4, 8, 1, [0, 2], None),
    (2, 7, None, [], "third"),
    (None, 6, None, None, None),
    (None, 0, None, None, None),
]


@pytest.fixture
def world(event, session):
    survey = survey_for(event, QUESTIONS)
    second = SessionFactory(event=event)
    questions = questions_of(survey)
    for index, values in enumerate(ANSWERS):
        role, where = ("developer", session) if index < 3 else ("researcher", second)
        person = UserFactory(role=role, display_name=f"Person {index}")
        recipient = invite(survey, person, where)
        data = {}
        for question, value in zip(questions, values, strict=True):
            if value is not None:
                data[field(question)] = (
                    [str(v) for v in value] if isinstance(value, list) else str(value)
                )
        answer(recipient=recipient, data=data)
    invite(survey, UserFactory(role="developer"), session)  # sent, never opened
    return survey, session, second


def by_kind(results) -> dict:
    return {item.question.kind: item for item in results.questions}


def test_ratings_have_their_mean_and_distribution(world):
    survey, *_ = world

    rating = by_kind(engine.results(questionnaire=survey.questionnaire))[Kind.RATING]

    # [5, 4, 4, 2]: 15 / 4.
    assert rating.answered == 4
    assert rating.mean == 3.75
    assert [(o.label, o.count) for o in rating.options] == [
        ("1", 0),
        ("2", 1),
        ("3", 0),
        ("4", 2),
        ("5", 1),
    ]
    assert [o.share for o in rating.options] == [0, 25, 0, 50, 25]


def test_recommendation_counts_promoters_passives_and_detractors(world):
    survey, *_ = world

    nps = by_kind(engine.results(questionnaire=survey.questionnaire))[Kind.NPS]

    # [10, 9, 8, 7, 6, 0]: promoters 10, 9; passives 8, 7; detractors 6, 0.
    assert (nps.nps.promoters, nps.nps.passives, nps.nps.detractors) == (2, 2, 2)
    assert nps.nps.score == 0
    assert nps.mean == pytest.approx(40 / 6)
    assert [o.count for o in nps.options] == [1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]


def test_single_choice_counts_and_shares_of_those_who_answered(world):
    survey, *_ = world

    single = by_kind(engine.results(questionnaire=survey.questionnaire))[Kind.SINGLE]

    assert single.answered == 3
    assert [(o.label, o.count) for o in single.options] == [
        ("Models", 2),
        ("Tools", 1),
        ("Docs", 0),
    ]
    assert [round(o.share, 2) for o in single.options] == [66.67, 33.33, 0]
    assert single.mean is None and single.nps is None


def test_multiple_choice_shares_count_each_person_once_per_choice(world):
    survey, *_ = world

    multiple = by_kind(engine.results(questionnaire=survey.questionnaire))[Kind.MULTIPLE]

    # Three people picked something: API all three, CLI one, Playground one.
    assert multiple.answered == 3
    assert [(o.label, o.count) for o in multiple.options] == [
        ("API", 3),
        ("CLI", 1),
        ("Playground", 1),
    ]
    assert [round(o.share, 2) for o in multiple.options] == [100, 33.33, 33.33]


def test_free_text_is_listed_latest_first_up_to_the_limit(world):
    survey, *_ = world

    everything = by_kind(engine.results(questionnaire=survey.questionnaire))[Kind.SHORT_TEXT]
    limited = by_kind(engine.results(questionnaire=survey.questionnaire, text_limit=2))[
        Kind.SHORT_TEXT
    ]

    assert everything.texts == ["third", "second", "first"]
    assert everything.answered == 3
    assert (limited.texts, limited.more_texts) == (["third", "second"], 1)


def test_changed_answers_count_as_they_are_now(world):
    survey, *_ = world
    rating = questions_of(survey)[0]
    first = SurveyRecipient.objects.filter(answered_at__isnull=False).order_by("pk").first()

    answer(recipient=first, data={field(rating): "1"})

    figures = by_kind(engine.results(questionnaire=survey.questionnaire))
    # [1, 4, 4, 2]: 11 / 4; the person's other answers are gone with the old response.
    assert figures[Kind.RATING].mean == 2.75
    assert figures[Kind.NPS].nps.promoters == 1
    assert figures[Kind.SHORT_TEXT].texts == ["third", "second"]


def test_the_whole_survey_counts_everyone(world):
    survey, *_ = world

    outcome = surveys.results(survey=survey)

    assert outcome.results.respondents == 6
    assert (outcome.rate.sent, outcome.rate.opened, outcome.rate.answered) == (7, 6, 6)
    assert outcome.rate.share(outcome.rate.answered) == 86  # 6 of 7


def test_a_session_filter_counts_only_that_sessions_people(world):
    survey, first, _ = world

    figures = surveys.results(survey=survey, session_id=first.pk)

    items = by_kind(figures.results)
    # Ratings [5, 4, 4]; NPS [10, 9, 8]: two promoters of three.
    assert figures.results.respondents == 3
    assert items[Kind.RATING].mean == pytest.approx(13 / 3)
    assert items[Kind.NPS].nps.score == 67
    assert figures.rate.sent == 4 and figures.rate.answered == 3


def test_a_role_filter_counts_only_that_roles_people(world):
    survey, *_ = world

    figures = surveys.results(survey=survey, role="researcher")

    items = by_kind(figures.results)
    # Ratings [2]; NPS [7, 6, 0]: a passive and two detractors.
    assert figures.results.respondents == 3
    assert items[Kind.RATING].mean == 2
    assert (items[Kind.NPS].nps.passives, items[Kind.NPS].nps.detractors) == (1, 2)
    assert items[Kind.NPS].nps.score == -67
    assert items[Kind.SHORT_TEXT].texts == ["third"]
    assert items[Kind.MULTIPLE].answered == 0


def test_the_results_page_shows_the_figures(world, event, organizer_client):
    page = organizer_client.get(reverse("manage:survey_results", args=[event.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert "3.75" in text  # mean rating
    assert '<strong>0</strong><span class="muted small">NPS' in text
    assert '<td>Models</td><td class="num">2</td><td class="num">67%</td>' in text
    assert '<td>API</td><td class="num">3</td><td class="num">100%</td>' in text
    assert (
        text.index("<li>third</li>") < text.index("<li>second</li>") < text.index("<li>first</li>")
    )
    assert "(6 respondents)" in text
    assert text.count("<svg") == 4  # one chart per question with choices or a scale


def test_the_results_page_filters_by_session_and_role(world, event, organizer_client):
    _, first, _ = world
    url = reverse("manage:survey_results", args=[event.pk])

    by_session = organizer_client.get(url, {"session": first.pk})
    by_role = organizer_client.get(url, {"role": "researcher"})
    ignored = organizer_client.get(url, {"session": SessionFactory().pk, "role": "wizard"})

    assert by_session.context["results"].respondents == 3
    assert "4.33" in by_session.content.decode()
    assert by_role.context["results"].respondents == 3
    assert ignored.context["results"].respondents == 6  # another event's session: no filter


def test_the_csv_has_one_row_per_response_with_the_choices_in_words(world, event, organizer_client):
    response = organizer_client.get(reverse("manage:survey_csv", args=[event.pk]))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == [
        "Response",
        "Answered at",
        "Name",
        "Email",
        "Role",
        "Session starts (UTC)",
    ]
    assert rows[0][6:] == [q[1] for q in QUESTIONS]
    answers = [row[6:] for row in rows[1:]]
    assert answers == [
        ["5", "10", "Models", "API; CLI", "first"],
        ["4", "9", "Models", "API", "second"],
        ["4", "8", "Tools", "API; Playground", ""],
        ["2", "7", "", "", "third"],
        ["", "6", "", "", ""],
        ["", "0", "", "", ""],
    ]
    assert [row[2] for row in rows[1:]] == [f"Person {i}" for i in range(6)]
    assert response["Content-Disposition"] == f'attachment; filename="event-{event.pk}-survey.csv"'


def test_the_csv_of_a_session_has_only_its_responses(world, event, organizer_client):
    _, _, second = world

    response = organizer_client.get(
        reverse("manage:survey_csv", args=[event.pk]), {"session": second.pk}
    )

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[2] for row in rows[1:]] == ["Person 3", "Person 4", "Person 5"]


def test_the_csv_neutralises_answers_that_look_like_formulas(event, session, organizer_client):
    survey = survey_for(event, [(Kind.SHORT_TEXT, "=cmd|' /C calc'!A0", None, False)])
    [question] = questions_of(survey)
    recipient = invite(survey, UserFactory(), session)
    answer(recipient=recipient, data={field(question): '=HYPERLINK("x")'})

    response = organizer_client.get(reverse("manage:survey_csv", args=[event.pk]))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "'=cmd|' /C calc'!A0"
    assert rows[1][-1] == '\'=HYPERLINK("x")'


def test_the_csv_is_read_in_chunks_and_misses_no_response(world):
    survey, *_ = world
    responses = survey.questionnaire.responses.all()

    rows = list(engine.csv_rows(questionnaire=survey.questionnaire, responses=responses, chunk=4))

    assert len(rows) == 1 + 6
    assert [row[0] for row in rows[1:]] == sorted(responses.values_list("pk", flat=True))
    assert all(row[1] <= timezone.now() for row in rows[1:])


def test_answers_labels_and_choices_are_shown_as_text_never_as_markup(
    event, session, organizer_client
):
    survey = survey_for(
        event,
        [
            (Kind.SINGLE, "<i>Pick</i>", ["<b>bold</b>", "<img src=x onerror=alert(1)>"], False),
            (Kind.LONG_TEXT, "Why?", None, False),
        ],
    )
    pick, why = questions_of(survey)
    recipient = invite(survey, UserFactory(), session)
    answer(recipient=recipient, data={field(pick): "1", field(why): "<script>alert(1)</script>"})

    results = organizer_client.get(reverse("manage:survey_results", args=[event.pk]))
    builder = organizer_client.get(reverse("manage:survey", args=[event.pk]))
    form = organizer_client.get(reverse("manage:survey_preview", args=[event.pk]))

    for page in (results, builder, form):
        text = page.content.decode()
        assert "<img src=x" not in text and "<b>bold</b>" not in text and "<i>Pick" not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<script>alert(1)" not in results.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in results.content.decode()
