"""What a developer does, in a real browser, through the pages only: sign up and verify the
address from the mail, find an event, take a seat (by keyboard), see it in "My sessions",
cancel it; accept a confidential event's terms; the same pages on a phone.

The organizer's side (their account, their event) is seeded where these journeys do not cover
it; everything the developer does goes through the UI."""

import re

import pytest
from playwright.sync_api import expect

from events.models import Registration
from tests.factories import EventFactory, SessionFactory

from .steps import open_menu, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def events():
    """Two public events of different kinds, so finding one means filtering the list."""
    demo = EventFactory(title="Agents prototype demo", kind="demo")
    SessionFactory(event=demo, capacity=50)
    feedback = EventFactory(
        title="Open model feedback",
        kind="feedback",
        description="Tell the team what you expect from the **open model**.",
    )
    session = SessionFactory(event=feedback, capacity=8, title="Europe-friendly slot")
    return {"demo": demo, "feedback": feedback, "session": session}


def test_a_developer_signs_up_takes_a_seat_by_keyboard_and_cancels_it(open_tab, smtp, events):
    tab = open_tab("developer")
    page = tab.page
    sign_up(tab, smtp, email="dev@example.com", name="Dana Developer")

    # Find the event: filter the list to feedback sessions, then open it.
    filters = page.get_by_role("navigation", name="Filter events")
    tab.click(filters.get_by_role("link", name="Feedback sessions"), "feedback sessions")
    listing = page.locator(".event-grid")
    expect(listing).to_contain_text("Open model feedback")
    expect(listing).not_to_contain_text("Agents prototype demo")
    tab.click(page.get_by_role("link", name="Open model feedback"), "event page")
    slot = page.locator(".session-card", has_text="Europe-friendly slot")
    expect(slot).to_contain_text("8 of 8 seats left")

    # Take the seat with the keyboard only: the skip link first, then Tab to the button.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    sign_up_button = slot.get_by_role("button", name="Sign up")
    tab.tab_to(sign_up_button)
    assert tab.focus_is_visible(), "the focused Sign up button shows no focus ring"
    tab.press("Enter", "signed up")
    expect(page.locator(".messages")).to_contain_text("You're in: your seat is confirmed.")
    expect(slot).to_contain_text("Your status: Confirmed")
    expect(slot).to_contain_text("7 of 8 seats left")
    expect(slot).to_contain_text("Room 1, Example HQ")  # the place, shown once confirmed

    tab.click(page.get_by_role("link", name="My sessions"), "my sessions")
    mine = page.locator(".registration-row", has_text="Open model feedback")
    expect(mine).to_contain_text("Confirmed")

    # Cancel: one click to the confirmation page, whose button does it.
    tab.click(mine.get_by_role("link", name="Cancel"), "cancel?")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your place?")
    tab.click(page.get_by_role("button", name="Yes, cancel"), "cancelled")
    expect(page).to_have_url(re.compile(r"/me/sessions/$"))
    expect(page.locator(".messages")).to_contain_text("Cancelled: Open model feedback.")
    expect(page.locator(".registration-row", has_text="Open model feedback")).to_contain_text(
        "Cancelled"
    )
    registration = Registration.objects.get(user__email="dev@example.com")
    assert registration.status == Registration.Status.CANCELLED

    # The seat is free again for the next person.
    tab.click(page.get_by_role("link", name="Open model feedback"), "event page after cancel")
    expect(slot).to_contain_text("8 of 8 seats left")


def test_a_confidential_event_asks_for_its_terms_before_the_seat(open_tab, smtp):
    event = EventFactory(
        title="Unreleased model: hands-on",
        kind="demo",
        terms_text="Do not share screenshots or results before the release.",
        terms_version=2,
    )
    SessionFactory(event=event, capacity=5)
    tab = open_tab("developer")
    page = tab.page
    sign_up(tab, smtp, email="nda@example.com", name="Nia Reviewer")

    tab.click(page.get_by_role("link", name="Unreleased model: hands-on"), "confidential event")
    expect(page.get_by_role("heading", name=re.compile("Confidentiality terms"))).to_contain_text(
        "version 2"
    )
    tab.click(page.get_by_role("link", name="Sign up"), "terms to accept")
    expect(page.locator(".terms-box")).to_contain_text("Do not share screenshots")

    # Without ticking the box, the form says why nothing happened.
    tab.click(page.get_by_role("button", name="Sign up"), "terms not accepted")
    expect(page.get_by_role("alert")).to_contain_text("You need to accept the terms to sign up.")
    assert not Registration.objects.exists()

    # Tick it with the keyboard (Space on the focused box), then send with Enter.
    checkbox = page.get_by_label("I accept the confidentiality terms above (version 2)")
    tab.tab_to(checkbox)
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    tab.tab_to(page.get_by_role("button", name="Sign up"))
    tab.press("Enter", "signed up with terms")
    expect(page.locator(".messages")).to_contain_text("You're in")
    expect(page.locator(".terms")).to_contain_text("You accepted this version.")
    assert Registration.objects.get().status == Registration.Status.CONFIRMED


def test_the_event_page_and_my_sessions_work_on_a_phone(open_tab, smtp, events):
    tab = open_tab("developer on a phone", phone=True)
    page = tab.page
    sign_up(tab, smtp, email="phone@example.com", name="Pat Phone")

    tab.visit(f"/events/{events['feedback'].pk}/", "event page")
    assert tab.fits_the_screen(), "the event page scrolls sideways on a phone"
    button = page.get_by_role("button", name="Sign up")
    box = button.bounding_box()
    assert box["height"] >= 40, f"the Sign up button is {box['height']}px tall: hard to tap"
    tab.then(button.tap, "signed up")
    expect(page.locator(".messages")).to_contain_text("You're in")
    assert tab.fits_the_screen()

    open_menu(tab)
    tab.click(page.get_by_role("link", name="My sessions"), "my sessions")
    mine = page.locator(".registration-row", has_text="Open model feedback")
    expect(mine).to_contain_text("Confirmed")
    expect(mine.locator(".checkin-code svg, .checkin-code img")).to_be_visible()
    assert tab.fits_the_screen(), "my sessions scrolls sideways on a phone"
    cancel = mine.get_by_role("link", name="Cancel")
    cancel.scroll_into_view_if_needed()
    assert cancel.bounding_box()["x"] + cancel.bounding_box()["width"] <= 390
