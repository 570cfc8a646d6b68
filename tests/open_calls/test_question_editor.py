"""The shared question editor on an open call's questionnaire: the call's organizers build
the form with it; anyone else gets a 404 and changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Question
from tests.factories import OrganizerFactory, UserFactory, add_to_team

from .conftest import call_url, in_pool, questions

pytestmark = pytest.mark.django_db


def test_the_calls_teams_organizers_add_edit_move_and_delete_its_questions(
    org, call, organizer, client_for
):
    colleague = OrganizerFactory()
    add_to_team(call.team, colleague, role="organizer")
    for client in (org, client_for(colleague)):
        before = call.questionnaire.questions.count()
        added = client.post(
            reverse("manage:question_new", args=[call.questionnaire_id]),
            {"label": "Which size?", "kind": "single", "choices": "7B\n70B"},
        )
        assert added.status_code == 302
        assert added["Location"].startswith(reverse("manage:call", args=[call.pk]))
        assert call.questionnaire.questions.count() == before + 1
    new = call.questionnaire.questions.last()
    assert org.get(reverse("manage:question_edit", args=[new.pk])).status_code == 200
    edited = org.post(
        reverse("manage:question_edit", args=[new.pk]),
        {"label": "Which size would you run?", "kind": "single", "choices": "7B\n70B\n400B"},
    )
    assert edited.status_code == 302
    new.refresh_from_db()
    assert new.label == "Which size would you run?" and new.choice_labels == ["7B", "70B", "400B"]
    assert (
        org.post(reverse("manage:question_move", args=[new.pk]), {"direction": "up"}).status_code
        == 302
    )
    labels = list(call.questionnaire.questions.values_list("label", flat=True))
    assert labels.index("Which size would you run?") == len(labels) - 2
    assert org.post(reverse("manage:question_delete", args=[new.pk])).status_code == 302
    assert not Question.objects.filter(pk=new.pk).exists()
    # The public form asks what the editor built.
    assert b"Which size?" in Client().get(call_url(call)).content


def test_an_answered_question_of_a_call_cannot_be_removed(org, call):
    q = questions(call)
    in_pool(call, "ada@example.com", answers={q.single.pk: 0})
    response = org.post(reverse("manage:question_delete", args=[q.single.pk]), follow=True)
    assert b"cannot be removed" in response.content
    assert Question.objects.filter(pk=q.single.pk).exists()


@pytest.mark.parametrize("who", ["other organizer", "attendee"])
def test_anyone_but_the_calls_organizers_gets_404_from_its_question_editor(call, who, client_for):
    client = client_for(OrganizerFactory() if who == "other organizer" else UserFactory())
    question = questions(call).single
    label = question.label
    attempts = [
        (
            "post",
            reverse("manage:question_new", args=[call.questionnaire_id]),
            {"label": "X", "kind": "short_text"},
        ),
        ("get", reverse("manage:question_edit", args=[question.pk]), {}),
        (
            "post",
            reverse("manage:question_edit", args=[question.pk]),
            {"label": "Hijacked", "kind": "single", "choices": "a\nb"},
        ),
        ("post", reverse("manage:question_move", args=[question.pk]), {"direction": "down"}),
        ("post", reverse("manage:question_delete", args=[question.pk]), {}),
    ]
    for method, url, data in attempts:
        assert getattr(client, method)(url, data).status_code == 404, url
    question.refresh_from_db()
    assert question.label == label and question.position == 0
    assert call.questionnaire.questions.count() == 6


def test_anonymous_visitors_are_sent_to_log_in_by_the_question_editor(call):
    question = questions(call).single
    response = Client().post(reverse("manage:question_delete", args=[question.pk]))
    assert response.status_code in (302, 404)
    assert Question.objects.filter(pk=question.pk).exists()
