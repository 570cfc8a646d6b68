"""An event's screening questions, edited in the question editor every questionnaire shares
(manage:question_new, question_edit, question_move, question_delete on the event's
`screening` questionnaire): the screening rules hold there (services/screening.py), bad input
is a clear 400 with nothing written, another organizer gets a 404, and rewording a question
never orphans or changes what applicants answered."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Question, Registration
from events.services import ServiceError, scheduling
from events.services import screening as service
from events.services.registration import register
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    team_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def event(owner):
    return EventFactory(organizer=owner, registration_mode="approval", title="Model preview")


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=5)


def new_url(event) -> str:
    return reverse("manage:question_new", args=[event.screening_id])


def edit_url(question) -> str:
    return reverse("manage:question_edit", args=[question.pk])


def rows(event) -> list[tuple]:
    """The event's questions as the applicant is asked them."""
    return [
        (q.label, q.kind, q.required, q.choice_labels, q.removed_choices)
        for q in service.asked(event=event)
    ]


@pytest.fixture
def stack(event, owner):
    return service.add_question(
        event=event, actor=owner, label="Main stack?", kind="single", choices=["Py", "Rust", "Go"]
    )


# Adding and removing (moved from the event page's own form, which is gone)


def test_adding_and_removing_screening_questions(event, owner_client):
    response = owner_client.post(
        new_url(event),
        {
            "label": "Which stack?",
            "kind": "multiple",
            "choices": "Python\n\nRust\n",
            "required": "",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("manage:event", args=[event.pk]) + "#questions"
    question = event.questions.get()
    assert (question.label, question.choice_labels, question.required) == (
        "Which stack?",
        ["Python", "Rust"],
        False,
    )
    owner_client.post(reverse("manage:question_delete", args=[question.pk]))
    assert not event.questions.exists()


def test_a_choice_question_needs_two_choices(event, owner_client):
    response = owner_client.post(
        new_url(event),
        {"label": "Pick", "kind": "single", "choices": "Only one\nOnly one"},
    )

    assert response.status_code == 400
    assert "at least two different choices" in response.content.decode()
    assert not event.questions.exists()


def test_open_events_ask_no_questions(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")

    response = owner_client.post(new_url(event), {"label": "Why?", "kind": "short_text"})

    assert response.status_code == 400
    assert "Only events with approval or lottery registration" in response.content.decode()
    assert not event.questions.exists()


def test_an_event_asks_at_most_twenty_questions(event, owner, owner_client):
    for n in range(service.MAX_QUESTIONS):
        service.add_question(event=event, actor=owner, label=f"Q{n}", kind="short_text")

    response = owner_client.post(new_url(event), {"label": "One more", "kind": "long_text"})

    assert response.status_code == 400
    assert "An event asks at most 20 questions." in response.content.decode()
    assert event.questions.count() == 20
    # The event page offers no form to add a 21st.
    page = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()
    assert new_url(event) not in page
    assert "at most 20 questions" in page


def test_a_question_of_another_event_cannot_be_removed_by_me(event, owner_client):
    other_event = EventFactory(registration_mode="approval")
    theirs = ScreeningQuestionFactory(event=other_event, label="Theirs")

    response = owner_client.post(reverse("manage:question_delete", args=[theirs.pk]))

    assert response.status_code == 404
    assert Question.objects.filter(pk=theirs.pk).exists()


# Bad input on every endpoint: a clear message, a 400, nothing written

BAD_QUESTIONS = [
    ({"label": "Pick", "kind": "slider"}, "Select a valid choice. slider is not one"),
    # A survey's kinds: an applicant is asked a text or a choice question.
    ({"label": "Rate us", "kind": "rating"}, "Select a valid choice. rating is not one"),
    ({"label": "Recommend?", "kind": "nps"}, "Select a valid choice. nps is not one"),
    ({"label": "x" * 301, "kind": "short_text"}, "at most 300 characters"),
    ({"label": "", "kind": "short_text"}, "This field is required."),
    ({"label": "Why\x00?", "kind": "short_text"}, "had a NUL character in it"),
    ({"label": "Pick", "kind": "single", "choices": "a\n" + "b" * 201}, "at most 200 characters"),
]
BAD_IDS = ["unknown-kind", "rating", "nps", "long-label", "blank", "nul", "long-choice"]


@pytest.mark.parametrize(("data", "message"), BAD_QUESTIONS, ids=BAD_IDS)
def test_a_bad_new_screening_question_is_a_400_that_says_why_and_adds_nothing(
    event, stack, owner_client, data, message
):
    before = rows(event)

    response = owner_client.post(new_url(event), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert rows(event) == before


@pytest.mark.parametrize(("data", "message"), BAD_QUESTIONS, ids=BAD_IDS)
def test_a_bad_change_to_a_screening_question_is_a_400_that_says_why_and_changes_nothing(
    event, stack, owner_client, data, message
):
    before = rows(event)

    response = owner_client.post(edit_url(stack), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert rows(event) == before


def test_a_question_of_an_event_that_takes_no_applications_cannot_be_changed(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")
    question = ScreeningQuestionFactory(event=event, label="Left over")

    response = owner_client.post(edit_url(question), {"label": "Why?", "kind": "long_text"})

    assert response.status_code == 400
    assert "Only events with approval or lottery registration" in response.content.decode()
    question.refresh_from_db()
    assert (question.label, question.kind) == ("Left over", "short_text")


def test_a_screening_question_moves_only_up_or_down(event, stack, owner, owner_client):
    other = service.add_question(event=event, actor=owner, label="Why?", kind="short_text")
    move = reverse("manage:question_move", args=[other.pk])

    assert owner_client.post(move, {"direction": "sideways"}).status_code == 400
    assert [q.pk for q in service.asked(event=event)] == [stack.pk, other.pk]
    assert owner_client.post(move, {"direction": "up"}).status_code == 302
    assert [q.pk for q in service.asked(event=event)] == [other.pk, stack.pk]


def test_the_screening_rules_hold_in_the_service_whatever_the_form_lets_through(
    owner, event, stack
):
    open_event = EventFactory(organizer=owner, registration_mode="open")
    refusals = [
        lambda: service.add_question(event=event, actor=owner, label="Rate", kind="rating"),
        lambda: service.edit_question(question=stack, actor=owner, label="Rate", kind="nps"),
        lambda: service.add_question(event=open_event, actor=owner, label="Why", kind="long_text"),
    ]
    messages = []
    for refused in refusals:
        with pytest.raises(ServiceError) as error:
            refused()
        messages.append(error.value.message)

    assert messages[0].startswith("Unknown kind of question")
    assert messages[1].startswith("Unknown kind of question")
    assert messages[2].startswith("Only events with approval or lottery registration")
    assert rows(event) == [("Main stack?", "single", True, ["Py", "Rust", "Go"], [])]
    assert not open_event.questions.exists()


# Who may


@pytest.mark.parametrize("who", ["another organizer", "an attendee"])
def test_anyone_but_the_events_organizers_gets_404_from_its_screening_questions(
    event, stack, who, client_for
):
    stranger = client_for(OrganizerFactory() if who == "another organizer" else UserFactory())
    attempts = [
        ("post", new_url(event), {"label": "Spam", "kind": "short_text"}),
        ("get", edit_url(stack), {}),
        ("post", edit_url(stack), {"label": "Hijacked", "kind": "short_text"}),
        ("post", reverse("manage:question_move", args=[stack.pk]), {"direction": "down"}),
        ("post", reverse("manage:question_delete", args=[stack.pk]), {}),
    ]

    codes = [getattr(stranger, method)(url, data).status_code for method, url, data in attempts]

    assert codes == [404] * 5
    assert rows(event) == [("Main stack?", "single", True, ["Py", "Rust", "Go"], [])]


def test_a_teams_organizer_edits_the_screening_questions_too(event, stack, client_for):
    colleague = OrganizerFactory()
    add_to_team(event.team, colleague, role="organizer")

    response = client_for(colleague).post(
        edit_url(stack), {"label": "Your main stack?", "kind": "single"}
    )

    assert response.status_code == 302
    assert rows(event)[0][0] == "Your main stack?"


# The event page


def test_the_event_page_lists_the_questions_with_the_shared_editor(event, stack, owner_client):
    page = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()

    assert "Screening questions" in page and "Main stack?" in page
    assert edit_url(stack) in page
    assert reverse("manage:question_delete", args=[stack.pk]) in page
    assert f'action="{new_url(event)}"' in page
    # Only the kinds an applicant may be asked are offered.
    assert '<option value="single"' in page and '<option value="long_text"' in page
    assert '<option value="rating"' not in page and '<option value="nps"' not in page


def test_a_new_event_asks_its_first_question_through_the_shared_editor(owner, owner_client):
    event = scheduling.create_event(
        team=team_of(owner), actor=owner, title="Fresh", registration_mode="lottery", timezone="UTC"
    )
    page = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()
    assert f'action="{new_url(event)}"' in page

    response = owner_client.post(new_url(event), {"label": "Why you?", "kind": "long_text"})

    assert response.status_code == 302
    assert rows(event) == [("Why you?", "long_text", False, [], [])]


def test_an_event_without_applications_shows_why_it_asks_nothing(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")

    page = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()

    assert "Screening questions are asked in approval and lottery modes." in page
    assert new_url(event) not in page


def test_the_edit_page_leads_back_to_the_event(event, stack, owner_client):
    page = owner_client.get(edit_url(stack)).content.decode()

    assert "Screening: Model preview" in page
    assert reverse("manage:event", args=[event.pk]) in page


def test_the_event_pages_queries_do_not_grow_with_questions_or_applicants(
    event, session, owner, owner_client
):
    url = reverse("manage:event", args=[event.pk])
    service.add_question(
        event=event, actor=owner, label="Q0", kind="single", choices=["a", "b"], required=False
    )
    register(user=UserFactory(), session=session, answers={})
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(url).status_code == 200
    for n in range(1, service.MAX_QUESTIONS):
        service.add_question(
            event=event,
            actor=owner,
            label=f"Q{n}",
            kind="multiple",
            choices=["a", "b"],
            required=False,
        )
    SessionFactory(event=event, capacity=50)
    for _ in range(4):
        register(user=UserFactory(), session=session, answers=None)
    with CaptureQueriesContext(connection) as many:
        page = owner_client.get(url).content.decode()

    assert "Q19" in page
    assert len(many.captured_queries) == len(few.captured_queries)


# Answers given stay as they were


def applicant_with_answers(event, session, stack, owner):
    uses = service.add_question(
        event=event, actor=owner, label="Uses?", kind="multiple", choices=["code", "agents"]
    )
    why = service.add_question(event=event, actor=owner, label="Why?", kind="short_text")
    person = UserFactory(display_name="Ada Applicant")
    registration = register(
        user=person,
        session=session,
        answers={str(stack.pk): "1", str(uses.pk): ["0", "1"], str(why.pk): "To learn"},
    )
    return person, registration, uses


def what_the_organizer_and_applicant_read(client, registration, person, client_for, stack):
    page = client.get(reverse("manage:registration", args=[registration.pk])).content.decode()
    table = client.get(reverse("manage:registrations_csv", args=[registration.session_id]))
    [header, row] = list(csv.reader(io.StringIO(table.content.decode())))
    export = json.loads(client_for(person).get(reverse("accounts:export")).content)
    exported = export["registrations"][0]["answers"][str(stack.pk)]
    return page, dict(zip(header, row, strict=True)), exported


def test_rewording_choices_never_changes_or_orphans_an_applicants_answer(
    event, session, stack, owner, owner_client, client_for
):
    person, registration, _uses = applicant_with_answers(event, session, stack, owner)
    stored = Registration.objects.get(pk=registration.pk).answers
    ids = {label: pk for pk, label in stack.offered_choices}

    # The choices they did not pick are reworded and reordered, and one is added.
    response = owner_client.post(
        edit_url(stack),
        {
            "label": "Main language?",
            "kind": "single",
            "required": "on",
            f"choice_{ids['Py']}": "Python 3",
            f"order_{ids['Py']}": "3",
            f"choice_{ids['Rust']}": "Rust",
            f"order_{ids['Rust']}": "1",
            f"choice_{ids['Go']}": "Golang",
            f"order_{ids['Go']}": "2",
            "choices": "Zig",
        },
    )
    assert response.status_code == 302

    page, row, exported = what_the_organizer_and_applicant_read(
        owner_client, registration, person, client_for, stack
    )
    assert "Main language?</dt><dd" in page and ">Rust</dd>" in page
    assert row["Main language?"] == "Rust" and row["Uses?"] == "code; agents"
    assert exported == "Rust"
    assert rows(event)[0][3] == ["Rust", "Golang", "Python 3", "Zig"]

    # The choice they picked is reworded: their answer reads as that choice, in its new words.
    owner_client.post(
        edit_url(stack),
        {"label": "Main language?", "kind": "single", f"choice_{ids['Rust']}": "Rust (stable)"},
    )

    page, row, exported = what_the_organizer_and_applicant_read(
        owner_client, registration, person, client_for, stack
    )
    assert ">Rust (stable)</dd>" in page and "removed" not in page
    assert row["Main language?"] == "Rust (stable)"
    assert exported == "Rust (stable)"
    # What they sent is kept as it was: the same choice ids, under the same questions.
    assert Registration.objects.get(pk=registration.pk).answers == stored


def test_the_kind_of_an_answered_screening_question_stays(
    event, session, stack, owner, owner_client
):
    applicant_with_answers(event, session, stack, owner)

    response = owner_client.post(edit_url(stack), {"label": "Main stack?", "kind": "short_text"})

    assert response.status_code == 400
    assert "People have answered this question, so its kind cannot change" in (
        response.content.decode()
    )
    assert rows(event)[0][1:4] == ("single", True, ["Py", "Rust", "Go"])
    # The edit page says so before the organizer tries.
    assert "so its kind stays" in owner_client.get(edit_url(stack)).content.decode()


def test_an_unanswered_screening_question_may_change_its_kind(event, stack, owner_client):
    response = owner_client.post(edit_url(stack), {"label": "Main stack?", "kind": "short_text"})

    assert response.status_code == 302
    assert rows(event)[0][1:4] == ("short_text", False, [])


def test_an_answered_screening_question_may_be_removed_and_the_answer_is_kept(
    event, session, stack, owner, owner_client, client_for
):
    person, registration, _uses = applicant_with_answers(event, session, stack, owner)
    stored = Registration.objects.get(pk=registration.pk).answers

    page = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()
    assert reverse("manage:question_delete", args=[stack.pk]) in page
    response = owner_client.post(reverse("manage:question_delete", args=[stack.pk]))

    assert response.status_code == 302
    assert not Question.objects.filter(pk=stack.pk).exists()
    assert Registration.objects.get(pk=registration.pk).answers == stored
    export = json.loads(client_for(person).get(reverse("accounts:export")).content)
    assert export["registrations"][0]["answers"][str(stack.pk)] == 1
