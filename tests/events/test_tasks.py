"""The beat sweeps are thin tasks over services: run them as the worker would."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events import tasks
from events.models import Notification, Registration
from events.services import registration as registration_service
from events.services import waitlist
from events.services.seats import release_seat
from tests.celery_worker import wait_for
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_offer_and_lottery_sweeps_every_minute():
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert schedule["events.tasks.expire_offers"] == 60.0
    assert schedule["events.tasks.draw_due_lotteries"] == 60.0
    assert schedule["events.tasks.fill_open_seats"] == 60.0


def test_the_expiry_sweep_passes_a_lapsed_offer_on_and_is_safe_to_run_twice():
    session = SessionFactory(capacity=1)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    seat = registration_service.register(user=first, session=session)
    offered = registration_service.register(user=second, session=session)
    registration_service.register(user=third, session=session)
    registration_service.cancel(registration=seat, actor=first)
    Registration.objects.filter(pk=offered.pk).update(
        offer_expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert tasks.expire_offers.apply().get() == 1
    assert tasks.expire_offers.apply().get() == 0

    statuses = dict(Registration.objects.values_list("user__email", "status"))
    assert statuses[second.email] == "expired"
    assert statuses[third.email] == "offered"
    session.refresh_from_db()
    assert session.seats_taken == 1


def test_the_lottery_sweep_draws_closed_lotteries_once():
    session = SessionFactory(capacity=2, event__registration_mode="lottery")
    for _ in range(4):
        registration_service.register(user=UserFactory(), session=session)
    session.event.registration_closes_at = timezone.now() - timedelta(minutes=1)
    session.event.save(update_fields=["registration_closes_at"])

    assert tasks.draw_due_lotteries.apply().get() == 1
    assert tasks.draw_due_lotteries.apply().get() == 0
    session.refresh_from_db()
    assert session.lottery_seed
    assert Registration.objects.filter(status="confirmed").count() == 2
    assert Registration.objects.filter(status="waitlisted").count() == 2


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_offers_a_seat_left_free_while_someone_waits(worker):
    session = SessionFactory(capacity=1)
    registration_service.register(user=UserFactory(), session=session)
    first = registration_service.register(user=UserFactory(), session=session)
    second = registration_service.register(user=UserFactory(), session=session)
    release_seat(session.pk)  # the end state of a release that raced a sign-up

    tasks.fill_open_seats.delay()
    tasks.fill_open_seats.delay()  # the next minute's run, or a second beat

    def offered():
        """the first in line to be offered the free seat"""
        return Registration.objects.filter(pk=first.pk, status="offered").exists()

    wait_for(offered)
    tasks.heartbeat.delay().get(timeout=20)  # the solo worker has run both sweeps by now
    statuses = dict(Registration.objects.values_list("pk", "status"))
    assert statuses[second.pk] == "waitlisted"
    assert Notification.objects.filter(kind="offered").count() == 1
    session.refresh_from_db()
    assert session.seats_taken == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_release_rings_the_worker_to_fill_the_seat_seconds_after_it_commits(worker):
    session = SessionFactory(capacity=1)
    registration_service.register(user=UserFactory(), session=session)
    waiting = registration_service.register(user=UserFactory(), session=session)
    with transaction.atomic():
        # A release whose own fill could not see `waiting` (a sign-up not yet committed).
        release_seat(session.pk)
        waitlist.refill_soon(session.pk)

    def offered():
        """the waitlisted person to be offered the seat"""
        return Registration.objects.filter(pk=waiting.pk, status="offered").exists()

    wait_for(offered)
