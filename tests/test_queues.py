"""Each kind of task has its queue (config/queues.py), so that a stalled SMTP server holds up
mail and nothing else: sweeps, sign-ups and the other tasks go on, and the mail leaves, once
and all of it, when the server answers again."""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config import queues
from config.celery import app
from events.models import Invitation, Notification, Registration
from events.services.registration import register
from events.services.webhooks import create_endpoint
from events.tasks import expire_invitations, fill_session
from tests.celery_worker import wait_for
from tests.factories import (
    InvitationFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)
from tests.notifications.smtp import ScriptedSMTPServer
from tests.webhooks.receiver import Receiver
from tests.workers import worker_env, worker_process


@contextmanager
def running(receiver: Receiver):
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def ours(name: str) -> bool:
    """The project's tasks: not Celery's own, nor those a test module defines for itself."""
    return not name.startswith(("celery.", "tests."))


def test_every_task_has_a_queue_and_beat_runs_only_sweeps():
    app.loader.import_default_modules()
    tasks = sorted(filter(ours, app.tasks))
    assert tasks, "no task found"
    assert [name for name in tasks if name not in queues.QUEUE_OF] == []
    assert set(queues.QUEUE_OF.values()) == set(queues.QUEUES)
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {name: queues.QUEUE_OF[name] for name in beat} == dict.fromkeys(beat, "sweeps")


def test_tasks_are_published_to_their_queue():
    prefix = settings.CELERY_QUEUE_PREFIX
    router = app.amqp.router
    queue_of = {
        name: router.route({}, name)["queue"].name
        for name in (
            "events.outbox.tasks.deliver_pending",
            "events.outbox.tasks.deliver_batch",
            "events.outbox.tasks.deliver_webhooks",
            "events.outbox.tasks.sweep_outbox",
            "events.tasks.heartbeat",
            "events.tasks.fill_session",
        )
    }
    assert queue_of == {
        "events.outbox.tasks.deliver_pending": f"{prefix}mail",
        "events.outbox.tasks.deliver_batch": f"{prefix}mail",
        "events.outbox.tasks.deliver_webhooks": f"{prefix}hooks",
        "events.outbox.tasks.sweep_outbox": f"{prefix}sweeps",
        "events.tasks.heartbeat": f"{prefix}sweeps",
        "events.tasks.fill_session": f"{prefix}default",
    }
    # A worker started without -Q (`make run`'s one worker) consumes all four.
    assert sorted(q.name for q in app.amqp.queues.consume_from.values()) == sorted(
        f"{prefix}{name}" for name in queues.QUEUES
    )


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stalled_smtp_server_holds_up_mail_and_nothing_else(tmp_path, settings):
    app.control.purge()
    Status = Notification.Status
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on this machine
    with ScriptedSMTPServer() as smtp, running(Receiver()) as receiver:
        mailbox = smtp.mailbox
        mailbox.hold = threading.Event()  # every message waits at DATA until it is set
        env = worker_env(
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
            EMAIL_TIMEOUT="60",
            WEBHOOKS_ALLOW_PRIVATE="true",
        )
        with (
            worker_process(["mail"], tmp_path / "mail.log", env=env),
            worker_process(["default", "hooks", "sweeps"], tmp_path / "rest.log", env=env),
        ):
            owner = OrganizerFactory()
            session = SessionFactory(capacity=5, event__organizer=owner)
            create_endpoint(
                team=owner.memberships.get().team,
                actor=owner,
                url=receiver.url,
                event_types=["registration.confirmed"],
            )
            first = UserFactory()
            register(user=first, session=session)
            assert mailbox.arrived.wait(30), "the first confirmation never reached the server"

            # The mail worker is stuck in the SMTP conversation. Sign-ups go on at full speed.
            late = UserFactory.create_batch(3)
            for user in late:
                started = time.monotonic()
                register(user=user, session=session)
                assert time.monotonic() - started < 2
            # A sweep (beat's work) and a task a request causes (default) run meanwhile.
            lapsed = InvitationFactory(expires_at=timezone.now() - timedelta(minutes=1))
            expire_invitations.delay()
            waiting = RegistrationFactory(status="waitlisted", session=SessionFactory(capacity=1))
            fill_session.delay(waiting.session_id)

            def swept():
                """the sweep to expire the invitation and the seat to be offered"""
                return (
                    Invitation.objects.get(pk=lapsed.pk).status == "expired"
                    and Registration.objects.get(pk=waiting.pk).status == "offered"
                )

            wait_for(swept, timeout=20)
            # Webhooks (their own queue) leave too: one per sign-up.
            wait_for(lambda: len(receiver.requests) == 4, timeout=20)
            assert mailbox.messages == []
            assert Notification.objects.filter(status=Status.SENT).count() == 0

            # The server answers again: everything owed leaves, once.
            mailbox.hold.set()
            owed = Notification.objects.count()
            assert owed == 5  # four confirmations and the offer

            def all_sent():
                """every owed mail to be sent"""
                return Notification.objects.filter(status=Status.SENT).count() == owed

            wait_for(all_sent, timeout=60)
            time.sleep(1)  # a second copy would arrive now
    recipients = sorted(m["X-Envelope-To"] for m in mailbox.messages)
    expected = sorted([first.email, *(u.email for u in late), waiting.user.email])
    assert recipients == expected


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_worker_for_every_queue_waits_for_the_stalled_server_too(tmp_path):
    """The control: with one single-slot worker for all four queues (`make run`'s, which
    production does not copy), the stalled mail holds up the sweep: the test above can see a
    queue shared with mail."""
    app.control.purge()
    with ScriptedSMTPServer() as smtp:
        smtp.mailbox.hold = threading.Event()
        env = worker_env(EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}", EMAIL_TIMEOUT="60")
        with worker_process(list(queues.QUEUES), tmp_path / "all.log", env=env):
            register(user=UserFactory(), session=SessionFactory())
            assert smtp.mailbox.arrived.wait(30)
            lapsed = InvitationFactory(expires_at=timezone.now() - timedelta(minutes=1))
            expire_invitations.delay()
            time.sleep(5)
            assert Invitation.objects.get(pk=lapsed.pk).status == "pending"
            smtp.mailbox.hold.set()
            wait_for(lambda: Invitation.objects.get(pk=lapsed.pk).status == "expired")
