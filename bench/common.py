"""Set-up helpers shared by the benchmarks: a throwaway PostgreSQL database of their own, free
loopback ports, /proc readings (CPU, memory) of the processes they start, and the removal of
their Celery queue and cache keys from the machine's shared Redis.

Nothing here imports Django at import time: the benchmarks configure it (by environment
variables, as in production) only after their database exists (`migrated_database`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


class SetupError(Exception):
    """The bench could not set itself up (database, server, worker): not a result."""


# --- PostgreSQL: a database of the bench's own, dropped and created again ---------------------


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The PostgreSQL and Redis every bench runs against (flags, or BENCH_* variables)."""
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("BENCH_PG_PORT", 5432)))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )


def maintenance_connection(host: str, port: int, user: str) -> psycopg.Connection:
    return psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True)


def recreate_database(host: str, port: int, user: str, name: str) -> str:
    """Drop and create the database `name`; return the server's version."""
    with maintenance_connection(host, port, user) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]


def drop_database(host: str, port: int, user: str, name: str) -> None:
    with maintenance_connection(host, port, user) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def exclusive_run(host: str, port: int, user: str, name: str):
    """Held for a whole run: a session-level advisory lock named after the bench database, so
    two runs of the same bench (two engineers on one machine) cannot drop each other's
    database or share a queue. Released when the run ends, or its process dies."""
    try:
        conn = maintenance_connection(host, port, user)
    except psycopg.OperationalError as error:
        raise SetupError(f"PostgreSQL at {host}:{port}: {error}") from error
    with conn:
        key = f"bench:{name}"
        if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key]).fetchone()[0]:
            raise SetupError(f"another run is using the database {name}; try again when it ends")
        yield


@dataclass
class Migrated:
    """What `migrated_database` set up: PostgreSQL's version, when (perf_counter) the run
    began and the migrations ended, the environment the run's processes get (production
    settings on the bench database, and the bench's own entries) and its temporary folder."""

    pg_version: str
    began: float
    migrated: float
    env: dict[str, str] = field(default_factory=dict)
    tmp: Path = Path()


@contextlib.contextmanager
def migrated_database(
    args,
    *,
    name: str,
    settings_module: str,
    prefix: str,
    env: Callable[[Path], dict[str, str]] | None = None,
    collect_static: bool = False,
    clean: Callable[[], object] | None = None,
):
    """A benchmark's database: a fresh PostgreSQL database `name`, held for this run alone,
    Django set up on it in this process (production settings, `settings_module`, plus what
    `env(temporary folder)` adds: the environment gunicorn and workers started by the run
    get too) and migrated, static files collected if asked (production serves hashed names
    from a manifest). `clean` removes what the bench keeps in the shared Redis: run once
    Django is set up (what an interrupted run left) and at the end. The database is dropped
    at the end whatever happens."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tmp_path = Path(tmp)
        run_env = production_environment(
            settings_module=settings_module,
            database_url=f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name}",
            redis_url=args.redis_url,
            static_root=tmp_path / "static",
        )
        if env is not None:
            run_env.update(env(tmp_path))
        created = set_up = False
        # The drop is done under the run's lock: dropped after the lock went, the database
        # could already be the fresh one of a second run that started in between.
        with exclusive_run(args.pg_host, args.pg_port, args.pg_user, name):
            try:
                began = time.perf_counter()
                try:
                    pg_version = recreate_database(args.pg_host, args.pg_port, args.pg_user, name)
                except psycopg.OperationalError as error:
                    raise SetupError(f"PostgreSQL: {error}") from error
                created = True
                os.environ.update(run_env)
                import django

                django.setup()
                set_up = True
                if clean is not None:
                    clean()
                from django.core.management import call_command

                call_command("migrate", interactive=False, verbosity=0)
                if collect_static:
                    call_command("collectstatic", interactive=False, verbosity=0)
                yield Migrated(pg_version, began, time.perf_counter(), run_env, tmp_path)
            finally:
                if created:
                    try:
                        if "django" in sys.modules:
                            from django.db import connections

                            connections.close_all()
                        if set_up and clean is not None:
                            clean()
                    finally:
                        drop_database(args.pg_host, args.pg_port, args.pg_user, name)


@dataclass
class FullSession:
    """What `full_session` made: the organizer, the session and its attendees' addresses."""

    organizer_pk: int
    session_pk: int
    emails: set[str]


def full_session(attendees: int, *, tag: str, title: str) -> FullSession:
    """A published open event whose one session is full with `attendees` confirmed, verified
    people, each already sent the first invite (calendar_sequence 0): what moving a session
    fans out to (bench.invite_fanout, bench.scale_out). `tag` keeps apart the addresses and
    team slugs of the several a run may make. Django must be set up (`migrated_database`)."""
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from events.models import Event, Registration, Session
    from events.services import teams

    now = timezone.now()
    with transaction.atomic():
        organizer = User.objects.create(
            email=f"organizer.{tag}@bench.example.com", display_name="Organizer"
        )
        users = User.objects.bulk_create(
            (
                User(
                    email=f"attendee{n}.{tag}@bench.example.com",
                    display_name=f"Attendee {n}",
                    password="!",
                )
                for n in range(attendees)
            ),
            batch_size=1000,
        )
        EmailAddress.objects.bulk_create(
            (
                EmailAddress(user=user, email=user.email, primary=True, verified=True)
                for user in [organizer, *users]
            ),
            batch_size=1000,
        )
        team = teams.create_team(actor=organizer, name="Bench", slug=f"bench-{tag}")
        event = Event.objects.create(
            team=team,
            title=title,
            description="A benchmark event.",
            status=Event.Status.PUBLISHED,
            registration_mode=Event.Mode.OPEN,
        )
        starts_at = (now + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
        session = Session.objects.create(
            event=event,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            capacity=attendees,
            seats_taken=attendees,
            location="Room 1, Bench HQ",
        )
        Registration.objects.bulk_create(
            (
                Registration(
                    session=session,
                    user=user,
                    status=Registration.Status.CONFIRMED,
                    confirmed_at=now,
                    calendar_sequence=0,
                )
                for user in users
            ),
            batch_size=1000,
        )
    return FullSession(organizer.pk, session.pk, {user.email for user in users})


def backend_pids(host: str, port: int, user: str, name: str) -> list[int]:
    """The PostgreSQL server processes serving connections to the database `name`."""
    with maintenance_connection(host, port, user) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        return [row[0] for row in rows.fetchall()]


def postmaster_pid(host: str, port: int, user: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine where /proc shows it
    (the parent of the backend serving a connection); else None."""
    with maintenance_connection(host, port, user) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:  # while the connection, and so its backend, is still there
            status = Path(f"/proc/{backend}/status").read_text()
            parent = int(status.split("\nPPid:\t", 1)[1].split("\n", 1)[0])
            comm = Path(f"/proc/{parent}/comm").read_text()
        except (OSError, IndexError, ValueError):
            return None
    return parent if "postgres" in comm else None


def sessions_opened(host: str, port: int, user: str, name: str) -> int | None:
    """Connections ever established to the database (pg_stat_database.sessions, PostgreSQL
    14+); None on older servers."""
    with maintenance_connection(host, port, user) as conn:
        try:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
            ).fetchone()
        except psycopg.Error:
            return None
    return int(row[0]) if row else None


# --- loopback ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- /proc (Linux): CPU and memory of the processes a bench starts ---------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_with_reaped(pid: int) -> float:
    """A process's CPU seconds plus those of its children that have exited and been waited
    for (a PostgreSQL postmaster reaps every backend that ends: a short-lived connection's
    backend is counted here once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in status:
            pids.append(int(entry.name))
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal),
    from /proc/stat's first line: to tell when something else competes for the cores."""
    totals = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(totals[i] for i in (0, 1, 2, 5, 6, 7) if i < len(totals))
    return busy / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now), VmHWM (the kernel's record of the peak resident size) and, when
    the kernel has smaps_rollup, Pss (resident, with pages shared with other processes, e.g. a
    prefork parent and its children, counted once in total), in KiB; {} once the process is
    gone."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
        rollup = Path(f"/proc/{pid}/smaps_rollup")
        if rollup.exists():
            for line in rollup.read_text().splitlines():
                if line.startswith("Pss:"):
                    values["Pss"] = int(line.split()[1])
                    break
    except (OSError, ValueError, IndexError):
        return {}
    return values


# --- Redis: a bench's own Celery queue and cache keys ---------------------------------------


def bench_redis_keys(redis_url: str, queue: str, key_prefix: str) -> tuple[object, list[bytes]]:
    import redis

    client = redis.Redis.from_url(redis_url)
    patterns = [
        f"{queue}*",  # the queue (and its priority lists)
        f"_kombu.binding*{queue}*",  # kombu's bindings of the queue
        f"{key_prefix}:*",
    ]
    return client, [key for pattern in patterns for key in client.scan_iter(match=pattern)]


def queued_tasks(redis_url: str, queue: str, key_prefix: str) -> int:
    """Celery messages waiting in the bench's queue."""
    client, keys = bench_redis_keys(redis_url, queue, key_prefix)
    return sum(client.llen(key) for key in keys if client.type(key) == b"list")


def clean_redis(
    redis_url: str, queue: str, key_prefix: str, *, unacked: bool = False
) -> dict[str, int]:
    """Delete the bench's queue and cache keys; leave every other key of the shared Redis alone.
    With `unacked`, also the bench's entries of kombu's shared `unacked` hash (messages a worker
    took with acks_late and never acknowledged, e.g. when it was killed). Returns what went."""
    client, keys = bench_redis_keys(redis_url, queue, key_prefix)
    removed = {"keys": len(keys), "bindings": 0, "unacked": 0}
    if keys:
        client.delete(*keys)
    # kombu keeps binding deadlines of every queue in one shared sorted set: only ours go.
    deadlines = "_kombu.binding_deadlines"
    if client.type(deadlines) == b"zset":
        ours = [m for m in client.zrange(deadlines, 0, -1) if queue.encode() in m]
        if ours:
            removed["bindings"] = client.zrem(deadlines, *ours)
    if unacked and client.type("unacked") == b"hash":
        tags = []
        for tag, value in client.hscan_iter("unacked"):
            try:
                _message, _exchange, routing_key = json.loads(value)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                tags.append(tag)
        if tags:
            client.hdel("unacked", *tags)
            client.zrem("unacked_index", *tags)
            removed["unacked"] = len(tags)
    return removed


def spawn_logged(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start a server or worker process whose output goes to `log_path`."""
    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        log.close()  # the child has its own copy


def report_failures(problems: list[str], log_path: Path, what: str) -> int:
    """Print what went wrong and the end of the server's or worker's log; the exit status."""
    for problem in problems:
        print(f"FAIL: {problem}")
    tail = log_path.read_text(errors="replace").splitlines()[-30:]
    if tail:
        print(f"{what} log (last lines):")
        print("\n".join(f"  {line}" for line in tail))
    return 1


# --- the web server under test: production settings, gunicorn -------------------------------


def production_environment(
    *, settings_module: str, database_url: str, redis_url: str, static_root: Path
) -> dict[str, str]:
    """Production settings, configured as in production: by environment variables only."""
    import secrets

    env = dict(os.environ)
    env.pop("REDIS_CACHE_URL", None)  # the cache must be the shared Redis below
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        SECRET_KEY=secrets.token_urlsafe(48),
        CONTACT_SUPPRESSION_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        STATIC_ROOT=str(static_root),
        EMAIL_URL="consolemail://",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_gunicorn(
    env: dict[str, str], port: int, log_path: Path, *, workers: int, options: list[str]
) -> subprocess.Popen:
    import sys

    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *options,
        "--log-level",
        "warning",
    ]
    return spawn_logged(command, env, log_path)


def wait_for_gunicorn(
    server: subprocess.Popen, base_url: str, *, workers: int = 0, timeout: float = 60.0
) -> None:
    """Until /healthz answers 200 (and, with `workers`, that many workers have started)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"gunicorn exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200 and len(children_of(server.pid)) >= workers:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SetupError(f"gunicorn not ready after {timeout:.0f} s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # SIGTERM: gunicorn stops its workers and exits
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def p95(seconds: list[float]) -> float:
    """The 95th percentile of a run's timings (nearest rank): what the benchmarks print beside
    the median."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- this process's memory ----------------------------------------------------------------


def reset_peak_rss() -> None:
    """Start the kernel's high-water mark of this process afresh (a seeding's lists would
    otherwise hold it); where /proc does not allow it, growth reads as 0."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MiB."""
    import resource

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- seeding an open call ------------------------------------------------------------------


def copy_confirmed_submissions(
    raw, *, call_id: int, questionnaire_id: int, people: range, role_of, now
) -> dict[int, int]:
    """COPY, for each person number in `people`, an empty response to the call's questionnaire
    and a confirmed, qualified submission with it (p<n>@bench.example.com, agreed to be
    contacted). Returns each person's response id, for the caller's COPY of their answers.
    `raw` is a psycopg cursor; `role_of(n)` the person's role."""
    raw.execute("SELECT coalesce(max(id), 0) FROM events_response")
    (last,) = raw.fetchone()
    with raw.copy(
        "COPY events_response (questionnaire_id, respondent, created_at, updated_at) FROM STDIN"
    ) as copy:
        for i in people:
            copy.write_row((questionnaire_id, f"bench{i}", now, now))
    raw.execute(
        "SELECT respondent, id FROM events_response WHERE questionnaire_id = %s AND id > %s",
        [questionnaire_id, last],
    )
    response_of = {int(r[5:]): pk for r, pk in raw.fetchall()}
    with raw.copy(
        "COPY events_submission (call_id, email, name, role, affiliation, github_handle,"
        " location, join_feedback, join_demo, consent, response_id, nonce, submitted_at,"
        " confirmed_at, created_at, screening, screening_reason, screened_version)"
        " FROM STDIN"
    ) as copy:
        for i in people:
            copy.write_row(
                (
                    call_id,
                    f"p{i}@bench.example.com",
                    f"Person {i}",
                    role_of(i),
                    "",
                    "",
                    "",
                    True,
                    False,
                    True,
                    response_of[i],
                    secrets.token_urlsafe(9),
                    now,
                    now,
                    now,
                    "qualified",
                    "",
                    0,
                )
            )
    return response_of
