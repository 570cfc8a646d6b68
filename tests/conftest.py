import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from django.utils import translation

from accounts.models import User
from config.celery import app
from events.outbox import doorbell
from events.outbox.tasks import deliver_batch, deliver_notification
from tests.factories import PASSWORD, UserFactory
from tests.mail import SMTPServer
from tests.services import CHROMIUM, require


def pytest_runtest_setup(item: pytest.Item) -> None:
    for service in ("postgres", "redis", "browser", "imap"):
        if item.get_closest_marker(service):
            require(service)


# The registration tests run twice, as `make test` runs them: with the speed layer
# (events/speed) as production runs it, and with SPEED_LAYER off, its plain twin (querysets,
# save(), the cache API) doing the work; see `speed_layer`.
BOTH_WAYS = {
    "tests.events.test_registration",
    "tests.events.test_public_views",
    "tests.events.test_concurrency",
    "tests.test_fastcache",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__ in BOTH_WAYS:
        metafunc.fixturenames.append("speed_layer_on")
        metafunc.parametrize("speed_layer_on", [True, False], ids=["speed", "plain"])


@pytest.fixture(autouse=True)
def speed_layer(request):
    """SPEED_LAYER as the test is parametrised (BOTH_WAYS), else as configured. Off, the
    test also proves that the fallback did the work: none of the layer's shortcuts may run
    (no statement compiled, prepared or inserted by it, no Redis command past the cache
    API)."""
    callspec = getattr(request.node, "callspec", None)
    on = callspec.params.get("speed_layer_on", True) if callspec else True
    if on:
        yield
        return
    from events.speed import fastcache, prepared

    settings = request.getfixturevalue("settings")
    monkeypatch = request.getfixturevalue("monkeypatch")
    settings.SPEED_LAYER = False
    shortcuts: list[str] = []

    def watch(owner, name: str) -> None:
        original = getattr(owner, name)

        def watching(*args, **kwargs):
            shortcuts.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, watching)

    watch(prepared._Compiled, "__init__")
    watch(prepared, "_insert_statement")
    watch(prepared, "_preparing_cursor_class")
    watch(fastcache, "_on_redis")
    yield
    assert shortcuts == [], "with SPEED_LAYER off, the speed layer's shortcuts ran"


@pytest.fixture(autouse=True)
def english_to_start() -> Iterator[None]:
    """Each test starts in English: a request read in French leaves French active in its
    thread (the language middleware activates one per request and, as Django's own, does not
    put it back, since a streamed response is rendered after the middleware returns)."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def isolated_cache(settings) -> None:
    """Each test gets its own cache namespace, so rate-limit counters never leak between tests.

    Changing CACHES resets Django's cache handlers; nothing is flushed, so a shared Redis
    (the Celery broker too) is left alone.
    """
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    for config in caches.values():
        config["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def smtp(settings):
    """A real SMTP server; Django sends to it over a socket."""
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        yield server.mailbox


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """`client_for(user)`: a test client logged in as `user`, through the real login (their
    password, allauth's checks), as many as a test needs."""

    def logged_in(user: User) -> Client:
        client = Client()
        assert client.login(email=user.email, password=PASSWORD)
        return client

    return logged_in


@pytest.fixture
def user_client(user, client_for) -> Client:
    return client_for(user)


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The outbox ids handed to the broker. Unit tests record them instead of publishing, so
    no message is left in the run's queue for a later test's worker to pick up."""
    ids: list[int] = []
    monkeypatch.setattr(deliver_notification, "delay", ids.append)
    monkeypatch.setattr(deliver_batch, "delay", ids.extend)
    # A single row rings the outbox's doorbell instead: recorded as the row it rang for.
    monkeypatch.setattr(doorbell, "ring", lambda rows=(), **_: ids.extend(rows))
    return ids


ROOT = Path(__file__).resolve().parent.parent


def local_env(db_file: Path, **extra: str) -> dict[str, str]:
    """The environment of `make run` on a machine with no services: SQLite file, no Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{db_file}",
        CELERY_FS_BROKER_DIR=str(db_file.parent / "broker"),
        **extra,
    )
    return env


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file per test run; tests copy it instead of migrating again."""
    db_file = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=local_env(db_file),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return db_file


@pytest.fixture
def sqlite_file(migrated_sqlite_template, tmp_path) -> Path:
    db_file = tmp_path / "db.sqlite3"
    shutil.copy(migrated_sqlite_template, db_file)
    return db_file


# One Playwright (and one chromium) for the whole run: a second sync_playwright started while
# the first is alive fails ("Sync API inside the asyncio loop").
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the tests' own ORM calls are synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield browser
        browser.close()


# A real Celery worker on the real Redis broker, in a thread of the test process, for tests
# that follow work through the broker (mark them `redis`, with a transactional database: the
# worker thread reads committed rows on its own connection).
def close_worker_connections(**kwargs) -> None:
    # The worker thread's connections would otherwise outlive the test database.
    connections.close_all()


@pytest.fixture
def worker():
    assert app.conf.broker_url.startswith("redis://")
    # The run's own queue: drop what earlier tests of this run published and never consumed.
    app.control.purge()
    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20) as w:
            yield w
    finally:
        task_postrun.disconnect(close_worker_connections)
