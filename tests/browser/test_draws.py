"""A draw on a phone, as an organizer makes one: from a segment, "Draw a sample" with a
minimum share, the draw's page (who was picked, why others were not, the seed), then "Invite
these to…" opens the event's invitation page with exactly the picked people in its list."""

import re

import pytest
from playwright.sync_api import expect

from events.models import Draw, PanelMember
from tests.factories import EventFactory, OrganizerFactory, PanelMemberFactory, SegmentFactory

from .steps import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "olga@devrel.example.com"


def test_an_organizer_draws_from_a_segment_and_invites_the_sample_on_a_phone(open_tab):
    organizer = OrganizerFactory(email=EMAIL, display_name="Olga Organizer")
    team = organizer.teams.get()
    EventFactory(organizer=organizer, team=team, title="Model preview")
    for n in range(6):
        PanelMemberFactory(team=team, email=f"dev{n}@example.org", role="developer")
    for n in range(2):
        PanelMemberFactory(team=team, email=f"res{n}@example.org", role="researcher")
    segment = SegmentFactory(team=team, name="Everyone who agreed")

    tab = open_tab("organizer", phone=True)
    log_in(tab, email=EMAIL, name="Olga Organizer")
    tab.visit(f"/manage/segments/{segment.pk}/", "segment")
    page = tab.page
    tab.click(page.get_by_role("link", name="Draw a sample"), "draw form")
    page.get_by_label("How many people").fill("3")
    page.locator("#m-0-field").select_option(label="Role")
    page.locator("#m-0-value").fill("researcher")
    page.locator("#m-0-share").fill("50")
    page.get_by_label("Seed (optional)").fill("phone-seed")
    assert tab.fits_the_screen()
    tab.click(page.get_by_role("button", name="Draw", exact=True), "draw")

    expect(page.get_by_role("heading", level=1)).to_have_text("3 of 3 drawn")
    expect(page.get_by_text("phone-seed")).to_be_visible()
    expect(page.get_by_text("not reached: the sample was full")).to_be_visible()
    assert tab.fits_the_screen()
    drawn = Draw.objects.get()
    picked = set(PanelMember.objects.filter(pk__in=drawn.picked).values_list("email", flat=True))
    assert {"res0@example.org", "res1@example.org"} <= picked

    page.get_by_label("Event").select_option(label="Model preview")
    tab.click(page.get_by_role("button", name="Continue to the invitation"), "invite page")
    listed = page.get_by_label("Email addresses").input_value()
    assert set(re.findall(r"<([^>]+)>", listed)) == picked
