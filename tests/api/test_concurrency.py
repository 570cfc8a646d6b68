"""Retries racing each other: the same Idempotency-Key sent by several threads at once
creates once; each of the others is told the first is under way (409) or, once it is done,
gets its result (real threads, PostgreSQL)."""

import threading

import pytest
from django.db import connection

from events.models import Event, IdempotentRequest

from .conftest import client_with, token_for


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_sent_at_once_creates_one_event(world, settings):
    settings.API_REQUESTS_PER_MINUTE = 10_000
    secret = token_for(world.team, world.owner)
    tries = 8
    barrier = threading.Barrier(tries)
    answers: list[tuple[int, int]] = []

    def send() -> None:
        try:
            client = client_with(secret)
            barrier.wait()
            response = client.post(
                "/api/v1/events/",
                {"title": "Raced"},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same-key",
            )
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Event.objects.filter(title="Raced").count() == 1
    assert IdempotentRequest.objects.count() == 1
    [made] = Event.objects.filter(title="Raced")
    assert len(answers) == tries
    assert set(answers) <= {(201, made.pk), (409, None)}
    assert answers.count((201, made.pk)) >= 1
