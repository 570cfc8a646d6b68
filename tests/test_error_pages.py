"""Error pages keep the site's layout (navigation, a way back) instead of Django's bare text,
and say nothing about what they refuse to show."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import EventFactory, OrganizerFactory, SessionFactory, organizer_of

pytestmark = pytest.mark.django_db


def test_a_page_that_does_not_exist_is_a_404_in_the_layout(user_client):
    response = user_client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<h1 id="error-heading">Page not found</h1>' in html
    assert 'aria-label="Main"' in html and reverse("home") in html


def test_another_organizers_event_is_a_404_that_names_nothing(user_client):
    event = EventFactory(organizer=OrganizerFactory(), title="Secret roadmap review")

    response = user_client.get(reverse("manage:event", args=[event.pk]))

    assert response.status_code == 404
    assert "Secret roadmap review" not in response.content.decode()
    assert "Page not found" in response.content.decode()


def test_opening_an_address_that_only_takes_a_form_explains_itself_with_a_405():
    session = SessionFactory()
    organizer = organizer_of(session.event)
    client = Client()
    client.force_login(organizer)

    response = client.get(reverse("manage:lottery_draw", args=[session.pk]))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "This address is for a button, not a page" in response.content.decode()
    assert not session.event.sessions.filter(lottery_drawn_at__isnull=False).exists()


def test_a_server_error_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_under_make_run_a_missing_page_is_our_404_not_djangos_list_of_urls(user_client, settings):
    # `make run` serves with DEBUG on, where Django would answer with its technical page: every
    # URL pattern of the site, unstyled under our CSP.
    settings.DEBUG = True

    response = user_client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<h1 id="error-heading">Page not found</h1>' in html
    assert "URLconf" not in html and "manage/" not in html


def test_under_make_run_a_404_raised_by_a_view_is_our_page_too(user_client, settings):
    settings.DEBUG = True
    event = EventFactory(organizer=OrganizerFactory(), title="Secret roadmap review")

    response = user_client.get(reverse("manage:event", args=[event.pk]))

    assert response.status_code == 404
    html = response.content.decode()
    assert '<h1 id="error-heading">Page not found</h1>' in html
    assert "Secret roadmap review" not in html and "Traceback" not in html


def test_under_make_run_an_address_without_its_slash_still_redirects(client, settings):
    settings.DEBUG = True

    response = client.get("/manage")

    assert response.status_code == 301
    assert response["Location"] == "/manage/"
