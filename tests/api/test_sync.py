"""What an integrator relies on to sync: cursor pages, `updated_since`, ETags, idempotent
POSTs, and a rate limit per token that says when to come back."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event, IdempotentRequest, Registration
from events.services import registration as registration_service
from tests.factories import EventFactory, SessionFactory, UserFactory

from .conftest import client_with, token_for

pytestmark = pytest.mark.django_db


def all_pages(client, url: str) -> list[dict]:
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        seen.extend(body["results"])
        url, pages = body["next"], pages + 1
        assert pages < 50
    return seen


def test_cursor_pages_give_every_registration_once_in_order_of_change(world, full):
    for _ in range(6):
        registration_service.register(user=UserFactory(), session=world.session)
    seen = all_pages(full, "/api/v1/registrations/?page_size=2")
    ids = [r["id"] for r in seen]
    assert sorted(ids) == sorted(
        Registration.objects.filter(session=world.session).values_list("pk", flat=True)
    )
    assert len(ids) == len(set(ids)) == 7
    stamps = [r["updated_at"] for r in seen]
    assert stamps == sorted(stamps)


def test_updated_since_gives_only_what_changed_since(world, full):
    first = full.get("/api/v1/registrations/").json()["results"]
    mark = first[-1]["updated_at"]
    Registration.objects.filter(pk=world.registration.pk).update(
        updated_at=timezone.now() - timedelta(days=1)
    )
    newcomer = registration_service.register(user=UserFactory(), session=world.session)
    changed = full.get("/api/v1/registrations/", {"updated_since": mark}).json()["results"]
    assert [r["id"] for r in changed] == [newcomer.pk]


def test_registrations_filter_by_status_event_and_session(world, full):
    other_session = SessionFactory(event=world.event)
    elsewhere = registration_service.register(user=UserFactory(), session=other_session)
    by_session = full.get("/api/v1/registrations/", {"session": other_session.pk}).json()
    assert [r["id"] for r in by_session["results"]] == [elsewhere.pk]
    cancelled = full.get("/api/v1/registrations/", {"status": "cancelled"}).json()
    assert cancelled["results"] == []
    by_event = full.get("/api/v1/registrations/", {"event": world.event.pk}).json()
    assert {r["id"] for r in by_event["results"]} == {world.registration.pk, elsewhere.pk}


def test_events_filter_by_updated_since(world, full):
    Event.objects.filter(pk=world.event.pk).update(updated_at=timezone.now() - timedelta(days=2))
    fresh = EventFactory(team=world.team)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    listed = full.get("/api/v1/events/", {"updated_since": since}).json()["results"]
    assert [e["id"] for e in listed] == [fresh.pk]


def test_a_list_costs_the_same_queries_at_5_and_50_registrations(world, full):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert full.get("/api/v1/registrations/?page_size=100").status_code == 200
        return len(captured)

    for _ in range(4):
        registration_service.register(user=UserFactory(), session=world.session)
    queries()  # the token's first use of the minute also notes the time: not counted
    at_5 = queries()
    for _ in range(45):
        registration_service.register(user=UserFactory(), session=SessionFactory(event=world.event))
    assert queries() == at_5


def test_a_read_has_an_etag_and_the_same_etag_gets_a_304_until_it_changes(world, full):
    url = f"/api/v1/events/{world.event.pk}/"
    first = full.get(url)
    etag = first["ETag"]
    assert etag and "Authorization" in first["Vary"]
    again = full.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    full.patch(url, {"title": "New title"}, content_type="application/json")
    changed = full.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["title"] == "New title"


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_result(full):
    key = str(uuid.uuid4())
    body = {"title": "Once only"}
    first = full.post(
        "/api/v1/events/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    retry = full.post(
        "/api/v1/events/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(title="Once only").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_422_and_creates_nothing(full):
    key = "key-1"
    full.post(
        "/api/v1/events/", {"title": "A"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    other = full.post(
        "/api/v1/events/", {"title": "B"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert not Event.objects.filter(title="B").exists()


def test_a_refused_request_is_answered_the_same_on_retry_without_running_again(full):
    key = "retry-me"
    bad = full.post(
        "/api/v1/events/", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert bad.status_code == 400
    retry = full.post(
        "/api/v1/events/", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert retry.status_code == 400 and retry.json() == bad.json()
    assert retry["Content-Type"] == "application/problem+json"
    assert retry["Idempotent-Replayed"] == "true"


def test_idempotency_keys_belong_to_one_token(world):
    one = client_with(token_for(world.team, world.owner, name="one"))
    two = client_with(token_for(world.team, world.owner, name="two"))
    for client in (one, two):
        response = client.post(
            "/api/v1/events/",
            {"title": "Each"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
        assert response.status_code == 201
    assert Event.objects.filter(title="Each").count() == 2


def test_an_unusable_idempotency_key_is_a_400(full):
    response = full.post(
        "/api/v1/events/",
        {"title": "K"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x" * 300,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Event.objects.filter(title="K").exists()


def test_a_retried_action_is_not_done_twice(world, full):
    url = f"/api/v1/registrations/{world.registration.pk}/check-in/"
    first = full.post(url, content_type="application/json", HTTP_IDEMPOTENCY_KEY="door-1")
    retry = full.post(url, content_type="application/json", HTTP_IDEMPOTENCY_KEY="door-1")
    assert first.json() == retry.json() and first.json()["changed"] is True
    assert world.registration.changes.filter(note="Checked in").count() == 1


def test_a_token_past_its_limit_gets_a_429_with_retry_after_and_others_do_not(
    world, settings, monkeypatch
):
    import events.api.permissions

    # Ten seconds into a minute: the window cannot roll over mid-test; 50 s are left.
    monkeypatch.setattr(events.api.permissions, "now", lambda: 1_800_000_010.0)
    settings.API_REQUESTS_PER_MINUTE = 3
    busy = client_with(token_for(world.team, world.owner, name="busy"))
    calm = client_with(token_for(world.team, world.owner, name="calm"))
    answers = [busy.get("/api/v1/events/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = busy.get("/api/v1/events/")
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/rate-limited")
    assert refused["Retry-After"] == "50"
    assert calm.get("/api/v1/events/").status_code == 200


def test_a_key_s_kept_response_lasts_a_day_then_the_key_may_be_used_again(full):
    from events.services import api_tokens
    from events.tasks import forget_old_api_responses

    body = {"title": "Day one"}
    full.post("/api/v1/events/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="d")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = full.post(
        "/api/v1/events/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="d"
    )
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Event.objects.filter(title="Day one").count() == 2
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert forget_old_api_responses() == 1
    assert not IdempotentRequest.objects.exists()
    assert api_tokens.forget_old_responses() == 0


def test_an_event_made_through_the_api_is_a_draft_in_the_team_s_time_zone(world, full):
    made = full.post("/api/v1/events/", {"title": "Draft"}, content_type="application/json")
    assert made.json()["status"] == "draft" and made.json()["timezone"] == world.team.timezone
    assert Event.objects.get(pk=made.json()["id"]).team == world.team


def test_every_list_that_takes_updated_since_says_from_when_to_ask_next(world, full):
    world.survey.anonymous = False
    world.survey.save(update_fields=["anonymous"])
    event = world.event.pk
    for url in (
        "/api/v1/events/",
        f"/api/v1/events/{event}/sessions/",
        "/api/v1/registrations/",
        f"/api/v1/events/{event}/invitations/",
        "/api/v1/calls/",
        f"/api/v1/events/{event}/survey/responses/",
        "/api/v1/deletions/?since=2026-12-01T00:00:00Z",
    ):
        before = timezone.now()
        if "?" not in url:
            url += "?updated_since=2026-01-01T00:00:00Z"
        body = full.get(url).json()
        next_since = datetime.fromisoformat(body["next_since"])
        assert before - timedelta(seconds=10) < next_since <= timezone.now(), url
    # A list that is no sync has none.
    assert "next_since" not in full.get(f"/api/v1/sessions/{world.session.pk}/waitlist/").json()
