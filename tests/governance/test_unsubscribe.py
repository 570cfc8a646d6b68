"""The unsubscribe link: its GET only shows a button (mail scanners open links), its POST
unsubscribes, once; a forged or altered link is a clear 400 that writes nothing; the one-click
POST of a mail provider works without a login or CSRF token. And the team's blocklist page:
owners and organizers add an address with a note, lift their own blocks, never someone's
unsubscription."""

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import ContactBlock
from events.services import ServiceError, contact
from tests.factories import TeamFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db


def link(team, email: str = "ann@example.com") -> str:
    return reverse("events:unsubscribe", args=[contact.unsubscribe_token(team.pk, email)])


def entries() -> list[tuple]:
    return list(ContactBlock.objects.order_by("pk").values_list("team", "email", "reason"))


def test_opening_the_link_shows_a_button_and_changes_nothing(team):
    response = Client().get(link(team))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Unsubscribe from {team.name}?" in page
    assert '<button type="submit">Unsubscribe</button>' in page
    assert entries() == []


def test_the_post_unsubscribes_the_address_from_that_team_only(team):
    response = Client(enforce_csrf_checks=True).post(link(team, "Ann@Example.com"))

    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    assert entries() == [(team.pk, "ann@example.com", "unsubscribed")]


def test_using_the_link_again_says_already_unsubscribed_and_changes_nothing(team):
    client = Client()
    client.post(link(team))
    before = list(ContactBlock.objects.values_list("pk", "created_at"))

    again = client.post(link(team))
    opened = client.get(link(team))

    assert "already unsubscribed" in again.content.decode()
    assert "already unsubscribed" in opened.content.decode()
    assert "<button" not in opened.content.decode().split("<main", 1)[-1].split("</main>")[0]
    assert list(ContactBlock.objects.values_list("pk", "created_at")) == before


def test_an_address_the_team_blocked_becomes_unsubscribed_for_good_when_it_unsubscribes(
    team, owner
):
    # Her own wish now: were it left a block, the team could lift it and mail her again.
    ContactBlock.objects.create(
        team=team,
        email="ann@example.com",
        reason="blocked",
        note="Asked by phone.",
        created_by=owner,
    )

    response = Client().post(link(team))

    assert "You're unsubscribed" in response.content.decode()
    entry = ContactBlock.objects.get()
    assert (entry.team, entry.email, entry.reason, entry.note, entry.created_by) == (
        team,
        "ann@example.com",
        "unsubscribed",
        "Asked by phone.",
        None,
    )
    with pytest.raises(ServiceError, match="only they can ask"):
        contact.unblock(team=team, actor=owner, entry=entry)
    assert "already unsubscribed" in Client().get(link(team)).content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_or_altered_link_is_a_400_that_writes_nothing(team, method):
    token = contact.unsubscribe_token(team.pk, "ann@example.com")
    other = TeamFactory()
    # Another team's payload with this token's signature: altered.
    other_payload = contact.unsubscribe_token(other.pk, "ann@example.com").split(":", 1)[0]
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        other_payload + ":" + token.split(":", 1)[1],
        "not-a-token",
        signing.dumps({"t": other.pk, "e": "ann@example.com"}, salt="another.salt"),
    ]
    for bad in forged:
        url = reverse("events:unsubscribe", args=[bad])
        response = getattr(Client(), method)(url)
        assert response.status_code == 400, bad
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert entries() == []


def test_the_link_of_one_team_does_not_unsubscribe_from_another(team):
    other = TeamFactory()

    Client().post(link(other))

    assert entries() == [(other.pk, "ann@example.com", "unsubscribed")]


# The blocklist page


@pytest.fixture
def organizer(team):
    return add_to_team(team, UserFactory(), role="organizer").user


def test_an_organizer_blocks_an_address_with_a_note_and_sees_it_listed(team, organizer, client_for):
    client = client_for(organizer)
    response = client.post(
        reverse("manage:contact_block_add", args=[team.slug]),
        {"email": " Bo@Example.com ", "note": "Asked us by phone."},
    )

    assert response.status_code == 302
    entry = ContactBlock.objects.get()
    assert (entry.email, entry.reason, entry.note, entry.created_by) == (
        "bo@example.com",
        "blocked",
        "Asked us by phone.",
        organizer,
    )
    page = client.get(reverse("manage:contact_blocks", args=[team.slug])).content.decode()
    assert "Asked us by phone." in page and "Blocked by the team" in page
    assert 'for="block-email"' in page and 'for="block-note"' in page


@pytest.mark.parametrize(
    ("email", "note", "message"),
    [
        ("", "", "Enter an email address."),
        ("not-an-address", "", "Enter an email address."),
        ("bo@example.com", "x" * 501, "The note is at most 500 characters."),
        ("ann@example.com", "", "already on the list (unsubscribed)"),
    ],
)
def test_bad_input_on_the_blocklist_is_a_400_that_writes_nothing(
    team, organizer, client_for, email, note, message
):
    ContactBlock.objects.create(team=team, email="ann@example.com", reason="unsubscribed")
    before = entries()

    response = client_for(organizer).post(
        reverse("manage:contact_block_add", args=[team.slug]), {"email": email, "note": note}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert entries() == before


def test_the_team_lifts_its_own_block_but_never_an_unsubscription(team, organizer, client_for):
    blocked = ContactBlock.objects.create(team=team, email="bo@example.com", reason="blocked")
    gone = ContactBlock.objects.create(team=team, email="ann@example.com", reason="unsubscribed")
    client = client_for(organizer)

    refused = client.post(reverse("manage:contact_block_remove", args=[team.slug, gone.pk]))
    lifted = client.post(reverse("manage:contact_block_remove", args=[team.slug, blocked.pk]))

    assert refused.status_code == 400
    assert "only they can ask to hear from the team again" in refused.content.decode()
    assert lifted.status_code == 302
    assert entries() == [(team.pk, "ann@example.com", "unsubscribed")]
    with pytest.raises(ServiceError):
        contact.unblock(team=team, actor=organizer, entry=gone)


def test_an_entry_of_another_team_is_a_404(team, organizer, client_for):
    theirs = ContactBlock.objects.create(
        team=TeamFactory(), email="bo@example.com", reason="blocked"
    )

    response = client_for(organizer).post(
        reverse("manage:contact_block_remove", args=[team.slug, theirs.pk])
    )

    assert response.status_code == 404
    assert ContactBlock.objects.filter(pk=theirs.pk).exists()


def blocklist_queries(team, client, count: int) -> int:
    ContactBlock.objects.bulk_create(
        ContactBlock(team=team, email=f"p{n}@example.com", reason="blocked", created_by=None)
        for n in range(count)
    )
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("manage:contact_blocks", args=[team.slug])).status_code == 200
    ContactBlock.objects.filter(team=team).delete()
    return len(ctx.captured_queries)


def test_the_blocklist_page_takes_as_many_queries_for_500_entries_as_for_5(
    team, organizer, client_for
):
    client = client_for(organizer)

    assert blocklist_queries(team, client, 5) == blocklist_queries(team, client, 500)
