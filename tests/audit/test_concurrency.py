"""The audit entry and its change commit together, seen from other connections (real threads
on PostgreSQL): nobody sees one without the other, and a race that changes something once
leaves one entry."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import close_old_connections, transaction
from django.utils import timezone

from events.models import AuditEntry, Event, Registration
from events.services import attendance, scheduling
from tests import harness
from tests.factories import (
    EventFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _seen(event_id: int) -> tuple[str, int]:
    """What another connection sees: the event's title and its entries."""
    seen: list[tuple[str, int]] = []

    def look() -> None:
        try:
            title = Event.objects.values_list("title", flat=True).get(pk=event_id)
            seen.append((title, AuditEntry.objects.filter(event_id=event_id).count()))
        finally:
            close_old_connections()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen[0]


def test_other_connections_see_the_change_and_its_entry_together_or_neither():
    event = EventFactory(title="Before")
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    changed, go_on = threading.Event(), threading.Event()

    def edit() -> None:
        try:
            with transaction.atomic():
                scheduling.update_event(event=event, actor=organizer, title="After")
                changed.set()
                go_on.wait(10)
        finally:
            close_old_connections()

    editor = threading.Thread(target=edit)
    editor.start()
    assert changed.wait(10)
    assert _seen(event.pk) == ("Before", 0)  # in flight: neither
    go_on.set()
    editor.join()
    assert _seen(event.pk) == ("After", 1)  # committed: both


def test_eight_phones_checking_in_one_person_leave_one_entry():
    now = timezone.now()
    session = SessionFactory(starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1))
    registration = RegistrationFactory(session=session, status=Registration.Status.CONFIRMED)
    door = [UserFactory() for _ in range(8)]
    for person in door:
        add_to_team(session.event.team, person, role="door")

    def scan(person, registration_id: int) -> str:
        outcome = attendance.check_in(registration=Registration(pk=registration_id), actor=person)
        return "checked in" if outcome.changed else "already"

    outcomes = harness.rush(scan, door, registration.pk)

    assert Counter(outcomes) == {"checked in": 1, "already": 7}, outcomes
    [entry] = AuditEntry.objects.filter(action="attendance.checked_in")
    assert entry.actor_role == "door"
    assert entry.summary == {"user": registration.user_id, "session": session.pk}
