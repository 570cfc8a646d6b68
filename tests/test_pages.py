import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_home_page_has_landmarks_and_a_skip_link():
    html = Client().get(reverse("home")).content.decode()

    assert '<main id="main"' in html
    assert "<header" in html and "<footer" in html and '<nav aria-label="Main"' in html
    assert 'href="#main"' in html


def test_pages_load_no_asset_from_another_host():
    for name in ("home", "account_login", "account_signup"):
        html = Client().get(reverse(name)).content.decode()
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
        assert external == [], f"{name} loads {external}"


def test_navigation_shows_who_is_logged_in(user, user_client):
    html = user_client.get(reverse("home")).content.decode()

    assert user.display_name in html
    assert "Log out" in html


def test_every_input_on_the_account_pages_has_a_label(user, user_client):
    for client, name in [
        (Client(), "account_login"),
        (Client(), "account_signup"),
        (Client(), "account_reset_password"),
        (user_client, "accounts:profile"),
        (user_client, "accounts:delete"),
        (user_client, "account_change_password"),
    ]:
        html = client.get(reverse(name)).content.decode()
        ids = re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', html
        )
        assert ids, name
        for field_id in ids:
            assert f'for="{field_id}"' in html, f"{name}: #{field_id} has no label"


def test_healthz_reports_database_and_cache():
    response = Client().get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["cache"] == "ok"
