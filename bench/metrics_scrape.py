"""metrics_scrape: a Prometheus scrape of /metrics over an outbox of 1,000,000 rows, on
gunicorn + PostgreSQL + Redis, against a trivial endpoint measured in the same run.

    .venv/bin/python -m bench.metrics_scrape [--rows 1000000] [--owed 20000] [--runs 40]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_metrics), migrates it, and writes with
   one INSERT ... SELECT `--rows` outbox rows spread over every kind, of which `--owed` are
   still owed (pending or being sent, the oldest a day old) and the rest sent, failed or
   skipped; `--registrations` registrations over 20 sessions in every state; the delivery's
   totals; `--queued` messages in the bench's Celery queue; then VACUUM ANALYZE, as
   autovacuum would have done;
2. counts the queries of one scrape (in this process, Django's test client);
3. starts gunicorn (`--workers` sync workers, PROMETHEUS_MULTIPROC_DIR set as in production)
   with METRICS_TOKEN set;
4. times, one request at a time and alternately, `--runs` scrapes of /metrics and as many
   requests of the baseline, /healthz/live (the same middleware, no query); prints medians,
   p95 and the ratio, and checks the scrape's figures against the database;
5. drops the partial index notification_owed_kind and times the scrape again, to show what
   it buys; stops the server and drops the database.

Exit status: 0 when the figures were right and the median scrape within `--target-ms`;
1 when a figure was wrong; 2 when the set-up failed; 3 when the figures were right but the
scrape was slower than the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

from bench import common
from bench.common import SetupError, free_port, p95

DB_NAME = "feedback_metrics"
SETTINGS_MODULE = "bench.settings_metrics"
QUEUE = "bench.metrics_scrape"  # bench/settings_metrics.py
CACHE_PREFIX = "bench.metrics_scrape"
TOKEN = "bench-metrics-token"
TARGET_MS = 200.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.metrics_scrape",
        description="A /metrics scrape over 1M outbox rows, against a trivial endpoint.",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="outbox rows in all")
    parser.add_argument("--owed", type=int, default=20_000, help="of them, still owed")
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=1_000, help="messages in the queue")
    parser.add_argument("--runs", type=int, default=40, help="timed requests of each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS, help="scrape, median")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the scrape's queries"
    )
    common.add_server_arguments(parser)
    args = parser.parse_args(argv)
    if min(args.rows, args.runs, args.workers) < 1 or not 0 <= args.owed <= args.rows:
        parser.error("--rows, --runs and --workers must be positive, --owed within --rows")
    return args


def connect(args: argparse.Namespace) -> psycopg.Connection:
    return psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=DB_NAME, autocommit=True
    )


# --- the data ------------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> dict[str, int]:
    """The rows, written by SQL (a million ORM objects would take minutes); what was written."""
    from events.models import Notification

    kinds = Notification.Kind.values
    done = ["sent"] * 18 + ["failed", "skipped"]  # of 20 finished rows
    with connect(args) as conn:
        # Rows 1..owed are owed (one in ten being sent), the oldest a day old; the rest are
        # finished, older still. Every kind in turn.
        conn.execute(
            """
            INSERT INTO events_notification
                (key, kind, email, payload, status, attempts, last_error, created_at,
                 lease_token, sent_at)
            SELECT 'bench:' || n,
                   (%(kinds)s::text[])[1 + n %% %(nkinds)s],
                   'person' || (n %% 100000) || '@bench.example.com',
                   '{}'::jsonb,
                   CASE WHEN n <= %(owed)s THEN
                            CASE WHEN n %% 10 = 0 THEN 'sending' ELSE 'pending' END
                        ELSE (%(done)s::text[])[1 + n %% 20] END,
                   1, '',
                   now() - make_interval(secs => n * 86400.0 / GREATEST(%(owed)s, 1)),
                   '',
                   CASE WHEN n > %(owed)s THEN now() END
            FROM generate_series(1, %(rows)s) AS n
            """,
            {
                "kinds": kinds,
                "nkinds": len(kinds),
                "owed": args.owed,
                "done": done,
                "rows": args.rows,
            },
        )
        conn.execute(
            "INSERT INTO events_deliverycount (outcome, shard, count) VALUES"
            " ('sent', 0, %s), ('failed', 0, %s), ('skipped', 0, %s), ('retried', 0, 1234)",
            [
                (args.rows - args.owed) * 18 // 20,
                (args.rows - args.owed) // 20,
                (args.rows - args.owed) // 20,
            ],
        )
    registrations = seed_registrations(args)
    with connect(args) as conn:
        conn.execute("VACUUM ANALYZE")
        owed = conn.execute(
            "SELECT count(*) FROM events_notification WHERE status IN ('pending', 'sending')"
        ).fetchone()[0]
    return {"owed": owed, "registrations": registrations}


def seed_registrations(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from events.models import Event, Registration, Session
    from events.services import teams

    sessions_count = 20
    people = max(1, args.registrations // sessions_count)
    organizer = User.objects.create(email="organizer@bench.example.com", password="!")
    team = teams.create_team(actor=organizer, name="Bench", slug="bench-metrics")
    event = Event.objects.create(
        team=team, title="Metrics", status=Event.Status.PUBLISHED, registration_mode="open"
    )
    starts = timezone.now() + timedelta(days=7)
    sessions = [
        Session.objects.create(
            event=event,
            starts_at=starts + timedelta(hours=n),
            ends_at=starts + timedelta(hours=n + 1),
            capacity=people,
            location="Room 1",
        )
        for n in range(sessions_count)
    ]
    users = User.objects.bulk_create(
        User(email=f"person{n}@bench.example.com", password="!", calendar_token=f"bench-{n}")
        for n in range(people)
    )
    states = Registration.Status.values
    total = 0
    for s, session in enumerate(sessions):
        rows = [
            Registration(
                session=session,
                user=user,
                status=states[(n + s) % len(states)],
                checkin_token=f"bench-{s}-{n}",
            )
            for n, user in enumerate(users)
        ]
        Registration.objects.bulk_create(rows, batch_size=5000)
        total += len(rows)
    return total


def fill_queue(args: argparse.Namespace) -> None:
    from config.celery import app

    with app.producer_or_acquire() as producer:
        for _ in range(args.queued):
            app.send_task("events.tasks.heartbeat", queue=QUEUE, producer=producer)


# --- the measurements ------------------------------------------------------------------------


def count_queries() -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = Client(HTTP_HOST="127.0.0.1").get(
            "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
    assert response.status_code == 200, response.status_code
    return len(queries)


def parts(runs: int = 15) -> dict[str, float]:
    """Each part of a scrape timed alone in this process (median, seconds): where the time
    goes."""
    from config import metrics
    from events.outbox import counts

    def outbox_only():
        # The owed rows' aggregate alone (outbox_metrics also reads the totals).
        from django.db.models import Count, Min

        from config.health import OWED
        from events.models import Notification

        return list(
            Notification.objects.filter(status__in=OWED)
            .values("kind")
            .annotate(n=Count("kind"), oldest=Min("created_at"))
            .order_by()
        )

    steps = {
        "owed rows per kind": outbox_only,
        "delivery totals": counts.totals,
        "registrations per state": lambda: list(metrics.registration_metrics()),
        "queues (Redis)": lambda: list(metrics.queue_metrics()),
        "heartbeat (cache)": lambda: list(metrics.heartbeat_metrics()),
        "whole exposition": metrics.render,
    }
    found = {}
    for label, step in steps.items():
        step()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
        found[label] = statistics.median(times)
    return found


def explain() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        parts(runs=1)
    seen = set()
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql in seen or not sql.startswith("SELECT"):
            continue
        seen.add(sql)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print(sql)
            print("\n".join(f"    {row[0]}" for row in cursor.fetchall()))


def fetch(base_url: str, path: str, token: str | None = None) -> tuple[float, bytes]:
    request = urllib.request.Request(base_url + path)  # noqa: S310 - loopback URL we built
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = response.read()
        status = response.status
    elapsed = time.perf_counter() - started
    if status != 200:
        raise SetupError(f"{path} answered {status}")
    return elapsed, body


def timed(base_url: str, runs: int) -> tuple[list[float], list[float], bytes]:
    """Alternately, so both see the same machine: baseline, scrape, baseline, ..."""
    base, scrape, body = [], [], b""
    for _ in range(3):  # warm-up: connections, first imports
        fetch(base_url, "/healthz/live")
        fetch(base_url, "/metrics", TOKEN)
    for _ in range(runs):
        base.append(fetch(base_url, "/healthz/live")[0])
        elapsed, body = fetch(base_url, "/metrics", TOKEN)
        scrape.append(elapsed)
    return base, scrape, body


def parsed(body: bytes) -> dict[tuple[str, frozenset], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def check(args: argparse.Namespace, body: bytes, seeded: dict[str, int]) -> list[str]:
    samples = parsed(body)

    def total(name: str) -> float:
        return sum(v for (n, _), v in samples.items() if n == name)

    problems = []
    if total("feedback_outbox_pending_messages") != seeded["owed"]:
        problems.append(
            f"owed rows: scrape says {total('feedback_outbox_pending_messages'):.0f},"
            f" the database {seeded['owed']}"
        )
    oldest = max(
        (v for (n, _), v in samples.items() if n == "feedback_outbox_oldest_pending_age_seconds"),
        default=0,
    )
    if args.owed and not 86_000 <= oldest <= 90_000:
        problems.append(f"oldest owed row: {oldest:.0f} s, expected about a day")
    if total("feedback_registrations") != seeded["registrations"]:
        problems.append(f"registrations: {total('feedback_registrations'):.0f}")
    queued = samples.get(("feedback_celery_queue_messages", frozenset({("queue", QUEUE)})))
    if queued != args.queued:
        problems.append(f"queue {QUEUE}: scrape says {queued}, {args.queued} were published")
    return problems


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(args: argparse.Namespace) -> int:
    with common.migrated_database(
        args,
        name=DB_NAME,
        settings_module=SETTINGS_MODULE,
        prefix="metrics_scrape-",
        env=lambda tmp: {"METRICS_TOKEN": TOKEN},
        collect_static=True,
        clean=lambda: common.clean_redis(args.redis_url, QUEUE, CACHE_PREFIX),
    ) as db:
        multiproc = db.tmp / "prometheus"
        multiproc.mkdir()
        log_path = db.tmp / "gunicorn.log"
        seeded = seed(args)
        fill_queue(args)
        seeded_at = time.perf_counter()
        queries = count_queries()
        breakdown = parts()
        if args.explain:
            explain()
        from django.db import connections

        connections.close_all()

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = common.start_gunicorn(
            {**db.env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
            port,
            log_path,
            workers=args.workers,
            options=["--worker-class", "sync"],
        )
        try:
            common.wait_for_gunicorn(server, base_url, workers=args.workers)
            print(
                f"metrics_scrape: {args.rows:,} outbox rows ({seeded['owed']:,} owed),"
                f" {seeded['registrations']:,} registrations, {args.queued:,} queued"
                f" messages; gunicorn {args.workers} sync workers (multiprocess"
                f" metrics), PostgreSQL {db.pg_version}"
            )
            print(
                f"setup: database + migrations {db.migrated - db.began:.1f} s, rows"
                f" {seeded_at - db.migrated:.1f} s; queries per scrape: {queries}"
            )
            print(
                "in process, median of each part: "
                + ", ".join(f"{label} {ms(t)}" for label, t in breakdown.items())
            )
            sys.stdout.flush()
            return measure(args, base_url, seeded, server, log_path)
        finally:
            common.stop_gunicorn(server)


def measure(args, base_url: str, seeded: dict[str, int], server, log_path: Path) -> int:
    base, scrape, body = timed(base_url, args.runs)
    problems = check(args, body, seeded)
    ratio = statistics.median(scrape) / statistics.median(base)
    print(f"baseline /healthz/live: median {ms(statistics.median(base))}, p95 {ms(p95(base))}")
    print(
        f"scrape /metrics:        median {ms(statistics.median(scrape))}, p95 {ms(p95(scrape))}"
        f" ({len(body):,} bytes)"
    )
    print(f"ratio scrape / baseline: {ratio:.1f}x; target: median < {args.target_ms:.0f} ms")

    # What the partial index buys: the same scrape with it gone.
    with connect(args) as conn:
        conn.execute("DROP INDEX notification_owed_kind")
        conn.execute("ANALYZE events_notification")
    _, without, _ = timed(base_url, max(5, args.runs // 4))
    print(
        f"without the partial index notification_owed_kind: median"
        f" {ms(statistics.median(without))}"
        f" ({statistics.median(without) / statistics.median(scrape):.1f}x the scrape with it)"
    )
    if problems:
        return common.report_failures(problems, log_path, "gunicorn")
    if statistics.median(scrape) * 1000 > args.target_ms:
        print(f"BELOW TARGET: median scrape above {args.target_ms:.0f} ms")
        return 3
    print("OK: every figure matched the database")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"setup failed: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
