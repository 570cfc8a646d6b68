"""Delivering the outbox (events.outbox.delivery) to a real SMTP server: claimed before
sending so it is sent once, transient SMTP errors retried with backoff, permanent ones failed
with the reason, stale reminders and offers skipped."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Notification, Registration
from events.outbox import delivery, tasks
from events.services import reminders
from events.services.registration import cancel, register
from events.services.waitlist import accept_offer
from tests.factories import SessionFactory, UserFactory
from tests.mail import free_port
from tests.notifications.conftest import point_django_at
from tests.notifications.helpers import deliver_pending
from tests.notifications.smtp import HangUpServer, ScriptedSMTPServer, refuse_every_login

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.Status


def owed_confirmation() -> Notification:
    register(user=UserFactory(), session=SessionFactory())
    return Notification.objects.get()


def test_claiming_moves_a_pending_row_to_sending_once():
    row = owed_confirmation()

    assert delivery.claim(row.pk) is True
    assert delivery.claim(row.pk) is False

    row.refresh_from_db()
    assert row.status == Status.SENDING
    assert row.attempts == 1
    assert row.claimed_at is not None


def test_a_row_waiting_for_its_retry_time_cannot_be_claimed_yet():
    row = owed_confirmation()
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    assert delivery.claim(row.pk) is False
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert delivery.claim(row.pk) is True


def test_delivering_sends_the_email_and_marks_the_row_sent(smtp):
    row = owed_confirmation()

    outcome = delivery.deliver(notification_id=row.pk)

    assert outcome == delivery.Outcome(sent=True)
    [message] = smtp.messages
    assert message["X-Envelope-To"] == row.email
    assert message["To"] == row.email
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.sent_at is not None
    assert (row.attempts, row.last_error) == (1, "")


def test_delivering_twice_sends_one_email(smtp):
    row = owed_confirmation()

    first = delivery.deliver(notification_id=row.pk)
    second = delivery.deliver(notification_id=row.pk)

    assert (first.sent, second.sent) == (True, False)
    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_the_task_run_twice_sends_one_email(smtp):
    row = owed_confirmation()

    assert tasks.deliver_notification(row.pk) is True
    assert tasks.deliver_notification(row.pk) is False

    assert len(smtp.messages) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_rows_at_once_send_each_email_once(smtp, enqueued):
    session = SessionFactory(capacity=10)
    for _ in range(5):
        register(user=UserFactory(), session=session)
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    jobs = [pk for pk in ids for _ in range(2)]  # every row twice, all at the same instant
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def work(index: int, pk: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = delivery.deliver(notification_id=pk).sent
        except Exception as error:  # noqa: BLE001 - reported below
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, pk)) for i, pk in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes, key=str) == [False] * 5 + [True] * 5, outcomes
    assert len(smtp.messages) == 5
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(
        Notification.objects.values_list("email", flat=True)
    )
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_backoff_doubles_from_thirty_seconds_with_jitter_up_to_an_hour():
    for attempt, base in [(1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (20, 3600)]:
        samples = [delivery.backoff(attempt) for _ in range(50)]
        assert all(0.8 * base <= s <= 1.2 * base for s in samples), (attempt, samples)
        assert len(set(samples)) > 1, "no jitter: retries of many rows would arrive together"


def assert_retried_later(row: Notification, outcome: delivery.Outcome, reason: str) -> None:
    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert reason in row.last_error
    assert 24 <= outcome.retry_in <= 36
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert outcome.retry_in - 5 <= wait <= outcome.retry_in


def test_a_4xx_reply_to_the_message_is_retried_later_with_backoff(smtp):
    row = owed_confirmation()
    smtp.data_replies = ["451 4.3.0 try later"]

    outcome = delivery.deliver(notification_id=row.pk)

    assert not outcome.sent
    assert_retried_later(row, outcome, "451")
    assert smtp.messages == []


def test_a_retry_is_not_sent_before_its_time_and_is_sent_once_after(smtp):
    row = owed_confirmation()
    smtp.data_replies = ["451 4.3.0 try later"]
    delivery.deliver(notification_id=row.pk)

    assert delivery.deliver(notification_id=row.pk) == delivery.Outcome()
    assert smtp.data_commands == 1

    # Time passes: the retry is due.
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert delivery.requeue_due(now=timezone.now() + delivery.SWEEP_GRACE) == [row.pk]
    assert delivery.deliver(notification_id=row.pk).sent
    assert delivery.deliver(notification_id=row.pk) == delivery.Outcome()

    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")


def test_a_4xx_reply_to_the_recipient_is_retried_later(smtp):
    row = owed_confirmation()
    smtp.rcpt_replies = ["450 4.2.0 greylisted, come back later"]

    outcome = delivery.deliver(notification_id=row.pk)

    assert_retried_later(row, outcome, "greylisted")


def test_a_server_that_hangs_up_is_retried_later(settings):
    row = owed_confirmation()
    with HangUpServer() as server:
        point_django_at(settings, server.port)
        outcome = delivery.deliver(notification_id=row.pk)

    assert_retried_later(row, outcome, "The mail server closed the connection")


def test_a_refused_connection_is_retried_later(settings):
    row = owed_confirmation()
    point_django_at(settings, free_port())  # nothing listens there

    outcome = delivery.deliver(notification_id=row.pk)

    assert_retried_later(row, outcome, "The mail server refused the connection")


def test_a_transient_error_on_the_last_allowed_attempt_fails_the_row(smtp):
    row = owed_confirmation()
    Notification.objects.filter(pk=row.pk).update(attempts=delivery.MAX_ATTEMPTS - 1)
    smtp.data_replies = ["451 4.3.0 try later"]

    outcome = delivery.deliver(notification_id=row.pk)

    assert outcome.retry_in is None
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, delivery.MAX_ATTEMPTS)
    assert "451" in row.last_error


def assert_failed_for_good(row: Notification, reason: str) -> None:
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.attempts == 1
    assert reason in row.last_error
    assert row.next_attempt_at is None
    assert delivery.claim(row.pk) is False
    later = timezone.now() + timedelta(days=1)
    assert row.pk not in delivery.requeue_due(now=later)


def test_a_5xx_reply_to_the_message_fails_the_row_with_the_reason(smtp):
    row = owed_confirmation()
    smtp.data_replies = ["550 5.1.1 no such user"]

    outcome = delivery.deliver(notification_id=row.pk)

    assert outcome == delivery.Outcome()
    assert_failed_for_good(row, "5.1.1 no such user")
    assert "550" in row.last_error
    assert smtp.messages == []
    assert smtp.data_commands == 1


def test_a_refused_recipient_fails_the_row(smtp):
    row = owed_confirmation()
    smtp.rcpt_replies = ["550 5.1.1 no such user here"]

    delivery.deliver(notification_id=row.pk)

    assert_failed_for_good(row, "550 5.1.1 no such user here")
    assert row.last_error == "550 5.1.1 no such user here"  # what the server said, no repr
    assert smtp.data_commands == 0


def test_an_authentication_failure_fails_the_row(settings):
    row = owed_confirmation()
    with ScriptedSMTPServer(authenticator=refuse_every_login, auth_require_tls=False) as server:
        point_django_at(settings, server.port, user="app", password="wrong")
        delivery.deliver(notification_id=row.pk)
        received = server.mailbox.messages

    assert_failed_for_good(row, "535 5.7.8 Authentication credentials invalid")
    assert received == []


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        ("SMTPServerDisconnected", True),
        ("ConnectionRefusedError", True),
        ("TimeoutError", True),
        ("421", True),
        ("451", True),
        ("550", False),
        ("554", False),
        ("535", False),
        ("ValueError", False),
    ],
)
def test_errors_are_told_apart_as_transient_or_permanent(error, transient):
    import smtplib

    errors = {
        "SMTPServerDisconnected": smtplib.SMTPServerDisconnected("gone"),
        "ConnectionRefusedError": ConnectionRefusedError(111, "refused"),
        "TimeoutError": TimeoutError("timed out"),
        "421": smtplib.SMTPDataError(421, b"closing"),
        "451": smtplib.SMTPDataError(451, b"try later"),
        "550": smtplib.SMTPDataError(550, b"no such user"),
        "554": smtplib.SMTPSenderRefused(554, b"sender refused", "noreply@localhost"),
        "535": smtplib.SMTPAuthenticationError(535, b"bad credentials"),
        "ValueError": ValueError("a bug in rendering"),
    }

    assert delivery.is_transient(errors[error]) is transient


def test_recipients_refused_is_transient_only_when_every_refusal_is_4xx():
    import smtplib

    soft = smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"later")})
    mixed = smtplib.SMTPRecipientsRefused(
        {"a@example.com": (450, b"later"), "b@example.com": (550, b"no")}
    )

    assert delivery.is_transient(soft) is True
    assert delivery.is_transient(mixed) is False


def test_a_reminder_for_someone_who_cancelled_meanwhile_is_skipped(smtp):
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    deliver_pending()  # the confirmation went out
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))
    reminder = Notification.objects.get(kind=Kind.REMINDER)
    cancel(registration=registration, actor=registration.user)

    delivery.deliver(notification_id=reminder.pk)

    reminder.refresh_from_db()
    assert reminder.status == Status.SKIPPED
    assert reminder.last_error == "The person no longer holds a seat."
    assert ["Reminder" in m["Subject"] for m in smtp.messages] == [False]


def test_a_reminder_for_a_session_that_has_started_is_skipped(smtp):
    session = SessionFactory()
    register(user=UserFactory(), session=session)
    deliver_pending()  # the confirmation went out
    reminders.queue_due(now=session.starts_at - timedelta(minutes=59))
    reminder = Notification.objects.get(kind=Kind.REMINDER)
    session.__class__.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1)
    )

    delivery.deliver(notification_id=reminder.pk)

    reminder.refresh_from_db()
    assert reminder.status == Status.SKIPPED
    assert "started" in reminder.last_error
    assert len(smtp.messages) == 1  # the confirmation alone


def test_an_offer_answered_before_its_email_went_out_is_skipped(smtp):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    deliver_pending()  # "you're in", "you're on the waitlist"
    cancel(registration=seated, actor=seated.user)
    offer = Notification.objects.get(kind=Kind.OFFERED)
    accept_offer(registration=waiting, user=waiting.user)

    delivery.deliver(notification_id=offer.pk)

    offer.refresh_from_db()
    assert offer.status == Status.SKIPPED
    assert "answered or expired" in offer.last_error
    assert len(smtp.to(waiting.user.email)) == 1  # "you're on the waitlist" alone


def test_an_offer_still_open_is_sent(smtp):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    deliver_pending()  # "you're in", "you're on the waitlist"
    cancel(registration=seated, actor=seated.user)
    offer = Notification.objects.get(kind=Kind.OFFERED)

    assert delivery.deliver(notification_id=offer.pk).sent

    waiting.refresh_from_db()
    assert waiting.status == Registration.Status.OFFERED
    assert len(smtp.to(waiting.user.email)) == 2


def test_the_task_leaves_long_retries_to_the_sweep(smtp, monkeypatch):
    row = owed_confirmation()
    smtp.data_replies = ["451 4.3.0 try later"]
    monkeypatch.setattr(delivery, "backoff", lambda attempt: 600.0)

    # A delay over 5 minutes is not held in the broker: the task returns, the row waits.
    assert tasks.deliver_notification(row.pk) is False

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.next_attempt_at > timezone.now() + timedelta(minutes=9)


def test_a_relay_without_starttls_is_retried_with_a_reason_an_organizer_can_act_on(settings):
    """A setting that does not match the relay (EMAIL_USE_TLS where it offers no STARTTLS) is
    retried, as it may be fixed meanwhile, and the reason says what to check, not a Python
    exception's name or "could not reach", which it did."""
    row = owed_confirmation()
    with ScriptedSMTPServer() as server:  # it offers no STARTTLS
        point_django_at(settings, server.port)
        settings.EMAIL_USE_TLS = True
        outcome = delivery.deliver(notification_id=row.pk)

    row.refresh_from_db()
    assert outcome.retry_in is not None and row.status == Status.PENDING
    assert "STARTTLS" in row.last_error
    assert "could not reach" not in row.last_error.lower()
    assert "EMAIL_USE_TLS" in row.last_error
