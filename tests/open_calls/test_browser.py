"""The public form in a real browser (Playwright on Debian's chromium) at phone size: it
fits the screen, Tab never lands on the honeypot, and a wrong field keeps what was typed."""

from pathlib import Path

import pytest
from playwright import sync_api as playwright

from events.models import Submission
from tests.factories import OrganizerFactory

from .conftest import make_call, questions

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_form_fits_tab_skips_the_honeypot_and_errors_keep_the_input(live_server):
    call = make_call(OrganizerFactory())
    long = f"q{questions(call).long.pk}"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{live_server.url}/call/{call.slug}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.focus("#id_email")
        reached = []
        for _ in range(30):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.name"))
        assert "website" not in reached
        assert {"name", "consent", long} <= set(reached)
        page.fill("#id_email", "not-an-email")
        page.fill("#id_name", "Ada")
        page.fill(f"#{long}", "Agents for code review")
        page.click("button[type=submit]")
        assert page.input_value("#id_name") == "Ada"
        assert page.input_value(f"#{long}") == "Agents for code review"
        assert page.get_attribute("#id_email", "aria-invalid") == "true"
        assert page.locator("#form-errors").is_visible()
        browser.close()
    assert not Submission.objects.exists()
