"""The webhook channel's promises without a worker: owed in the change's transaction (gone
with it on rollback), claimed once under a lease, a lapsed lease taken back, a late holder
fenced out."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.models import WebhookEndpoint, WebhookMessage
from events.outbox import webhooks
from events.services.registration import register
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = WebhookMessage.Status


@pytest.fixture
def session():
    team = TeamFactory()
    WebhookEndpoint.objects.create(
        team=team, url="https://hooks.example.com/", event_types=["registration.created"]
    )
    return SessionFactory(event=EventFactory(team=team))


def test_a_sign_up_rolled_back_owes_no_webhook(session):
    with pytest.raises(RuntimeError), transaction.atomic():
        register(user=UserFactory(), session=session)
        assert WebhookMessage.objects.count() == 1
        raise RuntimeError("the change fails after the emit")

    assert not WebhookMessage.objects.exists()


def test_the_webhook_is_handed_to_a_worker_only_on_commit(
    session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        register(user=UserFactory(), session=session)

    assert any(c.__module__ == webhooks.__name__ for c in callbacks)


def test_of_two_claims_of_one_row_only_one_wins(session):
    register(user=UserFactory(), session=session)

    first, second = webhooks.claim_next("a" * 32), webhooks.claim_next("b" * 32)

    assert first is not None
    assert second is None
    assert WebhookMessage.objects.get().lease_token == "a" * 32


def test_a_lapsed_lease_is_taken_back_by_the_sweep_and_its_old_holder_is_fenced_out(session):
    register(user=UserFactory(), session=session)
    pk = webhooks.claim_next("a" * 32)
    WebhookMessage.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    webhooks.sweep()

    row = WebhookMessage.objects.get()
    assert (row.status, row.lease_token) == (Status.PENDING, "")
    assert webhooks.claim_next("b" * 32) == pk
    # The first holder, back from a stall, can no longer mark the row.
    held = WebhookMessage.objects.filter(pk=pk, lease_token="a" * 32, status=Status.SENDING)
    assert held.update(status=Status.SENT) == 0


def test_one_event_has_one_webhook_id_for_every_endpoint(session):
    WebhookEndpoint.objects.create(
        team=session.event.team,
        url="https://other.example.com/",
        event_types=["registration.created"],
    )

    register(user=UserFactory(), session=session)

    ids = set(WebhookMessage.objects.values_list("webhook_id", flat=True))
    assert WebhookMessage.objects.count() == 2
    assert len(ids) == 1


def test_saving_a_session_unchanged_owes_no_session_changed(session):
    from events.services import scheduling

    WebhookEndpoint.objects.update(event_types=["session.changed"])
    owner = session.event.team.memberships.get().user

    scheduling.update_session(session=session, actor=owner, location=session.location)
    assert not WebhookMessage.objects.exists()
    scheduling.update_session(session=session, actor=owner, location="Room 9")
    assert WebhookMessage.objects.get().payload["data"]["session"]["location"] == "Room 9"


def test_a_410_in_a_batch_stops_the_rest_of_the_batch_for_that_endpoint(
    session, loopback, receiver
):
    WebhookEndpoint.objects.update(url=receiver.url)
    receiver.status = 410
    for _ in range(3):
        register(user=UserFactory(), session=session)

    outcomes, more = webhooks.drain()

    assert (len(outcomes), more) == (3, False)
    assert len(receiver.requests) == 1  # the rest were not posted to a gone endpoint
    assert list(WebhookMessage.objects.order_by("pk").values_list("last_error", flat=True)) == [
        "Answered 410.",
        "The endpoint is disabled.",
        "The endpoint is disabled.",
    ]
