import re
from types import SimpleNamespace

import pytest
from allauth.account.forms import LoginForm
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import User
from events.models import Notification
from tests.factories import PASSWORD, UserFactory
from tests.notifications.helpers import deliver_pending

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")
LOGIN = reverse("account_login")


def signup(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post(
        SIGNUP, {"email": email, "password1": password, "password2": password, **extra}
    )


def confirmation_link(mailbox, address: str) -> str:
    deliver_pending()
    [message] = mailbox.to(address)
    [link] = [u for u in mailbox.links(message) if "/accounts/confirm-email/" in u]
    return link


def test_signup_sends_a_verification_mail_whose_link_verifies_and_logs_in(smtp):
    client = Client()
    response = signup(client, "new.dev@example.com", display_name="New Dev")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.dev@example.com")
    assert user.display_name == "New Dev"
    assert not EmailAddress.objects.get(user=user).verified

    link = confirmation_link(smtp, "new.dev@example.com")
    path = re.sub(r"^https?://[^/]+", "", link)
    # Opening the link (as a mail scanner would) must not verify anything by itself.
    page = client.get(path)
    assert page.status_code == 200
    assert not EmailAddress.objects.get(user=user).verified

    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    home = client.get(reverse("home"))
    assert home.wsgi_request.user == user


def test_an_unverified_user_cannot_log_in_and_is_sent_a_new_link(smtp):
    UserFactory(email="pending@example.com", verified=False)
    client = Client()

    response = client.post(LOGIN, {"login": "pending@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    deliver_pending()
    assert len(smtp.to("pending@example.com")) == 1


def test_a_verified_user_logs_in_with_email_and_password():
    UserFactory(email="ada@example.com")
    client = Client()

    response = client.post(LOGIN, {"login": "ADA@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(reverse("home")).wsgi_request.user.email == "ada@example.com"


def test_a_wrong_password_gives_a_form_error_not_a_login():
    UserFactory(email="ada@example.com")
    client = Client()

    response = client.post(LOGIN, {"login": "ada@example.com", "password": "not-the-password"})

    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_repeated_failed_logins_are_rate_limited():
    UserFactory(email="ada@example.com")
    client = Client()
    for _ in range(5):
        client.post(LOGIN, {"login": "ada@example.com", "password": "wrong"})

    # Even the right password is refused while the limit holds.
    response = client.post(LOGIN, {"login": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_signing_up_with_a_known_email_looks_the_same_as_a_new_one(smtp):
    UserFactory(email="taken@example.com")

    known = signup(Client(), "taken@example.com")
    new = signup(Client(), "fresh@example.com")

    assert known.status_code == new.status_code == 302
    assert known["Location"] == new["Location"]
    assert User.objects.filter(email="taken@example.com").count() == 1
    # The owner of the known address is told, by mail, that someone tried.
    deliver_pending()
    [notice] = smtp.to("taken@example.com")
    assert "already" in smtp.text(notice).lower()


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting the passwords it hashes: in production each is most of a
    second of PBKDF2, the cost that told a new address from a known one."""

    hashed = 0

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        return super().encode(password, salt)


def test_signing_up_with_a_known_email_does_the_same_slow_work_as_a_new_one(smtp, settings):
    """A known address used to answer in 0.03 s and a new one in 0.68 s, with the same page:
    the time said which addresses have an account. Both now hash the password once and owe
    one mail, one outbox row written through the same path, before answering; neither talks
    to the relay."""
    settings.PASSWORD_HASHERS = ["tests.accounts.test_signup.CountingHasher"]
    UserFactory(email="taken@example.com")

    work = {}
    for address in ("taken@example.com", "fresh@example.com"):
        CountingHasher.hashed = 0
        response = signup(Client(), address)
        owed = Notification.objects.filter(email=address, kind=Notification.Kind.ACCOUNT)
        work[address] = (response.status_code, CountingHasher.hashed, owed.count(), smtp.messages)

    assert work["taken@example.com"] == work["fresh@example.com"] == (302, 1, 1, [])
    deliver_pending()
    assert len(smtp.to("taken@example.com")) == len(smtp.to("fresh@example.com")) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "a" * 250 + "@example.com"}, "email", "at most"),
        ({"email": "ok@example.com", "display_name": "x" * 101}, "display_name", "at most 100"),
        (
            {"email": "ok@example.com", "password1": "short", "password2": "short"},
            "password1",
            "too short",
        ),
        (
            {"email": "ok@example.com", "password2": "different-password-123"},
            "password2",
            "same password",
        ),
    ],
)
def test_bad_signup_input_gives_a_clear_error_and_creates_nothing(data, field, message):
    payload = {"password1": PASSWORD, "password2": PASSWORD, **data}

    response = Client().post(SIGNUP, payload)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field]).lower() or message in str(errors[field])
    assert not User.objects.exists()


def test_password_reset_answers_the_same_for_known_and_unknown_emails(smtp):
    UserFactory(email="known@example.com")
    url = reverse("account_reset_password")

    known = Client().post(url, {"email": "known@example.com"})
    unknown = Client().post(url, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    deliver_pending()
    [reset] = smtp.to("known@example.com")
    assert any("/accounts/password/reset/key/" in link for link in smtp.links(reset))


def test_password_reset_link_sets_a_new_password(smtp):
    UserFactory(email="known@example.com")
    client = Client()
    client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    deliver_pending()
    [reset] = smtp.to("known@example.com")
    [link] = [u for u in smtp.links(reset) if "/password/reset/key/" in u]

    form_page = client.get(re.sub(r"^https?://[^/]+", "", link), follow=True)
    new_password = "a-brand-new-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": new_password, "password2": new_password},
    )

    assert done.status_code == 302
    assert User.objects.get(email="known@example.com").check_password(new_password)


def test_github_login_is_hidden_without_credentials():
    page = Client().get(LOGIN)

    assert page.status_code == 200
    assert "GitHub" not in page.content.decode()


def test_github_login_appears_when_credentials_are_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [{"client_id": "abc", "secret": "def", "key": ""}]}
    }

    page = Client().get(LOGIN)

    assert "GitHub" in page.content.decode()


def test_a_new_account_starts_in_the_zone_its_browser_reported(smtp):
    client = Client()
    client.cookies["tz"] = "America/Los_Angeles"  # set by static/js/tz.js on the first page

    assert signup(client, "west@example.com").status_code == 302

    assert User.objects.get(email="west@example.com").timezone == "America/Los_Angeles"


def test_a_new_account_keeps_the_language_it_was_created_in_and_is_mailed_in_it(smtp):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9,en;q=0.5")

    assert signup(client, "marie@example.com").status_code == 302

    assert User.objects.get(email="marie@example.com").language == "fr"
    deliver_pending()
    [mail] = smtp.to("marie@example.com")
    assert "Confirmez votre adresse e-mail" in mail["Subject"]


def test_a_browser_naming_no_language_we_have_leaves_the_new_account_on_its_browser():
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE")

    assert signup(client, "hans@example.com").status_code == 302

    assert User.objects.get(email="hans@example.com").language == ""  # "same as my browser"


@pytest.mark.parametrize("cookie", ["Mars/Olympus_Mons", "", "UTC%3Bpath%3D%2F"])
def test_a_missing_or_made_up_browser_zone_leaves_a_new_account_on_utc(smtp, cookie):
    client = Client()
    client.cookies["tz"] = cookie

    assert signup(client, "nowhere@example.com").status_code == 302

    assert User.objects.get(email="nowhere@example.com").timezone == "UTC"


def test_a_github_account_starts_in_the_browser_zone_with_its_github_profile():
    from allauth.socialaccount.models import SocialAccount, SocialLogin
    from django.test import RequestFactory

    from accounts.adapters import SocialAccountAdapter

    request = RequestFactory().get("/")
    request.COOKIES["tz"] = "Asia/Tokyo"
    account = SocialAccount(provider="github", extra_data={"login": "yuki", "name": "Yuki"})
    login = SocialLogin(account=account, user=User())

    user = SocialAccountAdapter().populate_user(request, login, {"email": "yuki@example.com"})

    assert (user.timezone, user.github_handle, user.display_name) == ("Asia/Tokyo", "yuki", "Yuki")


def tight(html: str) -> str:
    """The page with the whitespace around its tags removed."""
    return re.sub(r"\s*([<>])\s*", r"\1", " ".join(html.split()))


@pytest.mark.parametrize(
    ("url", "heading"),
    [("account_login", "Log in"), ("account_signup", "Sign up"), ("account_reset_password", None)],
)
def test_the_account_pages_use_the_sites_words(url, heading):
    html = tight(Client().get(reverse(url)).content.decode())

    for allauths in ("Sign In", "Sign Up", "Remember Me", "Signup"):
        assert allauths not in html, allauths
    if heading:
        assert f"<h1>{heading}</h1>" in html
        assert f"<title>{heading} ·" in html


def test_the_log_in_page_offers_log_in_and_remember_me():
    html = tight(Client().get(reverse("account_login")).content.decode())

    assert '<button type="submit">Log in</button>' in html
    assert ">Remember me:<" in html


def test_the_log_out_page_says_log_out(user_client):
    html = tight(user_client.get(reverse("account_logout")).content.decode())

    assert "Sign Out" not in html
    assert "<h1>Log out</h1>" in html


def test_logging_in_and_out_is_said_in_the_sites_words():
    user = UserFactory()
    client = Client()

    logged_in = client.post(LOGIN, {"login": user.email, "password": PASSWORD}, follow=True)
    logged_out = client.post(reverse("account_logout"), follow=True)

    assert "Logged in as" in logged_in.content.decode()
    assert "You have logged out." in logged_out.content.decode()
    assert "signed" not in logged_in.content.decode() + logged_out.content.decode()


def test_the_social_sign_up_page_renders_its_form_and_names_the_provider(rf):
    # No test signs up through a provider; this is the page's only check that it renders.
    request = rf.get("/")
    request.user = AnonymousUser()
    provider = SimpleNamespace(name="GitHub")
    html = render_to_string(
        "socialaccount/signup.html",
        {
            "form": LoginForm(),
            "redirect_field": "",
            "account": SimpleNamespace(get_provider=lambda: provider),
            "site": SimpleNamespace(name="Events"),
        },
        request=request,
    )

    assert "your GitHub account" in html
    assert 'action="{}"'.format(reverse("socialaccount_signup")) in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Sign up\s*</button>", html)
