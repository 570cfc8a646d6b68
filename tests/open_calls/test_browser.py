"""The public form in a real browser (Playwright on Debian's chromium) at phone size: it
fits the screen, Tab never lands on the honeypot, and a wrong field keeps what was typed."""

from pathlib import Path

import pytest

from events.models import Submission
from tests.factories import OrganizerFactory

from .conftest import make_call, questions

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_form_fits_tab_skips_the_honeypot_and_errors_keep_the_input(
    live_server, browser
):
    call = make_call(OrganizerFactory())
    long = f"q{questions(call).long.pk}"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
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
    finally:
        context.close()
    assert not Submission.objects.exists()
