"""The organizer's call pages refuse bad input with a clear message and change nothing:
creating, editing and publishing, by role in the team."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from events.models import OpenCall
from events.services import ServiceError, open_calls
from tests.factories import (
    OpenCallFactory,
    OrganizerFactory,
    UserFactory,
    add_to_team,
    team_of,
)

pytestmark = pytest.mark.django_db

VALID = {"title": "The open model", "slug": "open-model", "intro": "", "consent_text": "Yes."}


@pytest.fixture
def organizer():
    return OrganizerFactory()


@pytest.fixture
def client(organizer, client_for) -> Client:
    return client_for(organizer)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"slug": "no spaces!"}, "Enter a valid"),
        (
            {"opens_at": "2030-05-02T10:00", "closes_at": "2030-05-01T10:00"},
            "The call must close after it opens.",
        ),
        ({"closes_at": "not a date"}, "Enter a valid date/time."),
    ],
)
def test_creating_a_call_with_bad_input_says_why_and_creates_nothing(client, changes, message):
    response = client.post(reverse("manage:call_create"), {**VALID, **changes})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not OpenCall.objects.exists()


def test_a_short_name_already_taken_is_refused(client, organizer):
    OpenCallFactory(organizer=OrganizerFactory(), title="Theirs", slug="open-model")

    response = client.post(reverse("manage:call_create"), VALID)

    assert response.status_code == 400
    assert "Another call already uses this short name." in response.content.decode()
    assert OpenCall.objects.count() == 1


def test_editing_a_call_to_another_calls_short_name_changes_nothing(client, organizer):
    mine = OpenCallFactory(organizer=organizer, title="Mine", slug="mine")
    OpenCallFactory(organizer=organizer, title="Other", slug="other")

    response = client.post(
        reverse("manage:call_edit", args=[mine.pk]), {**VALID, "title": "Renamed", "slug": "other"}
    )

    assert response.status_code == 400
    assert "Another call already uses this short name." in response.content.decode()
    mine.refresh_from_db()
    assert (mine.title, mine.slug) == ("Mine", "mine")


def test_a_call_asking_nothing_cannot_be_published(client, organizer):
    call = OpenCallFactory(organizer=organizer, title="Empty", slug="empty", ask_join=False)

    response = client.post(reverse("manage:call_status", args=[call.pk]), {"action": "publish"})

    assert response.status_code == 302
    assert "Add at least one question before publishing the call." in texts(response)
    call.refresh_from_db()
    assert call.status == OpenCall.Status.DRAFT


@pytest.fixture
def reviewer(organizer):
    """A reviewer in the organizer's team: they read and score the pool, and may not start,
    publish or close a call."""
    person = UserFactory()
    add_to_team(team_of(organizer), person, role="reviewer")
    return person


def test_a_reviewer_cannot_create_a_call(reviewer, client_for):
    client = client_for(reviewer)

    page = client.get(reverse("manage:call_create"))
    posted = client.post(reverse("manage:call_create"), VALID)

    assert page.status_code == posted.status_code == 404
    assert not OpenCall.objects.exists()
    with pytest.raises(ServiceError, match="Only the team's owners and organizers"):
        OpenCallFactory(organizer=reviewer, team=team_of_reviewer(reviewer), title="M", slug="m")


def team_of_reviewer(person):
    return person.memberships.get().team


def test_a_reviewer_sees_the_call_but_cannot_publish_it(organizer, reviewer, client_for):
    call = OpenCallFactory(organizer=organizer, title="Call", slug="call")
    client = client_for(reviewer)

    page = client.get(reverse("manage:call", args=[call.pk]))
    response = client.post(reverse("manage:call_status", args=[call.pk]), {"action": "publish"})

    assert page.status_code == 200
    assert "An organizer publishes the call." in page.content.decode()
    assert response.status_code == 404
    call.refresh_from_db()
    assert call.status == OpenCall.Status.DRAFT
    with pytest.raises(ServiceError, match="Only the team's owners and organizers"):
        open_calls.set_status(call=call, actor=reviewer, published=True)


def test_a_teams_organizer_can_close_a_call_its_owner_published(organizer, client_for):
    call = OpenCallFactory(organizer=organizer, title="Call", slug="call")
    open_calls.set_status(call=call, actor=organizer, published=True)
    colleague = UserFactory()
    add_to_team(call.team, colleague, role="organizer")

    response = client_for(colleague).post(
        reverse("manage:call_status", args=[call.pk]), {"action": "unpublish"}
    )

    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == OpenCall.Status.DRAFT
