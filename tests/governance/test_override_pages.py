"""The invite preview lists who the team's rules hold back, with why; an organizer may invite
them anyway with a reason (none: the preview again, a 400 with the message, nothing sent);
the reason shows on the invitations list."""

import pytest
from django.urls import reverse

from events.models import ContactBlock, Invitation, Notification

from .helpers import invited_days_ago

pytestmark = pytest.mark.django_db


def preview(client, event, session, pasted: str):
    return client.post(
        reverse("manage:invite", args=[event.pk]),
        {"session": str(session.pk), "pasted": pasted, "expires_in_days": "7", "message": ""},
    )


def token_of(response) -> str:
    return response.context["token"]


@pytest.fixture
def client(owner, client_for):
    return client_for(owner)


def test_the_preview_says_who_the_rules_hold_back_and_why(client, event, team, session):
    invited_days_ago(event, "ann@example.com", 12)
    ContactBlock.objects.create(team=team, email="bo@example.com", reason="unsubscribed")

    response = preview(client, event, session, "ann@example.com\nbo@example.com\ncy@example.com")

    page = response.content.decode()
    assert "Invited by this team 12 days ago (cool-down: 30 days)." in page
    assert "Unsubscribed from this team&#x27;s mail: never invited again." in page
    assert "Invite the 1 held back by the team" in page
    assert 'for="override-reason"' in page
    assert [r.email for r in response.context["valid"]] == ["cy@example.com"]


def test_confirming_without_override_invites_only_those_the_rules_allow(client, event, session):
    invited_days_ago(event, "ann@example.com", 12)
    response = preview(client, event, session, "ann@example.com\ncy@example.com")

    client.post(reverse("manage:invite_confirm", args=[event.pk]), {"token": token_of(response)})

    assert set(Invitation.objects.filter(status="pending").values_list("email", flat=True)) == {
        "cy@example.com"
    }


def test_an_override_without_a_reason_shows_the_preview_again_and_sends_nothing(
    client, event, session
):
    invited_days_ago(event, "ann@example.com", 12)
    response = preview(client, event, session, "ann@example.com\ncy@example.com")
    before = (Invitation.objects.count(), Notification.objects.count())

    again = client.post(
        reverse("manage:invite_confirm", args=[event.pk]),
        {"token": token_of(response), "override": "1", "override_reason": "  "},
    )

    assert again.status_code == 400
    assert "Write why these people should be invited" in again.content.decode()
    assert (Invitation.objects.count(), Notification.objects.count()) == before
    # The same preview still works.
    done = client.post(
        reverse("manage:invite_confirm", args=[event.pk]),
        {"token": token_of(response), "override": "1", "override_reason": "Key tester."},
    )
    assert done.status_code == 302
    ann = Invitation.objects.get(email="ann@example.com", status="pending")
    assert ann.override_reason == "Key tester."
    listing = client.get(reverse("manage:invitations", args=[event.pk])).content.decode()
    assert "Rules set aside" in listing and "Key tester." in listing
