"""After the session and before any session: an attendee answers the survey from the link in
its email (on a phone, no login), the organizer reads the results as charts; a visitor
answers an open call and confirms from the mailed link, and appears in the organizer's pool.

Mail goes through the real outbox and a real SMTP server; every page is checked with axe and
screenshotted (tests/browser/tabs.py)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Notification, Session
from events.outbox import delivery
from events.services import open_calls, questionnaire, surveys
from events.services.registration import register
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    team_of,
)

from .steps import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def deliver_pending() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def test_an_attendee_answers_the_survey_from_its_link_and_the_organizer_reads_it(open_tab, smtp):
    organizer = OrganizerFactory(email="olga@example.com", display_name="Olga")
    event = EventFactory(title="Open model feedback", checkin_enabled=False)
    add_to_team(event.team, organizer)
    session = SessionFactory(event=event)
    attendee = UserFactory(email="ann@example.com", display_name="Ann")
    register(user=attendee, session=session)
    survey = surveys.create_survey(event=event, actor=organizer)
    surveys.start_sending(survey=survey, actor=organizer)
    ended = timezone.now() - timedelta(hours=3)
    Session.objects.filter(pk=session.pk).update(
        starts_at=ended - timedelta(hours=1), ends_at=ended
    )
    surveys.session_changed(Session.objects.get(pk=session.pk))
    assert surveys.queue_due() == 1
    deliver_pending()
    [mail] = [m for m in smtp.to("ann@example.com") if "survey" in m["Subject"]]
    link = next(u for u in smtp.links(mail) if "/survey/" in u)

    tab = open_tab("attendee", phone=True)
    page = tab.page
    tab.visit(urlsplit(link).path, "survey")
    page.get_by_label("What should we change or improve?").fill("More hands-on time, please.")
    tab.click(page.get_by_role("button", name="Send my answers"), "survey missing an answer")
    expect(page.get_by_role("alert")).to_contain_text("1 answer needs attention")
    expect(page.locator(".field-invalid")).to_contain_text("This question needs an answer.")
    expect(page.get_by_label("What should we change or improve?")).to_have_value(
        "More hands-on time, please."
    )
    rating = page.get_by_role("group", name="Overall, how would you rate this session?")
    rating.get_by_label("4", exact=True).check()
    tab.click(page.get_by_role("button", name="Send my answers"), "survey thanks")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert tab.fits_the_screen()

    org = open_tab("organizer")
    log_in(org, email=organizer.email, name="Olga")
    org.visit(f"/manage/events/{event.pk}/survey/results/", "survey results")
    expect(org.page.locator(".figures").first).to_contain_text("1")
    expect(org.page.get_by_text("4.00")).to_be_visible()
    expect(org.page.get_by_text("More hands-on time, please.")).to_be_visible()
    expect(org.page.locator("svg.chart").first).to_be_visible()


def test_a_visitor_answers_an_open_call_confirms_by_mail_and_joins_the_pool(open_tab, smtp):
    organizer = OrganizerFactory(email="olga@example.com", display_name="Olga")
    call = open_calls.create_call(
        team=team_of(organizer), actor=organizer, title="The open model", slug="open-model"
    )
    questionnaire.add_question(
        questionnaire=call.questionnaire,
        label="What would you use it for?",
        kind="single",
        choices=["Agents", "RAG", "Fine-tuning"],
        required=True,
    )
    open_calls.set_status(call=call, actor=organizer, published=True)

    tab = open_tab("visitor", phone=True)
    page = tab.page
    tab.visit("/call/open-model/", "open call")
    page.get_by_role("textbox", name="Email").fill("vera@example.com")
    page.get_by_role("textbox", name="Name").fill("Vera")
    page.get_by_label("Researcher").check()
    page.get_by_label("I would join a small feedback session").check()
    tab.click(page.get_by_role("button", name="Send"), "open call missing answers")
    expect(page.locator(".field-invalid").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Email")).to_have_value("vera@example.com")  # kept
    page.get_by_label("I agree to be contacted by email").check()
    page.get_by_label("RAG").check()
    tab.click(page.get_by_role("button", name="Send"), "open call sent")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    deliver_pending()
    [mail] = smtp.to("vera@example.com")
    link = next(u for u in smtp.links(mail) if "/call-confirm/" in u)
    tab.visit(urlsplit(link).path, "open call confirm")
    tab.click(page.get_by_role("button", name="Confirm"), "open call received")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    org = open_tab("organizer")
    log_in(org, email=organizer.email, name="Olga")
    org.visit(f"/manage/calls/{call.pk}/pool/", "pool")
    expect(org.page.locator(".pool-table")).to_contain_text("Vera")
    org.visit(f"/manage/calls/{call.pk}/results/", "open call results")
    expect(org.page.locator("svg.chart").first).to_be_visible()
