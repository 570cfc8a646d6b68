"""The panel on a phone, as an organizer composes a segment: the operator list offers only
what the chosen field takes, "Add a condition" brings an empty row, the count and the table
follow the filter, and the saved segment opens with its description and its people. Then the
same composing with JavaScript off: every operator offered, and it still works. The segment
editor counts as you type, without a click."""

import re

import pytest
from playwright.sync_api import expect

from events.models import Segment
from events.services import segments
from tests.factories import OrganizerFactory, PanelMemberFactory

from .steps import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "olga@devrel.example.com"


def panel_of_three():
    organizer = OrganizerFactory(email=EMAIL, display_name="Olga Organizer")
    team = organizer.teams.get()
    PanelMemberFactory(team=team, email="ada@lab.example.org", role="researcher", attended=0)
    PanelMemberFactory(team=team, email="bo@lab.example.org", role="researcher", attended=2)
    PanelMemberFactory(team=team, email="cy@dev.example.org", role="developer", attended=0)
    return team


def offered(select) -> list[str]:
    return select.evaluate(
        "s => Array.from(s.options).filter(o => !o.hidden && !o.disabled).map(o => o.text)"
    )


def test_an_organizer_composes_and_saves_a_segment_on_a_phone(open_tab):
    team = panel_of_three()
    tab = open_tab("organizer", phone=True)
    log_in(tab, email=EMAIL, name="Olga Organizer")
    tab.visit("/manage/", "dashboard")
    tab.click(tab.page.get_by_role("link", name="Panel"), "panel")
    page = tab.page
    expect(page.get_by_role("heading", level=1)).to_contain_text("(3 people)")

    page.locator("#c-0-field").select_option(label="Role")
    assert offered(page.locator("#c-0-op")) == ["is any of"]
    page.locator("#c-0-value").fill("researcher")
    tab.click(page.get_by_role("button", name="Add a condition"), "a second condition")
    page.locator("#c-1-field").select_option(label="Sessions attended")
    assert offered(page.locator("#c-1-op")) == ["is exactly", "is at least", "is at most"]
    page.locator("#c-1-op").select_option(label="is exactly")
    page.locator("#c-1-value").fill("0")
    tab.click(page.get_by_role("button", name="Show matching people"), "filtered")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(1 person matching)")
    expect(page.get_by_text("Showing: researchers, never attended.")).to_be_visible()
    assert tab.fits_the_screen()

    page.get_by_label("Save these conditions as a segment named").fill("New researchers")
    tab.click(page.get_by_role("button", name="Save as segment"), "segment")
    expect(page.get_by_role("heading", level=1)).to_have_text("New researchers")
    expect(page.get_by_text("Researchers, never attended.")).to_be_visible()
    expect(page.locator("table")).to_contain_text("ada@lab.example.org")
    assert Segment.objects.get(team=team).definition == [
        {"field": "role", "op": "in", "value": ["researcher"]},
        {"field": "attended", "op": "eq", "value": 0},
    ]


def test_without_javascript_every_operator_is_offered_and_a_wrong_pair_is_explained(
    browser, live_server, client_for
):
    panel_of_three()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password:", exact=True).fill("correct-horse-battery-staple")
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/manage/")
        page.get_by_role("link", name="Panel").click()
        page.locator("#c-0-field").select_option(label="Role")
        # Without JavaScript every operator of every kind of field is offered, once.
        every = {op for ops in segments.OPS.values() for op in ops}
        assert sorted(offered(page.locator("#c-0-op"))) == sorted(
            segments.OP_LABELS[op] for op in every
        )
        page.locator("#c-0-op").select_option(label="is at least")
        page.locator("#c-0-value").fill("2")
        page.get_by_role("button", name="Show matching people").click()
        expect(page.get_by_role("alert")).to_contain_text(
            re.compile("Condition 1 \\(Role\\): choose one of “is any of”")
        )
        page.locator("#c-0-op").select_option(label="is any of")
        page.locator("#c-0-value").fill("developer")
        page.get_by_role("button", name="Add a condition").click()
        expect(page.locator("#c-1-field")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_contain_text("(1 person matching)")
    finally:
        context.close()


def test_the_segment_editor_counts_as_the_conditions_are_typed(open_tab):
    team = panel_of_three()
    tab = open_tab("organizer")
    log_in(tab, email=EMAIL, name="Olga Organizer")
    tab.visit(f"/manage/t/{team.slug}/segments/new/", "new segment")
    page = tab.page
    count = page.locator("#segment-count")
    expect(count).to_have_attribute("aria-live", "polite")

    page.locator("#c-0-field").select_option(label="Role")
    page.locator("#c-0-value").press_sequentially("researcher", delay=20)
    expect(count).to_have_text("2 people match these conditions now.")

    page.locator("#c-0-value").fill("developer")
    expect(count).to_have_text("1 person matches these conditions now.")

    page.locator("#c-0-value").fill("wizard")
    expect(count).to_contain_text("Not counted: Condition 1 (Role): “wizard” is not a role")
    assert page.url.endswith("/segments/new/")  # no click, no page load
    assert not Segment.objects.exists()
    # The count's 400 for that draft is its answer, which Chromium logs as a failed load:
    # expected here, and the only console error allowed.
    expected = [e for e in tab.console_errors if "/segments/count/" in e[1] and "400" in e[0]]
    assert len(expected) >= 1
    tab.console_errors[:] = [e for e in tab.console_errors if e not in expected]
