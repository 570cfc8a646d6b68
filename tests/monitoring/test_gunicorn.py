"""Under gunicorn, several worker processes answer one address and a scrape reaches one of
them: with PROMETHEUS_MULTIPROC_DIR, every scrape adds up the requests all of them served."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tests.mail import free_port
from tests.monitoring.helpers import TOKEN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent.parent


def get(url: str, token: str | None = None) -> bytes:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URL we built
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response.read()


def served(body: bytes, view: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "feedback_http_requests_total" and sample.labels["view"] == view
    )


def test_every_scrape_counts_the_requests_of_every_gunicorn_worker(tmp_path):
    database = connection.settings_dict
    port = free_port()
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "3"]
    server = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(f"{base}/healthz/live")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        for _ in range(29):  # 30 in all, spread over the workers
            get(f"{base}/healthz/live")

        scrapes = [served(get(f"{base}/metrics", TOKEN), "healthz_live") for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=20)

    assert scrapes == [30.0] * 6
    assert len(list(shared.glob("counter_*.db"))) >= 2  # more than one worker counted
