import pytest

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
