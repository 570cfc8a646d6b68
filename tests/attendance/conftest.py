"""Worlds for the attendance tests: a session at the door (starting in ten minutes, so people
can still sign up and check-in is open), organizers, and people with seats."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Registration, Session
from events.services.registration import register
from tests.factories import EventFactory, OrganizerFactory, SessionFactory, UserFactory


def door_session(**fields) -> Session:
    now = timezone.now()
    fields.setdefault("starts_at", now + timedelta(minutes=10))
    fields.setdefault("ends_at", fields["starts_at"] + timedelta(hours=1))
    return SessionFactory(**fields)


def seat(session: Session, count: int = 1, **user_fields) -> list[Registration]:
    """People who signed up and got a confirmed seat."""
    people = [register(user=UserFactory(**user_fields), session=session) for _ in range(count)]
    assert all(r.status == Registration.Status.CONFIRMED for r in people)
    return people


def move(session: Session, *, starts_in: timedelta, hours: float = 1) -> Session:
    """Put a session at another time (sign-ups are closed once it starts, so tests sign people
    up first and then move the session into the past)."""
    starts = timezone.now() + starts_in
    Session.objects.filter(pk=session.pk).update(
        starts_at=starts, ends_at=starts + timedelta(hours=hours)
    )
    session.refresh_from_db()
    return session


@pytest.fixture
def owner():
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def owner_client(owner, client_for) -> Client:
    return client_for(owner)


@pytest.fixture
def event(owner):
    return EventFactory(organizer=owner, title="Model preview")


@pytest.fixture
def session(event):
    return door_session(event=event, capacity=5)
