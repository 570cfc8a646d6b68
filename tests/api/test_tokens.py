"""API tokens: made by team owners (the secret shown once, only its digest kept), revoked,
refused when malformed; the owners' page for them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import ApiToken
from events.services import ServiceError, api_tokens
from tests.factories import UserFactory, add_to_team

from .conftest import client_with, token_for

pytestmark = pytest.mark.django_db


def test_a_new_token_shows_its_secret_once_and_keeps_only_its_digest(world):
    created = api_tokens.create_token(
        team=world.team, actor=world.owner, name="CRM", scopes=["events:read"]
    )
    stored = ApiToken.objects.get(pk=created.token.pk)
    assert created.secret.startswith("fbt_") and len(created.secret) > 40
    assert created.secret not in str(ApiToken.objects.filter(pk=stored.pk).values().get())
    assert stored.hashed == api_tokens.digest(created.secret)
    assert created.secret.startswith(stored.prefix) and len(stored.prefix) == 12
    assert stored.created_by == world.owner and stored.scopes == ["events:read"]


def test_only_the_team_s_owners_may_make_a_token(world):
    organizer = UserFactory()
    add_to_team(world.team, organizer, role="organizer")
    with pytest.raises(ServiceError, match="owners"):
        api_tokens.create_token(
            team=world.team, actor=organizer, name="Mine", scopes=["events:read"]
        )
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("name", "scopes", "expires", "message"),
    [
        ("", ["events:read"], None, "name"),
        ("x" * 101, ["events:read"], None, "100 characters"),
        ("Sync", ["events:admin"], None, "Unknown scopes: events:admin"),
        ("Sync", [], None, "at least one"),
        ("Sync", ["events:read"], -1, "future"),
    ],
)
def test_a_token_with_bad_input_is_refused_with_a_clear_message_and_not_made(
    world, name, scopes, expires, message
):
    expires_at = timezone.now() + timedelta(days=expires) if expires else None
    with pytest.raises(ServiceError, match=message):
        api_tokens.create_token(
            team=world.team, actor=world.owner, name=name, scopes=scopes, expires_at=expires_at
        )
    assert not ApiToken.objects.exists()


def test_a_revoked_token_stops_working_at_once_and_records_who_revoked_it(world):
    secret = token_for(world.team, world.owner)
    client = client_with(secret)
    assert client.get("/api/v1/events/").status_code == 200
    token = ApiToken.objects.get()
    api_tokens.revoke_token(token=token, actor=world.owner)
    response = client.get("/api/v1/events/")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/token-revoked")
    token.refresh_from_db()
    assert token.revoked_by == world.owner and token.revoked_at is not None


def test_a_token_records_when_it_was_last_used(world):
    secret = token_for(world.team, world.owner)
    assert ApiToken.objects.get().last_used_at is None
    client_with(secret).get("/api/v1/events/")
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer fbt_not-a-token", "Basic dXNlcjpwYXNz", "Token abc", "Bearer x y"],
)
def test_a_malformed_or_unknown_token_is_a_401_problem(world, client, header):
    response = client.get("/api/v1/events/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["type"].endswith("/invalid-token")


def test_the_owner_makes_a_token_on_the_team_page_and_sees_its_secret_only_then(world, client_for):
    owner = client_for(world.owner)
    team_page = owner.get(f"/manage/teams/{world.team.slug}/").content.decode()
    assert f"/manage/teams/{world.team.slug}/api-tokens/" in team_page
    url = f"/manage/teams/{world.team.slug}/api-tokens/"
    response = owner.post(
        url,
        {"name": "CRM sync", "area_events": "read", "area_registrations": "write", "expires": "30"},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scopes == ["events:read", "registrations:write"]
    assert token.expires_at is not None
    page = response.content.decode()
    secret = page.split('id="token-secret" value="')[1].split('"')[0]
    assert api_tokens.digest(secret) == token.hashed
    assert response["Cache-Control"].startswith("max-age=0")
    later = owner.get(url).content.decode()
    assert "CRM sync" in later and token.prefix in later and secret not in later
    assert "Registrations and waitlists: read and change" in later
    assert client_with(secret).get("/api/v1/registrations/").status_code == 200


def test_a_token_without_any_access_is_refused_on_the_page_with_a_400(world, client_for):
    owner = client_for(world.owner)
    url = f"/manage/teams/{world.team.slug}/api-tokens/"
    response = owner.post(url, {"name": "Nothing", "expires": "30"})
    assert response.status_code == 400
    assert "at least one" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_a_token_from_the_page(world, client_for):
    token_for(world.team, world.owner)
    token = ApiToken.objects.get()
    response = client_for(world.owner).post(
        f"/manage/teams/{world.team.slug}/api-tokens/{token.pk}/revoke/"
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_organizer_gets_a_404_for_the_tokens_page_and_cannot_revoke(world, client_for):
    organizer = UserFactory()
    add_to_team(world.team, organizer, role="organizer")
    token_for(world.team, world.owner)
    token = ApiToken.objects.get()
    client = client_for(organizer)
    assert client.get(f"/manage/teams/{world.team.slug}/api-tokens/").status_code == 404
    revoke = f"/manage/teams/{world.team.slug}/api-tokens/{token.pk}/revoke/"
    assert client.post(revoke).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_team_s_owner_cannot_revoke_our_token(world, client_for):
    token_for(world.team, world.owner)
    token = ApiToken.objects.get()
    response = client_for(world.other_owner).post(
        f"/manage/teams/{world.other_team.slug}/api-tokens/{token.pk}/revoke/"
    )
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_tokens_page_speaks_french(world, client_for):
    page = client_for(world.owner).get(f"/manage/teams/{world.team.slug}/api-tokens/?lang=fr")
    text = page.content.decode()
    assert "Jetons d’API" in text and "Créer le jeton" in text and "Lecture et modification" in text
