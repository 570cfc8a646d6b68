"""webhook_rush: the registration rush with a webhook endpoint registered, against the same
rush without one, and every webhook arriving.

    .venv/bin/python -m bench.webhook_rush [--clients 200] [--seats 100] [--attempts 1000]
                                           [--rounds 3]

Built on bench.registration_rush (its fixtures, gunicorn, load client and checks), in one run:

1. a PostgreSQL database of its own (feedback_bench_webhooks), production settings with a
   queue of its own (bench.settings_webhooks), a real Celery worker on that queue, and a
   webhook receiver in this process (http.server threads on loopback: the environment sets
   WEBHOOKS_ALLOW_PRIVATE=true for the server and the worker);
2. per round, two teams' sessions of `--seats` seats and `--attempts` people each: one team
   has no endpoint, the other one endpoint hearing registration.created, .confirmed and
   .waitlisted (two webhooks per sign-up). Each round rushes both, in alternating order;
   the figure is the median of the rounds' ratios (with / without), target >= 0.9;
3. then waits for every webhook: each owed row sent, each `webhook-id` received, every
   signature verified with the `standardwebhooks` package.

The worker runs throughout, as in production: both rushes pay for the mail it sends, the
second one also for the webhooks. Exit status as registration_rush's (1: counts wrong or a
webhook missing; 3 with --fail-below-target).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from bench import common
from bench import registration_rush as rush
from bench.common import SetupError, free_port
from bench.invite_fanout import stop_worker, wait_until_ready

DB_NAME = "feedback_bench_webhooks"
SETTINGS_MODULE = "bench.settings_webhooks"
QUEUE = "bench.webhook_rush"  # bench/settings_webhooks.py: BENCH_QUEUE
TARGET = 0.9
TYPES = ["registration.created", "registration.confirmed", "registration.waitlisted"]
ARRIVAL_TIMEOUT = 300.0


class Receiver:
    """Verifies each request as it comes (Standard Webhooks, with the `standardwebhooks`
    package, as a receiver would: its timestamp check allows five minutes, so verifying at
    the end of a run would fail the first rounds' messages), answers 204, and keeps the
    webhook-ids and the count of bad signatures for the checks."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.verifiers: list = []
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                good = receiver.verify(body, headers)
                with receiver.lock:
                    receiver.requests.append((headers, b""))
                    receiver.bad += not good
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for verifier in self.verifiers:
            try:
                verifier.verify(body, headers)
                return True
            except Exception:  # noqa: BLE001, S112 - another endpoint's secret may fit
                continue
        return False

    def ids(self) -> set[str]:
        with self.lock:
            return {headers["webhook-id"] for headers, _ in self.requests}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def parse_args(argv: list[str] | None):
    """registration_rush's options (target 0.9 here), and --deliver-after: start the worker
    only once the rushes are over, so that the ratio is the web path's alone (in production
    the workers run on machines of their own)."""
    argv = list(argv if argv is not None else sys.argv[1:])
    after = "--deliver-after" in argv
    argv = [a for a in argv if a != "--deliver-after"]
    if "--target" not in argv:
        argv += ["--target", str(TARGET)]
    args = rush.parse_args(argv)
    args.deliver_after = after
    return args


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """Celery logs through Django's LOGGING (config/celery.py), at LOG_LEVEL: INFO, or the
    worker's "ready." line, which the bench waits for, is never written."""
    return {**env, "LOG_LEVEL": "INFO"}


def worker_command() -> list[str]:
    return [
        sys.executable,
        *("-m", "celery", "-A", "config", "worker"),
        "--pool=prefork",
        "--concurrency=2",
        f"--queues={QUEUE}",
        f"--hostname=webhook_rush-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",  # its "ready." line is INFO
    ]


def add_endpoint(fixture: rush.Fixture, url: str) -> str:
    from events.models import Event, WebhookEndpoint

    team_id = Event.objects.values_list("team_id", flat=True).get(pk=fixture.event_pk)
    return WebhookEndpoint.objects.create(team_id=team_id, url=url, event_types=TYPES).secret


def wait_for_webhooks(receiver: Receiver, expected: int) -> tuple[int, int, float]:
    """Until every owed row is sent and received (or the timeout): rows owed, ids received,
    seconds waited."""
    from events.models import WebhookMessage

    started = time.monotonic()
    while time.monotonic() - started < ARRIVAL_TIMEOUT:
        sent = WebhookMessage.objects.filter(status=WebhookMessage.Status.SENT).count()
        if sent >= expected and len(receiver.ids()) >= expected:
            break
        time.sleep(0.5)
    owed = WebhookMessage.objects.count()
    return owed, len(receiver.ids()), time.monotonic() - started


def run(args) -> int:
    rush.DB_NAME = DB_NAME  # registration_rush's database helpers read it
    with tempfile.TemporaryDirectory(prefix="webhook_rush-") as tmp:
        tmp_path = Path(tmp)
        env = common.production_environment(
            settings_module=SETTINGS_MODULE,
            database_url=f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{DB_NAME}",
            redis_url=args.redis_url,
            static_root=tmp_path / "static",
        )
        env["WEBHOOKS_ALLOW_PRIVATE"] = "true"
        env["WEBHOOKS_RETRY_BASE"] = "1"
        log_path, worker_log = tmp_path / "gunicorn.log", tmp_path / "worker.log"
        server = worker = None
        receiver = Receiver()
        created = False
        try:
            try:
                pg_version = rush.recreate_database(args)
            except psycopg.OperationalError as error:
                raise SetupError(f"PostgreSQL at {args.pg_host}:{args.pg_port}: {error}") from error
            created = True
            os.environ.update(env)
            import django

            django.setup()
            rush.migrate_and_collect_static()
            pairs, secrets = [], []
            for n in range(args.rounds):
                plain = rush.create_fixture(args, f"{n}plain")
                hooked = rush.create_fixture(args, f"{n}hooked")
                secrets.append(add_endpoint(hooked, receiver.url))
                pairs.append((plain, hooked))
            from standardwebhooks import Webhook

            receiver.verifiers = [Webhook(secret) for secret in secrets]
            warm = rush.create_fixture(args, "warm", people=rush.WARM_UP_PEOPLE, seats=10)
            from django.db import connections

            connections.close_all()
            if not args.deliver_after:
                worker = common.spawn_logged(worker_command(), worker_env(env), worker_log)
                wait_until_ready(worker, worker_log)
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            server = common.start_gunicorn(
                env,
                port,
                log_path,
                workers=args.workers,
                options=["--worker-class", args.worker_class, "--threads", str(args.threads)],
            )
            common.wait_for_gunicorn(server, base_url)
            print(
                f"webhook_rush: {args.attempts} attempts, {args.clients} clients, {args.seats}"
                f" seats, {rush.worker_description(args)}, PostgreSQL {pg_version},"
                f" {args.rounds} rounds; worker: prefork x 2 on {QUEUE}"
                + (", started after the rushes" if args.deliver_after else ", throughout")
            )
            asyncio.run(rush.warm_up(base_url, warm, args))

            def rush_of(fixture: rush.Fixture, name: str) -> rush.Phase:
                path = f"/sessions/{fixture.session_pk}/register/"
                return rush.measured(
                    args,
                    server,
                    rush.post_all(base_url, name, path, fixture.people, args.clients),
                )

            ratios, problems = [], []
            for number, (plain, hooked) in enumerate(pairs, start=1):
                if number % 2:
                    without, with_ = rush_of(plain, "without"), rush_of(hooked, "with")
                else:
                    with_, without = rush_of(hooked, "with"), rush_of(plain, "without")
                ratio = with_.rps / without.rps if without.rps else 0.0
                ratios.append(ratio)
                print(f"round {number}:")
                for phase, label in ((without, "without webhooks"), (with_, "with an endpoint")):
                    print("  " + rush.describe(phase, label))
                    failed = [r for r in phase.replies if r.status != 302]
                    if failed:
                        problems.append(f"round {number}, {label}: {len(failed)} sign-ups failed")
                print(f"  ratio: {ratio:.2f}")
            if worker is None:  # --deliver-after: the rows wait in the table; the sweep's
                # ring would come within 30 s, a drain now does the same sooner.
                worker = common.spawn_logged(worker_command(), worker_env(env), worker_log)
                wait_until_ready(worker, worker_log)
                from events.outbox import webhooks

                webhooks.ring(force=True)
            expected = 2 * args.attempts * args.rounds  # created + confirmed or waitlisted
            owed, received, waited = wait_for_webhooks(receiver, expected)
            bad = receiver.bad
            duplicates = len(receiver.requests) - received
            print(
                f"webhooks: {owed} owed, {received} distinct webhook-ids received"
                f" ({duplicates} copies dropped), {bad} bad signatures;"
                f" all in {waited:.1f} s after the last rush"
            )
            if owed != expected or received != expected:
                problems.append(f"expected {expected} webhooks owed and received")
            if bad:
                problems.append(f"{bad} webhooks failed verification")
            ratio = statistics.median(ratios)
            each = ", ".join(f"{r:.2f}" for r in ratios)
            verdict = "ok" if ratio >= args.target else "BELOW TARGET"
            print(f"ratio: {ratio:.2f} median of {len(ratios)} rounds ({each})")
            print(f"  (target >= {args.target}) {verdict}")
            if problems:
                return common.report_failures(problems, log_path, "gunicorn")
            return 3 if ratio < args.target and args.fail_below_target else 0
        finally:
            receiver.stop()
            if server is not None:
                common.stop_gunicorn(server)
            if worker is not None:
                stop_worker(worker)
            if created:
                try:
                    from django.db import connections

                    connections.close_all()
                    rush.clean_redis(args)
                finally:
                    rush.drop_database(args)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"webhook_rush: set-up failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
