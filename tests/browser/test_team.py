"""A team is made and joined through its pages: an owner creates a team and invites a door-staff
member by email; that person opens the link from the mail (through the real outbox and a real
SMTP server) on a phone, signs up with the invited address, joins, checks someone in at a
session of the team, and finds every other organizer page closed (404).

Every page is checked with axe and screenshotted; the team page and the join page also at
390 px and 1280 px, measured for sideways scrolling and text broken letter by letter."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Membership, Notification, Registration, Team
from events.outbox import delivery
from tests.factories import (
    PASSWORD,
    EventFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)

from .steps import log_in, open_menu
from .test_organizer_screens import Problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOOR = "dana.door-staff@events-crew.example-partner.com"


def deliver_pending() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def test_an_owner_invites_door_staff_who_joins_from_the_mail_and_checks_someone_in(
    open_tab, smtp, settings
):
    settings.TEAM_CREATION = "open"
    UserFactory(email="olga@example.com", display_name="Olga Owner", timezone="UTC")
    problems = Problems([])

    # The owner creates a team from their profile.
    owner = open_tab("owner")
    page = owner.page
    log_in(owner, email="olga@example.com", name="Olga Owner")
    owner.visit("/accounts/profile/", "profile")
    owner.click(page.get_by_role("link", name="Create a team"), "new team")
    page.get_by_label("Team name").fill("Model Launch Crew")
    page.get_by_label("Default time zone").select_option("Europe/Paris")
    owner.click(page.get_by_role("button", name="Create the team"), "team created")
    expect(page.locator(".messages")).to_contain_text("The team Model Launch Crew is ready")
    expect(page.get_by_role("heading", level=1)).to_have_text("Model Launch Crew")
    team = Team.objects.get(slug="model-launch-crew")

    # The team runs a session in two hours, with one confirmed attendee.
    event = EventFactory(team=team, title="Prototype demo night", status="published")
    starts = timezone.now() + timedelta(hours=2)
    session = SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=2))
    RegistrationFactory(
        session=session, user=UserFactory(display_name="Ann Attendee", email="ann@example.com")
    )

    # The owner invites door staff; the role's one line is beside its choice.
    door_choice = page.get_by_role("radio", name=re.compile("^Door staff"))
    expect(page.locator("#id_invite-role")).to_contain_text(
        "Door staff Checks people in at the team's sessions"
    )
    page.get_by_label("Email address").fill(DOOR)
    door_choice.check()
    owner.click(page.get_by_role("button", name="Send the invitation"), "invitation sent")
    expect(page.locator(".messages")).to_contain_text(f"Invitation sent to {DOOR} as door staff")
    expect(page.locator("#pending-title + ul")).to_contain_text(DOOR)
    problems.look(owner, "team page at 1280")
    page.set_viewport_size({"width": 390, "height": 844})
    owner.then(page.reload, "team page at 390")
    problems.look(owner, "team page at 390")

    # The mail leaves through the outbox and arrives over SMTP, with the join link.
    deliver_pending()
    [mail] = [m for m in smtp.to(DOOR) if "Model Launch Crew" in m["Subject"]]
    assert "door staff" in mail["Subject"]
    link = next(u for u in smtp.links(mail) if "/join/" in u)
    join = urlsplit(link).path

    # On a phone, the door-staff member opens it: a page, nothing joined yet.
    door = open_tab("door staff", phone=True)
    tab = door.page
    door.visit(join, "join page, logged out")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Join Model Launch Crew")
    expect(tab.locator(".role-note")).to_contain_text("Checks people in")
    problems.look(door, "join page at 390")
    assert not Membership.objects.filter(team=team, user__email=DOOR).exists()

    # The owner opening it at 1280 px is told it is for another address, and cannot join.
    page.set_viewport_size({"width": 1280, "height": 900})
    owner.visit(join, "join page at 1280, another account")
    expect(page.get_by_role("alert")).to_contain_text(
        f"You are logged in as olga@example.com, but this invitation was sent to {DOOR}"
    )
    expect(page.get_by_role("button", name="Join Model Launch Crew")).to_have_count(0)
    problems.look(owner, "join page at 1280")

    # They have no account: they sign up with the invited address and verify it.
    door.click(tab.get_by_role("link", name="Sign up"), "sign up from the invitation")
    expect(tab.get_by_label("Email")).to_have_value(DOOR)
    tab.get_by_label("Your name").fill("Dana Door")
    tab.get_by_label("Password:", exact=True).fill(PASSWORD)
    tab.get_by_label("Password (again)").fill(PASSWORD)
    door.click(tab.get_by_role("button", name="Sign up"), "verify your email")
    deliver_pending()  # the mail worker's part: allauth's mail goes through the outbox
    confirm = next(
        url
        for message in smtp.to(DOOR)
        for url in smtp.links(message)
        if "/accounts/confirm-email/" in url
    )
    door.visit(confirm, "confirm email")
    # Confirming the address brings them back to the invitation, logged in: one tap joins.
    door.click(tab.get_by_role("button", name="Confirm"), "email confirmed, back to the join page")
    assert urlsplit(tab.url).path == join
    door.click(tab.get_by_role("button", name="Join Model Launch Crew"), "joined")
    expect(tab.locator(".messages")).to_contain_text(
        "Welcome to Model Launch Crew: you are door staff"
    )
    assert Membership.objects.get(team=team, user__email=DOOR).role == "door"

    # At the door, on the phone: find Ann and check her in.
    door.click(
        tab.get_by_role("link", name=re.compile("Check in: Prototype demo night")), "check-in"
    )
    tab.get_by_label("Find by name or email").fill("ann")
    tab.get_by_role("button", name="Check in Ann Attendee").click()
    expect(tab.locator("#door-status")).to_have_text("Ann Attendee is checked in.")
    door.check("checked in")
    # No links to pages that are not theirs (they would only answer 404).
    expect(
        tab.locator("main a[href*='/registrations/'], main a[href*='/attendance/']")
    ).to_have_count(0)
    expect(tab.locator(f"main a[href='/manage/events/{event.pk}/']")).to_have_count(0)
    problems.look(door, "check-in at 390")
    assert Registration.objects.get(user__email="ann@example.com").checked_in_at is not None

    # Nothing else is theirs: the registrations table is a 404, and so is the team page.
    for name, path in [
        ("registrations", f"/manage/sessions/{session.pk}/registrations/"),
        ("team page", f"/manage/teams/{team.slug}/"),
        ("event", f"/manage/events/{event.pk}/"),
    ]:
        response = tab.goto(door.base_url + path)
        assert response is not None and response.status == 404, path
        door.check(f"{name} is not found")

    # The owner sees them in the team, and the history says they joined.
    owner.visit(f"/manage/teams/{team.slug}/", "team page with the new member")
    expect(page.locator(".team-table")).to_contain_text("Dana Door")
    expect(page.locator(".history-list")).to_contain_text("Dana Door joined as door staff")
    open_menu(owner)

    assert not problems.lines, "\n".join(problems.lines)
