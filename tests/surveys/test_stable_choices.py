"""Choices keep their identity through edits: an answer names its choice by a stable id, so
rewording, reordering, removing and adding choices after people have answered never moves an
answer onto another choice, in the results, the charts, the CSV or the respondent's form.

A removed choice is no longer offered, but the answers given to it stay attached to it and are
shown as "<label> (removed)" wherever results are read."""

import csv
import io

import pytest
from django.urls import reverse

from events.models import Choice
from events.services import ServiceError, surveys
from events.services import questionnaire as engine
from tests.factories import UserFactory
from tests.surveys.conftest import (
    Kind,
    answer,
    clean_answers,
    field,
    invite,
    questions_of,
    shown,
    survey_for,
)

pytestmark = pytest.mark.django_db

QUESTIONS = [
    (Kind.SINGLE, "Which track?", ["Models", "Tools", "Docs"], False),
    (Kind.MULTIPLE, "What did you try?", ["API", "CLI", "Playground"], False),
]


@pytest.fixture
def survey(event):
    return survey_for(event, QUESTIONS)


def value_of(question, label: str) -> str:
    """The value the respondent's form posts for the choice shown as `label`."""
    [bound] = shown([question])
    return next(c.value for c in bound.choices if c.label == label)


@pytest.fixture
def answered(survey, session):
    """Three people answered: Tools + API/CLI, Docs + Playground, Models + CLI."""
    track, tried = questions_of(survey)
    picks = [("Tools", ["API", "CLI"]), ("Docs", ["Playground"]), ("Models", ["CLI"])]
    for i, (one, several) in enumerate(picks):
        recipient = invite(survey, UserFactory(display_name=f"Person {i}"), session)
        answer(
            recipient=recipient,
            data={
                field(track): value_of(track, one),
                field(tried): [value_of(tried, label) for label in several],
            },
        )
    return survey


def edit(question, choices, **changes):
    question.refresh_from_db()
    return engine.edit_question(
        question=question,
        label=changes.get("label", question.label),
        kind=changes.get("kind", question.kind),
        choices=choices,
        required=question.required,
        help_text=question.help_text,
    )


def ids(question) -> dict[str, int]:
    question.refresh_from_db()
    return {label: pk for pk, label in question.offered_choices}


def counts(survey) -> list[list[tuple[str, int]]]:
    results = engine.results(questionnaire=survey.questionnaire)
    return [[(o.label, o.count) for o in q.options] for q in results.questions]


def csv_answers(client, event) -> list[list[str]]:
    response = client.get(reverse("manage:survey_csv", args=[event.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [row[-2:] for row in rows[1:]]


def test_removing_one_choice_and_adding_another_leaves_old_answers_on_their_choice(
    answered, event, organizer_client
):
    track, tried = questions_of(answered)

    # As many choices as before, so a guard counting them cannot tell anything changed.
    edit(track, ["Models", "Docs", "Community"])
    edit(tried, ["API", "Playground", "SDK"])

    assert counts(answered) == [
        [("Models", 1), ("Docs", 1), ("Community", 0), ("Tools (removed)", 1)],
        [("API", 1), ("Playground", 1), ("SDK", 0), ("CLI (removed)", 2)],
    ]
    assert csv_answers(organizer_client, event) == [
        ["Tools (removed)", "API; CLI (removed)"],
        ["Docs", "Playground"],
        ["Models", "CLI (removed)"],
    ]


def test_the_results_page_and_its_charts_name_the_removed_choice(answered, event, organizer_client):
    track, _ = questions_of(answered)
    edit(track, ["Models", "Docs", "Community"])

    page = organizer_client.get(reverse("manage:survey_results", args=[event.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert "Tools (removed)" in text
    assert text.count("Community") >= 1


def test_a_removed_choice_is_no_longer_offered_nor_accepted(answered, session):
    track, _ = questions_of(answered)
    tools = ids(track)["Tools"]
    edit(track, ["Models", "Docs", "Community"])
    track.refresh_from_db()

    [bound] = shown([track])
    assert [c.label for c in bound.choices] == ["Models", "Docs", "Community"]
    with pytest.raises(engine.AnswerErrors):
        clean_answers(questionnaire=answered.questionnaire, data={field(track): str(tools)})


def test_a_removed_choice_without_answers_is_not_shown_in_results(answered):
    track, _ = questions_of(answered)
    edit(track, ["Models", "Tools", "Docs", "Extra"])
    edit(track, ["Models", "Tools", "Docs"])

    assert counts(answered)[0] == [("Models", 1), ("Tools", 1), ("Docs", 1)]


def test_retyping_a_removed_choice_brings_it_back_with_its_answers(answered):
    track, _ = questions_of(answered)
    tools = ids(track)["Tools"]
    edit(track, ["Models", "Docs", "Community"])

    edit(track, ["Models", "Tools", "Docs", "Community"])

    assert ids(track)["Tools"] == tools
    assert counts(answered)[0] == [("Models", 1), ("Tools", 1), ("Docs", 1), ("Community", 0)]


def test_renaming_a_choice_keeps_its_id_and_its_answers(answered, event, organizer_client):
    track, _ = questions_of(answered)
    before = ids(track)

    edit(
        track,
        [(before["Models"], "Models"), (before["Tools"], "Developer tools"), "Docs"],
    )

    assert ids(track) == {
        "Models": before["Models"],
        "Developer tools": before["Tools"],
        "Docs": before["Docs"],
    }
    assert counts(answered)[0] == [("Models", 1), ("Developer tools", 1), ("Docs", 1)]
    assert [row[0] for row in csv_answers(organizer_client, event)] == [
        "Developer tools",
        "Docs",
        "Models",
    ]


def test_reordering_choices_keeps_their_ids_and_answers(answered, session):
    _track, tried = questions_of(answered)
    before = ids(tried)

    edit(tried, ["Playground", "API", "CLI"])

    assert ids(tried) == before
    assert counts(answered)[1] == [("Playground", 1), ("API", 1), ("CLI", 2)]
    # The respondent's form lists them in the new order, each posting its own id.
    [bound] = shown([questions_of(answered)[1]])
    assert [(c.label, c.value) for c in bound.choices] == [
        ("Playground", str(before["Playground"])),
        ("API", str(before["API"])),
        ("CLI", str(before["CLI"])),
    ]


def test_a_respondent_sees_their_own_answers_after_a_reorder(answered, session):
    track, tried = questions_of(answered)
    recipient = answered.recipients.order_by("pk").first()  # Tools + API/CLI
    edit(track, ["Docs", "Tools", "Models"])
    edit(tried, ["CLI", "Playground", "API"])

    saved = surveys.saved_answers(recipient)
    fields = shown(questions_of(answered), answers=saved)

    assert [[c.label for c in f.choices if c.checked] for f in fields] == [
        ["Tools"],
        ["CLI", "API"],
    ]


def test_ids_are_never_reused_after_a_choice_is_removed(answered):
    track, _ = questions_of(answered)
    tools = ids(track)["Tools"]
    edit(track, ["Models", "Docs"])
    edit(track, ["Models", "Docs", "Tooling"])

    assert ids(track)["Tooling"] != tools
    assert counts(answered)[0][-1] == ("Tools (removed)", 1)


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([(999, "Ghost"), "Models"], "form has changed"),
        ([(0, "Same"), (1, "Same")], "differ"),
        ([(0, ""), "Tools", "Docs"], "cannot be empty"),
    ],
)
def test_bad_choice_edits_are_refused_and_change_nothing(answered, choices, message):
    track, _ = questions_of(answered)
    track.refresh_from_db()
    before = (list(track.choice_labels), list(track.choice_ids), list(track.removed_choices))

    with pytest.raises(ServiceError, match=message):
        edit(track, choices)

    track.refresh_from_db()
    assert (track.choice_labels, track.choice_ids, track.removed_choices) == before


# Through the organizer's edit page: one row per choice (its words, its place, a box to
# remove it), removed choices listed to offer again, and a box for new ones.


def edit_page(client, question, data):
    return client.post(reverse("manage:question_edit", args=[question.pk]), data)


def page_data(question, **extra) -> dict:
    question.refresh_from_db()
    data = {"label": question.label, "kind": question.kind}
    for place, (pk, label) in enumerate(question.offered_choices, start=1):
        data[f"choice_{pk}"] = label
        data[f"order_{pk}"] = str(place)
    return {**data, **extra}


def test_the_edit_page_shows_each_choice_with_its_id(answered, organizer_client):
    track, _ = questions_of(answered)

    page = organizer_client.get(reverse("manage:question_edit", args=[track.pk]))

    text = page.content.decode()
    for label, pk in ids(track).items():
        assert f'name="choice_{pk}"' in text
        assert f'value="{label}"' in text


def test_the_edit_page_lists_the_choices_there_are_before_the_box_for_new_ones(
    answered, organizer_client
):
    track, _ = questions_of(answered)

    text = organizer_client.get(reverse("manage:question_edit", args=[track.pk])).content.decode()

    assert text.index("<legend>Choices</legend>") < text.index("New choices")


def test_the_edit_page_renames_removes_adds_and_reorders_in_one_go(
    answered, event, organizer_client
):
    track, _ = questions_of(answered)
    before = ids(track)
    data = page_data(track)
    data[f"choice_{before['Tools']}"] = "Developer tools"
    data[f"order_{before['Models']}"] = "9"  # last
    data[f"remove_{before['Docs']}"] = "on"
    data["choices"] = "Community\n"

    page = edit_page(organizer_client, track, data)

    assert page.status_code == 302
    assert ids(track) == {
        "Developer tools": before["Tools"],
        "Models": before["Models"],
        "Community": max(before.values()) + 1,
    }
    assert counts(answered)[0] == [
        ("Developer tools", 1),
        ("Models", 1),
        ("Community", 0),
        ("Docs (removed)", 1),
    ]
    assert [row[0] for row in csv_answers(organizer_client, event)] == [
        "Developer tools",
        "Docs (removed)",
        "Models",
    ]


def test_the_edit_page_offers_a_removed_choice_again(answered, organizer_client):
    track, _ = questions_of(answered)
    docs = ids(track)["Docs"]
    assert edit_page(organizer_client, track, page_data(track, **{f"remove_{docs}": "on"}))[
        "Location"
    ]

    page = organizer_client.get(reverse("manage:question_edit", args=[track.pk]))
    assert f'name="restore_{docs}"' in page.content.decode()
    assert edit_page(organizer_client, track, page_data(track, **{f"restore_{docs}": "on"}))[
        "Location"
    ]

    assert ids(track)["Docs"] == docs
    assert counts(answered)[0] == [("Models", 1), ("Tools", 1), ("Docs", 1)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ids: {f"order_{ids['Tools']}": "first"}, "Enter a whole number"),
        (lambda ids: {f"choice_{ids['Tools']}": "  "}, "cannot be empty"),
        (lambda ids: {f"choice_{ids['Tools']}": "x" * 201}, "at most 200 characters"),
        (lambda ids: {f"choice_{ids['Tools']}": "Models"}, "differ"),
        (
            lambda ids: {f"remove_{ids['Tools']}": "on", f"remove_{ids['Docs']}": "on"},
            "at least two different",
        ),
    ],
)
def test_bad_choices_on_the_edit_page_get_a_400_and_change_nothing(
    answered, organizer_client, change, message
):
    track, _ = questions_of(answered)
    track.refresh_from_db()
    before = (list(track.choice_labels), list(track.choice_ids), list(track.removed_choices))
    data = page_data(track, label="Reworded", **change(ids(track)))

    page = edit_page(organizer_client, track, data)

    assert page.status_code == 400
    assert message in page.content.decode()
    track.refresh_from_db()
    assert track.label == "Which track?"
    assert (track.choice_labels, track.choice_ids, track.removed_choices) == before


def test_a_choice_keeps_its_row_through_rewording_reordering_and_removal(survey):
    """What points at a choice row (an open call's screening rule) stays with the choice: the
    engine edits the rows in place and only adds rows for new choices."""
    track, _ = questions_of(survey)
    before = {c.number: c.pk for c in track.choices.all()}
    choices = {c.label: c.number for c in track.choices.all()}
    engine.edit_question(
        question=track,
        label=track.label,
        kind=track.kind,
        choices=[(choices["Docs"], "Documentation"), (choices["Models"], "Models"), "Hardware"],
    )
    after = {c.number: (c.pk, c.label, c.removed) for c in Choice.objects.filter(question=track)}
    assert after[choices["Docs"]] == (before[choices["Docs"]], "Documentation", False)
    assert after[choices["Models"]][0] == before[choices["Models"]]
    assert after[choices["Tools"]] == (before[choices["Tools"]], "Tools", True)
    assert len(after) == 4
