"""The check-in page in a real browser (Playwright on Debian's chromium), at phone size, under
a strict Content-Security-Policy: search as you type, one tap to check in without a reload,
and a second phone seeing the first one's check-ins through the polled counts."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Registration
from events.services import attendance
from tests.factories import PASSWORD, EventFactory, OrganizerFactory, SessionFactory

from .conftest import seat

CHROMIUM = Path("/usr/bin/chromium")
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"


pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def session_cookie(user, url: str) -> dict:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


def strict_csp(route) -> None:
    """Serve every response with a strict policy: an inline script or style would be blocked
    and reported on the console."""
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


@pytest.fixture
def door(live_server):
    owner = OrganizerFactory(display_name="Olga Owner")
    now = timezone.now()
    session = SessionFactory(
        event=EventFactory(organizer=owner),
        capacity=10,
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(minutes=70),
    )
    people = [
        seat(session, display_name=name)[0]
        for name in ("Ada Lovelace", "Grace Hopper", "Zoë Ångström", "Alan Turing")
    ]
    cookies = [session_cookie(owner, live_server.url), session_cookie(owner, live_server.url)]
    return {"session": session, "people": people, "cookies": cookies, "owner": owner}


def phone(browser, cookie: dict, errors: list[str]):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_cookies([cookie])
    page = context.new_page()
    page.route("**/*", strict_csp)
    page.on("console", lambda m: errors.append(m.text) if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def test_the_door_page_works_by_script_under_a_strict_policy(door, browser, live_server):
    errors: list[str] = []
    url = f"{live_server.url}/manage/sessions/{door['session'].pk}/checkin/"
    first = phone(browser, door["cookies"][0], errors)
    second = phone(browser, door["cookies"][1], errors)
    first.goto(url)
    second.goto(url)
    ada, grace, zoe, _alan = door["people"]

    first.fill("#door-q", "zoe")  # accents folded
    assert first.locator(".door-row:visible").all_inner_texts()[0].startswith("Zoë Ångström")
    assert first.locator("#door-list .door-row:visible").count() == 1

    first.click(f"#r{zoe.pk} .door-button")
    first.wait_for_selector(f"#r{zoe.pk}.is-in")
    assert first.inner_text("#door-status") == "Zoë Ångström is checked in."
    assert first.inner_text('[data-count="checked_in"]') == "1"
    assert first.inner_text('[data-count="remaining"]') == "3"
    assert first.url == url  # no reload, no redirect
    assert Registration.objects.get(pk=zoe.pk).checked_in_at is not None

    # Undo is held back for a moment after a check-in, so a double tap cannot undo it.
    assert first.is_disabled(f"#r{zoe.pk} [data-part='out'] button")

    # The other phone catches up within a poll or two.
    second.wait_for_selector(f"#r{zoe.pk}.is-in", timeout=12_000)
    assert second.inner_text('[data-count="checked_in"]') == "1"

    first.wait_for_selector(f"#r{zoe.pk} [data-part='out'] button:enabled")
    first.click(f"#r{zoe.pk} [data-part='out'] button")
    first.wait_for_selector(f"#r{zoe.pk}:not(.is-in)")
    assert Registration.objects.get(pk=zoe.pk).checked_in_at is None

    # A check-in made elsewhere (another phone, a scanned code) shows up too.
    attendance.check_in(registration=grace, actor=door["owner"])
    first.fill("#door-q", "")
    first.wait_for_selector(f"#r{grace.pk}.is-in", timeout=12_000)
    assert not first.locator(f"#r{ada.pk}.is-in").count()

    assert errors == []


def test_the_door_page_works_without_javascript(door, browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.add_cookies([door["cookies"][0]])
    page = context.new_page()
    ada = door["people"][0]
    page.goto(f"{live_server.url}/manage/sessions/{door['session'].pk}/checkin/")

    page.fill("#door-q", "ada")
    page.click("#door-search button[type=submit]")
    assert page.locator("#door-list .door-row").count() == 1
    page.click(f"#r{ada.pk} .door-button")

    assert page.locator(f"#r{ada.pk}.is-in").count() == 1
    assert "Ada Lovelace is checked in." in page.inner_text(".messages")
    assert "q=ada" in page.url
    page.fill("#id_email", "walker@example.com")
    page.click("#walk-in button[type=submit]")
    assert "is in as a walk-in and checked in" in page.inner_text(".messages")
    assert Registration.objects.filter(user__email="walker@example.com", walk_in=True).exists()
