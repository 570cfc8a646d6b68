"""Idempotency-Key as Stripe's API keeps it: the first completed answer to a key, a success
or a refusal, is the answer to every retry with the same body; a retry while the first is
under way is told so (409); a failure on our side keeps nothing."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Event, IdempotentRequest, Invitation
from events.services import scheduling

from .conftest import client_with, token_for

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client, url, body=None, key="k-1"):
    return client.post(url, body or {}, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)


def test_a_service_s_refusal_is_replayed_even_once_the_action_would_succeed(world, full):
    url = f"/api/v1/invitations/{world.invitation.pk}/extend/"
    Invitation.objects.filter(pk=world.invitation.pk).update(status=Invitation.Status.REVOKED)
    refused = post(full, url)
    assert refused.status_code == 422
    Invitation.objects.filter(pk=world.invitation.pk).update(status=Invitation.Status.PENDING)
    before = Invitation.objects.get(pk=world.invitation.pk).expires_at
    retry = post(full, url)
    assert retry.status_code == 422 and retry.json() == refused.json()
    assert retry["Content-Type"] == "application/problem+json"
    assert retry["Idempotent-Replayed"] == "true"
    assert Invitation.objects.get(pk=world.invitation.pk).expires_at == before
    # A new key is a new request: it runs.
    assert post(full, url, key="k-2").status_code == 200


def test_a_404_is_kept_too(world, full):
    first = post(full, "/api/v1/invitations/999999/revoke/")
    again = post(full, "/api/v1/invitations/999999/revoke/")
    assert first.status_code == again.status_code == 404
    assert again["Idempotent-Replayed"] == "true"


def test_a_refusal_keeps_its_answer_but_none_of_its_writes(world, full, monkeypatch):
    def half_then_refuse(**kwargs):
        Event.objects.create(team=world.team, title="Half", timezone="UTC")
        raise scheduling.ServiceError("No.")

    monkeypatch.setattr(scheduling, "create_event", half_then_refuse)
    assert post(full, "/api/v1/events/", {"title": "X"}).status_code == 422
    assert not Event.objects.filter(title="Half").exists()
    assert IdempotentRequest.objects.get().status == 422


def test_a_failure_on_our_side_keeps_nothing_and_its_retry_runs(world, full, monkeypatch):
    real = scheduling.create_event

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(scheduling, "create_event", broken)
    failed = post(full, "/api/v1/events/", {"title": "Later"})
    assert failed.status_code == 500
    assert not IdempotentRequest.objects.exists()
    monkeypatch.setattr(scheduling, "create_event", real)
    made = post(full, "/api/v1/events/", {"title": "Later"})
    assert made.status_code == 201 and "Idempotent-Replayed" not in made
    assert Event.objects.filter(title="Later").count() == 1


def test_a_claim_left_by_a_request_that_died_is_taken_over(world, full):
    post(full, "/api/v1/events/", {"title": "Died"})
    Event.objects.filter(title="Died").delete()  # as if its work had rolled back
    IdempotentRequest.objects.update(
        status=0, data=None, created_at=timezone.now() - timedelta(minutes=3)
    )
    made = post(full, "/api/v1/events/", {"title": "Died"})
    assert made.status_code == 201 and "Idempotent-Replayed" not in made
    assert Event.objects.filter(title="Died").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_is_under_way_is_a_409_then_gets_the_first_result(
    world, settings, monkeypatch
):
    settings.API_REQUESTS_PER_MINUTE = 10_000
    secret = token_for(world.team, world.owner)
    real = scheduling.create_event
    inside, let_go = threading.Event(), threading.Event()

    def slow(**kwargs):
        inside.set()
        assert let_go.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(scheduling, "create_event", slow)
    first: dict = {}

    def send_first() -> None:
        try:
            first["response"] = post(client_with(secret), "/api/v1/events/", {"title": "Slow"})
        finally:
            connection.close()

    thread = threading.Thread(target=send_first)
    thread.start()
    try:
        assert inside.wait(30)
        client = client_with(secret)
        started = time.monotonic()
        busy = post(client, "/api/v1/events/", {"title": "Slow"})
        assert time.monotonic() - started < 5  # told at once, not held behind the first
        assert busy.status_code == 409
        assert busy.json()["type"].endswith("/idempotency-key-in-use")
        assert busy["Retry-After"] == "1"
        other = post(client, "/api/v1/events/", {"title": "Another"})
        assert other.status_code == 422
        assert other.json()["type"].endswith("/idempotency-key-reused")
    finally:
        let_go.set()
        thread.join(timeout=30)
    made = first["response"]
    assert made.status_code == 201
    retry = post(client, "/api/v1/events/", {"title": "Slow"})
    assert retry.status_code == 201 and retry.json() == made.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(title__in=["Slow", "Another"]).count() == 1
