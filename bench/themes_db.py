"""themes_db: the themes of one open-call question with 100,000 free-text answers on
PostgreSQL, as the application computes, updates and shows them (bench/themes.py times the
engine alone, without the database).

    .venv/bin/python -m bench.themes_db [--answers 100000] [--new 1000] [--seed 1] [--runs 15]
                                        [--min-themes 2] [--max-themes 12]

What it does, in one run:

1. recreates a dedicated PostgreSQL database (feedback_themes), migrates it, creates a team,
   an open call and its long-text question through the services, then writes with COPY
   `--answers` confirmed submissions (roles drawn from the account roles) with their
   responses and one answer each (bench/themes_data.py: 10 planted themes, 8% noise); VACUUM
   ANALYZE, as autovacuum would have;
2. times `services.themes.compute` (what the worker's task `compute_themes` runs) in this
   process, with its resident memory before and its peak during the run (VmHWM, reset
   first); reports the purity of the placements it stored;
3. writes `--new` more answers (COPY) and times `services.themes.assign_new` placing them
   in the stored themes (what the placing task runs);
4. times the themes page (`manage:question_themes`) `--runs` times through Django's test
   client, logged in as the call's organizer, production settings (bench.settings);
5. baselines in the same run: `SELECT count(*)` of the question's answers (`--runs` times),
   and TF-IDF alone (bench.themes.tfidf_alone) on the same texts; drops the database.

Exit status: 0 when computing took < 60 s with peak memory < 1 GiB, placing < 5 s, the page's
median < 300 ms and purity >= 0.8; 1 when not; 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from bench import common
from bench.common import SetupError, p95, reset_peak_rss, rss_mib
from bench.themes import print_purity, tfidf_alone
from bench.themes_data import generate, purity

DB_NAME = "feedback_themes"
SETTINGS_MODULE = "bench.settings"
ROLES = ["developer", "researcher", "student", "manager", ""]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.themes_db",
        description="Themes of 100,000 answers on PostgreSQL: computing, placing, the page.",
    )
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-themes", type=int, default=2)
    parser.add_argument("--max-themes", type=int, default=12)
    parser.add_argument("--runs", type=int, default=15, help="timed page views and count(*)")
    common.add_server_arguments(parser)
    args = parser.parse_args(argv)
    if args.answers < 100 or args.new < 1 or args.runs < 1:
        parser.error("--answers must be at least 100, --new and --runs positive")
    return args


def create_call():
    from accounts.models import User
    from events.models import Question
    from events.services import open_calls, teams
    from events.services import questionnaire as engine

    organizer = User.objects.create_user("organizer@bench.example.com", password=None)
    team = teams.create_team(actor=organizer, name="Bench", slug="bench-themes")
    call = open_calls.create_call(team=team, actor=organizer, title="Call", slug="bench-call")
    question = engine.add_question(
        questionnaire=call.questionnaire,
        label="What do you expect from this release?",
        kind=Question.Kind.LONG_TEXT,
    )
    return call, question, organizer


def copy_answers(call, question, texts: list[str], start: int, rng: random.Random) -> None:
    """Confirmed submissions `start`.. with their responses and one answer each (COPY)."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        response_of = common.copy_confirmed_submissions(
            raw,
            call_id=call.pk,
            questionnaire_id=call.questionnaire_id,
            people=range(start, start + len(texts)),
            role_of=lambda i: rng.choice(ROLES),
            now=now,
        )
        # In order: answer ids follow the texts' order, which the purity reads back.
        with raw.copy(
            "COPY events_answer (response_id, question_id, number, text) FROM STDIN"
        ) as copy:
            for offset, text in enumerate(texts):
                copy.write_row((response_of[start + offset], question.pk, None, text))
        raw.execute("VACUUM ANALYZE")


def timed(runs: int, work) -> list[float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return seconds


def describe(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.1f} ms, p95 {p95(seconds) * 1000:.1f} ms"


def measure(args: argparse.Namespace, call, question, organizer, planted) -> int:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from events.models import Answer, Theme, ThemeAnswer, ThemeSet
    from events.services import themes as service

    texts = planted.texts[: args.answers]
    labels = planted.labels[: args.answers]
    theme_set = ThemeSet.objects.create(
        question=question, seed=args.seed, min_themes=args.min_themes, max_themes=args.max_themes
    )

    before = rss_mib("VmRSS")
    reset_peak_rss()
    began = time.perf_counter()
    count = service.compute(theme_set.pk)
    compute_s = time.perf_counter() - began
    peak = rss_mib("VmHWM")
    theme_set.refresh_from_db()
    print(
        f"\ncompute (the task's body): {compute_s:.1f} s, {count} themes, "
        f"{theme_set.answers_count:,} answers, reason {theme_set.reason or '-'}"
    )
    print(f"  memory: {before:.0f} MiB before, peak {peak:.0f} MiB during (+{peak - before:.0f})")
    position = dict(Theme.objects.filter(theme_set=theme_set).values_list("pk", "position"))
    found = dict(ThemeAnswer.objects.filter(theme_set=theme_set).values_list("answer_id", "theme"))
    ids = list(Answer.objects.filter(question=question).order_by("pk").values_list("pk", flat=True))
    placed = [position.get(found.get(pk)) for pk in ids]
    for theme in Theme.objects.filter(theme_set=theme_set).order_by("position"):
        print(f"  {theme.position:2} {theme.size:7,}  {theme.label}")
    overall, per_theme = purity(labels, placed)
    print_purity("stored placements", overall, per_theme)

    new_texts = planted.texts[args.answers :]
    copy_answers(call, question, new_texts, args.answers, random.Random(args.seed + 1))
    began = time.perf_counter()
    placed_new = service.assign_new(ThemeSet.objects.get(pk=theme_set.pk))
    assign_s = time.perf_counter() - began
    print(f"\nassign_new (the placing task's body): {placed_new:,} new answers in {assign_s:.2f} s")

    client = Client(SERVER_NAME="localhost")
    client.force_login(organizer)
    url = reverse("manage:question_themes", args=[question.pk])

    def view() -> None:
        response = client.get(url, secure=True)
        assert response.status_code == 200, response.status_code

    view()  # warm: templates compiled, session read once
    page = timed(args.runs, view)
    owner = service.owner_of(question)
    assert owner is not None

    def overview() -> None:
        result = service.overview(question=question, owner=owner)
        assert result.rows

    # Where the page's time goes: the service's queries, or the rest (template, middleware).
    queries = timed(args.runs, overview)

    def plain_count() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM events_answer WHERE question_id = %s", [question.pk]
            )
            cursor.fetchone()

    counted = timed(args.runs, plain_count)
    tfidf_s, matrix = tfidf_alone(texts)
    print(f"\nthemes page: {describe(page)} ({args.runs} views)")
    print(f"  of which services.themes.overview (its queries): {describe(queries)}")
    print(
        f"baseline: SELECT count(*) of the answers: {describe(counted)}; "
        f"the page takes {statistics.median(page) / statistics.median(counted):.0f}x as long"
    )
    print(
        f"baseline: TF-IDF alone {tfidf_s:.1f} s ({matrix.shape[1]:,} terms); "
        f"compute took {compute_s / tfidf_s:.1f}x as long"
    )

    problems = []
    if compute_s >= 60:
        problems.append(f"compute took {compute_s:.1f} s (target < 60 s)")
    if peak >= 1024:
        problems.append(f"peak memory {peak:.0f} MiB (target < 1 GiB)")
    if assign_s >= 5 or placed_new != len(new_texts):
        problems.append(f"assign_new placed {placed_new:,} in {assign_s:.1f} s (target < 5 s)")
    if statistics.median(page) >= 0.3:
        problems.append(f"page median {statistics.median(page) * 1000:.0f} ms (target < 300 ms)")
    if overall < 0.8:
        problems.append(f"purity {overall:.3f} (target >= 0.8)")
    print("\n" + ("; ".join(problems) if problems else "every target met"))
    return 1 if problems else 0


def run(args: argparse.Namespace) -> int:
    with common.migrated_database(
        args, name=DB_NAME, settings_module=SETTINGS_MODULE, prefix="themes-"
    ) as db:
        from django.conf import settings
        from django.core.management import call_command

        # The pages' static files, as a deployment collects them (into the run's temporary
        # directory): production's manifest storage needs them to render a page.
        call_command("collectstatic", interactive=False, verbosity=0)
        planted = generate(args.answers + args.new, seed=args.seed)
        call, question, organizer = create_call()
        copy_answers(call, question, planted.texts[: args.answers], 0, random.Random(args.seed))
        seeded = time.perf_counter()
        print(
            f"call: {args.answers:,} confirmed submissions answering one long-text question "
            f"(+{args.new:,} later); PostgreSQL {db.pg_version}"
        )
        print(
            f"setup: database + migrations {db.migrated - db.began:.1f} s,"
            f" generating and seeding (COPY, VACUUM ANALYZE) {seeded - db.migrated:.1f} s"
        )
        sys.stdout.flush()
        try:
            return measure(args, call, question, organizer, planted)
        finally:
            common.clean_redis(
                args.redis_url, settings.BENCH_QUEUE, settings.CACHES["default"]["KEY_PREFIX"]
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
