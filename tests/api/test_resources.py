"""Events, sessions, registrations, the waitlist and attendance through the API: each write
is the page's service, with what it owes (mail, calendar updates, a freed seat offered)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Notification, Registration, Session
from events.services import registration as registration_service
from tests.factories import EventFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_moving_a_session_raises_its_calendar_sequence_and_tells_the_attendee(world, full):
    before = Notification.objects.filter(session=world.session).count()
    later = world.session.starts_at + timedelta(hours=1)
    response = full.patch(
        f"/api/v1/sessions/{world.session.pk}/",
        {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat()},
        content_type=JSON,
    )
    assert response.status_code == 200 and response.json()["sequence"] == 1
    assert Notification.objects.filter(session=world.session).count() == before + 1


def test_a_full_session_s_waitlist_is_listed_in_queue_order_and_one_is_moved_in(world, full):
    session = SessionFactory(event=world.event, capacity=1)
    first = registration_service.register(user=UserFactory(), session=session)
    waiting = [registration_service.register(user=UserFactory(), session=session) for _ in range(2)]
    assert {r.status for r in waiting} == {"waitlisted"}
    listed = full.get(f"/api/v1/sessions/{session.pk}/waitlist/").json()["results"]
    assert [r["id"] for r in listed] == [r.pk for r in waiting]
    full_now = full.post(f"/api/v1/registrations/{waiting[1].pk}/move-in/", content_type=JSON)
    assert full_now.status_code == 422 and "full" in full_now.json()["detail"]
    Session.objects.filter(pk=session.pk).update(capacity=2)
    moved = full.post(f"/api/v1/registrations/{waiting[1].pk}/move-in/", content_type=JSON)
    assert moved.status_code == 200 and moved.json()["status"] == "confirmed"
    assert Registration.objects.get(pk=first.pk).status == "confirmed"


def test_approving_an_applicant_gives_a_seat_or_the_waitlist_when_asked(world, full):
    event = EventFactory(team=world.team, registration_mode="approval")
    session = SessionFactory(event=event, capacity=1)
    ada, bo = (registration_service.register(user=UserFactory(), session=session) for _ in "ab")
    assert ada.status == bo.status == "applied"
    url = "/api/v1/registrations/{}/approve/"
    assert full.post(url.format(ada.pk), {}, content_type=JSON).json()["status"] == "confirmed"
    refused = full.post(url.format(bo.pk), {}, content_type=JSON)
    assert refused.status_code == 422 and "overbook" in refused.json()["detail"]
    waiting = full.post(url.format(bo.pk), {"when_full": "waitlist"}, content_type=JSON)
    assert waiting.json()["status"] == "waitlisted"
    bad = full.post(url.format(bo.pk), {"when_full": "squeeze"}, content_type=JSON)
    assert bad.status_code == 400 and "when_full" in bad.json()["errors"]


def test_an_organizer_s_cancellation_frees_the_seat_for_the_next_in_line(world, full):
    session = SessionFactory(event=world.event, capacity=1)
    seated = registration_service.register(user=UserFactory(), session=session)
    waiting = registration_service.register(user=UserFactory(), session=session)
    response = full.post(f"/api/v1/registrations/{seated.pk}/cancel/", content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Registration.objects.get(pk=waiting.pk).status == "offered"
    again = full.post(f"/api/v1/registrations/{seated.pk}/cancel/", content_type=JSON)
    assert again.status_code == 422 and "already closed" in again.json()["detail"]


def test_checking_in_twice_says_so_and_an_undo_puts_it_back(world, full):
    url = f"/api/v1/registrations/{world.registration.pk}/check-in/"
    first = full.post(url, content_type=JSON).json()
    second = full.post(url, content_type=JSON).json()
    assert first["changed"] is True and second["changed"] is False
    assert "already checked in" in second["message"]
    attendance = full.get(f"/api/v1/sessions/{world.session.pk}/attendance/").json()
    assert attendance["results"][0]["attendance"] == "checked_in"
    undone = full.post(url + "undo/", content_type=JSON).json()
    assert undone["changed"] is True and undone["registration"]["checked_in_at"] is None


def test_check_in_before_the_door_opens_is_refused_and_nothing_changes(world, full):
    far = SessionFactory(event=world.event, starts_at=timezone.now() + timedelta(days=9))
    person = registration_service.register(user=UserFactory(), session=far)
    response = full.post(f"/api/v1/registrations/{person.pk}/check-in/", content_type=JSON)
    assert response.status_code == 422 and "Check-in opens" in response.json()["detail"]
    assert Registration.objects.get(pk=person.pk).checked_in_at is None


def test_cancelling_an_event_cancels_its_sessions_and_a_second_time_is_refused(world, full):
    url = f"/api/v1/events/{world.event.pk}/cancel/"
    assert full.post(url, content_type=JSON).json()["status"] == "cancelled"
    assert Session.objects.get(pk=world.session.pk).status == "cancelled"
    assert Registration.objects.get(pk=world.registration.pk).status == "cancelled"
    again = full.post(url, content_type=JSON)
    assert again.status_code == 422 and "already cancelled" in again.json()["detail"]
