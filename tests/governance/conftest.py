import pytest

from tests.factories import EventFactory, OrganizerFactory, SessionFactory


@pytest.fixture(autouse=True)
def enqueued(enqueued) -> list[int]:
    """The root fixture, for every test here: no email reaches the broker."""
    return enqueued


@pytest.fixture
def owner(db):
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def event(owner):
    return EventFactory(organizer=owner, title="Model preview", registration_mode="invitation")


@pytest.fixture
def team(event):
    return event.team


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=50)
