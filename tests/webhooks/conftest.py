import pytest
from django.conf import settings as django_settings
from django.utils import translation

from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request with ?lang=fr leaves French active in the test's thread (the language
    middleware activates, and nothing deactivates after the response): the next test starts
    in the default language again."""
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


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
