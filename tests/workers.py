"""Celery worker processes started by a test, as production starts them (one per queue, or one
for all), on the run's PostgreSQL test database and Redis, with the run's queue prefix."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database (the one this test's rows are committed to), as a URL."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.worker_settings",
        TEST_CACHE_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", ""),
        DJANGO_DEBUG="false",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE_PREFIX=settings.CELERY_QUEUE_PREFIX,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@contextmanager
def worker_process(queues: list[str], log: Path, *, env: dict[str, str]):
    """`celery -A config worker -Q <queues>` (prefixed as the run's), its output in `log`;
    yields once it is ready to take tasks, stops it (TERM, then KILL) afterwards."""
    names = ",".join(settings.CELERY_QUEUE_PREFIX + q for q in queues)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        f"--queues={names}",
        "--pool=solo",
        "--without-mingle",
        "--without-gossip",
        "--loglevel=INFO",
        f"--hostname={'+'.join(queues)}@%h",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
