"""panel: a team with 200,000 people in its panel; how long a full refresh of the panel takes,
and how fast a three-condition filter over it opens against a plain count(*) of its table.

    .venv/bin/python -m bench.panel [--people 200000] [--runs 15]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_panel), migrates it, and seeds one team
   with two open calls of 10 questions each (5 of them mapped to panel attributes) and 8
   events of 5 past sessions each, through the services for these few rows; then, with COPY,
   `--people` people: 60% with an account (a fifth of those submitted from a second, verified
   address, which the panel must fold into the account), each with one or two confirmed
   submissions and their answers, 1-3 registrations per account (checked in, no-show,
   cancelled, some late), about one invitation per person (accepted, declined, expired,
   pending), survey answers for the first event; VACUUM ANALYZE, as autovacuum would have;
2. times `services.panel.refresh(team)`: the first build (inserts), a second full refresh
   (nothing changed: every row recomputed and compared, none written), and a partial one of
   1% of the people by address; counts the queries of a full refresh and notes the
   process's peak memory growth;
3. checks the panel: one row per person, accounts and aliases folded, counters against
   direct counts of the seeded rows;
4. times, `--runs` times after a warm-up, opening a filter of three conditions on the panel's
   columns (role = researcher, never attended, not contacted in the last 30 days): its count
   and its first page of 50, as a segment page would; against `SELECT count(*)` of the
   panel's table in the same run; prints medians, p95 and ratios;
5. times a draw of 200 with two quotas, and the funnel (services.funnel: one scan of the
   panel, and one count of the addresses that never confirmed) of the team and of its first
   call, each against `SELECT count(*)` of the same submissions, and checks the funnel's steps
   against the seed (one in seven people disqualified by screening);
6. times the minute's refresh with nothing changed, and after a re-score of the first call
   (a whole rebuild), against a partial refresh of REBUILD_ABOVE addresses, and checks that
   the call's funnel counts the new verdicts; drops the database.

Exit status: 0 when the checks passed, 1 when not, 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench import common
from bench.common import SetupError, p95, reset_peak_rss, rss_mib

DB_NAME = "feedback_panel"
SETTINGS_MODULE = "bench.settings"
SEED = 17
ROLES = [("developer", 60), ("researcher", 15), ("community", 20), ("other", 5)]
LOCATIONS = ["Europe/Berlin", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Africa/Lagos"]
COMPANIES = [f"Company {n}" for n in range(300)]
SESSIONS_PER_EVENT = 5
EVENTS = 8
PAGE = 50
# (kind, label, choices): the same ten questions in both calls.
QUESTIONS = [
    ("single", "What do you build?", ["Agents", "RAG", "Fine-tuning", "Evals", "Apps"]),
    ("multiple", "Which models do you use?", ["Llama", "Mistral", "Gemma", "Qwen", "Phi", "GPT"]),
    ("short_text", "In one line: what do you expect?", []),
    ("rating", "How much do you use open models?", []),
    ("nps", "Would you recommend open models?", []),
    ("single", "Team size?", ["Just me", "2-10", "11-50", "51-500", "More"]),
    ("multiple", "Where do you deploy?", ["Cloud", "On-premises", "Laptop", "Phone", "Edge"]),
    ("single", "Years of ML?", ["<1", "1-3", "3-5", "5+"]),
    ("long_text", "What would you change?", []),
    ("short_text", "Your favourite tool?", []),
]
MAPPED = {0: "builds", 1: "models_used", 2: "expects"}  # question index -> attribute (call A)
MAPPED_B = {0: "builds_b", 1: "models_used_b"}  # call B


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.panel",
        description="A panel of 200,000 people: full refresh, and a 3-condition filter.",
    )
    parser.add_argument("--people", type=int, default=200_000, help="people in the panel")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each query")
    common.add_server_arguments(parser)
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the refresh's reads"
    )
    args = parser.parse_args(argv)
    if args.people < 100 or args.runs < 1:
        parser.error("--people must be at least 100 and --runs positive")
    return args


# --- the data ----------------------------------------------------------------------------


@dataclass
class Fixture:
    team_pk: int
    people: int
    accounts: int
    aliases: int
    submissions: int
    answers: int
    registrations: int
    invitations: int
    survey_answers: int


def email(n: int) -> str:
    return f"p{n}@bench.example.com"


def alias(n: int) -> str:
    return f"p{n}.work@bench.example.com"


def screening(n: int) -> str:
    """The screening verdict of each of the person's submissions: one in seven disqualified
    (a rule, not the random generator, so the rest of the data stays as it was)."""
    return "disqualified" if n % 7 == 3 else "qualified"


def has_account(n: int) -> bool:
    return n % 5 < 3


def calls_of(n: int) -> list[int]:
    """0: call A, 1: call B (everyone answered at least one)."""
    d = n % 10
    return [c for c, wanted in ((0, d < 7), (1, d >= 4)) if wanted]


def draw_answers(rng: random.Random, question_pks: list[int]):
    for qid, (kind, _label, choices) in zip(question_pks, QUESTIONS, strict=True):
        if rng.random() >= 0.8:
            continue
        if kind == "single":
            yield qid, rng.randrange(len(choices)), ""
        elif kind == "multiple":
            for i in rng.sample(range(len(choices)), rng.randint(1, 3)):
                yield qid, i, ""
        elif kind == "rating":
            yield qid, rng.randint(1, 5), ""
        elif kind == "nps":
            yield qid, rng.randint(0, 10), ""
        else:
            yield qid, None, rng.choice(["Faster inference", "Better docs", "Small models"])


def create_fixture(args: argparse.Namespace) -> Fixture:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from events.models import Event, PanelAttribute, Session, Survey
    from events.services import open_calls, teams
    from events.services import questionnaire as engine

    rng = random.Random(SEED)
    now = timezone.now()
    organizer = User.objects.create_user("organizer@bench.example.com", password=None)
    team = teams.create_team(actor=organizer, name="Bench", slug="bench-panel")
    calls, question_pks = [], []
    for c in range(2):
        call = open_calls.create_call(
            team=team, actor=organizer, title=f"Call {c}", slug=f"bench-call-{c}"
        )
        pks = [
            engine.add_question(
                questionnaire=call.questionnaire, label=label, kind=kind, choices=choices
            ).pk
            for kind, label, choices in QUESTIONS
        ]
        calls.append(call)
        question_pks.append(pks)
    for c, mapped in enumerate((MAPPED, MAPPED_B)):
        for index, name in mapped.items():
            PanelAttribute.objects.create(team=team, question_id=question_pks[c][index], name=name)
    sessions = []
    for e in range(EVENTS):
        event = Event.objects.create(team=team, title=f"Session {e}", status=Event.Status.PUBLISHED)
        for s in range(SESSIONS_PER_EVENT):
            starts = now - timedelta(days=200 - 20 * e - 3 * s)
            sessions.append(
                Session.objects.create(
                    event=event,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    capacity=args.people,
                    attendance_closed_at=starts + timedelta(hours=3),
                )
            )
    first_event = sessions[0].event
    survey = Survey.objects.create(
        event=first_event,
        questionnaire=engine.create_questionnaire(),
        closes_at=now + timedelta(days=30),
    )

    people = args.people
    roles = [r for r, _ in ROLES]
    weights = [w for _, w in ROLES]
    counts = {"accounts": 0, "aliases": 0, "submissions": 0, "answers": 0, "registrations": 0}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Accounts, and the verified addresses of each (a fifth have a second one).
        with raw.copy(
            "COPY accounts_user (password, is_superuser, email, display_name, github_handle,"
            " affiliation, role, timezone, what_i_build, calendar_token, is_staff, is_active,"
            " date_joined) FROM STDIN"
        ) as copy:
            for n in range(people):
                if has_account(n):
                    copy.write_row(
                        (
                            "!bench",
                            False,
                            email(n),
                            f"Person {n}",
                            "",
                            rng.choice(COMPANIES) if n % 3 else "",
                            rng.choices(roles, weights)[0],
                            rng.choice(LOCATIONS) if n % 2 else "UTC",
                            "",
                            f"bench-calendar-{n}",
                            False,
                            True,
                            now - timedelta(days=300),
                        )
                    )
                    counts["accounts"] += 1
        raw.execute("SELECT email, id FROM accounts_user WHERE email LIKE 'p%%@bench.example.com'")
        user_of = {int(e[1 : e.index("@")]): pk for e, pk in raw.fetchall()}
        with raw.copy(
            'COPY account_emailaddress (user_id, email, verified, "primary") FROM STDIN'
        ) as copy:
            for n, pk in user_of.items():
                copy.write_row((pk, email(n), True, True))
                if n % 5 == 0:
                    copy.write_row((pk, alias(n), True, False))
                    counts["aliases"] += 1

        # Submissions (with their responses and answers).
        for c, call in enumerate(calls):
            members = [n for n in range(people) if c in calls_of(n)]
            when = {n: now - timedelta(days=rng.randint(1, 365)) for n in members}
            with raw.copy(
                "COPY events_response (questionnaire_id, respondent, created_at, updated_at)"
                " FROM STDIN"
            ) as copy:
                for n in members:
                    copy.write_row((call.questionnaire_id, f"bench{n}", when[n], when[n]))
            raw.execute(
                "SELECT respondent, id FROM events_response WHERE questionnaire_id = %s",
                [call.questionnaire_id],
            )
            response_of = {int(r[5:]): pk for r, pk in raw.fetchall()}
            with raw.copy(
                "COPY events_submission (call_id, email, user_id, name, role, affiliation,"
                " github_handle, location, join_feedback, join_demo, consent, response_id,"
                " nonce, submitted_at, confirmed_at, created_at, screening, screening_reason,"
                " screened_version) FROM STDIN"
            ) as copy:
                for n in members:
                    address = alias(n) if n % 5 == 0 else email(n)
                    copy.write_row(
                        (
                            call.pk,
                            address,
                            None,
                            f"Person {n}",
                            rng.choices(roles, weights)[0],
                            rng.choice(COMPANIES),
                            f"person{n}",
                            rng.choice(LOCATIONS),
                            rng.random() < 0.7,
                            rng.random() < 0.5,
                            rng.random() < 0.8,
                            response_of[n],
                            secrets.token_urlsafe(9),
                            when[n],
                            when[n],
                            when[n],
                            screening(n),
                            "",
                            0,
                        )
                    )
                    counts["submissions"] += 1
            with raw.copy(
                "COPY events_answer (response_id, question_id, number, text) FROM STDIN"
            ) as copy:
                for n in members:
                    for qid, number, text in draw_answers(rng, question_pks[c]):
                        copy.write_row((response_of[n], qid, number, text))
                        counts["answers"] += 1

        # Registrations of account holders: checked in, no-show or cancelled (some late).
        attended_first: dict[int, int] = {}
        cancelled: list[tuple[int, int, datetime]] = []
        with raw.copy(
            "COPY events_registration (session_id, user_id, status, answers, created_at,"
            " updated_at, confirmed_at, cancelled_at, checkin_token, checked_in_at, no_show,"
            " walk_in) FROM STDIN"
        ) as copy:
            for user_pk in user_of.values():
                for session in rng.sample(sessions, rng.choice([1, 1, 2, 2, 3])):
                    made = session.starts_at - timedelta(days=rng.randint(2, 20))
                    roll = rng.random()
                    status, checked_in, no_show, cancelled_at = "confirmed", None, False, None
                    if roll < 0.70:
                        checked_in = session.starts_at + timedelta(minutes=rng.randint(0, 20))
                        if session.event_id == first_event.pk:
                            attended_first.setdefault(user_pk, session.pk)
                    elif roll < 0.82:
                        no_show = True
                    else:
                        status = "cancelled"
                        before = timedelta(hours=rng.choice([2, 10, 48, 96]))
                        cancelled_at = session.starts_at - before
                        cancelled.append((user_pk, session.pk, cancelled_at))
                    copy.write_row(
                        (
                            session.pk,
                            user_pk,
                            status,
                            "{}",
                            made,
                            cancelled_at or checked_in or made,
                            made,
                            cancelled_at,
                            f"bench-{session.pk}-{user_pk}",
                            checked_in,
                            no_show,
                            False,
                        )
                    )
                    counts["registrations"] += 1
        raw.execute(
            "SELECT id, user_id, session_id FROM events_registration WHERE status = 'cancelled'"
        )
        registration_of = {(u, s): pk for pk, u, s in raw.fetchall()}
        with raw.copy(
            "COPY events_registrationchange (registration_id, from_status, to_status, actor_id,"
            " note, created_at) FROM STDIN"
        ) as copy:
            for user_pk, session_pk, at in cancelled:
                copy.write_row(
                    (
                        registration_of[user_pk, session_pk],
                        "confirmed",
                        "cancelled",
                        user_pk,
                        "",
                        at,
                    )
                )

        # Invitations, by address (about one per person).
        invitations = 0
        events = sorted({s.event_id for s in sessions})
        statuses = ["accepted"] * 3 + ["declined"] * 2 + ["expired"] * 3 + ["pending"] * 2
        with raw.copy(
            "COPY events_invitation (event_id, email, name, note, message, status, holds_seat,"
            " seat_held, allow_any_account, nonce, expires_at, created_at, sent_at,"
            " responded_at, override_reason) FROM STDIN"
        ) as copy:
            for n in range(people):
                for event_pk in rng.sample(events, rng.choice([0, 1, 1, 2])):
                    sent = now - timedelta(days=rng.randint(1, 180), hours=rng.randint(0, 23))
                    status = rng.choice(statuses)
                    answered = (
                        sent + timedelta(hours=5) if status in ("accepted", "declined") else None
                    )
                    copy.write_row(
                        (
                            event_pk,
                            email(n),
                            "",
                            "",
                            "",
                            status,
                            False,
                            False,
                            False,
                            secrets.token_urlsafe(9),
                            sent + timedelta(days=7),
                            sent,
                            sent,
                            answered,
                            "",
                        )
                    )
                    invitations += 1

        # The first event's survey: half of its attendees answered.
        survey_answers = 0
        with raw.copy(
            "COPY events_surveyrecipient (survey_id, user_id, session_id, nonce, sent_at,"
            " answered_at, resent, created_at) FROM STDIN"
        ) as copy:
            for user_pk, session_pk in attended_first.items():
                sent = now - timedelta(days=150)
                answered = sent + timedelta(hours=4) if rng.random() < 0.5 else None
                survey_answers += answered is not None
                copy.write_row(
                    (
                        survey.pk,
                        user_pk,
                        session_pk,
                        secrets.token_urlsafe(9),
                        sent,
                        answered,
                        0,
                        sent,
                    )
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Fixture(
        team_pk=team.pk,
        people=people,
        invitations=invitations,
        survey_answers=survey_answers,
        **counts,
    )


def explain(fixture: Fixture) -> None:
    from django.db import connection
    from django.utils import timezone

    from events.models import Team
    from events.services import panel

    team = Team.objects.get(pk=fixture.team_pk)
    mapped = [m.question.pk for m in panel._attributes(team)]
    reads = {
        "submissions": panel._submissions(team, None),
        "answers": panel._answers(team, mapped, None),
        "registrations": panel._registrations(team, None, timezone.now()),
        "invitations": panel._invitations(team, None),
        "surveys": panel._surveys(team, None),
        "current": panel._current(team, None),
    }
    statements = {label: rows.query.sql_with_params() for label, rows in reads.items()}
    from events.models import OpenCall
    from events.services import funnel

    statements["team funnel"] = funnel.explained(team)
    statements["call funnel"] = funnel.explained(team, OpenCall.objects.filter(team=team).first())
    for label, (sql, params) in statements.items():
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
        print(f"-- {label}\n{plan}\n")


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Timings:
    label: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return p95(self.seconds)

    def describe(self) -> str:
        return (
            f"{self.label}: median {self.median * 1000:.1f} ms, p95 {self.p95 * 1000:.1f} ms"
            f" ({len(self.seconds)} runs)"
        )


def timed(label: str, runs: int, work) -> Timings:
    work()  # warm-up
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return Timings(label, seconds)


def measure(args: argparse.Namespace, fixture: Fixture) -> int:
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from events.models import PanelMember, Team
    from events.services import panel

    team = Team.objects.get(pk=fixture.team_pk)
    reset_peak_rss()
    before = rss_mib("VmRSS")
    began = time.perf_counter()
    written = panel.refresh(team=team)
    first = time.perf_counter() - began
    grown = rss_mib("VmHWM") - before
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE events_panelmember")
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        rewritten = panel.refresh(team=team)
        second = time.perf_counter() - began
    some = [email(n) for n in range(0, fixture.people, 100)]
    began = time.perf_counter()
    partial = panel.refresh(team=team, emails=some)
    partial_seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE events_panelmember")

    print(
        f"refresh: first build {written:,} rows in {first:.1f} s"
        f" ({written / first:,.0f} people/s, peak memory +{grown:.0f} MiB);"
        f" again, nothing changed (every row read and compared, {rewritten:,} written)"
        f" {second:.1f} s; {len(some):,} addresses (1%)"
        f" {partial_seconds:.2f} s ({partial:,} rows)"
    )
    print(
        f"queries of a full refresh: {len(queries)} (per chunk of {panel.CHUNK:,} people one"
        " look-up of accounts and, if a row changed, one upsert; the rest do not depend on"
        " the number of people)"
    )

    cutoff = timezone.now() - timedelta(days=30)
    chosen = PanelMember.objects.filter(team=team, role="researcher", attended=0).filter(
        Q(last_contacted_at__lt=cutoff) | Q(last_contacted_at__isnull=True)
    )
    found = {}

    def open_filter() -> None:
        found["count"] = chosen.count()
        found["page"] = list(chosen.order_by("email")[:PAGE])

    def plain_count() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events_panelmember")
            found["all"] = cursor.fetchone()[0]

    filtered = timed("3-condition filter (count + first page of 50)", args.runs, open_filter)
    counted = timed("SELECT count(*) FROM events_panelmember", args.runs, plain_count)
    print(filtered.describe() + f": {found['count']:,} people")
    print(counted.describe())
    print(f"ratio: filter / count(*) {filtered.median / counted.median:.1f}x")
    print(f"ratio: full refresh / count(*) {second / counted.median:,.0f}x")

    # A draw as the draw page makes it: 200 people, two quotas (at least 30% from one
    # country, at most 2 per affiliation), never attended first; from the researchers, and
    # from the whole panel (every person a candidate: the worst case).
    from events.services import draws

    owner = team.memberships.get(role="owner").user
    for label, definition in (
        ("the researchers", [{"field": "role", "op": "in", "value": "researcher"}]),
        ("the whole panel", []),
    ):
        sizes: dict[str, int] = {}

        def draw_sample(definition: list = definition, sizes: dict = sizes) -> None:
            drawn = draws.draw_sample(
                team=team,
                actor=owner,
                definition=definition,
                size=200,
                minimums=[{"field": "location", "value": "Europe/Berlin", "share": 30}],
                caps=[{"field": "affiliation", "count": 2}],
                prefer_never_attended=True,
                seed="bench",
            )
            sizes["picked"], sizes["candidates"] = len(drawn.picked), drawn.candidates

        drawing = timed(f"draw 200 from {label} (2 quotas)", max(args.runs // 3, 1), draw_sample)
        print(
            drawing.describe()
            + f": {sizes['picked']} picked of {sizes['candidates']:,};"
            + f" ratio draw / count(*) {drawing.median / counted.median:,.0f}x"
        )

    problems = measure_funnel(args, fixture, team, counted)
    problems += check(fixture, team, found)
    problems += measure_rescore(fixture, team)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def measure_funnel(args: argparse.Namespace, fixture: Fixture, team, counted: Timings) -> list[str]:
    """The funnel page's counts, for the team (every call, each person once) and for one
    call, against count(*) of the same submissions; its counts checked against the seed."""
    from django.db import connection

    from events.models import OpenCall, PanelMember
    from events.services import funnel

    call = OpenCall.objects.filter(team=team).order_by("pk").select_related("team").first()
    results: dict = {}

    def count_rows(where: str, params: list) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM events_submission WHERE {where}", params)  # noqa: S608
            return cursor.fetchone()[0]

    calls = list(OpenCall.objects.filter(team=team).values_list("pk", flat=True))
    measures = [
        ("team", lambda: funnel.for_team(team), "call_id = ANY(%s)", [calls]),
        ("call", lambda: funnel.for_call(call), "call_id = %s", [call.pk]),
    ]
    for label, work, where, params in measures:

        def run(work=work, label=label) -> None:
            results[label] = work()

        def plain(where=where, params=params, label=label) -> None:
            results[f"{label} rows"] = count_rows(where, params)

        took = timed(f"funnel of the {label}", args.runs, run)
        counting = timed(f"count(*) of the {label}'s submissions", args.runs, plain)
        steps = " > ".join(f"{s.count:,}" for s in results[label].steps)
        print(took.describe() + f": {steps}")
        print(counting.describe() + f": {results[label + ' rows']:,} rows")
        print(
            f"ratio: {label} funnel / count(*) of its submissions"
            f" {took.median / counting.median:.1f}x; / count(*) of the panel"
            f" {took.median / counted.median:.1f}x"
        )

    # Expected, from the seed: everyone answered a call and confirmed; a person is qualified
    # unless the rule disqualified them; the later steps from their panel row.
    problems = []
    qualified = {email(n) for n in range(fixture.people) if screening(n) == "qualified"}
    expected = dict.fromkeys(("invited", "accepted", "attended", "answered"), 0)
    for address, invited, accepted, attended, answered in PanelMember.objects.filter(
        team=team
    ).values_list("email", "invitations", "invitations_accepted", "attended", "surveys_answered"):
        if address in qualified and invited:
            expected["invited"] += 1
            if accepted:
                expected["accepted"] += 1
                if attended:
                    expected["attended"] += 1
                    expected["answered"] += bool(answered)
    expected |= {
        "submitted": fixture.people,
        "confirmed": fixture.people,
        "qualified": len(qualified),
    }
    got = {s.key: s.count for s in results["team"].steps}
    for key, want in expected.items():
        if got[key] != want:
            problems.append(f"team funnel, {key}: {got[key]:,}, expected {want:,}")
    if results["call"].steps[0].count != results["call rows"]:
        problems.append("the call's funnel did not count each of its submissions")
    return problems


def measure_rescore(fixture: Fixture, team) -> list[str]:
    """The minute's refresh (`panel.refresh_team`) with nothing changed, then after a re-score
    of the first call (every one of its submissions stamped `screened_at`, as
    `call_screening.rescore` does, one in ten turned disqualified), which changes more people
    than REBUILD_ABOVE and so rebuilds the panel whole; and, for comparison, a partial refresh
    of REBUILD_ABOVE addresses. Then the call's funnel must count the new verdicts."""
    from django.db import connection
    from django.utils import timezone

    from events.models import OpenCall, Submission, Team
    from events.services import funnel, panel

    call = OpenCall.objects.filter(team=team).order_by("pk").select_related("team").first()
    Team.objects.filter(pk=team.pk).update(panel_refreshed_at=timezone.now())
    began = time.perf_counter()
    idle = panel.refresh_team(team=team)
    idle_seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_submission SET screened_at = now(), screening = CASE WHEN id %% 10 = 0"
            " THEN 'disqualified' ELSE screening END WHERE call_id = %s",
            [call.pk],
        )
        restamped = cursor.rowcount
        cursor.execute("VACUUM ANALYZE events_submission")
    began = time.perf_counter()
    written = panel.refresh_team(team=team)
    rescored_seconds = time.perf_counter() - began
    some = [email(n) for n in range(0, fixture.people, 10)][: panel.REBUILD_ABOVE]
    began = time.perf_counter()
    panel.refresh(team=team, emails=some)
    partial_seconds = time.perf_counter() - began
    print(
        f"minute's refresh: nothing changed {idle_seconds:.2f} s ({idle} rows); after a"
        f" re-score of a call of {restamped:,} submissions (a whole rebuild above"
        f" {panel.REBUILD_ABOVE:,} changed people) {rescored_seconds:.1f} s ({written:,} rows"
        f" written); for comparison, a partial refresh of {len(some):,} addresses"
        f" {partial_seconds:.1f} s"
    )
    qualified = Submission.objects.filter(call=call, screening="qualified").count()
    got = {s.key: s.count for s in funnel.for_call(call).steps}["qualified"]
    if got != qualified:
        return [f"after the re-score the call's funnel has {got:,} qualified, not {qualified:,}"]
    return []


def check(fixture: Fixture, team, found: dict) -> list[str]:
    from django.db.models import Sum

    from events.models import PanelMember, Registration

    problems = []
    rows = PanelMember.objects.filter(team=team)
    if found["all"] != fixture.people:
        problems.append(f"{found['all']:,} panel rows, {fixture.people:,} people")
    with_account = rows.filter(user__isnull=False).count()
    if with_account != fixture.accounts:
        problems.append(f"{with_account:,} rows with an account, {fixture.accounts:,} accounts")
    if rows.filter(email__contains=".work@").exists():
        problems.append("an alias has a row of its own")
    totals = rows.aggregate(
        calls=Sum("calls_answered"),
        registrations=Sum("registrations"),
        invitations=Sum("invitations"),
        surveys=Sum("surveys_answered"),
        attended=Sum("attended"),
    )
    expected = {
        "calls": fixture.submissions,
        "registrations": fixture.registrations,
        "invitations": fixture.invitations,
        "surveys": fixture.survey_answers,
        "attended": Registration.objects.filter(checked_in_at__isnull=False).count(),
    }
    for name, want in expected.items():
        if totals[name] != want:
            problems.append(f"{name}: {totals[name]:,} in the panel, {want:,} seeded")
    if len(found["page"]) != min(PAGE, found["count"]):
        problems.append(f"first page has {len(found['page'])} rows")
    return problems


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    with common.migrated_database(
        args, name=DB_NAME, settings_module=SETTINGS_MODULE, prefix="panel-"
    ) as db:
        fixture = create_fixture(args)
        seeded = time.perf_counter()
        print(
            f"panel: {fixture.people:,} people ({fixture.accounts:,} accounts,"
            f" {fixture.aliases:,} of them submitting from a second verified address),"
            f" {fixture.submissions:,} submissions ({fixture.answers:,} answers,"
            f" 5 mapped questions), {fixture.registrations:,} registrations,"
            f" {fixture.invitations:,} invitations, {fixture.survey_answers:,} survey"
            f" answers; PostgreSQL {db.pg_version}"
        )
        print(
            f"setup: database + migrations {db.migrated - db.began:.1f} s,"
            f" seeding (COPY, VACUUM ANALYZE) {seeded - db.migrated:.1f} s"
        )
        sys.stdout.flush()
        if args.explain:
            explain(fixture)
        return measure(args, fixture)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"setup failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
