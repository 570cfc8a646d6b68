"""Delivering the outbox, at most once per row and in order per registration.

A claim is a lease: one conditional UPDATE moves due rows from pending to sending under a fresh
random token and an expiry a minute ahead. Its holder renews the lease while it works (a keeper
thread every 20 seconds, and a check of each row just before it is sent), and every later
write to the row is fenced on the token. A slow relay therefore never lets the lease lapse while
the holder is alive; a killed worker stops renewing, and the sweep takes its rows back within
a minute or two; and a worker whose lease was taken over can neither send the row (the check
fails) nor mark it.

A row is not claimed while an earlier row of the same registration is pending or being sent:
messages to one person about one registration leave in the order they were owed. A message
whose news went stale meanwhile (an invite for someone who has since cancelled) is skipped, as
is programme mail to an address that went on the team's do-not-contact list meanwhile, and
a calendar CANCEL for someone no invite ever reached goes out as news alone.

Transient SMTP or network errors are retried with exponential backoff and jitter; permanent
ones (a 5xx, a refused recipient, bad credentials) mark the row failed with what the server
said."""

import contextlib
import logging
import random
import secrets
import smtplib
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_noop

from .. import ics
from ..models.notification import Notification
from . import counts, rendering
from .doorbell import enqueue_on_commit
from .registry import kinds

log = logging.getLogger(__name__)
Status = Notification.Status

MAX_ATTEMPTS = 8
BASE_DELAY = 30  # seconds before the first retry; doubles each time
MAX_DELAY = 3600
# A lease lasts 45 s and is renewed every 15 s while its holder works, however slow the
# relay: a worker killed mid-batch leaves rows the sweep (every 30 s) takes back 45-75 s later.
LEASE = timedelta(seconds=45)
RENEW_EVERY = timedelta(seconds=15)
# Rows claimed before leases existed (no expiry) by a worker that does not renew.
STUCK_AFTER = timedelta(minutes=10)
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


def _server_text(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())  # a multi-line reply on one line


def describe(error: Exception) -> str:
    """The reason an organizer reads: what the mail server answered (its code and text, as
    "550 5.1.1 User unknown"), or what kept us from reaching it; never a Python repr."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {f"{code} {_server_text(text)}" for code, text in error.recipients.values()}
        return "; ".join(sorted(replies))
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_server_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        detail = f" ({error})" if str(error) else ""
        return f"The mail server closed the connection{detail}."
    if isinstance(error, smtplib.SMTPNotSupportedError):
        # Reached, but it lacks what the settings ask of it (STARTTLS, AUTH).
        return (
            f"The mail server answered, but: {str(error).rstrip('.')}. Check EMAIL_USE_TLS, "
            "EMAIL_USE_SSL and EMAIL_HOST_USER against what it offers."
        )
    if isinstance(error, TimeoutError):
        return gettext_noop("The mail server did not answer in time.")
    if isinstance(error, ConnectionRefusedError):
        return gettext_noop(
            "The mail server refused the connection (is EMAIL_HOST/EMAIL_PORT right?)."
        )
    if isinstance(error, OSError):
        return f"Could not reach the mail server: {error.strerror or error}."
    # Not the server's doing: a bug on our side, named for whoever reads the logs.
    return f"{error.__class__.__name__}: {error}"


def new_token() -> str:
    return secrets.token_hex(16)


def _open_before():
    """Rows of the same registration owed before this one and not finished yet."""
    return Notification.objects.filter(
        registration_id=OuterRef("registration_id"),
        pk__lt=OuterRef("pk"),
        status__in=[Status.PENDING, Status.SENDING],
    )


def ready(rows, now):
    """The rows among `rows` that may be sent now: pending, due, and first in line for their
    registration (the one before is sent, failed or skipped)."""
    return (
        rows.filter(status=Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(~Exists(_open_before()))
    )


def claim_due(ids: list[int], now, token: str) -> int:
    """pending -> sending under the lease `token` for the rows among `ids` that are ready, by
    one conditional UPDATE: of two workers claiming the same row, only one succeeds."""
    return ready(Notification.objects.filter(pk__in=ids), now).update(
        status=Status.SENDING,
        claimed_at=now,
        lease_token=token,
        lease_expires_at=now + LEASE,
        attempts=F("attempts") + 1,
    )


def claim(notification_id: int, *, token: str = "") -> bool:
    return claim_due([notification_id], timezone.now(), token or new_token()) == 1


def renew(token: str, ids: list[int]) -> int:
    """Push the lease on the rows among `ids` still held under `token` a minute ahead; how
    many are still held."""
    return Notification.objects.filter(pk__in=ids, lease_token=token, status=Status.SENDING).update(
        lease_expires_at=timezone.now() + LEASE
    )


class LeaseKeeper:
    """Renews a lease every RENEW_EVERY from a thread of its own while its holder works, so a
    slow relay never lets it lapse. It touches the database only once a batch has run that
    long (on its own connection, closed when it stops)."""

    def __init__(self, token: str, ids: list[int]) -> None:
        self.token, self.ids = token, list(ids)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="outbox-lease")

    def __enter__(self) -> "LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        try:
            while not self.stopped.wait(RENEW_EVERY.total_seconds()):
                try:
                    renew(self.token, self.ids)
                except Exception:  # noqa: BLE001 - the per-row check before sending still fences
                    log.warning("Could not renew the outbox lease %s...", self.token[:8])
        finally:
            db_connection.close()  # this thread's connection, if it opened one


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


def _loaded(rows):
    # What every kind's mail reads, joined in (the kinds name their own related rows).
    return rows.select_related("recipient", "session__event", *kinds.related())


def load(notification_id: int) -> Notification:
    """The row and what its mail needs, in small queries (one wide join of six tables costs
    more to plan than to run)."""
    notification = _loaded(Notification.objects).get(pk=notification_id)
    kinds.prefetch([notification])
    return notification


def deliver(*, notification_id: int, connection=None) -> Outcome:
    """Send one owed email, at most once."""
    token = new_token()
    if not claim(notification_id, token=token):
        return Outcome()  # sent, being sent, failed, not due yet, or waiting its turn
    notification = load(notification_id)
    invited = _invited([notification]) if _cancels(notification) else set()
    with LeaseKeeper(token, [notification_id]), counts.Tally() as tally:
        outcome = _deliver_claimed(notification, token, connection, invited=invited, tally=tally)
    if notification.registration_id:
        _release_followers([notification_id])
    return outcome


def deliver_many(*, ids: list[int]) -> dict[int, Outcome]:
    """Send a batch (a fan-out to many attendees): the rows are claimed with one UPDATE and
    loaded with a few queries; each is then sent over the kept connection and marked sent at
    once, so the rules of `deliver` hold row by row (a crash mid-batch resends nothing that
    was marked sent; the sweep picks up the rest)."""
    token = new_token()
    claim_due(ids, timezone.now(), token)
    outcomes = _deliver_claimed_rows(ids, token)
    _release_followers(list(outcomes))
    return outcomes


def claim_next(*, count: int, now, token: str) -> list[int]:
    """Claim up to `count` ready rows that nobody holds, oldest first. skip_locked lets several
    workers claim side by side on PostgreSQL; SQLite's writers take turns anyway."""
    with transaction.atomic():
        ids = list(
            ready(Notification.objects.select_for_update(skip_locked=True), now)
            .order_by("pk")
            .values_list("pk", flat=True)[:count]
        )
        if ids:
            claim_due(ids, now, token)
    return ids


def drain(*, batch: int = 50, limit: int = 1000) -> tuple[dict[int, Outcome], bool]:
    """Send the due rows, `batch` at a time, up to `limit`; the outcomes, and whether rows
    may be left (the limit was reached). A row held back behind an earlier one of its
    registration is claimed by a later round, once that one is done."""
    outcomes: dict[int, Outcome] = {}
    while len(outcomes) < limit:
        token = new_token()
        ids = claim_next(count=batch, now=timezone.now(), token=token)
        if not ids:
            return outcomes, False
        outcomes.update(_deliver_claimed_rows(ids, token))
    return outcomes, True


def _cancels(notification: Notification) -> bool:
    return notification.payload.get("calendar") == ics.CANCEL


def _invited(rows: list[Notification]) -> set[int]:
    return invited({n.registration_id for n in rows if n.registration_id})


def invited(registrations: set[int]) -> set[int]:
    """The registrations among `registrations` that some invite (a REQUEST) has reached, by
    email or as the .ics they downloaded: only they have a calendar entry for a CANCEL to
    remove."""
    if not registrations:
        return set()
    emailed = Notification.objects.filter(
        registration_id__in=registrations, status=Status.SENT, payload__calendar=ics.REQUEST
    ).values_list("registration_id", flat=True)
    return set(emailed) | kinds.in_calendar_otherwise(registrations)


def _release_followers(ids: list[int]) -> None:
    """Rows held back behind the ones just done (same registration, owed later) may go now:
    hand them to a worker rather than leave them to the sweep."""
    if not ids:
        return
    done = Notification.objects.filter(pk__in=ids, registration_id__isnull=False)
    followers = ready(
        Notification.objects.filter(registration_id__in=done.values("registration_id")),
        timezone.now(),
    )
    enqueue_on_commit(list(followers.values_list("pk", flat=True)))


def _deliver_claimed_rows(ids: list[int], token: str) -> dict[int, Outcome]:
    # The lease token tells our rows from any another worker claimed.
    rows = list(
        _loaded(
            Notification.objects.filter(pk__in=ids, status=Status.SENDING, lease_token=token)
        ).order_by("pk")
    )
    kinds.prefetch(rows)
    invited = _invited([n for n in rows if _cancels(n)])
    outcomes = {}
    with LeaseKeeper(token, [n.pk for n in rows]), counts.Tally() as tally:
        for notification in rows:
            outcomes[notification.pk] = _deliver_claimed(
                notification, token, None, invited=invited, tally=tally
            )
    return outcomes


def _deliver_claimed(
    notification: Notification, token: str, connection, *, invited: set[int], tally: counts.Tally
) -> Outcome:
    notification_id = notification.pk
    held = Notification.objects.filter(pk=notification_id, lease_token=token, status=Status.SENDING)

    def mark(**fields) -> bool:
        # Fenced on the lease: once the sweep has handed the row to another worker, ours is
        # no longer the word on it.
        if held.update(**fields):
            tally.add(fields["status"])
            return True
        log.warning(
            "Notification %s: lease lost to another worker; not marked %s",
            notification_id,
            fields["status"],
        )
        return False

    try:
        kind = kinds.get(notification.kind)
    except LookupError as error:
        mark(status=Status.FAILED, last_error=str(error))
        log.error("Notification %s failed: %s", notification_id, error)
        return Outcome()
    # Do-not-contact first: it is the truer reason, and no other answer may let the row go.
    stale = kinds.do_not_contact(kind, notification) or (
        kind.still_relevant(notification) if kind.still_relevant else ""
    )
    if stale:
        mark(status=Status.SKIPPED, last_error=stale)
        return Outcome()
    # Still ours, just before it leaves (a worker that stalled past its lease must not send
    # what another worker now holds); this renews the lease for the send.
    if not held.update(lease_expires_at=timezone.now() + LEASE):
        log.warning("Notification %s: lease lost to another worker; not sent", notification_id)
        return Outcome()
    note = ""
    # A CANCEL kept for a deleted account has no registration left: whether an invite had
    # reached them was decided when the account was deleted (accounts.services).
    registration_id = notification.registration_id
    if _cancels(notification) and registration_id is not None and registration_id not in invited:
        # No invite reached them (it failed, or was skipped as stale): their calendar has no
        # entry to remove, so the news goes alone.
        notification.payload = {
            k: v for k, v in notification.payload.items() if k not in {"calendar", "sequence"}
        }
        note = gettext_noop("Sent without a calendar cancellation: no invite had reached them.")
    try:
        _send(rendering.build(notification), connection)
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        reason = describe(error)[:2000]
        if is_transient(error) and notification.attempts < MAX_ATTEMPTS:
            delay = backoff(notification.attempts)
            mark(
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
        mark(status=Status.FAILED, last_error=reason)
        log.error("Notification %s failed: %s", notification_id, reason)
        return Outcome()
    now = timezone.now()
    extra = {"payload": notification.payload} if note else {}
    # What a kind does once its message has left (an account message drops its links) is
    # ours to do only while the row is: with the lease lost, another worker holds it.
    if mark(status=Status.SENT, sent_at=now, last_error=note, **extra) and kind.on_sent:
        kind.on_sent(notification, now)
    return Outcome(sent=True)


def requeue_due(*, now=None) -> list[int]:
    """The outbox sweep: rows whose lease ran out (their worker died or stalled) are taken
    back, or failed once they have had all their attempts (a row that kills its worker is not
    retried forever); then the rows a lost task left behind, due again."""
    now = now or timezone.now()
    lapsed = Notification.objects.filter(status=Status.SENDING).filter(
        Q(lease_expires_at__lt=now)
        | Q(lease_expires_at__isnull=True, claimed_at__lt=now - STUCK_AFTER)
    )
    # A batch goes in id order and each row is marked as soon as it is done: of a dead
    # worker's batch, only the lowest id still held was being sent when it died. The rows
    # behind it never reached the relay and get back the attempt their claim counted, or a
    # row that kills its worker would use up the attempts of every row batched with it.
    being_sent = lapsed.values("lease_token").annotate(first=Min("pk")).values("first")
    lapsed.exclude(pk__in=Subquery(being_sent)).filter(attempts__gt=0).update(
        attempts=F("attempts") - 1
    )
    with transaction.atomic():
        given_up = lapsed.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=Status.FAILED,
            lease_token="",
            lease_expires_at=None,
            last_error=f"The worker stopped while sending it, {MAX_ATTEMPTS} times; given up.",
        )
        counts.add(counts.Outcome.FAILED, given_up)
    with transaction.atomic():
        taken_back = lapsed.update(
            status=Status.PENDING,
            lease_token="",
            lease_expires_at=None,
            next_attempt_at=now - SWEEP_GRACE,
            last_error=gettext_noop("The worker stopped while sending; trying again."),
        )
        counts.add(counts.Outcome.RETRIED, taken_back)
    due = (
        Notification.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(next_attempt_at__isnull=True, created_at__lte=now - SWEEP_GRACE)
        )
        .filter(~Exists(_open_before()))
    )
    return list(due.order_by("created_at").values_list("pk", flat=True)[:10_000])


def send_again(notification_id: int) -> bool:
    """A failed (or skipped) row owed again from scratch, handed to a worker on commit;
    False when the row is not failed or skipped."""
    updated = Notification.objects.filter(
        pk=notification_id, status__in=[Status.FAILED, Status.SKIPPED]
    ).update(status=Status.PENDING, next_attempt_at=None, attempts=0, last_error="")
    if updated:
        enqueue_on_commit([notification_id])
    return bool(updated)
