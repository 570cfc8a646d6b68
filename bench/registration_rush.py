"""registration_rush: many people sign up for one session at once, against a real server.

    .venv/bin/python -m bench.registration_rush [--clients 200] [--seats 100] [--attempts 1000]
                                               [--rounds 3]

What it does, in one run and one process:

1. recreates a dedicated PostgreSQL database (feedback_bench), migrates it, and bulk-creates
   one verified user per attempt, an organizer, a published open event and a session with
   `--seats` seats; each user gets a Django session (logged in, no login requests) and a CSRF
   secret, sent as cookies (plus the X-CSRFToken header);
2. starts gunicorn on a free loopback port with bench.settings (production settings, the
   app's URLs plus a baseline view), the cache on Redis so that every worker shares it;
3. warms the server up, then runs `--rounds` rounds, each of two phases with the same number
   of requests and the same concurrency: the baseline (a logged-in POST that does one INSERT)
   and the rush (every user of that round POSTs /sessions/<pk>/register/ once, for the round's
   own session). A phase lasts a few seconds, so one pair moves with whatever else the
   machine does in those seconds; the median of the rounds' ratios is the figure;
4. checks each round's outcome in the database and in the HTTP answers (exactly `--seats`
   confirmed, the rest waitlisted, no errors), prints the figures and the ratio of the two
   throughputs, stops the server and drops the database.

Exit status: 0 when the counts are right, 1 when they are not (overbooked, lost or failed
requests), 2 when the set-up failed; with --fail-below-target, 3 when the counts are right
but the ratio is below the target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
import psycopg

from bench import common
from bench.common import SetupError, children_of, cpu_seconds, free_port

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "feedback_bench"
TARGET_RATIO = 0.5
WARM_UP_PEOPLE = 400  # each POSTs the baseline and signs up once before anything is timed
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- options and environment -------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.registration_rush",
        description="Concurrent sign-ups for one session against gunicorn on PostgreSQL.",
    )
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients")
    parser.add_argument("--seats", type=int, default=100, help="capacity of the session")
    parser.add_argument("--attempts", type=int, default=1000, help="sign-ups, one user each")
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline + rush pairs; the median ratio counts"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    common.add_server_arguments(parser)
    parser.add_argument("--target", type=float, default=TARGET_RATIO, help="ratio to reach")
    parser.add_argument(
        "--fail-below-target", action="store_true", help="exit 3 when the ratio misses the target"
    )
    args = parser.parse_args(argv)
    if args.worker_class == "sync":
        args.threads = 1
    if min(args.clients, args.attempts, args.workers, args.threads, args.rounds) < 1:
        parser.error("--clients, --attempts, --rounds, --workers and --threads must be positive")
    if args.seats < 0:
        parser.error("--seats must not be negative")
    if args.seats > args.attempts:
        parser.error("--seats must not exceed --attempts (the rush is about a full session)")
    return args


def worker_description(args: argparse.Namespace) -> str:
    if args.worker_class == "sync":
        return f"gunicorn {args.workers} sync workers"
    return f"gunicorn {args.workers} gthread workers x {args.threads} threads"


# --- database ------------------------------------------------------------------------------


def maintenance_connection(args: argparse.Namespace) -> psycopg.Connection:
    return common.maintenance_connection(args.pg_host, args.pg_port, args.pg_user)


def recreate_database(args: argparse.Namespace) -> str:
    """Drop and create the bench database; return the server's version."""
    return common.recreate_database(args.pg_host, args.pg_port, args.pg_user, DB_NAME)


def drop_database(args: argparse.Namespace) -> None:
    common.drop_database(args.pg_host, args.pg_port, args.pg_user, DB_NAME)


# --- Redis: the bench's own queue and cache keys (see bench/settings.py) --------------------


def redis_names() -> tuple[str, str]:
    from django.conf import settings

    return settings.BENCH_QUEUE, settings.CACHES["default"]["KEY_PREFIX"]


def queued_tasks(args: argparse.Namespace) -> int:
    """Celery messages waiting in the bench's queue (one per notification owed)."""
    return common.queued_tasks(args.redis_url, *redis_names())


def clean_redis(args: argparse.Namespace) -> None:
    common.clean_redis(args.redis_url, *redis_names())


# --- fixtures (Django, in this process, before and after the load; never inside the loop) ---


@dataclass(frozen=True)
class Person:
    user_pk: int
    session_key: str
    csrf_secret: str


@dataclass
class Fixture:
    event_pk: int
    session_pk: int
    people: list[Person]


def migrate_and_collect_static() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # Production serves hashed static names from a manifest: without it, pages (the refusal
    # page included) would fail to render.
    call_command("collectstatic", interactive=False, verbosity=0)


def create_fixture(
    args: argparse.Namespace, round_number: int | str = 0, *, people: int = 0, seats: int = 0
) -> Fixture:
    """For one round: an organizer, a published open event, a session of `seats` seats, and
    one verified, logged-in user per attempt (or `people`, `seats`: for the warm-up), all
    with bulk inserts."""
    people_count, seats = people or args.attempts, seats or args.seats
    from importlib import import_module

    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.middleware.csrf import CSRF_ALLOWED_CHARS
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from events.models import Event, Session
    from events.services import teams

    password = make_password("correct-horse-battery-staple")  # hashed once, shared by all
    with transaction.atomic():
        organizer = User.objects.create(
            email=f"organizer{round_number}@bench.example.com",
            display_name="Organizer",
        )
        users = User.objects.bulk_create(
            User(
                email=f"person{n}.round{round_number}@bench.example.com",
                display_name=f"Person {n}",
                password=password,
            )
            for n in range(people_count)
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, primary=True, verified=True)
            for user in [organizer, *users]
        )
        team = teams.create_team(actor=organizer, name="Bench", slug=f"bench-rush-{round_number}")
        event = Event.objects.create(
            team=team,
            title="Registration rush",
            description="A benchmark event.",
            status=Event.Status.PUBLISHED,
            registration_mode=Event.Mode.OPEN,
        )
        starts_at = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
        session = Session.objects.create(
            event=event,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            capacity=seats,
            location="Room 1, Bench HQ",
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_ping (id bigserial PRIMARY KEY,"
                " user_id bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )

        # Logged in as login() would leave it: the auth keys in a session of the configured
        # engine. With the database engine, the rows are inserted in bulk.
        engine = import_module(settings.SESSION_ENGINE)
        store_class = engine.SessionStore
        people: list[Person] = []
        rows = []
        expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        for user in users:
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: MODEL_BACKEND,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            csrf = get_random_string(32, CSRF_ALLOWED_CHARS)
            if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
                store = store_class()
                key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
                model = store_class.get_model_class()
                rows.append(
                    model(session_key=key, session_data=store.encode(data), expire_date=expire)
                )
            else:
                store = store_class()
                store.update(data)
                store.create()
                key = store.session_key
            people.append(Person(user.pk, key, csrf))
        if rows:
            store_class.get_model_class().objects.bulk_create(rows)
    return Fixture(event_pk=event.pk, session_pk=session.pk, people=people)


@dataclass
class DatabaseOutcome:
    by_status: Counter
    seats_taken: int
    capacity: int
    changes: int
    outbox: int
    pings: int


def read_outcome(fixture: Fixture) -> DatabaseOutcome:
    from django.db import connection
    from django.db.models import Count

    from events.models import Notification, Registration, RegistrationChange, Session

    session = Session.objects.get(pk=fixture.session_pk)
    by_status = Counter(
        dict(
            Registration.objects.filter(session=session)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM bench_ping WHERE user_id = ANY(%s)",
            [[person.user_pk for person in fixture.people]],
        )
        pings = cursor.fetchone()[0]
    return DatabaseOutcome(
        by_status=by_status,
        seats_taken=session.seats_taken,
        capacity=session.capacity,
        changes=RegistrationChange.objects.filter(registration__session=session).count(),
        outbox=Notification.objects.filter(session=session).count(),
        pings=pings,
    )


def classify_messages(cookies: list[str | None]) -> Counter:
    """What each successful sign-up was told, read back from its signed messages cookie."""
    from django.contrib.messages.storage.cookie import CookieStorage

    from events.views.public import SIGNED_UP

    text_to_status = {text: status.value for status, text in SIGNED_UP.items()}
    storage = CookieStorage(None)
    counts: Counter = Counter()
    for cookie in cookies:
        messages = storage._decode(cookie) if cookie else None
        texts = [str(m.message) for m in messages or []]
        statuses = {text_to_status[t] for t in texts if t in text_to_status}
        counts[statuses.pop() if len(statuses) == 1 else "unknown"] += 1
    return counts


# --- the server ----------------------------------------------------------------------------


# --- where the CPU goes (Linux /proc; on a 2-core machine the CPU is what runs out) -----


def cpu_snapshot(args: argparse.Namespace, server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds so far of the server (gunicorn master and workers), of the PostgreSQL
    backends serving the bench database, and of this process (the load client)."""
    if not Path("/proc/self/stat").exists():
        return {}
    try:
        with maintenance_connection(args) as conn:
            backends = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
                ).fetchall()
            ]
    except psycopg.Error:
        return {}
    client = os.times()
    return {
        "server": sum(cpu_seconds(pid) for pid in [server.pid, *children_of(server.pid)]),
        "postgres": sum(cpu_seconds(pid) for pid in backends),
        "client": client.user + client.system,
        "machine": common.machine_busy_seconds(),
    }


def settle(args: argparse.Namespace) -> None:
    """Every phase starts from the same state of the database: what the last phase wrote is
    vacuumed and analysed, and flushed by a checkpoint, so that neither autovacuum nor a
    checkpoint lands in the middle of the next phase (a phase lasts two to five seconds,
    and either took a tenth of its CPU in some runs)."""
    with psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=DB_NAME, autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def measured(args: argparse.Namespace, server: subprocess.Popen, phase_coroutine) -> Phase:
    settle(args)
    before = cpu_snapshot(args, server)
    phase = asyncio.run(phase_coroutine)
    after = cpu_snapshot(args, server)
    phase.cpu = {name: after[name] - before[name] for name in before if name in after}
    return phase


# --- the load ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int | str  # an HTTP status, or the name of the exception raised instead
    seconds: float
    location: str = ""
    set_cookies: tuple[str, ...] = ()  # raw Set-Cookie headers, parsed after the phase

    @property
    def messages_cookie(self) -> str | None:
        from http.cookies import SimpleCookie

        jar = SimpleCookie()
        for header in self.set_cookies:
            jar.load(header)
        return jar["messages"].value if "messages" in jar else None


@dataclass
class Phase:
    name: str
    wall: float
    replies: list[Reply] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent, by whom

    @property
    def rps(self) -> float:
        return len(self.replies) / self.wall if self.wall else 0.0

    def latency_ms(self, quantile: float) -> float:
        times = sorted(r.seconds for r in self.replies)
        return 1000 * times[min(len(times) - 1, int(quantile * len(times)))]


def person_headers(person: Person) -> dict[str, str]:
    return {
        "Cookie": f"sessionid={person.session_key}; csrftoken={person.csrf_secret}",
        "X-CSRFToken": person.csrf_secret,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def client_session(base_url: str, clients: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=base_url,
        connector=aiohttp.TCPConnector(limit=clients),
        # Every request carries its own person's cookies; none are kept between requests.
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def post_all(
    base_url: str, name: str, path: str, people: list[Person], clients: int
) -> Phase:
    """Each person POSTs `path` once, at most `clients` at a time; wall time for all."""
    gate = asyncio.Semaphore(clients)
    async with client_session(base_url, clients) as http:

        async def one(person: Person) -> Reply:
            async with gate:
                start = time.perf_counter()
                try:
                    async with http.post(
                        path, data=b"", headers=person_headers(person), allow_redirects=False
                    ) as response:
                        await response.read()
                        # Kept raw: parsing cookies is the load client's own work, and it
                        # would use the cores the server is measured on (see Reply).
                        return Reply(
                            response.status,
                            time.perf_counter() - start,
                            response.headers.get("Location", ""),
                            tuple(response.headers.getall("Set-Cookie", ())),
                        )
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    return Reply(type(error).__name__, time.perf_counter() - start)

        start = time.perf_counter()
        replies = await asyncio.gather(*(one(person) for person in people))
        wall = time.perf_counter() - start
    return Phase(name, wall, list(replies))


async def warm_up(base_url: str, fixture: Fixture, args: argparse.Namespace) -> Counter:
    """Every worker (thread) answers requests of each kind before anything is timed: imports,
    URL resolution, templates, database and Redis connections, statements compiled and
    prepared, caches filled. Its own event, session and people (`fixture`), so the rounds'
    counts are untouched. Without it the first round's baseline ran on cold workers, which
    flattered the first round's ratio."""
    slots = args.workers * args.threads
    rounds = max(3 * slots, 12)
    people = fixture.people[:rounds]
    statuses: Counter = Counter()
    async with client_session(base_url, min(args.clients, slots)) as http:

        async def get(path: str, person: Person | None) -> None:
            headers = person_headers(person) if person else {}
            try:
                async with http.get(path, headers=headers, allow_redirects=False) as response:
                    await response.read()
                    statuses[response.status] += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                statuses[type(error).__name__] += 1

        await asyncio.gather(*(get("/healthz", None) for _ in range(rounds)))
        await asyncio.gather(
            *(get(f"/sessions/{fixture.session_pk}/register/", person) for person in people),
            *(get(f"/events/{fixture.event_pk}/", person) for person in people),
        )
    for path in ("/bench/insert/", f"/sessions/{fixture.session_pk}/register/"):
        phase = await post_all(base_url, "warm-up", path, fixture.people, args.clients)
        statuses.update(r.status for r in phase.replies)
    return statuses


# --- the run -------------------------------------------------------------------------------


def describe(phase: Phase, label: str) -> str:
    return (
        f"{label}: {len(phase.replies)} req in {phase.wall:.2f} s = {phase.rps:.0f} req/s"
        f"  (latency p50 {phase.latency_ms(0.5):.0f} ms, p95 {phase.latency_ms(0.95):.0f} ms,"
        f" max {phase.latency_ms(1.0):.0f} ms)"
    )


def describe_cpu(phase: Phase) -> str:
    if len(phase.cpu) < 4 or not phase.replies:
        return ""
    per_request = {k: 1000 * v / len(phase.replies) for k, v in phase.cpu.items()}
    bench = phase.cpu["server"] + phase.cpu["postgres"] + phase.cpu["client"]
    others = max(phase.cpu["machine"] - bench, 0.0)
    return (
        f"  cpu per request: server {per_request['server']:.1f} ms,"
        f" postgres {per_request['postgres']:.1f} ms, client {per_request['client']:.1f} ms;"
        f" cores busy: bench {bench / phase.wall:.2f}, everything else {others / phase.wall:.2f}"
        f" (of {os.cpu_count()})"
    )


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="registration_rush-") as tmp:
        tmp_path = Path(tmp)
        env = common.production_environment(
            settings_module="bench.settings",
            database_url=f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{DB_NAME}",
            redis_url=args.redis_url,
            static_root=tmp_path / "static",
        )
        log_path = tmp_path / "gunicorn.log"
        server = None
        created = False
        try:
            began = time.perf_counter()
            try:
                pg_version = recreate_database(args)
            except psycopg.OperationalError as error:
                raise SetupError(f"PostgreSQL at {args.pg_host}:{args.pg_port}: {error}") from error
            created = True
            os.environ.update(env)
            os.environ.pop("REDIS_CACHE_URL", None)
            import django

            django.setup()
            migrate_and_collect_static()
            migrated = time.perf_counter()
            fixtures = [create_fixture(args, n) for n in range(args.rounds)]
            warm_fixture = create_fixture(args, "warm", people=WARM_UP_PEOPLE, seats=10)
            from django.db import connections

            connections.close_all()
            populated = time.perf_counter()

            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            server = common.start_gunicorn(
                env,
                port,
                log_path,
                workers=args.workers,
                options=[
                    *("--worker-class", args.worker_class, "--threads", str(args.threads)),
                    *("--backlog", "2048", "--timeout", "60"),
                ],
            )
            common.wait_for_gunicorn(server, base_url)
            ready = time.perf_counter()

            print(
                f"registration_rush: {args.attempts} attempts, {args.clients} clients,"
                f" {args.seats} seats, {worker_description(args)}, PostgreSQL {pg_version},"
                f" {args.rounds} rounds"
            )
            print(
                f"setup: database + migrations {migrated - began:.1f} s,"
                f" {args.rounds} x {args.attempts} users + sessions"
                f" {populated - migrated:.1f} s, server ready {ready - populated:.1f} s"
            )
            sys.stdout.flush()

            warm = asyncio.run(warm_up(base_url, warm_fixture, args))
            rounds = []
            for fixture in fixtures:
                baseline = measured(
                    args,
                    server,
                    post_all(base_url, "baseline", "/bench/insert/", fixture.people, args.clients),
                )
                rush = measured(
                    args,
                    server,
                    post_all(
                        base_url,
                        "registration",
                        f"/sessions/{fixture.session_pk}/register/",
                        fixture.people,
                        args.clients,
                    ),
                )
                rounds.append((fixture, baseline, rush))
            return report(args, rounds, warm, log_path)
        finally:
            if server is not None:
                common.stop_gunicorn(server)
            if created:
                try:
                    if "django" in sys.modules:
                        from django.db import connections

                        connections.close_all()
                        clean_redis(args)
                finally:
                    drop_database(args)


def report(
    args: argparse.Namespace,
    rounds: list[tuple[Fixture, Phase, Phase]],
    warm: Counter,
    log_path: Path,
) -> int:
    problems: list[str] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    bad_warm = {s: n for s, n in warm.items() if s not in (200, 302)}
    if bad_warm:
        problems.append(f"warm-up requests failed: {bad_warm}")
    for number, (fixture, baseline, rush) in enumerate(rounds, start=1):
        print(f"round {number}:")
        ratio, cpu_ratio, found = check_round(args, fixture, baseline, rush)
        ratios.append(ratio)
        if cpu_ratio is not None:
            cpu_ratios.append(cpu_ratio)
        problems += [f"round {number}: {problem}" for problem in found]
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio >= args.target else "BELOW TARGET"
    each = ", ".join(f"{r:.2f}" for r in ratios)
    by_cpu = f"; by CPU per request {statistics.median(cpu_ratios):.2f}" if cpu_ratios else ""
    print(f"ratio: {ratio:.2f} median of {len(ratios)} rounds ({each}) (target >= {args.target})")
    print(f"  {verdict}{by_cpu}")
    if problems:
        return common.report_failures(problems, log_path, "gunicorn")
    if ratio < args.target and args.fail_below_target:
        return 3
    return 0


def check_round(
    args: argparse.Namespace, fixture: Fixture, baseline: Phase, rush: Phase
) -> tuple[float, float | None, list[str]]:
    """Print one round's figures; its ratio, its ratio by CPU per request, and what was wrong."""
    from events.models import Registration

    status = Registration.Status
    outcome = read_outcome(fixture)
    expected_location = f"/events/{fixture.event_pk}/"

    # HTTP: a sign-up (confirmed or waitlisted) answers with a redirect to the event page.
    def is_sign_up(reply: Reply) -> bool:
        return reply.status == 302 and reply.location.startswith(expected_location)

    signed_up = [r for r in rush.replies if is_sign_up(r)]
    failed = [r for r in rush.replies if not is_sign_up(r)]
    http_errors = len(failed)
    told = classify_messages([r.messages_cookie for r in signed_up])
    baseline_ok = sum(1 for r in baseline.replies if r.status == 200)

    confirmed = outcome.by_status.get(status.CONFIRMED, 0)
    waitlisted = outcome.by_status.get(status.WAITLISTED, 0)
    other = sum(outcome.by_status.values()) - confirmed - waitlisted
    errors = http_errors + other

    print(f"  confirmed {confirmed}  waitlisted {waitlisted}  errors {errors}")
    told_confirmed, told_waitlisted = told[status.CONFIRMED.value], told[status.WAITLISTED.value]
    print(
        f"  http: {len(signed_up)} x 302 to the event (told: {told_confirmed} confirmed,"
        f" {told_waitlisted} waitlisted), {http_errors} other"
        f"; database: seats_taken {outcome.seats_taken}/{outcome.capacity},"
        f" {outcome.changes} history rows, {outcome.outbox} outbox rows,"
        f" {queued_tasks(args)} tasks queued"
    )
    for phase, label in ((rush, "registration"), (baseline, "baseline (one INSERT)")):
        print("  " + describe(phase, label))
        if line := describe_cpu(phase):
            print("  " + line)
    ratio = rush.rps / baseline.rps if baseline.rps else 0.0
    # On a machine that others share, the throughput ratio moves with their load; the ratio of
    # CPU per request (server + postgres + client) is what it would be with the cores to itself.
    cpu_ratio = None
    if len(rush.cpu) == 4 and len(baseline.cpu) == 4:
        spent = [sum(p.cpu[k] for k in ("server", "postgres", "client")) for p in (rush, baseline)]
        if all(spent):
            cpu_ratio = spent[1] / spent[0]
    by_cpu = f"; by CPU per request {cpu_ratio:.2f}" if cpu_ratio is not None else ""
    print(f"  ratio: {ratio:.2f}{by_cpu}")

    problems = []
    if confirmed != args.seats or outcome.seats_taken != args.seats:
        problems.append(
            f"expected {args.seats} confirmed, got {confirmed} (seats_taken {outcome.seats_taken})"
        )
    if waitlisted != args.attempts - args.seats:
        problems.append(f"expected {args.attempts - args.seats} waitlisted, got {waitlisted}")
    if other:
        problems.append(f"unexpected statuses in the database: {dict(outcome.by_status)}")
    # Every sign-up owes its history row and its email, in the same transaction.
    if outcome.changes != args.attempts or outcome.outbox != args.attempts:
        problems.append(
            f"{outcome.changes} history rows and {outcome.outbox} outbox rows,"
            f" {args.attempts} of each expected"
        )
    if http_errors:
        seen = Counter(r.status if r.status != 302 else f"302 to {r.location}" for r in failed)
        problems.append(f"{http_errors} sign-ups failed over HTTP: {dict(seen)}")
    if told["unknown"] == 0 and told_confirmed != confirmed:
        problems.append(f"{told_confirmed} told confirmed, {confirmed} in the database")
    if baseline_ok != len(baseline.replies):
        seen = Counter(r.status for r in baseline.replies)
        problems.append(f"baseline requests failed: {dict(seen)}")
    if outcome.pings != baseline_ok:
        problems.append(
            f"bench_ping has {outcome.pings} rows of the round's, {baseline_ok} expected"
        )
    return ratio, cpu_ratio, problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"registration_rush: set-up failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
