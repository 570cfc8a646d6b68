"""Do-not-contact at sending time, through the real outbox and a real SMTP server: programme
mail (an invitation, its reminder, a survey) to someone who unsubscribed or is blocked is
skipped with the reason, while mail about a seat they hold still goes; programme mail carries
the RFC 8058 List-Unsubscribe headers and a link whose POST unsubscribes."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from events.models import ContactBlock, Invitation, Notification
from events.outbox import delivery
from events.services import contact, surveys
from events.services.registration import register
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.invitations.helpers import invite_one
from tests.surveys.conftest import Kind, end, seat, survey_for

pytestmark = pytest.mark.django_db
SITE = "https://feedback.example.org"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def deliver(row: Notification) -> Notification:
    delivery.deliver(notification_id=row.pk)
    row.refresh_from_db()
    return row


def test_an_invitation_mail_carries_one_click_unsubscribe_headers_and_link(session, smtp):
    invitation = invite_one(session, "ann@example.com")
    [row] = Notification.objects.filter(invitation=invitation)

    assert deliver(row).status == "sent"

    [message] = smtp.to("ann@example.com")
    header = str(message["List-Unsubscribe"]).strip()  # folded onto its own line: it is long
    assert header.startswith(f"<{SITE}/unsubscribe/") and header.endswith("/>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    assert url in smtp.text(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{url}"' in html
    # What a mail provider does with the header: a POST with the RFC's body, no cookie, no
    # CSRF token.
    client = Client(enforce_csrf_checks=True)
    response = client.post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    entry = ContactBlock.objects.get(team=session.event.team)
    assert (entry.email, entry.reason) == ("ann@example.com", "unsubscribed")


@pytest.fixture
def open_session(event, session):
    event.registration_mode = "open"
    event.save(update_fields=["registration_mode"])
    return session


def test_a_seat_confirmation_carries_no_unsubscribe_header(open_session, smtp):
    ann = UserFactory(email="ann@example.com")
    register(user=ann, session=open_session)
    [row] = Notification.objects.filter(kind="confirmed")

    assert deliver(row).status == "sent"

    [message] = smtp.to("ann@example.com")
    assert message["List-Unsubscribe"] is None


def test_after_unsubscribing_invitations_are_skipped_but_seat_mail_still_goes(
    event, open_session, smtp
):
    ann = UserFactory(email="ann@example.com")
    later = SessionFactory(event=event, starts_at=open_session.starts_at + timedelta(days=1))
    invitation = invite_one(later, ann.email)
    register(user=ann, session=open_session)
    contact.unsubscribe(team=event.team, email="ANN@example.com")
    [invitation_mail] = Notification.objects.filter(invitation=invitation)
    [confirmation] = Notification.objects.filter(kind="confirmed")

    assert deliver(invitation_mail).status == "skipped"
    assert "unsubscribed" in invitation_mail.last_error
    assert deliver(confirmation).status == "sent"
    [message] = smtp.to(ann.email)
    assert "confirmed" in message["Subject"].lower() or "you're in" in message["Subject"].lower()


def test_a_blocked_invitee_gets_no_reminder(event, session, smtp):
    invitation = invite_one(session, "bo@example.com")
    Notification.objects.all().delete()
    ContactBlock.objects.create(team=event.team, email="bo@example.com", reason="blocked")
    Invitation.objects.filter(pk=invitation.pk).update(remind_at=timezone.now())

    from events.services import invitations

    assert invitations.remind_due() == 1
    [reminder] = Notification.objects.filter(kind="invitation_reminder")
    assert deliver(reminder).status == "skipped"
    assert smtp.to("bo@example.com") == []


def test_a_survey_to_someone_who_unsubscribed_is_skipped(smtp, owner):
    event = EventFactory(organizer=owner, checkin_enabled=False)
    session = SessionFactory(event=event, capacity=10)
    ann, bob = seat(session, 2)
    survey = survey_for(event, [(Kind.RATING, "How was it?", None, True)])
    surveys.start_sending(survey=survey, actor=None)
    end(session)
    contact.unsubscribe(team=event.team, email=ann.user.email)
    assert surveys.queue_due() == 2

    outcome = {row.email: deliver(row).status for row in Notification.objects.filter(kind="survey")}

    assert outcome == {ann.user.email: "skipped", bob.user.email: "sent"}
    [message] = smtp.to(bob.user.email)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_resending_an_invitation_to_someone_blocked_is_refused(event, session):
    from events.services import ServiceError, invitations

    withdrawn = invite_one(session, "ann@example.com")
    contact.unsubscribe(team=event.team, email="ann@example.com")
    # An entry written without the services (by hand, in the database): the invitation is
    # still pending, and resending it is refused all the same.
    left = invite_one(session, "bo@example.com")
    ContactBlock.objects.create(team=event.team, email="bo@example.com", reason="blocked")
    actor = event.team.members.first()

    with pytest.raises(ServiceError, match="Only a pending invitation"):
        invitations.resend(invitation=withdrawn, actor=actor)
    with pytest.raises(ServiceError, match="do-not-contact"):
        invitations.resend(invitation=left, actor=actor)
