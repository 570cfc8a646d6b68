import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="a-production-secret-that-is-long-and-random-0123456789-abcdefghijklmnop",
        CONTACT_SUPPRESSION_KEY="a-suppression-key-that-is-long-and-random-0123456789-abcdefghij",
        ALLOWED_HOSTS="feedback.example.com",
        SITE_URL="https://feedback.example.com",
        **extra,
    )
    return env


def test_check_deploy_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`manage.py check` under `env`: what starting the app would say."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    env = production_env()
    env["SECRET_KEY"] = "short"

    result = manage_check(env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("key", [None, "short"])
def test_production_refuses_to_start_without_its_own_suppression_key(key):
    # Derived from SECRET_KEY, the do-not-contact wishes kept after an erasure would be
    # forgotten at the first rotation of that key.
    env = production_env()
    if key is None:
        del env["CONTACT_SUPPRESSION_KEY"]
    else:
        env["CONTACT_SUPPRESSION_KEY"] = key

    result = manage_check(env)

    assert result.returncode != 0
    assert "CONTACT_SUPPRESSION_KEY" in result.stderr


def local_settings(**extra: str) -> dict[str, str]:
    """SITE_URL, CSRF_TRUSTED_ORIGINS and ALLOWED_HOSTS of the local settings under `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in {"SITE_URL", "HOST", "PORT", "ALLOWED_HOSTS"}
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", **extra)
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS, "
        "settings.ALLOWED_HOSTS]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    site_url, origins, hosts = json.loads(result.stdout.strip().splitlines()[-1])
    return {"SITE_URL": site_url, "CSRF_TRUSTED_ORIGINS": origins, "ALLOWED_HOSTS": hosts}


def test_links_of_a_local_run_point_at_the_port_it_serves_on():
    local = local_settings(PORT="8123")

    assert local["SITE_URL"] == "http://127.0.0.1:8123"
    assert local["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8123"]


def test_a_local_run_on_every_interface_links_to_localhost_and_accepts_its_host():
    local = local_settings(HOST="0.0.0.0", PORT="9000")  # noqa: S104

    assert local["SITE_URL"] == "http://localhost:9000"
    assert "localhost" in local["ALLOWED_HOSTS"]


def test_a_local_run_serving_on_a_lan_address_accepts_requests_for_it():
    local = local_settings(HOST="192.168.1.20", PORT="8000")

    assert local["SITE_URL"] == "http://192.168.1.20:8000"
    assert "192.168.1.20" in local["ALLOWED_HOSTS"]


def test_an_explicit_site_url_wins_over_host_and_port():
    local = local_settings(PORT="8123", SITE_URL="https://tunnel.example.org/")

    assert local["SITE_URL"] == "https://tunnel.example.org"
    assert local["CSRF_TRUSTED_ORIGINS"] == ["https://tunnel.example.org"]


def test_make_run_hands_one_site_url_to_the_web_server_worker_and_beat():
    # honcho gives each process of the Procfile its own PORT (web 8000, worker 8100, beat
    # 8200): the worker, which writes the emails, must not derive its links from that.
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in {"SITE_URL", "HOST", "PORT"}},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "SITE_URL=http://127.0.0.1:8123" in result.stdout


def database_settings(**extra: str) -> dict:
    """The production settings' database entry, as a process started with `extra` reads it."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings;"
            " print(json.dumps(settings.DATABASES['default'], default=str))",
        ],
        cwd=ROOT,
        env=production_env(DATABASE_URL="postgres://app@db.example.com:6432/feedback", **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_behind_pgbouncer_in_transaction_mode_nothing_outlives_a_transaction():
    direct = database_settings()
    pooled = database_settings(
        DATABASE_PREPARED_STATEMENTS="false", DATABASE_SERVER_SIDE_CURSORS="false"
    )

    # Straight to PostgreSQL: the sign-up path's statements prepared, iterator() on a cursor.
    assert direct["OPTIONS"]["prepare_threshold"] == 2**31 - 1
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False
    # Through the pooler: neither a prepared statement nor a cursor held across transactions.
    assert "prepare_threshold" not in pooled.get("OPTIONS", {})
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
