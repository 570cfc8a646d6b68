"""Rate limits: our own endpoints (events.ratelimit) and allauth's (login, failed logins,
password reset), each answered with a 429 page or a form error, never a 500."""

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Registration
from tests.factories import PASSWORD, SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """All requests of a test fall in one rate-limit window (no flake at a minute boundary)."""
    import events.ratelimit

    monkeypatch.setattr(events.ratelimit, "now", lambda: 1_800_000_010.0)


def test_hammering_the_sign_up_button_is_slowed_down_with_a_429(client_for):
    session = SessionFactory()
    client = client_for(UserFactory())
    url = reverse("events:register", args=[session.pk])
    statuses = [client.post(url).status_code for _ in range(20)]

    refused = client.post(url)

    assert 429 not in statuses
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "try again in" in refused.content.decode()
    assert Registration.objects.count() == 1


def test_the_limit_is_per_person(client_for):
    session = SessionFactory()
    busy = client_for(UserFactory())
    url = reverse("events:register", args=[session.pk])
    for _ in range(21):
        busy.post(url)

    other = client_for(UserFactory()).post(url)

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


def test_reading_the_sign_up_page_is_not_counted(client_for):
    session = SessionFactory()
    client = client_for(UserFactory())
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
    deliver_pending()  # the mail worker's part: allauth's mail goes through the outbox
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


# The admin's login and the delete-account password check: a limit on attempts, after which
# every attempt in that minute is refused, the right password included, so that guessing
# stops there and a lucky guess is not confirmed.

ADMIN_LOGIN = "/admin/login/"


def admin_attempt(password: str, *, login: str = "root@example.com", ip: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=ip).post(ADMIN_LOGIN, {"username": login, "password": password})


def test_guessing_an_admin_password_is_refused_after_five_tries_the_right_one_too():
    UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    wrong = [admin_attempt("not-it").status_code for _ in range(5)]

    refused = admin_attempt(PASSWORD)

    assert wrong == [200] * 5  # the form again, with its error
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Too many attempts to log in" in page and "try again in" in page
    assert "_auth_user_id" not in refused.wsgi_request.session


def test_the_admin_login_limit_per_account_holds_across_addresses():
    UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    for n in range(5):
        admin_attempt("not-it", login="ROOT@example.com", ip=f"198.51.100.{n}")

    assert admin_attempt(PASSWORD, ip="192.0.2.1").status_code == 429


def test_one_address_trying_many_accounts_is_refused_after_ten():
    statuses = [
        admin_attempt("guess", login=f"admin{n}@example.com").status_code for n in range(10)
    ]

    assert statuses == [200] * 10
    assert admin_attempt("guess", login="someone@example.com").status_code == 429


def test_the_admin_still_logs_in_at_the_first_try():
    UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()

    response = client.post(ADMIN_LOGIN, {"username": "root@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_guessing_the_password_to_delete_an_account_stops_after_five_tries(user, user_client):
    url = reverse("accounts:delete")
    wrong = [user_client.post(url, {"confirmation": "not-it"}).status_code for _ in range(5)]

    refused = user_client.post(url, {"confirmation": PASSWORD})

    assert wrong == [400] * 5
    assert refused.status_code == 429
    assert "Too many attempts at your password" in refused.content.decode()
    assert type(user).objects.filter(pk=user.pk).exists()
