"""call_screening: re-evaluating the screening rules of an open call with 100,000 confirmed
submissions after a rule change, against a plain count(*) of the same rows.

    .venv/bin/python -m bench.call_screening [--submissions 100000] [--runs 15]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_screening), migrates it, and seeds one
   team with one open call of the panel bench's 10 questions (through the services), then,
   with COPY, `--submissions` confirmed submissions with their responses and answers (80% of
   people answer each question), all scored under version 0 of the (empty) rules; VACUUM
   ANALYZE, as autovacuum would have;
2. changes the rules as an organizer would (services.call_screening.set_rules: a
   disqualifying answer, a qualifying one, a "must include one of" question), which moves
   the version and, the call being large, leaves the re-scoring to the background task;
3. runs that re-scoring (services.call_screening.rescore, what events.tasks.rescore_call
   does in a worker) in this process and times it, with this process's resident memory
   before and its peak during the run; then changes one rule again and re-scores again;
4. checks the result against direct SQL counts (every submission scored under the new
   version; the disqualifying answer's count), times `SELECT count(*)` of the call's
   confirmed submissions `--runs` times, prints both and their ratio; drops the database.

Exit status: 0 when the checks passed, 1 when not, 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from bench import common
from bench.common import SetupError, p95
from bench.panel import QUESTIONS, draw_answers

DB_NAME = "feedback_screening"
SETTINGS_MODULE = "bench.settings"
SEED = 17
TARGET_SECONDS = 60.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.call_screening",
        description="Re-scoring a 100,000-submission call after a rule change.",
    )
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of count(*)")
    common.add_server_arguments(parser)
    args = parser.parse_args(argv)
    if args.submissions < 1000 or args.runs < 1:
        parser.error("--submissions must be at least 1000 and --runs positive")
    return args


def seed(args: argparse.Namespace):
    """The call (with its organizer) and how many answers were written."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from events.services import open_calls, teams
    from events.services import questionnaire as engine

    rng = random.Random(SEED)
    now = timezone.now()
    organizer = User.objects.create_user("organizer@bench.example.com", password=None)
    team = teams.create_team(actor=organizer, name="Bench", slug="bench-screening")
    call = open_calls.create_call(team=team, actor=organizer, title="Call", slug="bench-call")
    question_pks = [
        engine.add_question(
            questionnaire=call.questionnaire, label=label, kind=kind, choices=choices
        ).pk
        for kind, label, choices in QUESTIONS
    ]
    answers = 0
    n = args.submissions
    with connection.cursor() as cursor:
        raw = cursor.cursor
        response_of = common.copy_confirmed_submissions(
            raw,
            call_id=call.pk,
            questionnaire_id=call.questionnaire_id,
            people=range(n),
            role_of=lambda i: "developer",
            now=now,
        )
        with raw.copy(
            "COPY events_answer (response_id, question_id, number, text) FROM STDIN"
        ) as copy:
            for i in range(n):
                for qid, number, text in draw_answers(rng, question_pks):
                    copy.write_row((response_of[i], qid, number, text))
                    answers += 1
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return call, organizer, answers


def choice_pk(call, question: str, label: str) -> int:
    from events.models import Choice

    return Choice.objects.get(
        question__questionnaire=call.questionnaire, question__label=question, label=label
    ).pk


def measure(args: argparse.Namespace, call, organizer) -> int:
    from django.db import connection
    from django.db.models import Count

    from events.models import Answer, OpenCall, Submission
    from events.services import call_screening as screening

    rules = {
        choice_pk(call, "Where do you deploy?", "Phone"): "disqualify",
        choice_pk(call, "What do you build?", "Fine-tuning"): "qualify",
        choice_pk(call, "Which models do you use?", "Llama"): "require",
        choice_pk(call, "Which models do you use?", "Mistral"): "require",
    }
    problems: list[str] = []
    rounds = []
    for label in ("first rules", "one rule changed"):
        began = time.perf_counter()
        screening.set_rules(call=call, actor=organizer, effects=rules)
        request = time.perf_counter() - began
        call.refresh_from_db()
        behind = screening.progress(call)
        common.reset_peak_rss()
        before = common.rss_mib("VmRSS")
        began = time.perf_counter()
        scored = screening.rescore(call_id=call.pk)
        seconds = time.perf_counter() - began
        peak = common.rss_mib("VmHWM")
        rounds.append((label, request, behind, scored, seconds, before, peak))
        print(
            f"{label}: set_rules {request * 1000:.0f} ms (version {call.rules_version},"
            f" {behind.current:,} of {behind.total:,} current, re-scoring left to the task);"
            f" re-scoring {scored:,} submissions {seconds:.1f} s"
            f" ({scored / seconds:,.0f}/s, target < {TARGET_SECONDS:.0f} s);"
            f" memory {before:.0f} MiB before, peak {peak:.0f} MiB during"
            f" (+{peak - before:.0f} MiB)"
        )
        if seconds > TARGET_SECONDS:
            problems.append(f"re-scoring took {seconds:.1f} s")
        if scored != args.submissions:
            problems.append(f"{scored:,} scored of {args.submissions:,}")
        rules[choice_pk(call, "Years of ML?", "<1")] = "disqualify"  # the next change

    call = OpenCall.objects.get(pk=call.pk)
    done = screening.progress(call)
    if not done.done:
        problems.append(f"only {done.current:,} of {done.total:,} under the current rules")
    phone = Answer.objects.filter(
        question__questionnaire=call.questionnaire,
        question__label="Where do you deploy?",
        number=choice_pk_number(call, "Where do you deploy?", "Phone"),
    ).count()
    said_phone = Submission.objects.filter(
        call=call, screening_reason="Answered “Phone” to “Where do you deploy?”"
    ).count()
    if said_phone != phone:
        problems.append(f"{said_phone:,} disqualified for Phone, {phone:,} answered it")
    verdicts = dict(
        Submission.objects.filter(call=call)
        .values_list("screening")
        .annotate(n=Count("pk"))
        .order_by()
    )
    print(
        f"verdicts: {verdicts.get('qualified', 0):,} qualified,"
        f" {verdicts.get('disqualified', 0):,} disqualified"
    )

    seconds = []
    total = 0
    for _ in range(args.runs + 1):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM events_submission"
                " WHERE call_id = %s AND confirmed_at IS NOT NULL",
                [call.pk],
            )
            total = cursor.fetchone()[0]
        seconds.append(time.perf_counter() - began)
    seconds = seconds[1:]  # the first warms the cache
    median = statistics.median(seconds)
    print(
        f"SELECT count(*) of the call's {total:,} confirmed submissions: median"
        f" {median * 1000:.1f} ms, p95 {p95(seconds) * 1000:.1f} ms ({args.runs} runs)"
    )
    for label, _request, _behind, _scored, took, _before, _peak in rounds:
        print(f"ratio: re-scoring ({label}) / count(*) {took / median:,.0f}x")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def choice_pk_number(call, question: str, label: str) -> int:
    from events.models import Choice

    return Choice.objects.get(
        question__questionnaire=call.questionnaire, question__label=question, label=label
    ).number


def run(args: argparse.Namespace) -> int:
    with common.migrated_database(
        args, name=DB_NAME, settings_module=SETTINGS_MODULE, prefix="screening-"
    ) as db:
        from django.conf import settings

        call, organizer, answers = seed(args)
        seeded = time.perf_counter()
        print(
            f"call: {args.submissions:,} confirmed submissions, 10 questions,"
            f" {answers:,} answers; PostgreSQL {db.pg_version}"
        )
        print(
            f"setup: database + migrations {db.migrated - db.began:.1f} s,"
            f" seeding (COPY, VACUUM ANALYZE) {seeded - db.migrated:.1f} s"
        )
        sys.stdout.flush()
        try:
            return measure(args, call, organizer)
        finally:
            # The tasks set_rules enqueued went to the bench's own queue, never consumed
            # (this process ran the re-scoring): remove them.
            common.clean_redis(
                args.redis_url,
                settings.BENCH_QUEUE,
                settings.CACHES["default"]["KEY_PREFIX"],
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"setup failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
