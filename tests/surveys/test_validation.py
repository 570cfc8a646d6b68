"""Every kind of question refuses what does not fit it, with a message for the person; a
submission carrying another form's question ids is refused whole; nothing half is written."""

import pytest
from django.test import Client

from events.models import Answer, Response
from events.services import questionnaire as engine
from events.services import surveys
from tests.factories import EventFactory, UserFactory
from tests.surveys.conftest import (
    EVERY_KIND,
    Kind,
    clean_answers,
    field,
    invite,
    link,
    questions_of,
    survey_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(event):
    return survey_for(event, EVERY_KIND)


@pytest.fixture
def asked(survey) -> dict[str, object]:
    """The survey's questions by kind."""
    return {q.kind: q for q in questions_of(survey)}


def errors_for(survey, data) -> dict:
    with pytest.raises(engine.AnswerErrors) as caught:
        clean_answers(questionnaire=survey.questionnaire, data=data)
    return caught.value.errors


def valid(asked, **overrides) -> dict:
    data = {field(asked[Kind.RATING]): "4"}
    data.update({field(asked[kind]): value for kind, value in overrides.items()})
    return data


@pytest.mark.parametrize("value", ["0", "6", "abc", "-1", "4.5", "99999999999999999999"])
def test_a_rating_outside_one_to_five_is_refused(survey, asked, value):
    errors = errors_for(survey, {field(asked[Kind.RATING]): value})

    assert errors == {asked[Kind.RATING].pk: "Pick a number from 1 to 5."}


@pytest.mark.parametrize("value", ["-1", "11", "ten"])
def test_a_recommendation_outside_zero_to_ten_is_refused(survey, asked, value):
    errors = errors_for(survey, valid(asked, nps=value))

    assert errors == {asked[Kind.NPS].pk: "Pick a number from 0 to 10."}


@pytest.mark.parametrize("value", ["0", "10"])
def test_both_ends_of_the_recommendation_scale_are_kept(survey, asked, value):
    cleaned = clean_answers(questionnaire=survey.questionnaire, data=valid(asked, nps=value))

    assert cleaned[asked[Kind.NPS].pk] == int(value)


@pytest.mark.parametrize("value", ["3", "-1", "first", "1.0"])
def test_a_single_choice_that_is_not_offered_is_refused(survey, asked, value):
    errors = errors_for(survey, valid(asked, single=value))

    assert errors == {asked[Kind.SINGLE].pk: "Pick one of the choices offered."}


def test_several_values_for_a_single_choice_question_are_refused(survey, asked):
    data = {**valid(asked), field(asked[Kind.SINGLE]): ["0", "1"]}

    assert errors_for(survey, data) == {asked[Kind.SINGLE].pk: "Pick only one."}


def test_several_values_for_a_rating_are_refused(survey, asked):
    data = {field(asked[Kind.RATING]): ["4", "5"]}

    assert errors_for(survey, data) == {asked[Kind.RATING].pk: "Pick only one."}


@pytest.mark.parametrize("values", [["0", "3"], ["x"], ["1", "-1"]])
def test_a_multiple_choice_outside_the_choices_is_refused(survey, asked, values):
    data = {**valid(asked), field(asked[Kind.MULTIPLE]): values}

    assert errors_for(survey, data) == {asked[Kind.MULTIPLE].pk: "Pick among the choices offered."}


def test_a_multiple_choice_keeps_each_pick_once_in_order(survey, asked):
    data = {**valid(asked), field(asked[Kind.MULTIPLE]): ["2", "0", "2"]}

    cleaned = clean_answers(questionnaire=survey.questionnaire, data=data)

    assert cleaned[asked[Kind.MULTIPLE].pk] == [0, 2]


@pytest.mark.parametrize(("kind", "limit"), [(Kind.SHORT_TEXT, 300), (Kind.LONG_TEXT, 5000)])
def test_text_longer_than_its_limit_is_refused_and_the_limit_itself_is_kept(
    survey, asked, kind, limit
):
    errors = errors_for(survey, valid(asked, **{kind: "x" * (limit + 1)}))
    cleaned = clean_answers(
        questionnaire=survey.questionnaire, data=valid(asked, **{kind: "x" * limit})
    )

    assert errors == {asked[kind].pk: f"At most {limit} characters, please (this has {limit + 1})."}
    assert cleaned[asked[kind].pk] == "x" * limit


def test_a_required_answer_left_empty_or_blank_is_asked_for(survey, asked):
    for data in ({}, {field(asked[Kind.RATING]): ""}, {field(asked[Kind.RATING]): "  "}):
        assert errors_for(survey, data) == {asked[Kind.RATING].pk: "This question needs an answer."}


def test_a_required_text_of_only_spaces_is_asked_for(event):
    survey = survey_for(event, [(Kind.LONG_TEXT, "Why?", None, True)])
    [question] = questions_of(survey)

    errors = errors_for(survey, {field(question): "   \n "})

    assert errors == {question.pk: "This question needs an answer."}


def test_optional_questions_may_be_left_out(survey, asked):
    cleaned = clean_answers(questionnaire=survey.questionnaire, data=valid(asked))

    assert cleaned[asked[Kind.RATING].pk] == 4
    assert {pk: v for pk, v in cleaned.items() if pk != asked[Kind.RATING].pk} == {
        q.pk: None for q in asked.values() if q.kind != Kind.RATING
    }


def test_each_wrong_answer_gets_its_own_message(survey, asked):
    data = {field(asked[Kind.NPS]): "12", field(asked[Kind.SINGLE]): "9"}

    errors = errors_for(survey, data)

    assert set(errors) == {asked[Kind.RATING].pk, asked[Kind.NPS].pk, asked[Kind.SINGLE].pk}


def test_an_answer_to_another_surveys_question_refuses_the_whole_submission(survey, asked):
    other = survey_for(EventFactory(), EVERY_KIND)
    foreign = questions_of(other)[0]

    errors = errors_for(survey, {**valid(asked), field(foreign): "5"})

    assert errors == {None: "This form has changed or the answers do not belong to it. Reload it."}


def test_an_invented_question_id_refuses_the_whole_submission(survey, asked):
    errors = errors_for(survey, {**valid(asked), "q999999": "1"})

    assert set(errors) == {None}


def test_saving_answers_to_another_surveys_question_writes_nothing(survey, asked):
    foreign = questions_of(survey_for(EventFactory(), EVERY_KIND))[0]

    with pytest.raises(engine.AnswerErrors):
        engine.save_response(
            questionnaire=survey.questionnaire,
            respondent="user1",
            answers={asked[Kind.RATING].pk: 4, foreign.pk: 5},
        )

    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0


# Through the link


@pytest.fixture
def respondent(survey, session):
    return invite(survey, UserFactory(), session)


def test_the_form_refuses_bad_answers_with_a_400_and_writes_nothing(respondent, asked):
    client = Client()
    data = {
        field(asked[Kind.RATING]): "6",
        field(asked[Kind.NPS]): "11",
        field(asked[Kind.SINGLE]): "7",
        field(asked[Kind.MULTIPLE]): ["0", "5"],
        field(asked[Kind.SHORT_TEXT]): "y" * 301,
        field(asked[Kind.LONG_TEXT]): "Kept <b>as typed</b>",
    }

    page = client.post(link(respondent), data)

    assert page.status_code == 400
    text = page.content.decode()
    assert "5 answers need attention" in text
    for message in (
        "Pick a number from 1 to 5.",
        "Pick a number from 0 to 10.",
        "Pick one of the choices offered.",
        "Pick among the choices offered.",
        "At most 300 characters, please (this has 301).",
    ):
        assert message in text
    # What they wrote is still there (escaped), so fixing one answer loses nothing.
    assert "Kept &lt;b&gt;as typed&lt;/b&gt;</textarea>" in text
    assert 'value="' + "y" * 301 + '"' in text
    assert Response.objects.count() == 0 and Answer.objects.count() == 0
    respondent.refresh_from_db()
    assert respondent.answered_at is None


def test_a_missing_required_answer_keeps_the_other_answers_checked(respondent, asked):
    client = Client()
    data = {
        field(asked[Kind.NPS]): "9",
        field(asked[Kind.SINGLE]): "1",
        field(asked[Kind.MULTIPLE]): ["0", "2"],
    }

    page = client.post(link(respondent), data)

    assert page.status_code == 400
    text = page.content.decode()
    assert "This question needs an answer." in text
    for name, value in [
        (field(asked[Kind.NPS]), "9"),
        (field(asked[Kind.SINGLE]), "1"),
        (field(asked[Kind.MULTIPLE]), "0"),
        (field(asked[Kind.MULTIPLE]), "2"),
    ]:
        assert f'id="{name}-{value}" name="{name}" value="{value}" checked' in text
    assert (
        f'id="{field(asked[Kind.MULTIPLE])}-1" name="{field(asked[Kind.MULTIPLE])}" value="1">'
        in text
    )
    # The error is tied to its question for screen readers.
    rating = field(asked[Kind.RATING])
    assert f'id="{rating}-error"' in text
    assert f'aria-invalid="true" aria-describedby="{rating}-ends {rating}-error"' in text
    assert Response.objects.count() == 0


def test_a_forged_question_id_through_the_form_is_refused_with_a_reload_message(respondent, asked):
    foreign = questions_of(survey_for(EventFactory(), EVERY_KIND))[0]
    client = Client()

    page = client.post(link(respondent), {**valid(asked), field(foreign): "5"})

    assert page.status_code == 400
    assert b"the answers do not belong to it. Reload it." in page.content
    assert Response.objects.count() == 0 and Answer.objects.count() == 0


def test_good_answers_through_the_form_are_kept(respondent, asked):
    client = Client()
    data = {
        field(asked[Kind.RATING]): "5",
        field(asked[Kind.NPS]): "0",
        field(asked[Kind.MULTIPLE]): ["1", "2"],
        field(asked[Kind.SHORT_TEXT]): "  fast  ",
    }

    page = client.post(link(respondent), data)

    assert page.status_code == 302
    respondent.refresh_from_db()
    assert surveys.saved_answers(respondent) == {
        asked[Kind.RATING].pk: 5,
        asked[Kind.NPS].pk: 0,
        asked[Kind.MULTIPLE].pk: [1, 2],
        asked[Kind.SHORT_TEXT].pk: "fast",
    }
