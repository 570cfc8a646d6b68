import pytest

from events.outbox import doorbell
from events.outbox.tasks import deliver_batch, deliver_notification
from tests.factories import EventFactory, OrganizerFactory, SessionFactory
from tests.invitations.helpers import client_for


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[int]:
    """The outbox ids handed to the broker on commit. Recorded instead of published, so no
    message is left in the run's queue for another test's worker."""
    ids: list[int] = []
    monkeypatch.setattr(deliver_notification, "delay", ids.append)
    monkeypatch.setattr(deliver_batch, "delay", ids.extend)
    # A single row rings the outbox's doorbell instead: recorded as the row it rang for.
    monkeypatch.setattr(doorbell, "ring", lambda rows=(), **_: ids.extend(rows))
    return ids


@pytest.fixture
def owner(db):
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def event(owner):
    return EventFactory(
        organizer=owner, title="Invite-only model preview", registration_mode="invitation"
    )


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=10)
