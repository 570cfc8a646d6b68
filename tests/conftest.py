import uuid

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory
from tests.mail import SMTPServer
from tests.services import require


def pytest_runtest_setup(item: pytest.Item) -> None:
    for service in ("postgres", "redis"):
        if item.get_closest_marker(service):
            require(service)


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
def user_client(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client
