"""survey_results: an event's survey with 100,000 responses; the organizer reads the results
page and exports the CSV, against a real server.

    .venv/bin/python -m bench.survey_results [--responses 100000] [--small 10000] [--runs 15]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_survey), migrates it, and seeds two
   events organized by one organizer, each with its survey of the same 10 questions (2 ratings,
   2 NPS, 2 single choice, 2 multiple choice, a short and a long text) over `--sessions`
   sessions: the large survey gets `--responses` responses, the small one `--small`, each
   with a quarter as many again recipients who did not answer. Answers are rows (about ten per
   response: ~1M for 100,000), drawn from fixed, skewed distributions (seeded, so every run has
   the same data), written with COPY; then VACUUM ANALYZE, as autovacuum would have done;
2. counts, in this process, the queries of the results page (whole survey, one session, one
   role) and of the small survey's CSV export, with Django's test client;
3. starts gunicorn (`--workers` sync workers) with production settings plus the bench's URLs
   (bench.settings_survey), and sends the organizer's session cookie (a session row created
   here, no login request);
4. measures, one request at a time: the results page (`--runs` times after a warm-up: median,
   p95), filtered by session and by role; the baseline page (the base layout and the logged-in
   user, nothing else) the same number of times; `SELECT count(*)` of the answers table; the
   CSV export of both surveys (`--csv-runs` times each, alternately): total time, time to
   first byte, bytes and rows, with the serving worker's peak RSS (the kernel's VmHWM, reset
   before each request through /proc/<pid>/clear_refs) against its RSS before the request;
   and the baseline of the export, a plain `COPY (SELECT ... answers ...) TO STDOUT` of the same
   survey's answer rows;
5. checks the answers (status, respondent counts in the page, CSV rows and one column's
   figures against the database), prints the figures and the ratios, stops the server and
   drops the database.

Memory stays flat when the export's peak growth at `--responses` is no more than at `--small`
plus `--memory-slack` MiB: the same chunks are held, only more of them pass through.

Exit status: 0 when every answer was right, 1 when not, 2 when the set-up failed; with
--fail-below-target, 3 when the answers were right but the results page took longer than
`--target-seconds` (median) or the export's memory grew with the number of responses.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench import common
from bench.common import SetupError, free_port, p95

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "feedback_survey"
SETTINGS_MODULE = "bench.settings_survey"
QUEUE = "bench.survey_results"  # bench/settings_survey.py: BENCH_QUEUE
CACHE_PREFIX = "bench.survey_results"
TARGET_SECONDS = 2.0
MEMORY_SLACK_MIB = 8.0
NON_RESPONDERS = 0.25  # recipients who did not answer, per response
SEED = 7
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ROLES = [("developer", 60), ("researcher", 15), ("community", 20), ("other", 5)]
FILTER_ROLE = "researcher"


# --- options and environment -------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.survey_results",
        description="Survey results page and CSV export at 100,000 responses, on gunicorn.",
    )
    parser.add_argument("--responses", type=int, default=100_000, help="responses, large survey")
    parser.add_argument("--small", type=int, default=10_000, help="responses, small survey")
    parser.add_argument("--sessions", type=int, default=4, help="sessions per event")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page")
    parser.add_argument("--csv-runs", type=int, default=2, help="timed exports per survey")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--anonymous", action="store_true", help="anonymous surveys")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the results queries"
    )
    common.add_server_arguments(parser)
    parser.add_argument(
        "--target-seconds", type=float, default=TARGET_SECONDS, help="results page, median"
    )
    parser.add_argument(
        "--memory-slack", type=float, default=MEMORY_SLACK_MIB, help="MiB, see above"
    )
    parser.add_argument(
        "--fail-below-target", action="store_true", help="exit 3 when a target is missed"
    )
    args = parser.parse_args(argv)
    if min(args.responses, args.small, args.sessions, args.runs, args.csv_runs, args.workers) < 1:
        parser.error("every count must be positive")
    if args.small >= args.responses:
        parser.error("--small must be below --responses (the memory check compares the two)")
    return args


def connect(args: argparse.Namespace) -> psycopg.Connection:
    return psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=DB_NAME, autocommit=True
    )


# --- the data: questions and how people answer them ---------------------------------------

# (kind, label, choices, share who answer, distribution): for a scale or single choice, a
# weight per value; for a multiple choice, the chance of each choice being picked; for a
# text, the range of its length in words.
QUESTIONS = [
    ("rating", "Overall, how would you rate this session?", [], 0.98, [3, 6, 17, 42, 32]),
    ("rating", "How clear were the demos?", [], 0.90, [5, 10, 25, 35, 25]),
    (
        "nps",
        "How likely are you to recommend the session to a fellow developer?",
        [],
        0.92,
        [2, 1, 1, 2, 3, 6, 8, 16, 20, 20, 21],
    ),
    (
        "nps",
        "How likely are you to recommend the model to your team?",
        [],
        0.85,
        [4, 2, 3, 4, 5, 10, 12, 18, 16, 13, 13],
    ),
    (
        "single",
        "Which part was most useful?",
        ["The live demo", "The Q&A", "The benchmarks", "The roadmap", "Meeting the team"],
        0.88,
        [35, 25, 20, 12, 8],
    ),
    (
        "single",
        "How did you hear about the programme?",
        ["A colleague", "Social media", "Newsletter", "A conference", "Search", "Other"],
        0.80,
        [30, 22, 18, 12, 10, 8],
    ),
    (
        "multiple",
        "Which features would you use?",
        [
            "Function calling",
            "Long context",
            "Fine-tuning",
            "Vision input",
            "Streaming",
            "Batch API",
            "On-device",
        ],
        0.85,
        [0.6, 0.45, 0.35, 0.3, 0.25, 0.15, 0.1],
    ),
    (
        "multiple",
        "Where do you deploy?",
        ["Cloud", "On-premises", "Laptop", "Phone", "Edge devices", "Nowhere yet"],
        0.80,
        [0.6, 0.45, 0.3, 0.2, 0.1, 0.05],
    ),
    ("short_text", "In one line: what surprised you?", [], 0.45, [3, 14]),
    ("long_text", "What should we change or improve?", [], 0.30, [15, 160]),
]

WORDS = (  # noqa: SIM905 - a sentence reads better than a list of words
    "the model was fast and the latency felt good but the docs need more examples for "
    "streaming tool calls and we hit rate limits during the demo so please publish quotas "
    "earlier also the context window is great for our codebase search though fine-tuning "
    "pricing is unclear and the SDK could use typed errors retries and better defaults "
    "overall a strong release we would like a roadmap for on-device support and batch jobs"
).split()


def sentence(rng: random.Random, words: int) -> str:
    start = rng.randrange(len(WORDS))
    picked = [WORDS[(start + i * 7) % len(WORDS)] for i in range(words)]
    return " ".join(picked).capitalize() + "."


def draw_text(rng: random.Random, low: int, high: int, long: bool) -> str:
    words = rng.randint(low, high)
    if not long:
        return sentence(rng, words)
    parts, left = [], words
    while left > 0:
        n = min(left, rng.randint(8, 25))
        parts.append(sentence(rng, n))
        left -= n
    text = " ".join(parts)
    if words > 60 and rng.random() < 0.3:  # a second paragraph now and then
        middle = text.find(". ", len(text) // 2)
        if middle > 0:
            text = text[: middle + 1] + "\n\n" + text[middle + 2 :]
    return text


def draw_answers(rng: random.Random, question_ids: list[int]):
    """One respondent's answer rows: (question_id, number, text)."""
    for qid, (kind, _label, choices, share, dist) in zip(question_ids, QUESTIONS, strict=True):
        if rng.random() >= share:
            continue
        if kind in ("rating", "nps", "single"):
            first = 1 if kind == "rating" else 0
            yield qid, first + rng.choices(range(len(dist)), weights=dist)[0], ""
        elif kind == "multiple":
            picked = [i for i, p in enumerate(dist) if rng.random() < p]
            for i in picked or [rng.randrange(len(choices))]:
                yield qid, i, ""
        else:
            yield qid, None, draw_text(rng, dist[0], dist[1], kind == "long_text")


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class SurveyFixture:
    name: str
    event_pk: int
    survey_pk: int
    questionnaire_pk: int
    question_pks: list[int]
    session_pks: list[int]
    responses: int
    recipients: int
    answers: int = 0


@dataclass
class Fixture:
    organizer_pk: int
    session_key: str
    large: SurveyFixture
    small: SurveyFixture
    users: int


def migrate_and_collect_static() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def copy_users(cursor, count: int, rng: random.Random) -> list[int]:
    """`count` people, with COPY: their roles drawn from ROLES; the ids in order."""
    columns = (
        "password, is_superuser, email, display_name, github_handle, affiliation, role,"
        " timezone, what_i_build, calendar_token, is_staff, is_active, date_joined"
    )
    roles = [role for role, _ in ROLES]
    weights = [weight for _, weight in ROLES]
    joined = datetime(2026, 1, 5, tzinfo=UTC)
    with cursor.copy(f"COPY accounts_user ({columns}) FROM STDIN") as copy:
        for n in range(count):
            copy.write_row(
                (
                    "!bench",  # an unusable password: nobody logs in as them
                    False,
                    f"person{n}@bench.example.com",
                    f"Person {n}",
                    "",
                    "",
                    rng.choices(roles, weights)[0],
                    "UTC",
                    "",
                    f"bench-calendar-{n}",
                    False,
                    True,
                    joined,
                )
            )
    cursor.execute(
        "SELECT id FROM accounts_user WHERE email LIKE 'person%%@bench.example.com' ORDER BY id"
    )
    return [row[0] for row in cursor.fetchall()]


def create_survey(
    name: str, organizer, responses: int, user_pks: list[int], args: argparse.Namespace
) -> SurveyFixture:
    """An event with its sessions (ended last week) and its survey, through the services for
    the few rows; then recipients, responses and answers with COPY."""
    from django.db import connection
    from django.utils import timezone

    from events.models import Event, Session, Survey
    from events.services import questionnaire as engine
    from events.services import teams

    rng = random.Random(f"{SEED}:{name}")
    team = organizer.teams.first() or teams.create_team(
        actor=organizer, name="Bench", slug="bench-survey"
    )
    event = Event.objects.create(
        team=team,
        title=f"Model preview ({name})",
        description="A benchmark event.",
        status=Event.Status.PUBLISHED,
        registration_mode=Event.Mode.OPEN,
    )
    first = (timezone.now() - timedelta(days=8)).replace(minute=0, second=0, microsecond=0)
    sessions = [
        Session.objects.create(
            event=event,
            starts_at=first + timedelta(days=i),
            ends_at=first + timedelta(days=i, hours=2),
            capacity=len(user_pks),
            location=f"Room {i + 1}",
        )
        for i in range(args.sessions)
    ]
    questionnaire = engine.create_questionnaire()
    questions = [
        engine.add_question(
            questionnaire=questionnaire, label=label, kind=kind, choices=choices, required=i == 0
        )
        for i, (kind, label, choices, _share, _dist) in enumerate(QUESTIONS)
    ]
    survey = Survey.objects.create(
        event=event,
        questionnaire=questionnaire,
        is_active=True,
        closes_at=timezone.now() + timedelta(days=20),
        anonymous=args.anonymous,
    )
    recipients = min(len(user_pks), responses + round(responses * NON_RESPONDERS))
    people = user_pks[:recipients]
    rng.shuffle(people)  # who answered is not who signed up first
    session_of = {pk: sessions[rng.randrange(len(sessions))] for pk in people}
    answered_at = {}
    for pk in people[:responses]:
        ended = session_of[pk].ends_at
        answered_at[pk] = ended + timedelta(hours=2, seconds=rng.randint(60, 3 * 86400))

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        # Responses in the order they came in, as the table would have them.
        order = sorted(answered_at, key=answered_at.get)
        with raw.copy(
            "COPY events_response (questionnaire_id, respondent, created_at, updated_at) FROM STDIN"
        ) as copy:
            for pk in order:
                copy.write_row((questionnaire.pk, f"user{pk}", answered_at[pk], answered_at[pk]))
        raw.execute(
            "SELECT respondent, id FROM events_response WHERE questionnaire_id = %s",
            [questionnaire.pk],
        )
        response_of = {int(respondent[4:]): pk for respondent, pk in raw.fetchall()}
        with raw.copy(
            "COPY events_surveyrecipient (survey_id, user_id, session_id, nonce, sent_at,"
            " opened_at, answered_at, resent, created_at, response_id) FROM STDIN"
        ) as copy:
            for pk in people:
                sent = session_of[pk].ends_at + timedelta(hours=2)
                done = answered_at.get(pk)
                opened = done - timedelta(minutes=3) if done else None
                if not done and rng.random() < 0.4:
                    opened = sent + timedelta(hours=rng.randint(1, 48))
                copy.write_row(
                    (
                        survey.pk,
                        pk,
                        session_of[pk].pk,
                        secrets.token_urlsafe(12),
                        sent,
                        opened,
                        done,
                        0,
                        sent,
                        response_of.get(pk),
                    )
                )
        question_pks = [q.pk for q in questions]
        answers = 0
        with raw.copy(
            "COPY events_answer (response_id, question_id, number, text) FROM STDIN"
        ) as copy:
            for pk in order:
                for qid, number, text in draw_answers(rng, question_pks):
                    copy.write_row((response_of[pk], qid, number, text))
                    answers += 1
    return SurveyFixture(
        name=name,
        event_pk=event.pk,
        survey_pk=survey.pk,
        questionnaire_pk=questionnaire.pk,
        question_pks=question_pks,
        session_pks=[s.pk for s in sessions],
        responses=responses,
        recipients=recipients,
        answers=answers,
    )


def create_fixture(args: argparse.Namespace) -> Fixture:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection, transaction

    from accounts.models import User

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        raise SetupError(f"the bench expects database sessions, not {settings.SESSION_ENGINE}")
    rng = random.Random(SEED)
    with transaction.atomic():
        organizer = User.objects.create(
            email="organizer@bench.example.com", display_name="Organizer"
        )
        users = args.responses + round(args.responses * NON_RESPONDERS)
        with connection.cursor() as cursor:
            user_pks = copy_users(cursor.cursor, users, rng)
        large = create_survey("large", organizer, args.responses, user_pks, args)
        small = create_survey("small", organizer, args.small, user_pks, args)
        store = SessionStore()
        store.update(
            {
                SESSION_KEY: str(organizer.pk),
                BACKEND_SESSION_KEY: MODEL_BACKEND,
                HASH_SESSION_KEY: organizer.get_session_auth_hash(),
            }
        )
        store.create()
    # A real table has been vacuumed and analyzed by autovacuum long before anyone reads the
    # results: do it now (the visibility map also lets the planner use index-only scans).
    with connection.cursor() as cursor:
        for table in ("accounts_user", "events_response", "events_surveyrecipient"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("VACUUM ANALYZE events_answer")
    return Fixture(organizer.pk, store.session_key, large, small, users)


# --- queries per page, counted in this process ------------------------------------------------


def count_queries(fixture: Fixture) -> dict[str, int]:
    """Queries of each page, read through Django's test client (same settings, same code)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(pk=fixture.organizer_pk))
    counts = {}
    for label, url in page_urls(fixture).items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        counts[label] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(csv_url(fixture.small))
        rows = sum(1 for _ in response.streaming_content)
    counts[f"csv {fixture.small.responses:,}"] = len(captured)
    counts["csv rows"] = rows
    return counts


def explain(fixture: Fixture) -> None:
    """EXPLAIN ANALYZE of every query the results service runs, whole survey and filtered."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events.models import Survey
    from events.services import surveys as service

    survey = Survey.objects.select_related("questionnaire", "event").get(pk=fixture.large.survey_pk)
    filters = {
        "whole survey": {},
        "one session": {"session_id": fixture.large.session_pks[0]},
        "one role": {"role": FILTER_ROLE},
    }
    for label, kwargs in filters.items():
        with CaptureQueriesContext(connection) as captured:
            service.results(survey=survey, **kwargs)
        for query in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            print(f"-- {label}: {query['sql'][:300]}\n{plan}\n")


# --- the server ------------------------------------------------------------------------------


# --- requests ----------------------------------------------------------------------------------


def page_urls(fixture: Fixture) -> dict[str, str]:
    large = fixture.large
    results = f"/manage/events/{large.event_pk}/survey/results/"
    return {
        "results": results,
        "results, one session": f"{results}?session={large.session_pks[0]}",
        "results, one role": f"{results}?role={FILTER_ROLE}",
    }


def csv_url(survey: SurveyFixture) -> str:
    return f"/manage/events/{survey.event_pk}/survey/results.csv"


@dataclass
class Fetched:
    status: int | str
    seconds: float
    first_byte: float = 0.0
    size: int = 0
    body: bytes = b""
    content_type: str = ""


def fetch(base_url: str, path: str, session_key: str, sink=None) -> Fetched:
    """GET `path` as the organizer; the body is kept, or written to `sink` as it arrives."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        base_url + path, headers={"Cookie": f"sessionid={session_key}"}
    )
    kept = io.BytesIO()
    out = kept if sink is None else sink
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            chunk = response.read1(1 << 16)
            first_byte = time.perf_counter() - start
            size = 0
            while chunk:
                size += len(chunk)
                out.write(chunk)
                chunk = response.read1(1 << 16)
            return Fetched(
                response.status,
                time.perf_counter() - start,
                first_byte,
                size,
                kept.getvalue(),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        return Fetched(error.code, time.perf_counter() - start)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return Fetched(type(error).__name__, time.perf_counter() - start)


@dataclass
class Timings:
    label: str
    seconds: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    last: Fetched | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return p95(self.seconds)

    def describe(self) -> str:
        return (
            f"{self.label}: median {1000 * self.median:.0f} ms, p95 {1000 * self.p95:.0f} ms,"
            f" min {1000 * min(self.seconds):.0f} ms ({len(self.seconds)} runs"
            f"{f', {self.last.size / 1024:.0f} KiB' if self.last else ''})"
        )


def time_page(base_url: str, label: str, path: str, session_key: str, runs: int) -> Timings:
    timings = Timings(label)
    fetch(base_url, path, session_key)  # warm-up: the worker's caches, the database's buffers
    for _ in range(runs):
        fetched = fetch(base_url, path, session_key)
        timings.seconds.append(fetched.seconds)
        timings.statuses[fetched.status] += 1
        timings.last = fetched
    return timings


def time_sql(args: argparse.Namespace, label: str, sql: str, runs: int) -> Timings:
    timings = Timings(label)
    with connect(args) as conn:
        conn.execute(sql)
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute(sql).fetchall()
            timings.seconds.append(time.perf_counter() - start)
            timings.statuses[200] += 1
    return timings


class CpuWindow:
    """Cores busy over a stretch of the run, from /proc: the bench's own processes (gunicorn,
    the PostgreSQL backends serving the bench database, this process) and everything else on
    the machine. The timings are only as good as the cores the bench had to itself."""

    def __init__(self, args: argparse.Namespace, server: subprocess.Popen) -> None:
        self.args, self.server = args, server

    def _now(self) -> tuple[float, float, float]:
        own = os.times()
        pids = [self.server.pid, *common.children_of(self.server.pid)]
        backends = common.backend_pids(
            self.args.pg_host, self.args.pg_port, self.args.pg_user, DB_NAME
        )
        bench = sum(common.cpu_seconds(pid) for pid in pids + backends) + own.user + own.system
        return time.perf_counter(), bench, common.machine_busy_seconds()

    def __enter__(self) -> CpuWindow:
        self.start = self._now()
        return self

    def __exit__(self, *exc) -> None:
        end = self._now()
        wall = end[0] - self.start[0]
        self.bench = (end[1] - self.start[1]) / wall
        self.others = max(end[2] - self.start[2] - (end[1] - self.start[1]), 0.0) / wall

    def describe(self, label: str) -> str:
        return (
            f"{label}: cores busy, bench {self.bench:.2f}, everything else {self.others:.2f}"
            f" (of {os.cpu_count()})"
        )


# --- the CSV export and the worker's memory ------------------------------------------------


class WorkerMemory:
    """The gunicorn workers' memory around one request: RSS before; the peak since, from the
    kernel's VmHWM (reset to the current RSS through /proc/<pid>/clear_refs, so it covers this
    request alone), and from sampling every 10 ms as a check. The worker that served the
    request is the one whose peak grew most."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before: dict[int, int] = {}
        self.sampled: dict[int, int] = {}
        self.hwm_reset = True
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory", daemon=True)

    def __enter__(self) -> WorkerMemory:
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                self.hwm_reset = False
            self.before[pid] = common.memory_kib(pid).get("VmRSS", 0)
            self.sampled[pid] = self.before[pid]
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            for pid in self.pids:
                rss = common.memory_kib(pid).get("VmRSS", 0)
                self.sampled[pid] = max(self.sampled[pid], rss)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = {}
        for pid in self.pids:
            hwm = common.memory_kib(pid).get("VmHWM", 0) if self.hwm_reset else 0
            self.peak[pid] = max(hwm, self.sampled[pid])
        self.pid = max(self.pids, key=lambda pid: self.peak[pid] - self.before[pid])

    @property
    def growth_mib(self) -> float:
        return (self.peak[self.pid] - self.before[self.pid]) / 1024


@dataclass
class Export:
    survey: SurveyFixture
    fetched: Fetched
    before_mib: float
    peak_mib: float
    rows: int = 0
    header: list[str] = field(default_factory=list)
    first_column_counts: Counter = field(default_factory=Counter)

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.before_mib

    def describe(self) -> str:
        f = self.fetched
        return (
            f"csv {self.survey.responses:,} responses: {f.seconds:.2f} s"
            f" (first byte {1000 * f.first_byte:.0f} ms), {f.size / 2**20:.1f} MiB,"
            f" {self.rows:,} rows = {self.rows / f.seconds:,.0f} rows/s;"
            f" worker RSS {self.before_mib:.0f} MiB before, peak {self.peak_mib:.0f} MiB"
            f" (+{self.growth_mib:.1f} MiB)"
        )


def export(base_url: str, survey: SurveyFixture, fixture: Fixture, pids: list[int], tmp: Path):
    """One export, streamed into a file; then the file is read back (not timed)."""
    path = tmp / f"{survey.name}.csv"
    with path.open("wb") as sink, WorkerMemory(pids) as memory:
        fetched = fetch(base_url, csv_url(survey), fixture.session_key, sink)
    result = Export(
        survey, fetched, memory.before[memory.pid] / 1024, memory.peak[memory.pid] / 1024
    )
    if fetched.status == 200:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            result.header = next(reader, [])
            # The single choice "Which part was most useful?": its column, counted.
            column = result.header.index(QUESTIONS[4][1]) if QUESTIONS[4][1] in result.header else 0
            for row in reader:
                result.rows += 1
                result.first_column_counts[row[column]] += 1
    path.unlink()
    return result


def copy_baseline(args: argparse.Namespace, survey: SurveyFixture) -> tuple[float, int, int]:
    """The same survey's answer rows, as COPY ... TO STDOUT of plain CSV (ordered by response,
    as the export reads them): seconds, bytes, rows."""
    sql = (
        "COPY (SELECT a.response_id, a.question_id, a.number, a.text FROM events_answer a"
        " JOIN events_question q ON q.id = a.question_id WHERE q.questionnaire_id = %s"
        " ORDER BY a.response_id, a.question_id, a.number) TO STDOUT (FORMAT csv)"
    )
    with connect(args) as conn:
        start = time.perf_counter()
        size = 0
        with conn.cursor().copy(sql, [survey.questionnaire_pk]) as copy:
            for block in copy:
                size += len(block)
        seconds = time.perf_counter() - start
    return seconds, size, survey.answers


# --- what the database says the pages should show --------------------------------------------


def expected(args: argparse.Namespace, fixture: Fixture) -> dict[str, object]:
    large = fixture.large
    answered = (
        "SELECT count(*) FROM events_surveyrecipient r JOIN accounts_user u ON u.id = r.user_id"
        " WHERE r.survey_id = %s AND r.response_id IS NOT NULL AND {}"
    )
    choices = QUESTIONS[4][2]
    with connect(args) as conn:

        def one(sql: str, params: list) -> int:
            return conn.execute(sql, params).fetchone()[0]

        by_choice = conn.execute(
            "SELECT number, count(*) FROM events_answer WHERE question_id = %s GROUP BY number",
            [large.question_pks[4]],
        ).fetchall()
        return {
            "results": large.responses,
            "results, one session": one(
                answered.format("r.session_id = %s"), [large.survey_pk, large.session_pks[0]]
            ),
            "results, one role": one(
                answered.format("u.role = %s"), [large.survey_pk, FILTER_ROLE]
            ),
            "single choice": Counter({choices[n]: c for n, c in by_choice}),
        }


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="survey_results-") as tmp:
        tmp_path = Path(tmp)
        env = common.production_environment(
            settings_module=SETTINGS_MODULE,
            database_url=f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{DB_NAME}",
            redis_url=args.redis_url,
            static_root=tmp_path / "static",
        )
        log_path = tmp_path / "gunicorn.log"
        server = None
        created = False
        try:
            with common.exclusive_run(args.pg_host, args.pg_port, args.pg_user, DB_NAME):
                began = time.perf_counter()
                try:
                    pg_version = common.recreate_database(
                        args.pg_host, args.pg_port, args.pg_user, DB_NAME
                    )
                except psycopg.OperationalError as error:
                    raise SetupError(f"PostgreSQL: {error}") from error
                created = True
                os.environ.update(env)
                os.environ.pop("REDIS_CACHE_URL", None)
                import django

                django.setup()
                migrate_and_collect_static()
                migrated = time.perf_counter()
                fixture = create_fixture(args)
                seeded = time.perf_counter()
                queries = count_queries(fixture)
                if args.explain:
                    explain(fixture)
                from django.db import connections

                connections.close_all()

                port = free_port()
                base_url = f"http://127.0.0.1:{port}"
                # An export of 100,000 rows is one long request; a sync worker busy longer
                # than the timeout is killed by the master.
                server = common.start_gunicorn(
                    env,
                    port,
                    log_path,
                    workers=args.workers,
                    options=["--worker-class", "sync", "--timeout", "300"],
                )
                common.wait_for_gunicorn(server, base_url, workers=args.workers)
                ready = time.perf_counter()
                answers = fixture.large.answers + fixture.small.answers
                print(
                    f"survey_results: {fixture.large.responses:,} responses"
                    f" ({fixture.large.answers:,} answer rows, {fixture.large.recipients:,}"
                    f" recipients, {args.sessions} sessions) and {fixture.small.responses:,}"
                    f" ({fixture.small.answers:,} answer rows); 10 questions;"
                    f" {'anonymous' if args.anonymous else 'named'};"
                    f" gunicorn {args.workers} sync workers, PostgreSQL {pg_version}"
                )
                print(
                    f"setup: database + migrations {migrated - began:.1f} s, {fixture.users:,}"
                    f" users + 2 surveys + {answers:,} answers (COPY, VACUUM ANALYZE)"
                    f" {seeded - migrated:.1f} s, server ready {ready - seeded:.1f} s"
                )
                sys.stdout.flush()
                return measure(args, fixture, queries, base_url, server, tmp_path, log_path)
        finally:
            if server is not None:
                common.stop_gunicorn(server)
            if created:
                try:
                    if "django" in sys.modules:
                        from django.db import connections

                        connections.close_all()
                        common.clean_redis(args.redis_url, QUEUE, CACHE_PREFIX)
                finally:
                    common.drop_database(args.pg_host, args.pg_port, args.pg_user, DB_NAME)


def measure(
    args: argparse.Namespace,
    fixture: Fixture,
    queries: dict[str, int],
    base_url: str,
    server: subprocess.Popen,
    tmp_path: Path,
    log_path: Path,
) -> int:
    key = fixture.session_key
    pids = common.children_of(server.pid)

    # Pages, one request at a time.
    with CpuWindow(args, server) as pages_cpu:
        baseline = time_page(base_url, "baseline page", "/bench/page/", key, args.runs)
        pages = {
            label: time_page(base_url, label, url, key, args.runs)
            for label, url in page_urls(fixture).items()
        }
        count = "SELECT count(*) FROM events_answer"
        count_sql = time_sql(args, count, count, args.runs)

    # Exports: every worker exports the small survey once first (two at once, so that each
    # worker gets one), then the two sizes alternately, one at a time.
    with ThreadPoolExecutor(max_workers=len(pids)) as pool:
        warm = list(
            pool.map(
                lambda _: fetch(base_url, csv_url(fixture.small), key, io.BytesIO()),
                range(len(pids)),
            )
        )
    exports: list[Export] = []
    with CpuWindow(args, server) as exports_cpu:
        for _ in range(args.csv_runs):
            for survey in (fixture.small, fixture.large):
                exports.append(export(base_url, survey, fixture, pids, tmp_path))
        copy_seconds, copy_bytes, copy_rows = copy_baseline(args, fixture.large)

    # Report.
    print(
        "queries: "
        + ", ".join(f"{label} {n}" for label, n in queries.items() if label != "csv rows")
        + " (the results page's do not depend on the number of responses)"
    )
    print(baseline.describe())
    for timings in pages.values():
        print(timings.describe())
    print(count_sql.describe())
    for item in exports:
        print(item.describe())
    print(
        f"COPY of the same {copy_rows:,} answer rows (psycopg, ordered by response):"
        f" {copy_seconds:.2f} s, {copy_bytes / 2**20:.1f} MiB"
    )
    results = pages["results"]
    large = [e for e in exports if e.survey is fixture.large]
    small = [e for e in exports if e.survey is fixture.small]
    export_seconds = statistics.median(e.fetched.seconds for e in large)
    print(
        f"ratios: results page / baseline page {results.median / baseline.median:.1f}x,"
        f" results page / count(*) {results.median / count_sql.median:.1f}x;"
        f" csv export / COPY {export_seconds / copy_seconds:.1f}x"
    )
    growth_small = max(e.growth_mib for e in small)
    growth_large = max(e.growth_mib for e in large)
    flat = growth_large <= growth_small + args.memory_slack
    fast = results.median <= args.target_seconds
    print(
        f"memory: export peak growth {growth_small:.1f} MiB at {fixture.small.responses:,}"
        f" responses, {growth_large:.1f} MiB at {fixture.large.responses:,}"
        f" ({fixture.large.responses // fixture.small.responses}x the rows):"
        f" {'flat' if flat else 'GROWS WITH THE RESPONSES'}"
        f" (allowed: +{args.memory_slack:.0f} MiB)"
    )
    print(pages_cpu.describe("pages") + "; " + exports_cpu.describe("exports"))
    print(
        f"targets: results page median {results.median:.2f} s"
        f" (<= {args.target_seconds:.1f} s) {'ok' if fast else 'MISSED'};"
        f" export memory {'ok' if flat else 'MISSED'}"
    )

    problems = check(args, fixture, queries, baseline, pages, warm, exports)
    if problems:
        return common.report_failures(problems, log_path, "gunicorn")
    if args.fail_below_target and not (fast and flat):
        return 3
    return 0


def check(
    args: argparse.Namespace,
    fixture: Fixture,
    queries: dict[str, int],
    baseline: Timings,
    pages: dict[str, Timings],
    warm: list[Fetched],
    exports: list[Export],
) -> list[str]:
    problems = []
    wanted = expected(args, fixture)
    for timings in [baseline, *pages.values()]:
        if set(timings.statuses) != {200}:
            problems.append(f"{timings.label}: answers {dict(timings.statuses)}")
    for label, timings in pages.items():
        body = timings.last.body.decode("utf-8", "replace") if timings.last else ""
        n = wanted[label]
        if f"({n} respondent" not in body:
            problems.append(f"{label}: the page does not say ({n} respondents)")
    if any(f.status != 200 for f in warm):
        problems.append(f"warm-up exports answered {[f.status for f in warm]}")
    if queries.get("csv rows", 0) < 1:
        problems.append("the in-process export streamed nothing")
    # Anonymous: answers only (no response id, "Answered at", name, email, role or session).
    columns = (0 if args.anonymous else 6) + len(QUESTIONS)
    for item in exports:
        name = f"csv {item.survey.responses:,}"
        if item.fetched.status != 200 or not item.fetched.content_type.startswith("text/csv"):
            problems.append(f"{name}: {item.fetched.status} {item.fetched.content_type}")
            continue
        if item.rows != item.survey.responses:
            problems.append(f"{name}: {item.rows} rows, {item.survey.responses} expected")
        if len(item.header) != columns:
            problems.append(f"{name}: {len(item.header)} columns, {columns} expected")
        if item.survey is fixture.large:
            got = Counter(item.first_column_counts)
            got.pop("", None)  # not answered
            if got != wanted["single choice"]:
                problems.append(f"{name}: single choice {dict(got)}, the database says otherwise")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"survey_results: set-up failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
