"""Our own endpoints are rate limited (allauth's limits cover login, signup and reset)."""

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Registration
from tests.factories import PASSWORD, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """All requests of a test fall in one rate-limit window (no flake at a minute boundary)."""
    import events.ratelimit

    monkeypatch.setattr(events.ratelimit, "now", lambda: 1_800_000_010.0)


def logged_in(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_hammering_the_sign_up_button_is_slowed_down_with_a_429():
    session = SessionFactory()
    client = logged_in(UserFactory())
    url = reverse("events:register", args=[session.pk])
    statuses = [client.post(url).status_code for _ in range(20)]

    refused = client.post(url)

    assert 429 not in statuses
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "try again in" in refused.content.decode()
    assert Registration.objects.count() == 1


def test_the_limit_is_per_person():
    session = SessionFactory()
    busy = logged_in(UserFactory())
    url = reverse("events:register", args=[session.pk])
    for _ in range(21):
        busy.post(url)

    other = logged_in(UserFactory()).post(url)

    assert other.status_code == 302


def test_guessing_invitation_tokens_is_slowed_down():
    client = Client()
    statuses = [
        client.get(reverse("events:invitation", args=[f"forged-{n}"])).status_code
        for n in range(31)
    ]

    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_guessing_calendar_feed_tokens_is_slowed_down():
    client = Client()
    statuses = [
        client.get(reverse("events:user_feed", args=[f"guess{n}"])).status_code for n in range(61)
    ]

    assert set(statuses[:60]) == {404}
    assert statuses[60] == 429


def test_reading_the_sign_up_page_is_not_counted():
    session = SessionFactory()
    client = logged_in(UserFactory())
    url = reverse("events:register", args=[session.pk])
    for _ in range(25):
        assert client.get(url).status_code == 200

    assert client.post(url).status_code == 302
