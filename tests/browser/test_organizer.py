"""An organizer's day, in real browsers, through the pages only: create an approval-mode event
with a screening question and a session, publish it; an applicant (who signs up on the site)
applies with an answer; the organizer reads it in the registrations table and approves them;
at the door, the organizer checks them in.

Only the organizer's account is seeded: becoming an organizer is an admin's act, not a page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Event, Registration
from tests.factories import OrganizerFactory

from .steps import log_in, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL = "%Y-%m-%dT%H:%M"  # what an <input type="datetime-local"> takes


def test_an_organizer_runs_an_approval_event_from_creation_to_the_door(open_tab, smtp):
    OrganizerFactory(email="olga@example.com", display_name="Olga Organizer", timezone="UTC")
    organizer = open_tab("organizer")
    page = organizer.page
    log_in(organizer, email="olga@example.com", name="Olga Organizer")

    # A new event, as a draft.
    organizer.click(page.get_by_role("link", name="Organize", exact=True), "dashboard")
    organizer.click(page.get_by_role("link", name="New event").first, "new event")
    page.get_by_label(re.compile(r"^Title(?! in)")).fill("Model evaluation roundtable")
    page.get_by_label("Kind").select_option(label="Feedback session")
    page.get_by_label(re.compile(r"^Description(?! in)")).fill(
        "Two hours on **evaluation** with the research team."
    )
    page.get_by_label("Registration mode").select_option(
        label="Approval: organizers choose applicants"
    )
    page.get_by_label("Time zone").select_option("UTC")
    organizer.click(page.get_by_role("button", name="Create the event"), "event created")
    expect(page.locator(".messages")).to_contain_text("Event created as a draft.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")

    # A screening question for applicants.
    questions = page.locator("#questions")
    questions.get_by_label("Question").fill("What do you build with open models?")
    questions.get_by_label("Kind of answer").select_option(label="Short text")
    organizer.click(questions.get_by_role("button", name="Add the question"), "question added")
    expect(page.locator("#questions")).to_contain_text("1. What do you build with open models?")

    # A session in two hours (check-in opens a day before the start).
    starts = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    organizer.click(page.get_by_role("link", name="Add a session"), "new session")
    page.get_by_label(re.compile(r"^Title(?! in)")).fill("Afternoon roundtable")
    page.get_by_label("Starts").fill(starts.strftime(LOCAL))
    page.get_by_label("Ends").fill((starts + timedelta(hours=2)).strftime(LOCAL))
    page.get_by_label("Capacity").fill("6")
    page.get_by_label("Location").fill("Room 4, Example HQ")
    organizer.click(page.get_by_role("button", name="Add the session"), "session added")
    expect(page.locator(".sessions-table")).to_contain_text("Afternoon roundtable")

    organizer.click(page.get_by_role("button", name="Publish"), "published")
    expect(page.locator(".messages")).to_contain_text("Published")
    event = Event.objects.get(title="Model evaluation roundtable")
    assert event.status == Event.Status.PUBLISHED
    assert event.registration_mode == Event.Mode.APPROVAL

    # An applicant finds it on the home page and applies, answering the question.
    applicant = open_tab("applicant")
    sign_up(applicant, smtp, email="ann@example.com", name="Ann Applicant")
    card = applicant.page.locator(".event-card", has_text="Model evaluation roundtable")
    expect(card).to_contain_text("By application")
    applicant.click(card.get_by_role("link"), "event page")
    applicant.click(
        applicant.page.get_by_role("link", name="Apply", exact=True), "application form"
    )
    applicant.page.get_by_label("What do you build with open models?").fill(
        "A code assistant for embedded C"
    )
    applicant.click(
        applicant.page.get_by_role("button", name="Send my application"), "application sent"
    )
    expect(applicant.page.locator(".messages")).to_contain_text("Your application is in.")
    applicant.click(applicant.page.get_by_role("link", name="My sessions"), "my sessions")
    expect(applicant.page.locator(".registration-row")).to_contain_text("Applied")

    # The organizer reads the answer in the registrations table and approves.
    organizer.click(page.get_by_role("link", name="Registrations", exact=True), "registrations")
    row = page.get_by_role("row", name=re.compile("Ann Applicant"))
    expect(row).to_contain_text("A code assistant for embedded C")
    expect(row).to_contain_text("Applied")
    table = page.locator(".table-wrap")
    assert table.evaluate("box => box.scrollWidth <= box.clientWidth"), "the table scrolls sideways"
    row.get_by_label("Ann Applicant").check()
    page.get_by_label("With the people ticked").select_option(label="Approve")
    organizer.click(page.get_by_role("button", name="Apply", exact=True), "approved")
    expect(page.locator(".messages")).to_contain_text("Approve: 1 done.")
    expect(page.get_by_role("row", name=re.compile("Ann Applicant"))).to_contain_text("Confirmed")

    # The applicant sees the seat, with a check-in code and the place.
    applicant.then(applicant.page.reload, "my sessions after approval")
    mine = applicant.page.locator(".registration-row")
    expect(mine).to_contain_text("Confirmed")
    expect(mine).to_contain_text("Room 4, Example HQ")
    expect(mine.locator(".checkin-code")).to_be_visible()

    # At the door: find them and check them in, without a page load.
    organizer.click(page.get_by_role("link", name="Check-in", exact=True), "check-in")
    expect(page.locator('[data-count="expected"]')).to_have_text("1")
    page.get_by_label("Find by name or email").fill("ann")
    page.get_by_role("button", name="Check in Ann Applicant").click()
    expect(page.locator("#door-status")).to_have_text("Ann Applicant is checked in.")
    expect(page.locator('[data-count="checked_in"]')).to_have_text("1")
    expect(page.locator('[data-count="remaining"]')).to_have_text("0")
    organizer.check("checked in")
    assert Registration.objects.get(user__email="ann@example.com").checked_in_at is not None
