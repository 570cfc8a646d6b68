"""Background work runs in a real Celery worker: on Redis (production, CI) and on the
filesystem broker that `make run` uses where no Redis is installed."""

import sqlite3
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache

from config.celery import app
from events.tasks import HEARTBEAT_KEY, heartbeat
from tests.conftest import ROOT, local_env


@pytest.mark.redis
def test_a_real_worker_on_redis_runs_a_project_task():
    assert app.conf.broker_url.startswith("redis://")
    cache.delete(HEARTBEAT_KEY)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        heartbeat.delay()
        deadline = time.monotonic() + 20
        while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.1)

    assert cache.get(HEARTBEAT_KEY) is not None


def test_beat_schedules_the_periodic_sweeps():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["heartbeat"]["task"] == heartbeat.name
    assert heartbeat.name in app.tasks


def test_a_real_worker_on_the_filesystem_broker_runs_a_project_task(sqlite_file):
    """What `make run` does on a machine with no Redis: a real worker, no eager mode."""
    env = local_env(sqlite_file)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from events.tasks import heartbeat; heartbeat.delay()",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        found = False
        while not found and time.monotonic() < deadline:
            with sqlite3.connect(sqlite_file) as db:
                found = (
                    db.execute(
                        "SELECT count(*) FROM cache_table WHERE cache_key LIKE ?",
                        (f"%{HEARTBEAT_KEY}",),
                    ).fetchone()[0]
                    > 0
                )
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()

    assert found, f"the worker never ran the task; its output:\n{output}"
