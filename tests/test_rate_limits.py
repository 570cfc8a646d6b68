"""Rate limits: our own endpoints (events.ratelimit) and allauth's (login, failed logins,
password reset), each answered with a 429 page or a form error, never a 500."""

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


def test_two_feeds_polled_from_one_address_each_keep_their_own_budget():
    # Calendar services poll many people's feeds from a few shared addresses.
    mine, theirs = UserFactory(), UserFactory()
    client = Client(REMOTE_ADDR="203.0.113.7")
    my_feed = reverse("events:user_feed", args=[mine.calendar_token])
    their_feed = reverse("events:user_feed", args=[theirs.calendar_token])

    mine_statuses = [client.get(my_feed).status_code for _ in range(60)]
    theirs_status = client.get(their_feed).status_code
    guesses = [
        client.get(reverse("events:user_feed", args=[f"guess{n}"])).status_code for n in range(61)
    ]

    assert set(mine_statuses) == {200}
    assert theirs_status == 200
    assert client.get(my_feed).status_code == 429  # its own budget is spent
    assert guesses[-1] == 429  # wrong tokens still spend the address's budget...
    assert client.get(their_feed).status_code == 200  # ...which no real feed shares


def test_reading_the_sign_up_page_is_not_counted():
    session = SessionFactory()
    client = logged_in(UserFactory())
    url = reverse("events:register", args=[session.pk])
    for _ in range(25):
        assert client.get(url).status_code == 200

    assert client.post(url).status_code == 302


# allauth's own limits (ACCOUNT_RATE_LIMITS defaults): login, failed logins, password reset.

LOGIN = reverse("account_login")
RESET = reverse("account_reset_password")


def test_hammering_the_log_in_form_is_answered_with_a_429_page():
    client = Client()
    statuses = [
        client.post(LOGIN, {"login": f"guess{n}@example.com", "password": "nope"}).status_code
        for n in range(30)
    ]

    refused = client.post(LOGIN, {"login": "guess@example.com", "password": "nope"})

    assert set(statuses) == {200}  # the form, with its error
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Slow down a little" in page
    # allauth gives the page no waiting time: it must not read "try again in  seconds".
    assert "Please wait a few minutes, then try again." in page


def test_guessing_one_persons_password_is_stopped_after_five_tries():
    UserFactory(email="ada@example.com")
    client = Client()
    for _ in range(5):
        wrong = client.post(LOGIN, {"login": "ada@example.com", "password": "not-it"})
        assert "Too many failed login attempts" not in wrong.content.decode()

    right = client.post(LOGIN, {"login": "ada@example.com", "password": PASSWORD})

    assert right.status_code == 200
    assert "Too many failed login attempts. Try again later." in right.content.decode()
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_reset_mails_to_one_address_stop_after_five(mailoutbox):
    UserFactory(email="ada@example.com")
    client = Client()
    statuses = [client.post(RESET, {"email": "ada@example.com"}).status_code for _ in range(6)]

    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429
    assert len(mailoutbox) == 5


def test_reset_requests_from_one_address_stop_after_twenty(mailoutbox):
    client = Client()
    statuses = [
        client.post(RESET, {"email": f"someone{n}@example.com"}).status_code for n in range(21)
    ]

    assert statuses[:20] == [302] * 20
    assert statuses[20] == 429
    assert "Slow down a little" in client.post(RESET, {"email": "x@example.com"}).content.decode()


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(settings):
    from django.test import RequestFactory

    from events.ratelimit import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    # The proxy appended the real client; what the client claimed further left is ignored.
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
