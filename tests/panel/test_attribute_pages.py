"""The panel's attributes page: owners and organizers turn an open-call question into a panel
column, and take it away; bad input is a 400 with its message and writes nothing."""

import pytest
from django.urls import reverse

from events.models import PanelAttribute, PanelMember
from tests.factories import OpenCallFactory, OrganizerFactory, UserFactory, add_to_team, choice_id

from .conftest import confirmed

pytestmark = pytest.mark.django_db


def page(team) -> str:
    return reverse("manage:panel_attributes", args=[team.slug])


def test_an_organizer_maps_a_question_and_everyones_answer_fills_the_column(team, call, client_for):
    _models, builds, _line = call.questionnaire.questions.all()
    confirmed(call, "ada@example.com", answers={builds.pk: choice_id(builds, "RAG")})
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")
    client = client_for(organizer)

    response = client.post(page(team), {"question": str(builds.pk), "name": "builds"})

    assert response.status_code == 302
    assert PanelAttribute.objects.filter(team=team, name="builds", question=builds).exists()
    assert PanelMember.objects.get(team=team, email="ada@example.com").attributes == {
        "builds": "RAG"
    }
    listed = client.get(page(team)).content.decode()
    assert "builds" in listed and "What do you build?" in listed


def test_removing_an_attribute_empties_the_column(team, call, owner, client_for):
    _models, builds, _line = call.questionnaire.questions.all()
    confirmed(call, "ada@example.com", answers={builds.pk: choice_id(builds, "RAG")})
    client = client_for(owner)
    client.post(page(team), {"question": str(builds.pk), "name": "builds"})
    attribute = PanelAttribute.objects.get(team=team)

    response = client.post(reverse("manage:panel_attribute_remove", args=[attribute.pk]))

    assert response.status_code == 302
    assert not PanelAttribute.objects.exists()
    assert PanelMember.objects.get(team=team, email="ada@example.com").attributes == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"question": "", "name": "builds"}, "Choose a question."),
        ({"question": "99999999", "name": "builds"}, "Choose a question."),
        ({"question": "9" * 40, "name": "builds"}, "Choose a question."),
        ({"question": "²", "name": "builds"}, "Choose a question."),
        ({"name": "Has Spaces"}, "lower-case letters, digits and underscores"),
        ({"name": "x" * 41}, "lower-case letters, digits and underscores"),
    ],
)
def test_bad_input_is_a_400_with_its_message_and_writes_nothing(
    team, call, owner, client_for, data, message
):
    question = call.questionnaire.questions.first()
    data = {"question": str(question.pk), **data}

    response = client_for(owner).post(page(team), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PanelAttribute.objects.exists()


def test_a_question_of_another_teams_call_is_refused(team, owner, client_for):
    elsewhere = OpenCallFactory(organizer=OrganizerFactory())
    from events.services import questionnaire as engine

    foreign = engine.add_question(
        questionnaire=elsewhere.questionnaire, label="Secret?", kind="short_text"
    )

    response = client_for(owner).post(page(team), {"question": str(foreign.pk), "name": "x"})

    assert response.status_code == 400
    assert "not in one of this team" in response.content.decode()
    assert not PanelAttribute.objects.exists()
    # Nor is it offered in the page's list of questions.
    assert "Secret?" not in client_for(owner).get(page(team)).content.decode()


def test_a_reviewer_reads_the_attributes_but_has_no_form(team, call, client_for):
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")

    body = client_for(reviewer).get(page(team)).content.decode()

    assert "Attributes from answers" in body
    assert "Add the attribute" not in body
