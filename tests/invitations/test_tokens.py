"""Invitation links (invariant 5): a signed token of (id, nonce), unguessable, scoped to one
invitation and to invitations only, dead once superseded by a resend."""

import base64
import json

import pytest
from django.core import signing
from django.urls import reverse

from events.models import Invitation
from events.services import invitations as service
from tests.factories import UserFactory, organizer_of
from tests.invitations.helpers import (
    fresh,
    invite,
    invite_one,
    state,
    token,
)

pytestmark = pytest.mark.django_db


def page(client, link_token: str):
    return client.get(reverse("events:invitation", args=[link_token]))


def payload_of(link_token: str) -> dict:
    encoded = link_token.split(":")[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def encode(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_leads_back_to_its_invitation(session):
    invitation = invite_one(session)

    assert service.from_token(service.token_for(invitation)) == invitation


@pytest.mark.parametrize("position", [0, 5, -1, -10])
def test_a_token_with_any_character_changed_is_refused(session, position):
    link_token = token(invite_one(session))
    flipped = "A" if link_token[position] != "A" else "B"
    altered = link_token[:position] + flipped + link_token[position:][1:]

    assert altered != link_token
    assert service.from_token(altered) is None


def test_the_token_of_one_invitation_cannot_be_made_to_name_another(session):
    mine, theirs = invite(session, "me@example.com", "them@example.com")
    link_token = token(mine)
    data = payload_of(link_token)
    assert data == {"i": mine.pk, "n": fresh(mine).nonce}

    # Keep my signature, swap the id in the payload: the signature no longer matches.
    _, *signature = link_token.split(":")
    swapped = ":".join([encode({**data, "i": theirs.pk}), *signature])
    assert service.from_token(swapped) is None
    # Even with their id and my nonce re-signed with the right key, the nonce does not match.
    forged = signing.dumps({"i": theirs.pk, "n": data["n"]}, salt=service.TOKEN_SALT)
    assert service.from_token(forged) is None


def test_a_token_signed_with_another_key_is_refused(session, settings):
    invitation = fresh(invite_one(session))
    data = {"i": invitation.pk, "n": invitation.nonce}

    forged = signing.dumps(data, key="not-the-secret-key", salt=service.TOKEN_SALT)

    assert service.from_token(forged) is None


def test_tokens_are_scoped_to_invitations_by_their_salt(session):
    invitation = fresh(invite_one(session))
    data = {"i": invitation.pk, "n": invitation.nonce}

    assert service.from_token(signing.dumps(data)) is None
    assert service.from_token(signing.dumps(data, salt="events.survey")) is None
    assert service.from_token(signing.dumps(data, salt=service.TOKEN_SALT)) == invitation


@pytest.mark.parametrize(
    "garbage",
    [
        "x",
        "abc:def",
        "abc:def:ghi",
        "eyJpIjoxfQ:1abcde:signature",
        "..",
        "%00",
        "A" * 2000,
    ],
)
def test_a_garbled_link_is_a_clear_404_page_not_an_error(session, client, garbage):
    invite_one(session)

    response = page(client, garbage)

    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [{"i": "one", "n": "x"}, {"n": "x"}, {"i": 1}, ["i", 1], {"i": None, "n": None}, "text"],
)
def test_a_correctly_signed_token_with_a_bad_payload_is_refused(session, data):
    invite_one(session)

    assert service.from_token(signing.dumps(data, salt=service.TOKEN_SALT)) is None


def test_the_token_of_a_deleted_invitation_is_refused(session):
    invitation = invite_one(session)
    link_token = token(invitation)
    Invitation.objects.filter(pk=invitation.pk).delete()

    assert service.from_token(link_token) is None


def test_tokens_are_unguessable_and_never_repeat(session):
    invitations = invite(session, *[f"p{n}@example.com" for n in range(300)])
    nonces = list(Invitation.objects.values_list("nonce", flat=True))
    tokens = [service.token_for(i) for i in Invitation.objects.all()]

    assert len(set(nonces)) == len(invitations)
    assert len(set(tokens)) == len(invitations)
    for nonce in nonces:
        # secrets.token_urlsafe(12): 96 random bits, not derived from the id.
        assert len(nonce) >= 16
        assert nonce not in {str(i.pk) for i in invitations}
    for link_token in tokens:
        # HMAC-SHA256 signature: 43 URL-safe characters, not guessable without SECRET_KEY.
        assert len(link_token.rsplit(":", 1)[1]) >= 43


def test_a_token_is_valid_in_a_url_path(session, client):
    link_token = token(invite_one(session))

    assert "/" not in link_token
    assert page(client, link_token).status_code == 200


def test_one_invitations_link_cannot_answer_another(session, client):
    mine, theirs = invite(session, "me@example.com", "them@example.com", holds_seat=True)

    client.post(reverse("events:invitation", args=[token(mine)]), {"action": "decline"})

    assert fresh(mine).status == Invitation.Status.DECLINED
    assert fresh(theirs).status == Invitation.Status.PENDING
    assert fresh(theirs).seat_held is True


def test_after_a_resend_the_old_link_is_dead_and_the_new_one_works(session, client):
    invitation = invite_one(session)
    old = token(invitation)

    service.resend(invitation=invitation, actor=organizer_of(session.event))
    new = token(invitation)

    assert new != old
    assert service.from_token(old) is None
    response = page(client, old)
    assert response.status_code == 404
    assert "only the latest link works" in response.content.decode()
    before = state()
    assert (
        client.post(reverse("events:invitation", args=[old]), {"action": "decline"}).status_code
        == 404
    )
    assert state() == before
    assert page(client, new).status_code == 200
    client.post(reverse("events:invitation", args=[new]), {"action": "decline"})
    assert fresh(invitation).status == Invitation.Status.DECLINED


def test_a_link_shows_only_its_own_invitation(session, client_for):
    mine, _theirs = invite(session, "me@example.com", "them@example.com")
    me = client_for(UserFactory(email="me@example.com"))

    response = page(me, token(mine))

    assert response.context["invitation"] == mine
    assert "me@example.com" in response.content.decode()
    assert "them@example.com" not in response.content.decode()
