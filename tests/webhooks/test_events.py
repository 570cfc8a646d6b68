"""Which webhooks a change owes (without a worker): one `session.cancelled` per session an
event's cancellation takes down, `registration.rejected` when the team turns someone down,
`registration.offer_expired` when a waitlist offer lapses, each with the payload of the
other registration events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Registration, WebhookEndpoint, WebhookMessage
from events.services import review, scheduling, waitlist
from events.services.registration import cancel, register
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


def listening(team, *types: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        team=team, url="https://hooks.example.com/", event_types=list(types)
    )


def owed(type: str) -> list[dict]:
    return [m.payload for m in WebhookMessage.objects.filter(type=type).order_by("pk")]


def test_an_event_s_cancellation_says_session_cancelled_once_per_session(team):
    listening(team, "session.cancelled", "registration.cancelled")
    event = EventFactory(team=team)
    soon = timezone.now() + timedelta(days=1)
    sessions = [
        SessionFactory(
            event=event, starts_at=soon + timedelta(hours=h), ends_at=soon + timedelta(hours=h + 1)
        )
        for h in range(3)
    ]
    for session in sessions:
        register(user=UserFactory(), session=session)
    past = SessionFactory(
        event=event,
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=2, hours=-1),
    )

    scheduling.cancel_event(event=event, actor=event.team.memberships.first().user)

    cancelled = owed("session.cancelled")
    assert sorted(p["data"]["session"]["id"] for p in cancelled) == sorted(s.pk for s in sessions)
    assert past.pk not in [p["data"]["session"]["id"] for p in cancelled]
    assert len({m.webhook_id for m in WebhookMessage.objects.filter(type="session.cancelled")}) == 3
    # The people in them are told by the session's event, not one event each.
    assert owed("registration.cancelled") == []
    assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED


def full_session_with_someone_waiting(team):
    soon = timezone.now() + timedelta(days=1)
    session = SessionFactory(
        event=EventFactory(team=team), capacity=1, starts_at=soon, ends_at=soon + timedelta(hours=1)
    )
    first = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    assert waiting.status == Registration.Status.WAITLISTED
    return session, first, waiting


def test_turning_someone_down_says_registration_rejected(team):
    listening(team, "registration.rejected")
    _session, _first, waiting = full_session_with_someone_waiting(team)
    organizer = team.memberships.first().user

    review.reject(registration=waiting, actor=organizer)

    [payload] = owed("registration.rejected")
    assert payload["type"] == "registration.rejected"
    assert payload["data"]["registration"]["id"] == waiting.pk
    assert payload["data"]["registration"]["status"] == "rejected"
    assert payload["data"]["attendee"] == {"id": waiting.user_id, "email": waiting.user.email}


def test_an_offer_left_unanswered_says_registration_offer_expired(team):
    listening(team, "registration.offer_expired", "registration.offered")
    _session, first, waiting = full_session_with_someone_waiting(team)

    cancel(registration=first, actor=first.user)  # the seat is offered to the one waiting
    assert [p["data"]["registration"]["id"] for p in owed("registration.offered")] == [waiting.pk]

    assert waitlist.expire_offers(now=timezone.now() + timedelta(days=3)) == 1

    [payload] = owed("registration.offer_expired")
    assert payload["data"]["registration"]["id"] == waiting.pk
    assert payload["data"]["registration"]["status"] == "expired"
    assert set(payload["data"]) == set(owed("registration.offered")[0]["data"])


def test_the_new_types_are_in_the_catalogue_an_owner_chooses_from(team):
    from events.services import webhooks as service

    assert {"registration.rejected", "registration.offer_expired"} <= set(service.event_types())
