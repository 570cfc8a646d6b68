"""Do-not-contact, end to end: an organizer invites Ann; the invitation reaches her over real
SMTP with an unsubscribe link (and its List-Unsubscribe headers); on her phone she opens it
(a page with a button: nothing happens yet), taps Unsubscribe, and is told so. When the
organizer next puts her on a list, the preview says she unsubscribed and no override can
invite her; the team's do-not-contact page lists her, with no way for the team to undo it.

Every page is checked with axe and screenshotted, and measured at 390 px."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from events.invite_parsing import Row
from events.models import ContactBlock, Invitation, Notification
from events.outbox import delivery
from events.services import invitations
from tests.factories import EventFactory, OrganizerFactory, SessionFactory, organizer_of

from .steps import log_in
from .test_organizer_screens import Problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANN = "ann.attendee-with-a-long-name@research-lab.example-university.edu"


def test_an_invitee_unsubscribes_from_the_mail_and_is_never_invited_again(open_tab, smtp):
    organizer = OrganizerFactory(email="olga@example.com", display_name="Olga Organizer")
    event = EventFactory(organizer=organizer, title="Agent toolkit preview")
    first, second = SessionFactory(event=event), SessionFactory(event=event)
    team = event.team
    invitations.create_batch(
        event=event, session=first, rows=[Row(line=1, email=ANN)], actor=organizer_of(event)
    )
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)
    [mail] = smtp.to(ANN)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = next(u for u in smtp.links(mail) if "/unsubscribe/" in u)
    problems = Problems([])

    # On her phone: opening the link asks first.
    ann = open_tab("invitee", phone=True)
    ann.visit(urlsplit(link).path, "unsubscribe page")
    expect(ann.page.get_by_role("heading", level=1)).to_have_text(f"Unsubscribe from {team.name}?")
    problems.look(ann, "unsubscribe page")
    assert not ContactBlock.objects.exists()
    ann.click(ann.page.get_by_role("button", name="Unsubscribe"), "unsubscribed")
    expect(ann.page.get_by_role("heading", level=1)).to_have_text("You're unsubscribed")
    problems.look(ann, "unsubscribed")
    ann.visit(urlsplit(link).path, "the link again")
    expect(ann.page.get_by_role("heading", level=1)).to_have_text("You're already unsubscribed")

    # The organizer puts her on a list for the next session: she is left out, for good.
    olga = open_tab("organizer", phone=True)
    log_in(olga, email="olga@example.com", name="Olga Organizer")
    olga.visit(f"/manage/events/{event.pk}/invitations/new/", "invite")
    olga.page.get_by_label("Invite to").select_option(str(second.pk))
    olga.page.get_by_label("Email addresses").fill(f"{ANN}\nbo@example.com")
    olga.click(olga.page.get_by_role("button", name="Check the list"), "invite preview")
    expect(olga.page.locator("#refused-heading")).to_have_text("1 left out")
    expect(
        olga.page.get_by_text("Unsubscribed from this team's mail: never invited again.")
    ).to_be_visible()
    expect(olga.page.get_by_label("Reason for setting the rules aside")).to_have_count(0)
    problems.look(olga, "invite preview")
    olga.click(olga.page.get_by_role("button", name="Send 1 invitation"), "sent")
    assert list(Invitation.objects.filter(session=second).values_list("email", flat=True)) == [
        "bo@example.com"
    ]

    # The team's list shows her, and offers no way to undo her choice.
    olga.visit(f"/manage/teams/{team.slug}/contacts/", "do-not-contact")
    expect(olga.page.get_by_role("table")).to_contain_text("Unsubscribed")
    expect(olga.page.get_by_role("button", name="Unblock")).to_have_count(0)
    problems.look(olga, "do-not-contact")

    assert not problems.lines, "\n".join(problems.lines)
