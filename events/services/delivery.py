"""Delivering the outbox: each row is claimed by a conditional UPDATE before it is sent and
marked after, so a task run twice, or by two workers at once, sends once. Transient SMTP or
network errors are retried with exponential backoff and jitter; permanent ones (a 5xx, a
refused recipient, bad credentials) mark the row failed with the reason."""

import contextlib
import logging
import random
import smtplib
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import emails
from ..models import Invitation, Notification, Registration, SurveyRecipient

log = logging.getLogger(__name__)
Status = Notification.Status

MAX_ATTEMPTS = 8
BASE_DELAY = 30  # seconds before the first retry; doubles each time
MAX_DELAY = 3600
STUCK_AFTER = timedelta(minutes=10)  # a worker killed mid-send leaves a row in `sending`
SWEEP_GRACE = timedelta(seconds=60)  # on-commit enqueue and task retries go first


@dataclass(frozen=True)
class Outcome:
    sent: bool = False
    retry_in: float | None = None  # seconds, when a transient error will be retried


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: ~30 s, 60 s, 2 min, ... up to an hour, ±20%."""
    return min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY) * random.uniform(0.8, 1.2)


def is_transient(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    # Disconnects, refused connections, timeouts, DNS hiccups.
    return isinstance(error, smtplib.SMTPServerDisconnected | OSError)


def claim_due(ids: list[int], now) -> int:
    """pending -> sending for the rows among `ids` that are due, by one conditional UPDATE:
    of two workers claiming the same row, only one succeeds."""
    return (
        Notification.objects.filter(pk__in=ids, status=Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def claim(notification_id: int) -> bool:
    return claim_due([notification_id], timezone.now()) == 1


CALL_KINDS = {Notification.Kind.CALL_CONFIRM, Notification.Kind.CALL_RECEIVED}


def still_relevant(notification: Notification) -> str:
    """Why a message no longer makes sense to send ('' when it does). Only reminders and
    offers go stale: the rest tell of something that happened, in order."""
    registration = notification.registration
    if notification.kind == Notification.Kind.REMINDER:
        if registration.status != Registration.Status.CONFIRMED:
            return "The person no longer holds a seat."
        if registration.session.is_cancelled or registration.session.has_started:
            return "The session started or was cancelled."
        owed_for = notification.payload.get("starts_at")
        if owed_for and owed_for != registration.session.starts_at.isoformat():
            return "The session moved; a reminder for the new time is due instead."
    if notification.invitation_id:
        invitation = notification.invitation
        if (
            invitation.status != invitation.Status.PENDING
            or invitation.expires_at <= timezone.now()
        ):
            return "The invitation was answered, withdrawn or expired before the mail went out."
        if invitation.nonce != notification.payload.get("nonce"):
            return "The invitation was sent again with a new link."
    if notification.kind in CALL_KINDS:
        submission = notification.submission
        if submission is None:
            return "The person withdrew their submission."
        confirm = Notification.Kind.CALL_CONFIRM
        if notification.kind == confirm and submission.nonce != notification.payload.get("nonce"):
            return "A newer confirmation link was sent, or this one was used."
        return ""
    if notification.survey_recipient_id:
        from .surveys import still_relevant as survey_still_relevant

        return survey_still_relevant(notification.survey_recipient, notification.kind)
    offered = Registration.Status.OFFERED
    if notification.kind == Notification.Kind.OFFERED and registration.status != offered:
        return "The offer was answered or expired before the mail went out."
    return ""


_local = threading.local()


def _mail_settings() -> tuple:
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
    )


def worker_connection():
    """One mail connection per worker thread, kept open across messages (a fan-out of
    thousands would otherwise pay a TCP and TLS handshake for each). Dropped on any error,
    and whenever the mail settings differ from the ones it was opened with."""
    cached = getattr(_local, "cached", None)
    if cached is None or cached[0] != _mail_settings():
        drop_worker_connection()
        cached = (_mail_settings(), get_connection())
        _local.cached = cached
    connection = cached[1]
    connection.open()  # a no-op when already open (and for backends without a connection)
    return connection


def drop_worker_connection() -> None:
    cached = getattr(_local, "cached", None)
    _local.cached = None
    if cached is not None:
        with contextlib.suppress(Exception):  # a broken connection is being discarded anyway
            cached[1].close()


def _send(message, connection=None) -> None:
    if connection is not None:
        message.connection = connection
        message.send()
        return
    for attempt in (1, 2):
        message.connection = worker_connection()
        try:
            message.send()
            return
        except smtplib.SMTPServerDisconnected:
            # The server closed an idle kept-open connection: reconnect once, at once.
            drop_worker_connection()
            if attempt == 2:
                raise
        except Exception:
            drop_worker_connection()
            raise


def load(notification_id: int) -> Notification:
    """The row and what its mail needs, in small queries (one wide join of six tables costs
    more to plan than to run)."""
    notification = Notification.objects.select_related(
        "recipient", "session__event", "survey_recipient__survey", "submission__call"
    ).get(pk=notification_id)
    if notification.registration_id:
        registration = Registration.objects.get(pk=notification.registration_id)
        if notification.session_id == registration.session_id:
            registration.session = notification.session
        notification.registration = registration
    if notification.invitation_id:
        notification.invitation = Invitation.objects.select_related("event").get(
            pk=notification.invitation_id
        )
    return notification


def deliver(*, notification_id: int, connection=None) -> Outcome:
    """Send one owed email, at most once."""
    if not claim(notification_id):
        return Outcome()  # sent, being sent, failed, or not due yet
    return _deliver_claimed(load(notification_id), connection)


def deliver_many(*, ids: list[int]) -> dict[int, Outcome]:
    """Send a batch (a fan-out to many attendees): the rows are claimed with one UPDATE and
    loaded with a few queries; each is then sent over the kept connection and marked sent at
    once, so the rules of `deliver` hold row by row (a crash mid-batch resends nothing that
    was marked sent; the sweep picks up the rest)."""
    now = timezone.now()
    claim_due(ids, now)
    return _deliver_claimed_rows(ids, now)


def claim_next(*, count: int, now) -> list[int]:
    """Claim up to `count` due rows that nobody holds, oldest first. skip_locked lets several
    workers claim side by side on PostgreSQL; SQLite's writers take turns anyway."""
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)[:count]
        )
        if ids:
            claim_due(ids, now)
    return ids


def drain(*, batch: int = 50, limit: int = 1000) -> tuple[dict[int, Outcome], bool]:
    """Send the due rows, `batch` at a time, up to `limit`; the outcomes, and whether rows
    may be left (the limit was reached)."""
    outcomes: dict[int, Outcome] = {}
    while len(outcomes) < limit:
        now = timezone.now()
        ids = claim_next(count=batch, now=now)
        if not ids:
            return outcomes, False
        outcomes.update(_deliver_claimed_rows(ids, now))
    return outcomes, True


def _deliver_claimed_rows(ids: list[int], now) -> dict[int, Outcome]:
    # claimed_at = this batch's instant tells our rows from any another worker claimed.
    rows = list(
        Notification.objects.filter(pk__in=ids, status=Status.SENDING, claimed_at=now)
        .select_related(
            "recipient", "session__event", "survey_recipient__survey", "submission__call"
        )
        .order_by("pk")
    )
    registrations = Registration.objects.in_bulk(
        [n.registration_id for n in rows if n.registration_id]
    )
    invitations = Invitation.objects.select_related("event").in_bulk(
        [n.invitation_id for n in rows if n.invitation_id]
    )
    outcomes = {}
    for notification in rows:
        if notification.registration_id:
            registration = registrations[notification.registration_id]
            if notification.session_id == registration.session_id:
                registration.session = notification.session
            notification.registration = registration
        if notification.invitation_id:
            notification.invitation = invitations[notification.invitation_id]
        outcomes[notification.pk] = _deliver_claimed(notification, None)
    return outcomes


def _deliver_claimed(notification: Notification, connection) -> Outcome:
    notification_id = notification.pk
    update = Notification.objects.filter(pk=notification_id, status=Status.SENDING).update
    stale = still_relevant(notification)
    if stale:
        update(status=Status.SKIPPED, last_error=stale)
        return Outcome()
    try:
        _send(emails.build(notification), connection)
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        reason = f"{error.__class__.__name__}: {error}"[:2000]
        if is_transient(error) and notification.attempts < MAX_ATTEMPTS:
            delay = backoff(notification.attempts)
            update(
                status=Status.PENDING,
                last_error=reason,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
            )
            log.warning(
                "Notification %s: transient error, retry in %.0fs: %s",
                notification_id,
                delay,
                reason,
            )
            return Outcome(retry_in=delay)
        update(status=Status.FAILED, last_error=reason)
        log.error("Notification %s failed: %s", notification_id, reason)
        return Outcome()
    now = timezone.now()
    update(status=Status.SENT, sent_at=now, last_error="")
    if notification.invitation_id:
        # The invitations table shows when the invitation (or its reminder) really went out.
        field = (
            "sent_at" if notification.kind == Notification.Kind.INVITATION else "reminder_sent_at"
        )
        Invitation.objects.filter(pk=notification.invitation_id).update(**{field: now})
    if notification.kind == Notification.Kind.SURVEY:
        SurveyRecipient.objects.filter(
            pk=notification.survey_recipient_id, sent_at__isnull=True
        ).update(sent_at=now)
    return Outcome(sent=True)


def requeue_due(*, now=None) -> list[int]:
    """The outbox sweep: rows a lost task or a killed worker left behind, due again."""
    now = now or timezone.now()
    Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        status=Status.PENDING,
        next_attempt_at=now - SWEEP_GRACE,
        last_error="The worker stopped while sending; trying again.",
    )
    due = Notification.objects.filter(status=Status.PENDING).filter(
        Q(next_attempt_at__lte=now - SWEEP_GRACE)
        | Q(next_attempt_at__isnull=True, created_at__lte=now - SWEEP_GRACE)
    )
    return list(due.order_by("created_at").values_list("pk", flat=True)[:10_000])


def resend(*, notification: Notification, actor) -> Notification:
    """An organizer's 'send again' for a failed (or skipped) message."""
    from .. import notifications
    from . import ServiceError

    updated = Notification.objects.filter(
        pk=notification.pk, status__in=[Status.FAILED, Status.SKIPPED]
    ).update(status=Status.PENDING, next_attempt_at=None, attempts=0, last_error="")
    if not updated:
        raise ServiceError("Only a failed message can be sent again.")
    notifications.enqueue_on_commit([notification.pk])
    notification.refresh_from_db()
    return notification
