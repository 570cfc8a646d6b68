"""invite_fanout: a session with 5,000 confirmed attendees moves; everyone gets the update.

    .venv/bin/python -m bench.invite_fanout [--attendees 5000] [--concurrency 2] [--pool prefork]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_fanout), migrates it, and bulk-creates
   an organizer, a published event, one session (capacity = attendees, every seat taken) and
   one verified user with a CONFIRMED registration per attendee (calendar_sequence 0: each has
   had the first invite, so the update carries a METHOD:REQUEST with a higher SEQUENCE);
2. starts a local SMTP sink (aiosmtpd, in a process of its own; it only counts and keeps the
   bytes) and a real Celery worker (`celery -A config worker`, prefork by default) with
   production settings plus a queue of the bench's own (bench.settings_fanout), configured by
   environment variables only: DATABASE_URL, REDIS_URL (the shared Redis is the broker),
   EMAIL_URL=smtp://127.0.0.1:<sink port>;
3. phase A, end to end: calls the service (events.services.scheduling.update_session) to move
   the session by an hour, in this process with the same settings, and times from the call
   until the sink has received every message and every outbox row is `sent`: the service's
   transaction (one outbox row per attendee), the Celery publishes on commit, the worker
   (claim, build, SMTP on its kept-open connection, mark sent) and Redis in between. The
   worker's memory (main process and pool children) is sampled from /proc meanwhile;
4. phase B, the baseline, in the same run: a plain loop in this process reads the same outbox
   rows, builds the same messages with events.outbox.rendering.build and sends them over ONE SMTP
   connection to the same sink;
5. checks both deliveries: every attendee exactly once, nothing else; every message a
   well-formed invite update (multipart/mixed with text, HTML and a text/calendar;
   method=REQUEST part plus an identical invite.ics; METHOD:REQUEST, the session's UID, the new
   SEQUENCE, the new start and end in UTC, the recipient as ATTENDEE, the From address as
   ORGANIZER), one in 50 also parsed with icalendar and the modern email policy; every outbox
   row sent at the first attempt, none failed; then prints the figures and the ratio of the
   two rates, stops the worker and the sink, deletes the bench's queue keys from Redis and
   drops the database.

Where the CPU goes is read from /proc: per message for the bench's own processes (worker, this
process, sink), in cores busy for PostgreSQL and Redis (whole servers, shared with whatever
else runs here) and for everything else on the machine. `--settings` runs both processes on
another settings module (built on bench.settings_fanout) to try a configuration change.

Exit status: 0 when every message arrived exactly once and well-formed, 1 when not (lost,
duplicated, failed, malformed), 2 when the set-up failed; with --fail-below-target, 3 when the
delivery is right but the ratio is below the target.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.utils import parseaddr
from pathlib import Path

import psycopg

from bench import common
from bench.common import SetupError
from bench.smtp_sink import Received, SinkProcess

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "feedback_fanout"
SETTINGS_MODULE = "bench.settings_fanout"
QUEUE = "bench.invite_fanout"  # bench/settings_fanout.py: BENCH_QUEUE
CACHE_PREFIX = "bench.invite_fanout"
SITE_URL = "https://bench.example.com"
TARGET_RATIO = 0.5
MOVE_BY = timedelta(hours=1)
DEEP_CHECK_EVERY = 50  # every message is checked; one in 50 also parsed as a mail client would


# --- options and environment -------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.invite_fanout",
        description="A session update to every attendee, through Celery and Redis to SMTP.",
    )
    parser.add_argument("--attendees", type=int, default=5000, help="confirmed attendees")
    parser.add_argument(
        "--pool", choices=["prefork", "threads", "solo"], default="prefork", help="Celery pool"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="worker pool size (processes or threads)"
    )
    parser.add_argument(
        "--loglevel", default="INFO", help="the worker's log level (INFO, as in the Procfile)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the end-to-end delivery"
    )
    common.add_server_arguments(parser)
    parser.add_argument(
        "--settings",
        default=SETTINGS_MODULE,
        help="Django settings of this process and the worker, to try a configuration change"
        " (it must keep the bench's queue: start with `from bench.settings_fanout import *`)",
    )
    parser.add_argument("--target", type=float, default=TARGET_RATIO, help="ratio to reach")
    parser.add_argument(
        "--fail-below-target", action="store_true", help="exit 3 when the ratio misses the target"
    )
    args = parser.parse_args(argv)
    if args.pool == "solo":
        args.concurrency = 1
    if args.attendees < 1 or args.concurrency < 1:
        parser.error("--attendees and --concurrency must be positive")
    return args


def bench_environment(args: argparse.Namespace, sink_port: int) -> dict[str, str]:
    """Production settings, configured as in production: by environment variables only. The
    bench process and the worker get the same."""
    env = dict(os.environ)
    env.pop("REDIS_CACHE_URL", None)  # the cache must be the shared Redis below
    env.update(
        DJANGO_SETTINGS_MODULE=args.settings,
        SECRET_KEY=secrets.token_urlsafe(48),
        CONTACT_SUPPRESSION_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="bench.example.com",
        SITE_URL=SITE_URL,
        DATABASE_URL=f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{DB_NAME}",
        REDIS_URL=args.redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{sink_port}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


# --- fixtures (Django, in this process, before the measurements) --------------------------


Fixture = common.FullSession


def create_fixture(attendees: int) -> Fixture:
    """An organizer, a published event, one full session and `attendees` verified users, each
    with a CONFIRMED registration that was sent the first invite (calendar_sequence 0)."""
    return common.full_session(attendees, tag="fanout", title="Invite fan-out")


# --- the worker ----------------------------------------------------------------------------


def worker_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        f"--pool={args.pool}",
        f"--concurrency={args.concurrency}",
        f"--queues={QUEUE}",
        f"--hostname=invite_fanout-{os.getpid()}@%h",
        # No mingle, gossip or heartbeat: the bench's worker neither talks to nor hears the
        # other engineers' workers on the shared Redis. None of them is on the task path.
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        f"--loglevel={args.loglevel}",
    ]


def describe_worker(args: argparse.Namespace) -> str:
    if args.pool == "prefork":
        shape = f"prefork, {args.concurrency} child processes"
    elif args.pool == "threads":
        shape = f"threads, {args.concurrency} threads in one process"
    else:
        shape = "solo, one process"
    return (
        f"worker: celery -A config worker --pool={args.pool} --concurrency={args.concurrency}"
        f" -Q {QUEUE} ({shape}; acks_late, prefetch multiplier 1 as configured;"
        f" {os.cpu_count()} cores)"
    )


def start_worker(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    return common.spawn_logged(command, env, log_path)


def wait_until_ready(worker: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    """Celery logs 'celery@host ready.' once its pool is up and it consumes the queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SetupError(f"the worker exited with status {worker.returncode}")
        if b" ready." in log_path.read_bytes():
            return
        time.sleep(0.1)
    raise SetupError(f"the worker was not ready after {timeout:.0f} s")


def stop_worker(worker: subprocess.Popen) -> None:
    """SIGTERM: a warm shutdown (the pool finishes its tasks and exits); SIGKILL if stuck, the
    children first (by their ids: only what this bench started)."""
    if worker.poll() is not None:
        return
    children = common.children_of(worker.pid)
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait()


class MemoryWatch(threading.Thread):
    """Samples the worker's processes (main and pool children) from /proc every `interval`
    seconds: the peak of their summed RSS and PSS, and each process's VmHWM (the kernel's own
    peak of that process, which needs no sampling)."""

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        super().__init__(name="memory-watch", daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.hwm: dict[int, int] = {}
        self.pids: list[int] = []
        self._done = threading.Event()

    def sample(self, rescan: bool) -> None:
        if rescan or not self.pids:
            self.pids = [self.root_pid, *common.children_of(self.root_pid)]
        rss = pss = 0
        for pid in self.pids:
            values = common.memory_kib(pid)
            rss += values.get("VmRSS", 0)
            pss += values.get("Pss", 0)
            self.hwm[pid] = max(self.hwm.get(pid, 0), values.get("VmHWM", 0))
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)

    def run(self) -> None:
        n = 0
        while not self._done.is_set():
            self.sample(rescan=n % 5 == 0)
            n += 1
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.sample(rescan=True)

    @property
    def hwm_sum(self) -> int:
        return sum(self.hwm.values())


# --- CPU: who used the two cores during a phase ---------------------------------------------


class CpuMeter:
    """CPU seconds by role, from /proc: the worker (main process and pool children), this
    process, the sink, the PostgreSQL server (every backend, those that ended included) and
    Redis, both shared with whatever else runs on the machine, and the whole machine."""

    def __init__(self, args: argparse.Namespace, sink_pid: int, worker_pid: int | None) -> None:
        self.args = args
        self.sink_pid = sink_pid
        self.worker_pid = worker_pid
        self.redis_pid = self._redis_pid(args.redis_url)
        try:
            self.postmaster_pid = common.postmaster_pid(args.pg_host, args.pg_port, args.pg_user)
        except psycopg.Error:
            self.postmaster_pid = None

    @staticmethod
    def _redis_pid(url: str) -> int | None:
        import redis

        try:
            pid = int(redis.Redis.from_url(url).info("server")["process_id"])
        except (redis.RedisError, KeyError, ValueError):
            return None
        try:  # Redis may run in another PID namespace (a container): then it is not ours to see
            comm = Path(f"/proc/{pid}/comm").read_text()
        except OSError:
            return None
        return pid if "redis" in comm else None

    def snapshot(self) -> dict[str, dict[int, float]]:
        taken: dict[str, dict[int, float]] = {"sink": {self.sink_pid: 0.0}}
        if self.worker_pid:
            taken["worker"] = dict.fromkeys([self.worker_pid, *common.children_of(self.worker_pid)])
        if self.redis_pid:
            taken["redis"] = {self.redis_pid: 0.0}
        for pids in taken.values():
            for pid in pids:
                pids[pid] = common.cpu_seconds(pid)
        if self.postmaster_pid:
            server = {self.postmaster_pid: common.cpu_seconds_with_reaped(self.postmaster_pid)}
            for pid in common.children_of(self.postmaster_pid):
                server[pid] = common.cpu_seconds(pid)
            taken["postgres"] = server
        me = os.times()
        taken["bench"] = {0: me.user + me.system}
        taken["machine"] = {0: common.machine_busy_seconds()}
        return taken

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """Per role, CPU seconds between the snapshots (a process born in between counts from
        zero; a worker process gone by the end is left out, a PostgreSQL backend is not: its
        time moves to the postmaster's count of reaped children)."""
        return {
            role: sum(secs - before.get(role, {}).get(pid, 0.0) for pid, secs in pids.items())
            for role, pids in after.items()
        }


# --- the two phases -----------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    messages: list[Received] = field(default_factory=list)
    start: float = 0.0  # time.monotonic()
    seconds: float = 0.0  # from the start until everything arrived (and, in A, rows are sent)
    marks: dict[str, float] = field(default_factory=dict)  # seconds since the start
    cpu: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    db_sessions: int | None = None  # PostgreSQL connections opened meanwhile

    @property
    def rate(self) -> float:
        return len(self.messages) / self.seconds if self.seconds else 0.0


def outbox_counts(session_pk: int) -> Counter:
    from django.db.models import Count

    from events.models import Notification

    return Counter(
        dict(
            Notification.objects.filter(session_id=session_pk)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
    )


def end_to_end(
    args: argparse.Namespace,
    fixture: Fixture,
    sink: SinkProcess,
    worker: subprocess.Popen,
    cpu: CpuMeter,
) -> Phase:
    """Phase A: the service call, then wait for the sink to have every message and the outbox
    to have every row sent."""
    from django.db import transaction

    from accounts.models import User
    from events.models import Notification, Session
    from events.services import scheduling

    Status = Notification.Status
    phase = Phase("end to end")
    expected = len(fixture.emails)
    organizer = User.objects.get(pk=fixture.organizer_pk)
    session = Session.objects.get(pk=fixture.session_pk)
    received_before = sink.count
    before = cpu.snapshot()

    start = phase.start = time.monotonic()

    def mark(name: str) -> None:
        phase.marks.setdefault(name, time.monotonic() - start)

    # The service in a transaction of its own, exactly as a view calls it; the outer block
    # only lets this bench note when the commit happened: its on_commit hook is registered
    # first, so it runs right after COMMIT and before the service's publishes to the broker
    # (one per outbox row, each on its own on_commit hook).
    with transaction.atomic():
        transaction.on_commit(lambda: mark("committed"))
        scheduling.update_session(
            session=session,
            actor=organizer,
            starts_at=session.starts_at + MOVE_BY,
            ends_at=session.ends_at + MOVE_BY,
        )
    mark("published")

    deadline = start + args.timeout
    last_count, last_progress = sink.count, time.monotonic()
    next_check = 0.0
    while True:
        now = time.monotonic()
        count = sink.count - received_before
        if count >= expected:
            counts = outbox_counts(fixture.session_pk)
            if counts[Status.PENDING] + counts[Status.SENDING] == 0:
                mark("all rows sent")
                break
            if now > deadline:
                phase.problems.append(f"rows still not sent after {args.timeout:.0f} s: {counts}")
                break
            time.sleep(0.002)
            continue
        if count != last_count:
            last_count, last_progress = count, now
        if now >= next_check:
            next_check = now + 1.0
            if worker.poll() is not None:
                phase.problems.append(f"the worker exited with status {worker.returncode}")
                break
            counts = outbox_counts(fixture.session_pk)
            if counts[Status.PENDING] + counts[Status.SENDING] == 0 and count < expected:
                phase.problems.append(
                    f"every row is done but the sink has {count} of {expected}: {dict(counts)}"
                )
                break
            if now - last_progress > 30:
                phase.problems.append(f"no mail for 30 s: {count} of {expected}, {dict(counts)}")
                break
            if now > deadline:
                phase.problems.append(f"{count} of {expected} after {args.timeout:.0f} s")
                break
        time.sleep(0.005)
    phase.seconds = time.monotonic() - start
    phase.cpu = CpuMeter.spent(before, cpu.snapshot())
    # Mail may still come in after a failure above: give it a moment, then take everything.
    if phase.problems:
        time.sleep(2)
    phase.messages = sink.take()
    return phase


def plain_loop(fixture: Fixture, sink: SinkProcess, cpu: CpuMeter) -> Phase:
    """Phase B: the same rows, the same messages (events.outbox.rendering.build), one SMTP
    connection, one process, no broker, no claiming or marking."""
    from django.core.mail import get_connection

    from events.models import Notification
    from events.outbox import rendering

    phase = Phase("plain loop")
    expected = len(fixture.emails)
    received_before = sink.count
    before = cpu.snapshot()
    start = phase.start = time.monotonic()
    rows = Notification.objects.filter(
        session_id=fixture.session_pk, kind=Notification.Kind.SESSION_CHANGED
    ).select_related(
        "recipient", "registration__session__event", "session__event", "invitation__event"
    )
    connection = get_connection()
    connection.open()
    sent = 0
    try:
        for notification in rows.order_by("pk").iterator(chunk_size=500):
            sent += connection.send_messages([rendering.build(notification)])
    finally:
        connection.close()
    while sink.count - received_before < sent and time.monotonic() - start < 60:
        time.sleep(0.001)  # SMTP is synchronous: the sink has them all by now
    phase.seconds = time.monotonic() - start
    phase.cpu = CpuMeter.spent(before, cpu.snapshot())
    if sent != expected:
        phase.problems.append(f"the loop sent {sent} of {expected}")
    phase.messages = sink.take()
    return phase


# --- checking what arrived ---------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    uid: str
    sequence: int
    start: datetime
    end: datetime
    organizer: str
    from_header: str


def expected_invite(session_pk: int) -> Expected:
    from django.conf import settings

    from events import ics
    from events.models import Session

    session = Session.objects.get(pk=session_pk)
    return Expected(
        uid=ics.uid_for(session),
        sequence=session.sequence,
        start=session.starts_at.astimezone(UTC),
        end=session.ends_at.astimezone(UTC),
        organizer=parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        from_header=settings.DEFAULT_FROM_EMAIL,
    )


def unfolded_lines(data: bytes) -> list[bytes]:
    """An iCalendar object's content lines, with RFC 5545 folding undone."""
    return data.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").split(b"\r\n")


def check_message(raw: bytes, rcpt_tos: tuple[str, ...], expected: Expected, deep: bool) -> str:
    """'' when the message is a well-formed update invite for its one recipient, else why not.

    Every message gets the structural check (MIME tree, headers, the text/calendar part's
    method, invite.ics identical to it, and the calendar's content lines); with `deep`, it is
    also parsed with the modern email policy and icalendar, as a mail client would."""
    if len(rcpt_tos) != 1:
        return f"{len(rcpt_tos)} envelope recipients"
    recipient = rcpt_tos[0]
    message = email.message_from_bytes(raw)
    if message.get_content_type() != "multipart/mixed":
        return f"top level is {message.get_content_type()}"
    if message["To"] != recipient:
        return f"To {message['To']!r} for envelope {recipient!r}"
    if message["From"] != expected.from_header:
        return f"From {message['From']!r}"
    if not str(message["Subject"]).endswith("Changed: Invite fan-out"):
        return f"subject {message['Subject']!r}"
    parts = message.get_payload()
    if [p.get_content_type() for p in parts] != ["multipart/alternative", "application/ics"]:
        return f"parts {[p.get_content_type() for p in parts]}"
    alternative, attachment = parts
    alternatives = alternative.get_payload()
    kinds = [p.get_content_type() for p in alternatives]
    if kinds != ["text/plain", "text/html", "text/calendar"]:
        return f"alternatives {kinds}"
    calendar_part = alternatives[2]
    if calendar_part.get_param("method") != "REQUEST":
        return f"text/calendar method={calendar_part.get_param('method')}"
    if attachment.get_filename() != "invite.ics":
        return f"attachment {attachment.get_filename()!r}"
    data = calendar_part.get_payload(decode=True)
    if attachment.get_payload(decode=True) != data:
        return "invite.ics differs from the text/calendar part"
    lines = unfolded_lines(data)
    stamp = "%Y%m%dT%H%M%SZ"
    for wanted in (
        "METHOD:REQUEST",
        f"UID:{expected.uid}",
        f"SEQUENCE:{expected.sequence}",
        f"DTSTART:{expected.start:{stamp}}",
        f"DTEND:{expected.end:{stamp}}",
    ):
        if wanted.encode() not in lines:
            return f"no {wanted} line"
    if lines.count(b"BEGIN:VEVENT") != 1:
        return f"{lines.count(b'BEGIN:VEVENT')} VEVENTs"
    for name, address in (("ATTENDEE", recipient), ("ORGANIZER", expected.organizer)):
        found = [line for line in lines if line.startswith(name.encode())]
        if len(found) != 1 or not found[0].lower().endswith(f":mailto:{address}".lower().encode()):
            return f"{name} lines {found!r}, expected one for mailto:{address}"
    return check_deeply(raw, recipient, expected) if deep else ""


def check_deeply(raw: bytes, recipient: str, expected: Expected) -> str:
    from icalendar import Calendar

    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    if body is None or "The session has changed." not in body.get_content():
        return "no text body telling of the change"
    calendar_part = message.get_body(preferencelist=("calendar",))
    if calendar_part is None:
        return "no text/calendar body part"
    calendar = Calendar.from_ical(calendar_part.get_content())
    if str(calendar.get("METHOD")) != "REQUEST":
        return f"METHOD {calendar.get('METHOD')}"
    events = calendar.walk("VEVENT")
    if len(events) != 1:
        return f"{len(events)} VEVENTs"
    vevent = events[0]
    checks = {
        "UID": (str(vevent.get("UID")), expected.uid),
        "SEQUENCE": (int(vevent.get("SEQUENCE", -1)), expected.sequence),
        "DTSTART": (vevent.decoded("DTSTART"), expected.start),
        "DTEND": (vevent.decoded("DTEND"), expected.end),
        "ORGANIZER": (str(vevent.get("ORGANIZER")).lower(), f"mailto:{expected.organizer}".lower()),
        "ATTENDEE": (str(vevent.get("ATTENDEE")).lower(), f"mailto:{recipient}".lower()),
    }
    for name, (got, want) in checks.items():
        if got != want:
            return f"{name} {got!r}, expected {want!r}"
    return ""


@dataclass
class Delivery:
    received: int
    distinct: int
    lost: int
    duplicated: int
    unexpected: int
    malformed: Counter
    connections: int
    mean_bytes: float
    check_seconds: float


def check_delivery(phase: Phase, fixture: Fixture, expected: Expected) -> Delivery:
    started = time.perf_counter()
    by_recipient = Counter(r.lower() for m in phase.messages for r in m.rcpt_tos)
    wanted = {e.lower() for e in fixture.emails}
    malformed: Counter = Counter()
    last = len(phase.messages) - 1
    for n, message in enumerate(phase.messages):
        deep = n % DEEP_CHECK_EVERY == 0 or n == last
        problem = check_message(message.content, message.rcpt_tos, expected, deep)
        if problem:
            malformed[problem] += 1
    delivery = Delivery(
        received=len(phase.messages),
        distinct=len(by_recipient),
        lost=len(wanted - set(by_recipient)),
        duplicated=sum(1 for r, n in by_recipient.items() if n > 1 and r in wanted),
        unexpected=len(set(by_recipient) - wanted),
        malformed=malformed,
        connections=len({m.peer for m in phase.messages}),
        mean_bytes=sum(len(m.content) for m in phase.messages) / max(len(phase.messages), 1),
        check_seconds=time.perf_counter() - started,
    )
    if delivery.lost:
        phase.problems.append(f"{delivery.lost} attendees got no message")
    if delivery.duplicated:
        phase.problems.append(f"{delivery.duplicated} attendees got more than one message")
    if delivery.unexpected:
        phase.problems.append(f"{delivery.unexpected} messages to addresses nobody is owed")
    if malformed:
        (first, n), *_ = malformed.most_common(1)
        phase.problems.append(f"{sum(malformed.values())} malformed messages, e.g. {n}x {first}")
    return delivery


def check_outbox(fixture: Fixture, expected: Expected) -> list[str]:
    """Every attendee owed exactly one update, sent at the first attempt; the calendar state
    moved with it (session and every registration at the new SEQUENCE)."""
    from django.db.models import Count, Q

    from events.models import Notification, Registration

    problems = []
    rows = Notification.objects.filter(session_id=fixture.session_pk)
    counts = outbox_counts(fixture.session_pk)
    total = sum(counts.values())
    if total != len(fixture.emails):
        problems.append(f"{total} outbox rows for {len(fixture.emails)} attendees")
    if counts.get(Notification.Status.SENT, 0) != total:
        failed = rows.exclude(status=Notification.Status.SENT)
        reasons = Counter(failed.values_list("status", "last_error"))
        problems.append(f"rows not sent: {dict(reasons.most_common(3))}")
    stats = rows.aggregate(
        retried=Count("pk", filter=Q(attempts__gt=1)),
        kinds=Count("kind", distinct=True),
        people=Count("recipient", distinct=True),
    )
    if stats["retried"]:
        problems.append(f"{stats['retried']} rows needed more than one attempt")
    if stats["people"] != len(fixture.emails):
        problems.append(f"rows for {stats['people']} distinct people")
    behind = Registration.objects.filter(session_id=fixture.session_pk).exclude(
        calendar_sequence=expected.sequence
    )
    if behind.exists():
        problems.append(f"{behind.count()} registrations not at SEQUENCE {expected.sequence}")
    return problems


# --- the run -------------------------------------------------------------------------------


OWN = ("worker", "bench", "sink")  # the bench's processes
SHARED = ("postgres", "redis")  # servers others use too: their figures include that use


def describe_cpu(phase: Phase) -> str:
    n = max(len(phase.messages), 1)
    per_message = ", ".join(f"{r} {1000 * phase.cpu[r] / n:.2f}" for r in OWN if r in phase.cpu)
    ours = sum(phase.cpu.get(r, 0.0) for r in OWN)
    shared = {r: phase.cpu[r] / phase.seconds for r in SHARED if r in phase.cpu}
    others = max(phase.cpu.get("machine", 0.0) - ours - sum(phase.cpu[r] for r in shared), 0.0)
    servers = ", ".join(f"{r} {cores:.2f}" for r, cores in shared.items())
    return (
        f"  cpu ms per message: {per_message}; cores busy: bench's processes"
        f" {ours / phase.seconds:.2f}, {servers} (whole servers, shared with others),"
        f" everything else {others / phase.seconds:.2f} (of {os.cpu_count()})"
    )


def own_cpu(phase: Phase) -> float:
    """CPU seconds of the bench's own processes (not the shared PostgreSQL and Redis)."""
    return sum(phase.cpu.get(r, 0.0) for r in OWN)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="invite_fanout-") as tmp:
        log_path = Path(tmp) / "worker.log"
        sink = SinkProcess()
        worker = None
        created = False
        env: dict[str, str] = {}
        try:
            began = time.perf_counter()
            try:
                pg_version = common.recreate_database(
                    args.pg_host, args.pg_port, args.pg_user, DB_NAME
                )
            except psycopg.OperationalError as error:
                raise SetupError(f"PostgreSQL at {args.pg_host}:{args.pg_port}: {error}") from error
            created = True
            sink.start()
            env = bench_environment(args, sink.port)
            os.environ.update(env)
            os.environ.pop("REDIS_CACHE_URL", None)
            import django

            django.setup()
            from django.conf import settings
            from django.core.management import call_command
            from django.db import connections

            if settings.CELERY_TASK_DEFAULT_QUEUE != QUEUE or sink.port != settings.EMAIL_PORT:
                raise SetupError(f"{args.settings} must keep the queue {QUEUE} and EMAIL_URL")

            # Whatever an earlier, interrupted run left in the bench's own queue goes first.
            common.clean_redis(args.redis_url, QUEUE, CACHE_PREFIX, unacked=True)
            call_command("migrate", interactive=False, verbosity=0)
            migrated = time.perf_counter()
            fixture = create_fixture(args.attendees)
            connections.close_all()
            populated = time.perf_counter()

            command = worker_command(args)
            # Celery logs through Django's LOGGING (config/celery.py), whose level is LOG_LEVEL:
            # the worker's "ready." line, which wait_until_ready reads, is INFO.
            worker = start_worker(command, {**env, "LOG_LEVEL": args.loglevel.upper()}, log_path)
            wait_until_ready(worker, log_path)
            ready = time.perf_counter()

            print(
                f"invite_fanout: {args.attendees} confirmed attendees, one session moved by"
                f" {MOVE_BY}; PostgreSQL {pg_version}, Redis broker {args.redis_url},"
                f" SMTP sink 127.0.0.1:{sink.port} (aiosmtpd, own process)"
            )
            print(describe_worker(args))
            print(
                f"setup: database + migrations {migrated - began:.1f} s,"
                f" {args.attendees} users + registrations {populated - migrated:.1f} s,"
                f" worker ready {ready - populated:.1f} s"
            )
            sys.stdout.flush()

            cpu = CpuMeter(args, sink.pid, worker.pid)
            memory = MemoryWatch(worker.pid)
            pg = (args.pg_host, args.pg_port, args.pg_user, DB_NAME)
            sessions_before = common.sessions_opened(*pg)
            memory.start()
            try:
                phase_a = end_to_end(args, fixture, sink, worker, cpu)
            finally:
                memory.stop()
            expected = expected_invite(fixture.session_pk)
            phase_a.problems.extend(check_outbox(fixture, expected))
            delivery_a = check_delivery(phase_a, fixture, expected)
            sessions_after = common.sessions_opened(*pg)  # read late: the counters lag a little
            if sessions_before is not None and sessions_after is not None:
                phase_a.db_sessions = sessions_after - sessions_before

            phase_b = plain_loop(fixture, sink, CpuMeter(args, sink.pid, None))
            delivery_b = check_delivery(phase_b, fixture, expected)
            return report(
                args, expected, phase_a, delivery_a, memory, phase_b, delivery_b, log_path
            )
        finally:
            if worker is not None:
                stop_worker(worker)
            sink.stop()
            if created:
                try:
                    if "django" in sys.modules:
                        from django.db import connections

                        connections.close_all()
                    if env:
                        left = common.queued_tasks(args.redis_url, QUEUE, CACHE_PREFIX)
                        if left:
                            print(f"note: {left} tasks were left in the bench queue")
                        common.clean_redis(args.redis_url, QUEUE, CACHE_PREFIX, unacked=True)
                finally:
                    common.drop_database(args.pg_host, args.pg_port, args.pg_user, DB_NAME)


def report(
    args: argparse.Namespace,
    expected: Expected,
    phase_a: Phase,
    delivery_a: Delivery,
    memory: MemoryWatch,
    phase_b: Phase,
    delivery_b: Delivery,
    log_path: Path,
) -> int:
    marks = dict(phase_a.marks)
    arrivals = sorted(m.at - phase_a.start for m in phase_a.messages)
    if arrivals:
        marks.update({"first mail": arrivals[0], "last mail": arrivals[-1]})
    timeline = ", ".join(
        f"{name} {seconds:.2f}" for name, seconds in sorted(marks.items(), key=lambda i: i[1])
    )
    print(
        f"end to end: {delivery_a.received} messages in {phase_a.seconds:.2f} s ="
        f" {phase_a.rate:.0f} msg/s  (s from the call: {timeline})"
    )
    if len(arrivals) > 1 and arrivals[-1] > arrivals[0]:
        published = marks.get("published", 0.0)
        early = sum(1 for at in arrivals if at <= published)
        print(
            f"  the service's transaction: {marks.get('committed', 0.0):.2f} s for"
            f" {delivery_a.received} outbox rows; publishing on commit:"
            f" {published - marks.get('committed', 0.0):.2f} s ({early} mails delivered"
            f" meanwhile); first to last mail:"
            f" {(len(arrivals) - 1) / (arrivals[-1] - arrivals[0]):.0f} msg/s"
        )
    print(describe_cpu(phase_a))
    if phase_a.db_sessions is not None:
        print(
            f"  PostgreSQL connections opened to the bench database: {phase_a.db_sessions}"
            f" ({phase_a.db_sessions / max(delivery_a.received, 1):.2f} per message)"
        )
    print(
        f"  worker peak memory: {memory.peak_rss / 1024:.0f} MiB RSS"
        f" ({memory.peak_pss / 1024:.0f} MiB PSS, shared pages counted once), summed over"
        f" {len(memory.hwm)} processes; sum of their VmHWM {memory.hwm_sum / 1024:.0f} MiB"
    )
    print(
        f"plain loop: {delivery_b.received} messages in {phase_b.seconds:.2f} s ="
        f" {phase_b.rate:.0f} msg/s  (one process, outbox rendering.build, one SMTP connection)"
    )
    print(describe_cpu(phase_b))
    for name, d in (("end to end", delivery_a), ("plain loop", delivery_b)):
        print(
            f"delivery ({name}): {d.received} received, {d.distinct} distinct recipients,"
            f" {d.lost} lost, {d.duplicated} duplicated, {d.unexpected} unexpected,"
            f" {sum(d.malformed.values())} malformed (each checked: MIME tree, text/calendar"
            f" method=REQUEST = invite.ics, METHOD, UID, SEQUENCE {expected.sequence}, times,"
            f" ATTENDEE, ORGANIZER; 1 in {DEEP_CHECK_EVERY} parsed with icalendar;"
            f" {d.check_seconds:.1f} s); {d.connections} SMTP connection(s),"
            f" {d.mean_bytes / 1024:.1f} KiB per message"
        )
    ratio = phase_a.rate / phase_b.rate if phase_b.rate else 0.0
    verdict = "ok" if ratio >= args.target else "BELOW TARGET"
    # On a machine others share, the rates move with their load; the ratio of CPU spent per
    # message by the bench's own processes (worker, this process, sink) is steadier.
    cpu_ratio = ""
    spent = [own_cpu(p) / max(len(p.messages), 1) for p in (phase_a, phase_b)]
    if all(spent):
        cpu_ratio = (
            f"; by CPU per message of worker + bench + sink {spent[1] / spent[0]:.2f}"
            " (PostgreSQL and Redis, shared, left out)"
        )
    print(
        f"ratio: {ratio:.2f} (end to end / plain loop; target >= {args.target})"
        f" {verdict}{cpu_ratio}"
    )

    problems = [f"end to end: {p}" for p in phase_a.problems]
    problems += [f"plain loop: {p}" for p in phase_b.problems]
    if problems:
        return common.report_failures(problems, log_path, "worker")
    if ratio < args.target and args.fail_below_target:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with common.exclusive_run(args.pg_host, args.pg_port, args.pg_user, DB_NAME):
            return run(args)
    except SetupError as error:
        print(f"invite_fanout: set-up failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
