import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("name", ["home", "account_login", "account_signup", "events:list"])
def test_pages_allow_no_inline_script_or_style(name):
    response = Client().get(reverse(name))

    directives = policy(response)
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_logged_in_pages_carry_the_policy_too():
    user = UserFactory()
    client = Client()
    client.login(email=user.email, password=PASSWORD)

    response = client.get(reverse("events:my_sessions"))

    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_github_login_may_redirect_a_form_post_to_github_when_configured(settings):
    from config.security import content_security_policy

    assert "github.com" not in content_security_policy()
    settings.GITHUB_CLIENT_ID = "abc"
    assert "form-action 'self' https://github.com" in content_security_policy()
