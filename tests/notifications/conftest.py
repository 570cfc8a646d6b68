import pytest

from events.outbox import doorbell
from events.outbox.tasks import deliver_batch, deliver_notification
from tests.notifications.smtp import ScriptedSMTPServer


def point_django_at(settings, port: int, *, user: str = "", password: str = "") -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = user
    settings.EMAIL_HOST_PASSWORD = password
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings):
    """A real SMTP server (as tests/conftest.py's), scriptable: see smtp.ScriptedMailbox."""
    with ScriptedSMTPServer() as server:
        point_django_at(settings, server.port)
        yield server.mailbox


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The ids handed to the broker. Unit tests record them instead of publishing, so no
    message is left in the run's queue for a later test's worker to pick up."""
    ids: list[int] = []
    monkeypatch.setattr(deliver_notification, "delay", ids.append)
    monkeypatch.setattr(deliver_batch, "delay", ids.extend)
    # A single row rings the outbox's doorbell instead: recorded as the row it rang for.
    monkeypatch.setattr(doorbell, "ring", lambda rows=(), **_: ids.extend(rows))
    return ids
