"""Invitation emails through a real SMTP server: an absolute link that opens the invitee's page,
nothing sent for an invitation answered (or superseded) before its mail went out, and the
invitations table learns when the mail really left."""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from events.models import Invitation, Notification
from events.outbox import delivery, rendering
from events.services import invitations as service
from tests.factories import UserFactory
from tests.invitations.helpers import fresh, invitation_at, invite, invite_one

pytestmark = pytest.mark.django_db
Status = Notification.Status
SITE = "https://feedback.example.org"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def owed(invitation: Invitation, kind: str = "invitation") -> list[Notification]:
    return list(Notification.objects.filter(invitation=invitation, kind=kind).order_by("pk"))


def deliver(notification: Notification) -> delivery.Outcome:
    return delivery.deliver(notification_id=notification.pk)


def invitation_links(smtp, message) -> list[str]:
    return [link for link in smtp.links(message) if "/invitations/" in link]


def test_the_invitation_email_carries_an_absolute_link_that_opens_the_invitees_page(session, smtp):
    invitation = invite_one(session, "ann@example.com", message="Bring your questions.")
    [row] = owed(invitation)

    assert deliver(row) == delivery.Outcome(sent=True)

    [message] = smtp.to("ann@example.com")
    assert "You're invited: Invite-only model preview" in message["Subject"]
    text = smtp.text(message)
    assert "Bring your questions." in text
    [link] = invitation_links(smtp, message)
    assert link.startswith(f"{SITE}/invitations/")
    assert invitation_at(link) == invitation
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html_part
    page = Client().get(urlsplit(link).path)
    assert page.status_code == 200
    assert "You're invited: Invite-only model preview" in page.content.decode()


def test_an_invitation_email_holding_a_seat_says_the_seat_is_kept(session, smtp):
    [row] = owed(invite_one(session, holds_seat=True))

    deliver(row)

    assert "A seat is kept for you" in smtp.text(smtp.messages[0])


def test_an_event_invitation_asks_the_invitee_to_pick_a_session(event, session, smtp):
    [row] = owed(invite_one(None, "ann@example.com", event=event))

    deliver(row)

    assert "Pick the session that suits you." in smtp.text(smtp.messages[0])


def test_an_invitee_with_an_account_is_greeted_by_name(session, smtp):
    UserFactory(email="ann@example.com", display_name="Ann Smith")
    [row] = owed(invite_one(session, "ann@example.com"))

    deliver(row)

    assert smtp.text(smtp.messages[0]).startswith("Hello Ann Smith,")


def test_delivering_records_when_the_invitation_was_sent(session, smtp):
    invitation = invite_one(session)
    [row] = owed(invitation)
    assert fresh(invitation).sent_at is None

    deliver(row)

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert fresh(invitation).sent_at == row.sent_at
    assert fresh(invitation).reminder_sent_at is None


def test_delivering_twice_sends_one_email(session, smtp):
    [row] = owed(invite_one(session))

    deliver(row)
    deliver(row)

    assert len(smtp.messages) == 1


def test_a_reminder_records_when_it_was_sent_and_carries_the_same_link(session, smtp):
    invitation = invite_one(session)
    Invitation.objects.filter(pk=invitation.pk).update(remind_at=invitation.created_at)
    service.remind_due()
    [reminder] = owed(invitation, "invitation_reminder")

    deliver(reminder)

    [message] = smtp.messages
    assert (
        "Reminder: your invitation to Invite-only model preview expires soon"
        in (message["Subject"])
    )
    [link] = invitation_links(smtp, message)
    assert link.startswith(f"{SITE}/invitations/")
    assert invitation_at(link) == invitation
    assert fresh(invitation).reminder_sent_at == fresh(reminder).sent_at
    assert fresh(invitation).sent_at is None


@pytest.mark.parametrize("answer", ["declined", "accepted", "revoked", "expired"])
def test_an_invitation_answered_before_its_mail_went_out_is_skipped(session, owner, smtp, answer):
    invitation = invite_one(session, "ann@example.com")
    [row] = owed(invitation)
    if answer == "declined":
        service.decline(invitation=invitation)
    elif answer == "accepted":
        service.accept(invitation=invitation, user=UserFactory(email="ann@example.com"))
    elif answer == "revoked":
        service.revoke(invitation=invitation, actor=owner)
    else:
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)
        service.expire_due()

    assert deliver(row) == delivery.Outcome()

    row.refresh_from_db()
    assert row.status == Status.SKIPPED
    assert "answered, withdrawn or expired" in row.last_error
    assert smtp.messages == []
    assert fresh(invitation).sent_at is None


def test_a_superseded_invitation_mail_is_skipped_and_the_new_one_carries_the_new_link(
    session, owner, smtp
):
    invitation = invite_one(session, "ann@example.com")
    [old] = owed(invitation)
    service.resend(invitation=invitation, actor=owner)
    [_, new] = owed(invitation)

    assert deliver(old) == delivery.Outcome()
    assert deliver(new) == delivery.Outcome(sent=True)

    old.refresh_from_db()
    assert old.status == Status.SKIPPED
    assert old.last_error == "The invitation was sent again with a new link."
    [message] = smtp.messages
    [link] = invitation_links(smtp, message)
    assert link.startswith(f"{SITE}/invitations/")
    assert invitation_at(link) == invitation
    assert Client().get(urlsplit(link).path).status_code == 200


def test_an_old_mail_delivered_late_never_carries_the_new_link(session, owner, smtp):
    """Even were it sent, the old row would render its own (dead) link, not the new one."""
    invitation = invite_one(session)
    [old] = owed(invitation)
    old_nonce = fresh(invitation).nonce
    service.resend(invitation=invitation, actor=owner)

    context = rendering.context_for(Notification.objects.get(pk=old.pk))

    link = context["links"]["invitation"]
    old_token = urlsplit(link).path.split("/")[-2]
    assert signing.loads(old_token, salt=service.TOKEN_SALT)["n"] == old_nonce
    assert invitation_at(link) is None


def test_a_batch_is_delivered_one_mail_per_invitee(session, smtp):
    invite(session, "a@example.com", "b@example.com", "c@example.com")

    for row in Notification.objects.order_by("pk"):
        deliver(row)

    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    links = [invitation_links(smtp, m)[0] for m in smtp.messages]
    assert len(set(links)) == 3
    assert not Invitation.objects.filter(sent_at__isnull=True).exists()
