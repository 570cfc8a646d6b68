"""The message kinds each domain registers with the outbox (events.outbox.registry): the
outbox sends a kind through its registration alone, and a row of a kind nobody registered
fails with a reason an organizer can read instead of an error from the template loader."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from events.models import Notification
from events.outbox import delivery, owe
from events.outbox.registry import Registry, kinds
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status


def owed(kind: str, **fields) -> Notification:
    user = UserFactory()
    with transaction.atomic():
        return owe.owe(
            kind=kind,
            about=("session1", f"user{user.pk}", "v1"),
            email=user.email,
            recipient=user,
            session=SessionFactory(),
            defer=True,
            **fields,
        )


def test_every_kind_of_message_has_a_registration():
    assert [kind for kind in Notification.Kind if kind not in kinds] == []


def test_a_kind_is_sent_through_its_registration_alone(smtp, monkeypatch):
    sent = []
    seen = []

    def context(notification, context):
        seen.append(notification.pk)
        context["event"] = context["session"].event

    registry = Registry()
    registry.register(
        "news_for_a_test",
        template="applied",
        context=context,
        on_sent=lambda notification, now: sent.append((notification.pk, now)),
    )
    monkeypatch.setitem(kinds._kinds, "news_for_a_test", registry.get("news_for_a_test"))
    row = owed("news_for_a_test")

    assert delivery.deliver(notification_id=row.pk).sent

    [message] = smtp.to(row.email)
    assert message["Subject"].endswith(f"Application received: {row.session.event.title}")
    assert seen == [row.pk]
    assert [pk for pk, _ in sent] == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert sent[0][1] == row.sent_at


def test_news_its_kind_says_went_stale_is_skipped_with_that_reason(smtp, monkeypatch):
    registry = Registry()
    registry.register(
        "stale_for_a_test", template="applied", still_relevant=lambda n: "Overtaken by events."
    )
    monkeypatch.setitem(kinds._kinds, "stale_for_a_test", registry.get("stale_for_a_test"))
    row = owed("stale_for_a_test")

    assert not delivery.deliver(notification_id=row.pk).sent

    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.SKIPPED, "Overtaken by events.")
    assert smtp.messages == []


def test_a_row_of_a_kind_nobody_registered_fails_with_a_readable_reason(smtp):
    row = owed("unheard_of")

    assert not delivery.deliver(notification_id=row.pk).sent

    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.last_error == "No message kind 'unheard_of' is registered."
    assert smtp.messages == []


def test_a_kind_registered_twice_is_refused_at_start_up():
    registry = Registry()
    registry.register("twice")

    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register("twice")
