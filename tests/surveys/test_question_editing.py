"""Building the questions: limits, order, and the guards that keep results true once people
have answered (the kind stays, the question stays; choices may change, since answers name
their choice by id: see test_stable_choices)."""

import pytest
from django.urls import reverse

from events.models import Question
from events.services import ServiceError
from events.services import questionnaire as engine
from tests.factories import OrganizerFactory, UserFactory
from tests.surveys.conftest import Kind, answer, field, invite, questions_of, survey_for

pytestmark = pytest.mark.django_db

QUESTIONS = [
    (Kind.SINGLE, "Which track?", ["Models", "Tools", "Docs"], False),
    (Kind.RATING, "How was it?", None, False),
    (Kind.SHORT_TEXT, "One word", None, False),
]


@pytest.fixture
def survey(event):
    return survey_for(event, QUESTIONS)


@pytest.fixture
def track(survey):
    return questions_of(survey)[0]


@pytest.fixture
def answered(survey, session, track):
    """Someone picked 'Tools'."""
    answer(recipient=invite(survey, UserFactory(), session), data={field(track): "1"})
    return track


def edit(question, **changes):
    fields = {
        "label": question.label,
        "kind": question.kind,
        "choices": question.choice_labels,
        "required": question.required,
        "help_text": question.help_text,
    }
    return engine.edit_question(question=question, **{**fields, **changes})


def labels(survey) -> list[str]:
    return [q.label for q in questions_of(survey)]


# Once answered


def test_an_answered_question_keeps_its_kind(answered):
    with pytest.raises(ServiceError, match="its kind cannot change"):
        edit(answered, kind=Kind.MULTIPLE)

    answered.refresh_from_db()
    assert answered.kind == Kind.SINGLE


def test_an_answered_question_may_lose_a_choice_and_its_answers_stay_with_it(answered, survey):
    edit(answered, choices=["Models", "Docs"])

    answered.refresh_from_db()
    assert answered.choice_labels == ["Models", "Docs"]
    assert answered.removed_choices == [(1, "Tools")]
    options = engine.results(questionnaire=survey.questionnaire).questions[0].options
    assert [(o.label, o.count) for o in options] == [
        ("Models", 0),
        ("Docs", 0),
        ("Tools (removed)", 1),
    ]


def test_an_answered_question_may_be_reworded_and_given_more_choices(answered, survey):
    edit(
        answered,
        label="Which track did you follow?",
        choices=["Models", (1, "Developer tools"), "Docs", "Other"],
        help_text="Pick the main one.",
        required=True,
    )

    answered.refresh_from_db()
    assert answered.label == "Which track did you follow?"
    assert answered.choice_labels == ["Models", "Developer tools", "Docs", "Other"]
    # The answer given before still counts for the reworded choice.
    options = engine.results(questionnaire=survey.questionnaire).questions[0].options
    assert [(o.label, o.count) for o in options] == [
        ("Models", 0),
        ("Developer tools", 1),
        ("Docs", 0),
        ("Other", 0),
    ]


def test_an_answered_question_cannot_be_removed(answered):
    with pytest.raises(ServiceError, match="cannot be removed"):
        engine.remove_question(question=answered)

    assert Question.objects.filter(pk=answered.pk).exists()


def test_a_question_nobody_answered_may_change_in_every_way(answered, survey):
    rating = questions_of(survey)[1]  # the person skipped it

    edit(rating, kind=Kind.SINGLE, choices=["Yes", "No"])
    edit(rating, choices=["Yes", "No", "Maybe"])
    edit(rating, choices=["Yes", "No"])
    engine.remove_question(question=rating)

    assert labels(survey) == ["Which track?", "One word"]


# Order


def test_questions_move_up_and_down(survey):
    track, _rating, word = questions_of(survey)

    engine.move_question(question=word, offset=-1)
    assert labels(survey) == ["Which track?", "One word", "How was it?"]
    engine.move_question(question=track, offset=1)
    assert labels(survey) == ["One word", "Which track?", "How was it?"]


def test_moving_past_either_end_changes_nothing(survey):
    track, _, word = questions_of(survey)

    engine.move_question(question=track, offset=-1)
    engine.move_question(question=word, offset=1)
    engine.move_question(question=word, offset=5)

    assert labels(survey) == ["Which track?", "How was it?", "One word"]


def test_a_new_question_goes_last(survey):
    engine.add_question(questionnaire=survey.questionnaire, label="Last", kind=Kind.NPS)

    assert labels(survey)[-1] == "Last"


# Limits


def test_a_form_asks_at_most_fifty_questions(survey):
    for i in range(engine.MAX_QUESTIONS - 3):
        engine.add_question(questionnaire=survey.questionnaire, label=f"Q{i}", kind=Kind.RATING)

    with pytest.raises(ServiceError, match="at most 50 questions"):
        engine.add_question(questionnaire=survey.questionnaire, label="One more", kind=Kind.RATING)
    assert survey.questionnaire.questions.count() == engine.MAX_QUESTIONS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"label": ""}, "needs a label"),
        ({"label": "   "}, "needs a label"),
        ({"label": "x" * 301}, "at most 300 characters"),
        ({"help_text": "x" * 501}, "help text is at most 500"),
        ({"kind": "slider"}, "Unknown kind"),
        ({"kind": Kind.SINGLE, "choices": ["Only"]}, "at least two different choices"),
        ({"kind": Kind.SINGLE, "choices": ["Same", " Same ", ""]}, "at least two different"),
        ({"kind": Kind.MULTIPLE, "choices": None}, "at least two different"),
        (
            {"kind": Kind.MULTIPLE, "choices": [f"c{i}" for i in range(31)]},
            "at most 30 choices",
        ),
        ({"kind": Kind.SINGLE, "choices": ["ok", "x" * 201]}, "at most 200 characters"),
    ],
)
def test_a_question_out_of_bounds_is_refused_with_a_reason(survey, changes, message):
    fields = {"label": "Fine", "kind": Kind.RATING, **changes}

    with pytest.raises(ServiceError, match=message):
        engine.add_question(questionnaire=survey.questionnaire, **fields)
    assert survey.questionnaire.questions.count() == 3


def test_the_limits_themselves_are_accepted(survey):
    question = engine.add_question(
        questionnaire=survey.questionnaire,
        label="x" * 300,
        kind=Kind.MULTIPLE,
        choices=[f"{i:02d}" + "y" * 198 for i in range(30)],
        help_text="h" * 500,
    )

    assert len(question.choice_labels) == 30
    assert {len(c) for c in question.choice_labels} == {200}


def test_a_scale_question_keeps_no_choices(survey):
    question = engine.add_question(
        questionnaire=survey.questionnaire, label="Rate", kind=Kind.RATING, choices=["a", "b"]
    )

    assert question.choice_labels == []


# Through the organizer's pages


def builder(event) -> str:
    return reverse("manage:survey", args=[event.pk])


def test_the_organizer_adds_a_question(survey, event, organizer_client):
    page = organizer_client.post(
        reverse("manage:question_new", args=[survey.questionnaire_id]),
        {"label": "Which OS?", "kind": "multiple", "choices": "Linux\nmacOS\n\nWindows\n"},
        follow=True,
    )

    assert b"Question added." in page.content
    question = questions_of(survey)[-1]
    assert (question.label, question.choice_labels) == ("Which OS?", ["Linux", "macOS", "Windows"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label": "", "kind": "rating"}, "The question was not added: Question: This field"),
        ({"label": "Pick", "kind": "single", "choices": "Only one"}, "at least two different"),
        ({"label": "Pick", "kind": "slider"}, "Kind of answer: Select a valid choice."),
        ({"label": "x" * 301, "kind": "rating"}, "at most 300 characters"),
    ],
)
def test_a_bad_new_question_is_refused_with_a_message_and_nothing_added(
    survey, event, organizer_client, data, message
):
    page = organizer_client.post(
        reverse("manage:question_new", args=[survey.questionnaire_id]), data, follow=True
    )

    # The form again, as typed, with the message, and the way back to the survey's builder.
    assert page.status_code == 400 and not page.redirect_chain
    assert message in page.content.decode()
    assert builder(event) in page.content.decode()
    assert survey.questionnaire.questions.count() == 3


def test_changing_the_kind_of_an_answered_question_is_refused_on_the_page(
    answered, organizer_client
):
    page = organizer_client.post(
        reverse("manage:question_edit", args=[answered.pk]),
        {"label": "Which track?", "kind": "rating"},
    )

    assert page.status_code == 400
    text = page.content.decode()
    assert "its kind cannot change" in text
    assert "People have answered this question" in text
    answered.refresh_from_db()
    assert (answered.kind, answered.choice_labels) == (Kind.SINGLE, ["Models", "Tools", "Docs"])


def test_leaving_a_choice_out_of_the_new_choices_box_removes_nothing(answered, organizer_client):
    # Existing choices are edited row by row; the box only adds. A post without the rows
    # (an old form, a script) keeps every choice as it was.
    page = organizer_client.post(
        reverse("manage:question_edit", args=[answered.pk]),
        {"label": "Which track?", "kind": "single", "choices": "Models\nTools"},
    )

    assert page.status_code == 302
    answered.refresh_from_db()
    assert answered.choice_labels == ["Models", "Tools", "Docs"]
    assert answered.removed_choices == []


def test_rewording_an_answered_question_is_saved_from_the_page(answered, event, organizer_client):
    page = organizer_client.post(
        reverse("manage:question_edit", args=[answered.pk]),
        {"label": "Your track?", "kind": "single", "choices": "Models\nTools\nDocs\nOther"},
    )

    assert page.status_code == 302
    answered.refresh_from_db()
    assert answered.label == "Your track?" and len(answered.choice_labels) == 4


def test_removing_an_answered_question_is_refused_on_the_page(answered, organizer_client):
    page = organizer_client.post(reverse("manage:question_delete", args=[answered.pk]), follow=True)

    assert "cannot be removed without losing their answers" in page.content.decode()
    assert Question.objects.filter(pk=answered.pk).exists()


def test_an_unanswered_question_is_removed_from_the_page(survey, organizer_client):
    word = questions_of(survey)[2]

    page = organizer_client.post(reverse("manage:question_delete", args=[word.pk]), follow=True)

    assert "Removed “One word”." in page.content.decode()
    assert labels(survey) == ["Which track?", "How was it?"]


def test_the_builder_offers_no_remove_button_for_an_answered_question(
    answered, event, organizer_client
):
    page = organizer_client.get(builder(event)).content.decode()

    assert reverse("manage:question_delete", args=[answered.pk]) not in page
    other = questions_of(answered.questionnaire.survey)[1]
    assert reverse("manage:question_delete", args=[other.pk]) in page


def test_questions_are_reordered_from_the_page(survey, organizer_client):
    _track, rating, _word = questions_of(survey)
    move = reverse("manage:question_move", args=[rating.pk])

    assert organizer_client.post(move, {"direction": "up"}).status_code == 302
    assert labels(survey) == ["How was it?", "Which track?", "One word"]
    assert organizer_client.post(move, {"direction": "down"}).status_code == 302
    assert organizer_client.post(move, {"direction": "sideways"}).status_code == 400
    assert labels(survey) == ["Which track?", "How was it?", "One word"]


def test_another_organizer_cannot_touch_the_questions(survey, track, client_for):
    stranger = client_for(OrganizerFactory())

    responses = [
        stranger.post(
            reverse("manage:question_new", args=[survey.questionnaire_id]),
            {"label": "Spam", "kind": "rating"},
        ),
        stranger.get(reverse("manage:question_edit", args=[track.pk])),
        stranger.post(
            reverse("manage:question_edit", args=[track.pk]), {"label": "Hacked", "kind": "nps"}
        ),
        stranger.post(reverse("manage:question_move", args=[track.pk]), {"direction": "down"}),
        stranger.post(reverse("manage:question_delete", args=[track.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert labels(survey) == ["Which track?", "How was it?", "One word"]
