import pytest

from tests.factories import EventFactory, OrganizerFactory, SessionFactory


@pytest.fixture(autouse=True)
def enqueued(enqueued) -> list[int]:
    """The root fixture, for every test here: no invitation email reaches the broker."""
    return enqueued


@pytest.fixture
def owner(db):
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def event(owner):
    return EventFactory(
        organizer=owner, title="Invite-only model preview", registration_mode="invitation"
    )


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=10)
