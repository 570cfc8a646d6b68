"""The panel end to end, as issue #17's "Done when" tells it: an organizer opens the panel,
composes a segment of two conditions and saves it, draws 10 with a minimum share of
researchers, reads the draw, and invites the sample to a session through the invitation
page (preview, send). One invitee reads the invitation that reached her over real SMTP and,
on her phone (390 px), unsubscribes with its link. The organizer draws again and invites
again: the draw passes her over with the unsubscribe reason, the invitation preview leaves
her out with it even when her address is pasted back in, and no second invitation reaches
her.

The team keeps its default contact rules (a 30-day cool-down): the second draw also skips
the first sample, so it picks the other people of the segment."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from events.models import ContactBlock, Draw, Invitation, Notification, PanelMember, Segment
from events.outbox import delivery
from tests.factories import EventFactory, OrganizerFactory, PanelMemberFactory, SessionFactory

from .steps import log_in
from .tabs import Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "olga@devrel.example.com"
UNSUBSCRIBED = "Unsubscribed from this team's mail: never invited again."
COOL_DOWN = "Invited by this team today (cool-down: 30 days)."


def panel_of_the_team():
    """16 developers and 6 researchers who attended at most once (the segment), and people
    outside it: community members, developers who came three times."""
    organizer = OrganizerFactory(email=EMAIL, display_name="Olga Organizer")
    team = organizer.teams.get()
    for n in range(16):
        PanelMemberFactory(team=team, email=f"dev{n:02}@example.org", role="developer")
    for n in range(6):
        PanelMemberFactory(
            team=team, email=f"res{n}@lab.example.org", role="researcher", attended=n % 2
        )
    for n in range(2):
        PanelMemberFactory(team=team, email=f"com{n}@example.org", role="community")
        PanelMemberFactory(team=team, email=f"old{n}@example.org", role="developer", attended=3)
    event = EventFactory(
        organizer=organizer, team=team, title="Model preview", registration_mode="invitation"
    )
    return team, event, SessionFactory(event=event), SessionFactory(event=event)


def deliver_the_mail() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def draw_ten(tab: Tab, segment: Segment, seed: str) -> Draw:
    """From the segment's page: "Draw a sample" of 10, at least 30% researchers."""
    page = tab.page
    tab.visit(f"/manage/segments/{segment.pk}/", f"segment before {seed}")
    tab.click(page.get_by_role("link", name="Draw a sample"), f"draw form {seed}")
    page.get_by_label("How many people").fill("10")
    page.locator("#m-0-field").select_option(label="Role")
    page.locator("#m-0-value").fill("researcher")
    page.locator("#m-0-share").fill("30")
    page.get_by_label("Seed (optional)").fill(seed)
    tab.click(page.get_by_role("button", name="Draw", exact=True), f"draw {seed}")
    expect(page.get_by_role("heading", level=1)).to_have_text("10 of 10 drawn")
    expect(page.get_by_text(seed, exact=True)).to_be_visible()
    return Draw.objects.get(seed=seed)


def invite_the_draw(tab: Tab, session, *, also: str = "") -> str:
    """ "Invite these to…" the event, choose the session, check the list (the preview) and
    send; returns the preview's list of people left out."""
    page = tab.page
    page.get_by_label("Event").select_option(label="Model preview")
    tab.click(page.get_by_role("button", name="Continue to the invitation"), "invite page")
    page.get_by_label("Invite to").select_option(str(session.pk))
    if also:  # pasted by hand under the drawn list, e.g. from an old spreadsheet
        listed = page.get_by_label("Email addresses")
        listed.fill(listed.input_value() + f"\n{also}")
    tab.click(page.get_by_role("button", name="Check the list"), "invite preview")
    left_out = page.locator("#refused-heading")
    refused = left_out.locator("xpath=..").inner_text() if left_out.count() else ""
    tab.click(page.get_by_role("button", name="Send 10 invitations"), "invitations sent")
    expect(page.get_by_text("10 invitations on their way.")).to_be_visible()
    return refused


def emails_of(drawn: Draw) -> set[str]:
    return set(PanelMember.objects.filter(pk__in=drawn.picked).values_list("email", flat=True))


def test_an_organizer_draws_and_invites_and_whoever_unsubscribes_is_never_invited_again(
    open_tab, smtp
):
    team, _event, morning, afternoon = panel_of_the_team()
    olga = open_tab("organizer")
    log_in(olga, email=EMAIL, name="Olga Organizer")
    page = olga.page

    # The panel, and a segment of two conditions.
    olga.visit("/manage/", "dashboard")
    olga.click(page.get_by_role("link", name="Panel"), "panel")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(26 people)")
    page.locator("#c-0-field").select_option(label="Role")
    page.locator("#c-0-value").fill("developer, researcher")
    olga.click(page.get_by_role("button", name="Add a condition"), "a second condition")
    page.locator("#c-1-field").select_option(label="Sessions attended")
    page.locator("#c-1-op").select_option(label="is at most")
    page.locator("#c-1-value").fill("1")
    olga.click(page.get_by_role("button", name="Show matching people"), "filtered")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(22 people matching)")
    page.get_by_label("Save these conditions as a segment named").fill("Builders")
    olga.click(page.get_by_role("button", name="Save as segment"), "segment")
    expect(page.get_by_role("heading", level=1)).to_have_text("Builders")
    segment = Segment.objects.get(team=team)

    # The first draw: 10, at least 3 researchers; the draw's page is the preview of the sample.
    first = draw_ten(olga, segment, "first-round")
    picked = emails_of(first)
    assert sum(e.startswith("res") for e in picked) >= 3
    assert not picked & {"com0@example.org", "com1@example.org", "old0@example.org"}
    table = page.get_by_role("table").filter(has_text="Picked people")
    for email in picked:
        expect(table).to_contain_text(email)

    invite_the_draw(olga, morning)
    assert set(Invitation.objects.filter(session=morning).values_list("email", flat=True)) == (
        picked
    )
    deliver_the_mail()

    # One invitee reads her invitation on her phone and unsubscribes with its link.
    ann = sorted(e for e in picked if e.startswith("res"))[0]
    [mail] = smtp.to(ann)
    assert "Model preview" in mail["Subject"]
    link = next(u for u in smtp.links(mail) if "/unsubscribe/" in u)
    phone = open_tab("invitee", phone=True)
    phone.visit(urlsplit(link).path, "unsubscribe page")
    expect(phone.page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Unsubscribe from ")
    )
    assert phone.fits_the_screen()
    phone.click(phone.page.get_by_role("button", name="Unsubscribe"), "unsubscribed")
    expect(phone.page.get_by_role("heading", level=1)).to_have_text("You're unsubscribed")
    assert phone.fits_the_screen()
    assert ContactBlock.objects.filter(team=team, email=ann, reason="unsubscribed").exists()

    # The organizer draws again: she is passed over with the reason, as is everyone invited
    # a moment ago whom the draw looked at before the sample was full (the cool-down); the
    # other people of the segment are picked. Those after the sample filled are "not
    # reached": the contact rules are asked only about the people the draw looks at.
    second = draw_ten(olga, segment, "second-round")
    again = emails_of(second)
    assert ann not in again and not again & picked
    assert second.skipped == {UNSUBSCRIBED: 1, COOL_DOWN: 7, "not reached: the sample was full": 4}
    passed_over = page.get_by_role("table").filter(has_text="passed over")
    expect(passed_over.get_by_role("row").filter(has_text=ann)).to_contain_text(UNSUBSCRIBED)

    # And invites again, with her address pasted back in by hand: the preview leaves her out.
    left_out = invite_the_draw(olga, afternoon, also=ann)
    assert "1 left out" in left_out and ann in left_out and UNSUBSCRIBED in left_out
    deliver_the_mail()
    assert set(Invitation.objects.filter(session=afternoon).values_list("email", flat=True)) == (
        again
    )
    assert Invitation.objects.filter(email=ann).count() == 1
    assert len(smtp.to(ann)) == 1
