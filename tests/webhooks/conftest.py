import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def loopback(settings):
    """Tests opt in to delivering to 127.0.0.1 (production refuses it), with quick retries."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_RETRY_BASE = 0.3
    return settings
