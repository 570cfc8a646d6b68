"""Reminders before each session (24 h and 1 h by default, per event), to confirmed attendees.

Driven by a due-time column (Registration.remind_at) and the beat sweep, never by long task
ETAs: rescheduling a session is an UPDATE of that column."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Notification, Registration, Session
from . import notices


def reminder_times(session: Session) -> list[tuple[datetime, int]]:
    return sorted(
        (session.starts_at - timedelta(hours=h), h) for h in set(session.event.reminder_hours)
    )


def next_reminder_at(session: Session, *, after: datetime) -> datetime | None:
    """The first reminder due strictly after `after`; None when none is left. Someone who
    signs up 30 minutes before the start gets no '1 hour before' reminder: their
    confirmation has just told them."""
    return next((at for at, _ in reminder_times(session) if at > after), None)


def schedule(registrations, session: Session, *, now: datetime | None = None) -> None:
    """(Re)compute remind_at for confirmed registrations of `session`."""
    now = now or timezone.now()
    due = next_reminder_at(session, after=now)
    ids = [r.pk for r in registrations if r.status == Registration.Status.CONFIRMED]
    Registration.objects.filter(pk__in=ids).update(remind_at=due)
    for registration in registrations:
        if registration.pk in ids:
            registration.remind_at = due


def queue_due(*, now: datetime | None = None) -> int:
    """The beat sweep: owe a reminder to each confirmed attendee whose reminder is due, and
    move their remind_at to the next one. Safe to run twice (outbox keys, status guards)."""
    now = now or timezone.now()
    due = (
        Registration.objects.filter(
            status=Registration.Status.CONFIRMED,
            remind_at__lte=now,
            session__status=Session.Status.SCHEDULED,
        )
        .select_related("session__event", "user")
        .order_by("remind_at")[:5000]
    )
    queued = 0
    for registration in due:
        session = registration.session
        with transaction.atomic():
            if session.starts_at > now:
                # Only the latest reminder whose time has come: a sweep that runs late (30
                # minutes before the start) sends "in an hour", not a stale "in 24 hours".
                passed = [h for at, h in reminder_times(session) if at <= now]
                hours = min(passed) if passed else None
                if hours is not None:
                    notices.owe_news(
                        kind=Notification.Kind.REMINDER,
                        user=registration.user,
                        registration=registration,
                        version=f"{hours}h-{session.starts_at:%Y%m%dT%H%MZ}",
                        payload={"hours": hours, "starts_at": session.starts_at.isoformat()},
                    )
                    queued += 1
                later = next_reminder_at(session, after=now)
            else:
                later = None
            Registration.objects.filter(
                pk=registration.pk, remind_at=registration.remind_at
            ).update(remind_at=later)
    return queued
