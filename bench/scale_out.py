"""scale_out: two web instances and two Celery workers on one PostgreSQL and one Redis.

    .venv/bin/python -m bench.scale_out [--attempts 1000] [--seats 100] [--attendees 5000]
                                        [--web-workers 2] [--concurrency 2] [--rounds 3]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_scale_out), migrates it and creates,
   per stage and round, a rush (`--attempts` verified, logged-in people and one open session
   of `--seats` seats) and, per stage, a session with `--attendees` confirmed attendees;
2. starts an SMTP sink (aiosmtpd, its own process), ONE Celery beat, and instance A: a
   gunicorn (`--web-workers` sync workers, its own port) and a Celery worker (prefork,
   `--concurrency` children) consuming all four queues (mail, hooks, sweeps, default, under
   the bench's own prefix) with production settings, configured by environment variables;
3. stage "one instance": the load client sends every rush to A; then the organizer's move of
   the big session (events.services.scheduling.update_session, one hour later) owes every
   attendee an update, which A's worker delivers: timed until the sink has them all;
4. starts instance B (a second gunicorn on another port, a second worker: separate
   processes), and stage "two instances" does the same with the client spreading requests
   over both ports (person n to instance n mod 2) and both workers taking the mail;
5. rate limits across instances: one person POSTs the sign-up 30 times, alternately to A
   and B; the limit (20 a minute, events/views/public.py) must refuse exactly 10, on both;
6. checks: exactly `--seats` confirmed and the rest waitlisted in every rush, no failed
   request; at the sink, every person owed mail got exactly one message, nobody else got
   any, no Message-ID twice; every outbox row sent. Prints each stage's throughput and the
   ratio two / one (sign-ups per second, updates delivered per second).

Exit status: 0 when every check holds, 1 when one fails, 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import aiohttp
import psycopg

from bench import common
from bench import registration_rush as rush
from bench.common import SetupError, free_port
from bench.invite_fanout import stop_worker, wait_until_ready
from bench.smtp_sink import Received, SinkProcess

DB_NAME = "feedback_scale_out"
SETTINGS_MODULE = "bench.settings_scale_out"
QUEUE_PREFIX = "bench.scale_out."  # CELERY_QUEUE_PREFIX of every process the bench starts
CACHE_PREFIX = "bench.scale_out"  # bench/settings_scale_out.py
QUEUES = ("default", "mail", "hooks", "sweeps")  # config/queues.py
REGISTER_LIMIT = 20  # events/views/public.py: @rate_limit("register", per_minute=20)
GREEDY_POSTS = 30
MOVE_BY = timedelta(hours=1)
WARM_UP_PEOPLE = 200  # per instance: each signs up once before anything is timed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out",
        description="One web instance + worker against two, on one PostgreSQL and Redis.",
    )
    parser.add_argument("--attempts", type=int, default=1000, help="people in each rush")
    parser.add_argument("--seats", type=int, default=100, help="seats of each rush's session")
    parser.add_argument("--attendees", type=int, default=5000, help="attendees of the move")
    parser.add_argument("--clients", type=int, default=200, help="concurrent HTTP clients")
    parser.add_argument("--rounds", type=int, default=3, help="rushes per stage (median)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers/instance")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery children/worker")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for mail")
    common.add_server_arguments(parser)
    args = parser.parse_args(argv)
    if min(args.attempts, args.attendees, args.clients, args.rounds) < 1:
        parser.error("--attempts, --attendees, --clients and --rounds must be positive")
    if min(args.web_workers, args.concurrency) < 1:
        parser.error("--web-workers and --concurrency must be positive")
    if not 0 <= args.seats <= args.attempts:
        parser.error("--seats must be between 0 and --attempts")
    return args


# --- fixtures --------------------------------------------------------------------------------


Move = common.FullSession


def create_move(tag: str, attendees: int) -> Move:
    """A published event whose one session is full with `attendees` confirmed people, each
    sent the first invite already (calendar_sequence 0), as bench.invite_fanout builds it."""
    return common.full_session(attendees, tag=f"move-{tag}", title="Session move")


def emails_of(fixture: rush.Fixture) -> set[str]:
    from accounts.models import User

    pks = [person.user_pk for person in fixture.people]
    return set(User.objects.filter(pk__in=pks).values_list("email", flat=True))


# --- processes ------------------------------------------------------------------------------


@dataclass
class Instance:
    """One web instance and one worker: separate processes, on ports of their own."""

    name: str
    port: int
    web: subprocess.Popen
    worker: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def celery(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", *arguments]


def start_instance(
    name: str, args: argparse.Namespace, env: dict[str, str], logs: Path
) -> Instance:
    port = free_port()
    web = common.start_gunicorn(
        env,
        port,
        logs / f"gunicorn-{name}.log",
        workers=args.web_workers,
        options=["--backlog", "2048", "--timeout", "60"],
    )
    worker_log = logs / f"worker-{name}.log"
    # INFO, as the Procfile runs it: Celery's "ready." line is how the bench knows it consumes.
    worker = common.spawn_logged(
        celery(
            "worker",
            "--pool=prefork",
            f"--concurrency={args.concurrency}",
            f"--hostname=scale_out-{name}-{os.getpid()}@%h",
            # Without -Q it consumes all four queues (under the bench's prefix). No mingle or
            # gossip: it neither talks to nor hears other workers on the shared Redis.
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=INFO",
        ),
        {**env, "LOG_LEVEL": "INFO"},
        worker_log,
    )
    instance = Instance(name, port, web, worker)
    try:
        common.wait_for_gunicorn(web, instance.url, workers=args.web_workers)
        wait_until_ready(worker, worker_log)
    except SetupError:
        stop_instance(instance)
        raise
    return instance


def stop_instance(instance: Instance) -> None:
    common.stop_gunicorn(instance.web)
    stop_worker(instance.worker)


class Cores:
    """Cores busy during a phase, from /proc: the bench's own processes (this one, the sink,
    gunicorns, workers and beat with their children, the PostgreSQL backends of the bench
    database) and everything else on the machine (other sessions' tests, on a shared one)."""

    def __init__(self, args: argparse.Namespace, processes: dict[str, subprocess.Popen]):
        self.args, self.processes = args, processes
        self.start = self.read()
        self.ours_per_second = 0.0

    def read(self) -> tuple[float, float, float]:
        pids = [os.getpid(), *common.children_of(os.getpid())]
        for process in self.processes.values():
            pids += [process.pid, *common.children_of(process.pid)]
        pg = (self.args.pg_host, self.args.pg_port, self.args.pg_user, DB_NAME)
        pids += common.backend_pids(*pg)
        ours = sum(common.cpu_seconds(pid) for pid in set(pids))
        return time.monotonic(), ours, common.machine_busy_seconds()

    def busy(self) -> tuple[str, float]:
        """What the cores did since the start; and the bench's CPU seconds."""
        (t0, ours0, all0), (t1, ours1, all1) = self.start, self.read()
        ours, wall = ours1 - ours0, max(t1 - t0, 1e-9)
        others = max(all1 - all0 - ours, 0.0)
        self.ours_per_second = ours / wall
        return (
            f"cores busy: bench {ours / wall:.2f}, everything else {others / wall:.2f}"
            f" (of {os.cpu_count()})"
        ), ours


def alive(processes: dict[str, subprocess.Popen]) -> list[str]:
    return [f"{name} exited ({p.returncode})" for name, p in processes.items() if p.poll()]


# --- load -----------------------------------------------------------------------------------


def client_session(clients: int) -> aiohttp.ClientSession:
    """As bench.registration_rush's, without a base URL: requests name their instance."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def post_spread(
    urls: list[str], path: str, people: list[rush.Person], clients: int
) -> tuple[float, list[tuple[int, rush.Reply]]]:
    """Person n POSTs `path` to urls[n % len(urls)], at most `clients` at a time; the wall
    time and each reply with the index of the instance that answered it."""
    gate = asyncio.Semaphore(clients)
    async with client_session(clients) as http:

        async def one(n: int, person: rush.Person) -> tuple[int, rush.Reply]:
            index = n % len(urls)
            async with gate:
                start = time.perf_counter()
                try:
                    async with http.post(
                        urls[index] + path,
                        data=b"",
                        headers=rush.person_headers(person),
                        allow_redirects=False,
                    ) as response:
                        await response.read()
                        return index, rush.Reply(
                            response.status,
                            time.perf_counter() - start,
                            response.headers.get("Location", ""),
                        )
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    return index, rush.Reply(type(error).__name__, time.perf_counter() - start)

        start = time.perf_counter()
        replies = await asyncio.gather(*(one(n, p) for n, p in enumerate(people)))
        return time.perf_counter() - start, list(replies)


@dataclass
class Stage:
    name: str
    instances: int
    rush_rates: list[float] = field(default_factory=list)  # sign-ups per second, each round
    rush_latency: list[float] = field(default_factory=list)  # p95 seconds, each round
    rush_cores: list[float] = field(default_factory=list)  # cores the bench kept busy
    rush_cpu: list[float] = field(default_factory=list)  # bench CPU ms/sign-up, mail too
    move_cpu: float = 0.0  # bench CPU ms per update delivered
    move_seconds: float = 0.0
    move_rate: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def rush_rate(self) -> float:
        return statistics.median(self.rush_rates) if self.rush_rates else 0.0


def check_rush(args: argparse.Namespace, fixture: rush.Fixture, replies, stage: Stage) -> None:
    from events.models import Registration

    outcome = rush.read_outcome(fixture)
    confirmed = outcome.by_status.get(Registration.Status.CONFIRMED, 0)
    waitlisted = outcome.by_status.get(Registration.Status.WAITLISTED, 0)
    failed = Counter(r.status for _, r in replies if r.status != 302)
    by_instance = Counter(index for index, r in replies if r.status == 302)
    print(
        f"    confirmed {confirmed}, waitlisted {waitlisted}, seats_taken"
        f" {outcome.seats_taken}/{outcome.capacity}, {outcome.outbox} outbox rows;"
        f" 302s by instance {dict(sorted(by_instance.items()))}, other replies {dict(failed)}"
    )
    if confirmed != args.seats or outcome.seats_taken != args.seats:
        stage.problems.append(f"{confirmed} confirmed (seats_taken {outcome.seats_taken})")
    if waitlisted != args.attempts - args.seats:
        stage.problems.append(f"{waitlisted} waitlisted, {args.attempts - args.seats} expected")
    if failed:
        stage.problems.append(f"sign-ups that failed over HTTP: {dict(failed)}")
    if outcome.outbox != args.attempts:
        stage.problems.append(f"{outcome.outbox} outbox rows for {args.attempts} sign-ups")


def outbox_open() -> int:
    from events.models import Notification

    return Notification.objects.filter(
        status__in=[Notification.Status.PENDING, Notification.Status.SENDING]
    ).count()


def wait_for_mail(
    sink: SinkProcess, expected_total: int, timeout: float, processes
) -> tuple[float, str]:
    """Until the sink has received `expected_total` messages in all and no outbox row is
    pending or sending; the seconds it took, or why it stopped."""
    start = time.monotonic()
    last, last_progress, next_check = sink.count, start, 0.0
    while True:
        now = time.monotonic()
        if sink.count >= expected_total and now >= next_check:
            next_check = now + 0.05
            if outbox_open() == 0:
                return now - start, ""
        if sink.count != last:
            last, last_progress = sink.count, now
        if now - last_progress > 60:
            return now - start, f"no mail for 60 s ({sink.count} of {expected_total} in all)"
        if now - start > timeout:
            return now - start, f"{sink.count} of {expected_total} after {timeout:.0f} s"
        if dead := alive(processes):
            return now - start, ", ".join(dead)
        time.sleep(0.005)


def run_stage(
    args: argparse.Namespace,
    stage: Stage,
    instances: list[Instance],
    fixtures: list[rush.Fixture],
    move: Move,
    sink: SinkProcess,
    processes: dict[str, subprocess.Popen],
) -> None:
    urls = [instance.url for instance in instances[: stage.instances]]
    print(f"stage: {stage.name} ({', '.join(urls)})")
    for number, fixture in enumerate(fixtures, start=1):
        settle(args)
        path = f"/sessions/{fixture.session_pk}/register/"
        cores = Cores(args, processes)
        wall, replies = asyncio.run(post_spread(urls, path, fixture.people, args.clients))
        busy, _ = cores.busy()
        stage.rush_cores.append(cores.ours_per_second)
        rate = len(replies) / wall
        p95 = common.p95([r.seconds for _, r in replies])
        stage.rush_rates.append(rate)
        stage.rush_latency.append(p95)
        print(
            f"  rush {number}: {len(replies)} sign-ups in {wall:.2f} s = {rate:.0f} req/s"
            f" (p95 {1000 * p95:.0f} ms; {busy})"
        )
        check_rush(args, fixture, replies, stage)
        # The rush's mail (one message per sign-up) is delivered before the next phase starts.
        # CPU per sign-up counts it: the workers deliver some of it during the rush and the
        # rest after, in shares that move with the rush's length.
        _, problem = wait_for_mail(sink, sink.count, args.timeout, processes)
        stage.rush_cpu.append(1000 * cores.busy()[1] / len(replies))
        if problem:
            stage.problems.append(f"rush {number} mail: {problem}")

    from accounts.models import User
    from events.models import Session
    from events.services import scheduling

    settle(args)
    session = Session.objects.get(pk=move.session_pk)
    before = sink.count
    cores = Cores(args, processes)
    start = time.monotonic()
    scheduling.update_session(
        session=session,
        actor=User.objects.get(pk=move.organizer_pk),
        starts_at=session.starts_at + MOVE_BY,
        ends_at=session.ends_at + MOVE_BY,
    )
    committed = time.monotonic() - start
    waited, problem = wait_for_mail(sink, before + len(move.emails), args.timeout, processes)
    stage.move_seconds = committed + waited
    busy, spent = cores.busy()
    stage.move_cpu = 1000 * spent / len(move.emails)
    stage.move_rate = len(move.emails) / stage.move_seconds
    print(
        f"  move: {len(move.emails)} updates owed (service + commit {committed:.2f} s) and"
        f" delivered in {stage.move_seconds:.2f} s = {stage.move_rate:.0f} msg/s ({busy})"
    )
    if problem:
        stage.problems.append(f"move mail: {problem}")


def settle(args: argparse.Namespace) -> None:
    """VACUUM ANALYZE and CHECKPOINT between phases, as bench.registration_rush does, so that
    neither lands in the middle of the next phase."""
    with psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=DB_NAME, autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


async def greedy_posts(urls: list[str], path: str, person: rush.Person) -> list[tuple[int, int]]:
    """One person POSTs `path` GREEDY_POSTS times in turn, alternately to each instance; each
    answer's instance and status."""
    answers = []
    async with client_session(1) as http:
        for n in range(GREEDY_POSTS):
            index = n % len(urls)
            async with http.post(
                urls[index] + path,
                data=b"",
                headers=rush.person_headers(person),
                allow_redirects=False,
            ) as response:
                await response.read()
                answers.append((index, response.status))
    return answers


def check_rate_limit(instances: list[Instance], fixture: rush.Fixture) -> list[str]:
    """The sign-up limit counts one person's requests whichever instance gets them."""
    # A fixed window per minute: start early in one, so that all the requests fall in it.
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60 + 0.5)
    urls = [instance.url for instance in instances]
    path = f"/sessions/{fixture.session_pk}/register/"
    answers = asyncio.run(greedy_posts(urls, path, fixture.people[0]))
    refused = Counter(index for index, status in answers if status == 429)
    statuses = Counter(status for _, status in answers)
    print(
        f"rate limit: one person, {GREEDY_POSTS} sign-up POSTs alternately to"
        f" {len(urls)} instances (limit {REGISTER_LIMIT} a minute): {dict(statuses)};"
        f" refused by instance {dict(sorted(refused.items()))}"
    )
    problems = []
    if sum(refused.values()) != GREEDY_POSTS - REGISTER_LIMIT:
        problems.append(
            f"rate limit: {sum(refused.values())} refused of {GREEDY_POSTS},"
            f" {GREEDY_POSTS - REGISTER_LIMIT} expected (counted per instance?)"
        )
    if len(refused) != len(urls):
        problems.append(f"rate limit: refusals only from instances {sorted(refused)}")
    if any(status >= 500 for status in statuses):
        problems.append(f"rate limit: server errors {dict(statuses)}")
    return problems  # the first POST signed the person up: the caller counts that message owed


# --- the mail at the sink ---------------------------------------------------------------------


def check_mail(messages: list[Received], owed: Counter) -> tuple[str, list[str]]:
    """Every address owed n messages got exactly n, nobody else got any, no Message-ID came
    twice, and every outbox row is sent."""
    from events.models import Notification

    parser = BytesHeaderParser()
    by_recipient: Counter = Counter()
    ids: Counter = Counter()
    for message in messages:
        for recipient in message.rcpt_tos:
            by_recipient[recipient.lower()] += 1
        ids[parser.parsebytes(message.content).get("Message-ID", "")] += 1
    lost = sum(max(n - by_recipient[r], 0) for r, n in owed.items())
    extra = sum(max(n - owed[r], 0) for r, n in by_recipient.items())
    repeated_ids = sum(n - 1 for i, n in ids.items() if n > 1)
    statuses = Counter(Notification.objects.values_list("status", flat=True))
    summary = (
        f"mail: {len(messages)} received for {sum(owed.values())} owed to {len(owed)} people;"
        f" lost {lost}, extra {extra}, Message-IDs repeated {repeated_ids},"
        f" without one {ids.get('', 0)}; outbox rows {dict(statuses)}"
    )
    problems = []
    if lost:
        problems.append(f"{lost} messages owed never arrived")
    if extra:
        problems.append(f"{extra} messages beyond what was owed (duplicates or strangers)")
    if repeated_ids or ids.get(""):
        problems.append(f"{repeated_ids} Message-IDs repeated, {ids.get('', 0)} missing")
    if set(statuses) != {Notification.Status.SENT}:
        problems.append(f"outbox rows not all sent: {dict(statuses)}")
    return summary, problems


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    sink = SinkProcess()
    instances: list[Instance] = []
    beat = None
    sink.start()
    try:
        with common.migrated_database(
            args,
            name=DB_NAME,
            settings_module=SETTINGS_MODULE,
            prefix="scale_out-",
            env=lambda tmp: {
                "CELERY_QUEUE_PREFIX": QUEUE_PREFIX,
                "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp / "celerybeat-schedule"),
                "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
                "SITE_URL": "http://127.0.0.1",
            },
            collect_static=True,
            clean=lambda: clean_redis(args),  # before: what an interrupted run may have left
        ) as db:
            from django.db import connections

            logs, env, pg_version, migrated = db.tmp, db.env, db.pg_version, db.migrated
            began = db.began
            try:
                stages = [Stage("one instance", 1), Stage("two instances", 2)]
                rushes = {
                    stage.name: [
                        rush.create_fixture(args, f"{stage.instances}-{n}")
                        for n in range(args.rounds)
                    ]
                    for stage in stages
                }
                moves = {
                    stage.name: create_move(str(stage.instances), args.attendees)
                    for stage in stages
                }
                greedy = rush.create_fixture(args, "greedy", people=1, seats=1)
                warm = {
                    name: rush.create_fixture(args, f"warm-{name}", people=WARM_UP_PEOPLE, seats=10)
                    for name in ("a", "b")
                }
                owed: Counter = Counter()
                for fixtures in rushes.values():
                    for fixture in fixtures:
                        owed.update(e.lower() for e in emails_of(fixture))
                for move in moves.values():
                    owed.update(e.lower() for e in move.emails)
                for fixture in warm.values():
                    owed.update(e.lower() for e in emails_of(fixture))
                connections.close_all()
                populated = time.perf_counter()

                beat = common.spawn_logged(
                    celery("beat", "--loglevel=INFO"), env, logs / "beat.log"
                )
                instances.append(start_instance("a", args, env, logs))
                ready = time.perf_counter()
                processes = {"beat": beat, "gunicorn a": instances[0].web}
                processes["worker a"] = instances[0].worker

                print(
                    f"scale_out: rushes of {args.attempts} people for {args.seats} seats"
                    f" ({args.rounds} per stage, {args.clients} clients), a move of"
                    f" {args.attendees} attendees; per instance: gunicorn {args.web_workers} sync"
                    f" workers + Celery worker prefork {args.concurrency}, all four queues;"
                    f" one beat; PostgreSQL {pg_version}, Redis {args.redis_url}, SMTP sink"
                    f" 127.0.0.1:{sink.port}; {os.cpu_count()} cores"
                )
                print(
                    f"setup: database + migrations {migrated - began:.1f} s, people"
                    f" {populated - migrated:.1f} s, instance a ready {ready - populated:.1f} s"
                )
                sys.stdout.flush()

                # Warm-up on A (imports, connections, prepared statements), untimed; its mail is
                # owed too, and delivered before anything is timed.
                asyncio.run(rush.warm_up(instances[0].url, warm["a"], warm_args(args)))
                wait_for_mail(sink, len(warm["a"].people), args.timeout, processes)

                one, two = stages
                run_stage(args, one, instances, rushes[one.name], moves[one.name], sink, processes)

                instances.append(start_instance("b", args, env, logs))
                processes.update({"gunicorn b": instances[1].web, "worker b": instances[1].worker})
                asyncio.run(rush.warm_up(instances[1].url, warm["b"], warm_args(args)))
                wait_for_mail(sink, sink.count, args.timeout, processes)
                run_stage(args, two, instances, rushes[two.name], moves[two.name], sink, processes)

                limit_problems = check_rate_limit(instances, greedy)
                owed.update(e.lower() for e in emails_of(greedy))
                _, problem = wait_for_mail(sink, sum(owed.values()), args.timeout, processes)
                if problem:
                    limit_problems.append(f"final mail: {problem}")
                messages = sink.take()
                summary, mail_problems = check_mail(messages, owed)
                print(summary)
                return report(args, stages, limit_problems + mail_problems, logs)
            finally:
                for instance in instances:
                    stop_instance(instance)
                if beat is not None:
                    stop_worker(beat)
    finally:
        sink.stop()


def warm_args(args: argparse.Namespace) -> argparse.Namespace:
    """What rush.warm_up reads: the number of request slots of one instance."""
    return argparse.Namespace(workers=args.web_workers, threads=1, clients=args.clients)


def clean_redis(args: argparse.Namespace) -> None:
    for queue in QUEUES:
        common.clean_redis(args.redis_url, f"{QUEUE_PREFIX}{queue}", CACHE_PREFIX, unacked=True)


def meaning(ratio: float, cores: int) -> str:
    """What the sign-up ratio says on this machine."""
    if ratio < 0.85:
        verdict = (
            "BELOW 1: two instances did less than one on the same cores, so they wait for each"
            " other beyond the session's row lock (a shared lock, a hot key, a serial queue)"
        )
    elif ratio <= 1.15:
        verdict = (
            "about 1: the cores were already full with one instance, and a second costs"
            " nothing: nothing serialises across instances beyond the row lock"
        )
    else:
        verdict = (
            "above 1: more than the cores alone explain; on a shared machine the others' load"
            " moved between the stages (see cores busy) and more processes get more of the"
            " scheduler's time: read it as 'nothing serialises', not as capacity"
        )
    return (
        f"  on {cores} cores one instance (its web workers, worker children, PostgreSQL, Redis"
        " and this client) can already keep them busy: a second instance on the same machine"
        f" adds processes, not cores, so ~1.0 is what to expect here. Ratio {ratio:.2f}:"
        f" {verdict}. With cores of their own, instances add capacity until PostgreSQL's CPU"
        " or the session row's lock binds."
    )


def report(args: argparse.Namespace, stages: list[Stage], problems: list[str], logs: Path) -> int:
    one, two = stages
    rush_ratio = two.rush_rate / one.rush_rate if one.rush_rate else 0.0
    move_ratio = two.move_rate / one.move_rate if one.move_rate else 0.0
    for stage in stages:
        each = ", ".join(f"{r:.0f}" for r in stage.rush_rates)
        print(
            f"{stage.name}: rush {stage.rush_rate:.0f} sign-ups/s (median of {each}),"
            f" move {stage.move_rate:.0f} updates/s delivered"
        )
    print(f"ratio two / one: rush {rush_ratio:.2f}, move {move_ratio:.2f}")
    # On a shared machine the rates move with the others' load; CPU spent per unit of work by
    # the bench's own processes (and its PostgreSQL backends) does not, and it is what a
    # second instance would cost if the instances got in each other's way.
    if one.rush_cpu and two.rush_cpu and one.move_cpu and two.move_cpu:
        rush_cpu = statistics.median(one.rush_cpu) / statistics.median(two.rush_cpu)
        print(
            f"  by CPU per unit of work (one / two): rush {rush_cpu:.2f}"
            f" ({statistics.median(one.rush_cpu):.1f} against"
            f" {statistics.median(two.rush_cpu):.1f} ms per sign-up), move"
            f" {one.move_cpu / two.move_cpu:.2f} ({one.move_cpu:.1f} against"
            f" {two.move_cpu:.1f} ms per update)"
        )
    print(meaning(rush_ratio, os.cpu_count() or 0))
    if two.rush_cores:
        print(
            f"  in the two-instance rushes the bench kept {min(two.rush_cores):.2f}-"
            f"{max(two.rush_cores):.2f} of the {os.cpu_count()} cores busy: near all of them,"
            " CPU is what binds; far below, something else (a lock, a queue, the others' load)"
        )
    for stage in stages:
        problems += [f"{stage.name}: {problem}" for problem in stage.problems]
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}")
        for log in sorted(logs.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-8:]
            print(f"{log.name} (last lines):")
            print("\n".join(f"  {line}" for line in tail))
        return 1
    print("checks: ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, live
    try:
        return run(args)  # held for this run alone: common.migrated_database
    except SetupError as error:
        print(f"scale_out: set-up failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
