"""Going on a team's do-not-contact list (the person's one-click unsubscribe, or the team's
block) withdraws their pending invitations from the team's events in the same transaction, as
an organizer's revoke does: a held seat goes back, to the waitlist first; no reminder follows;
the invitation mail still in the outbox never leaves. Seats they hold stay, and mail about
them still goes. Delivered through the real outbox to a real SMTP server."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import ContactBlock, Invitation, Notification, Registration, Session
from events.outbox import delivery
from events.services import contact, invitations, scheduling
from events.services.registration import register
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory, add_to_team
from tests.invitations.helpers import invite_one

pytestmark = pytest.mark.django_db
SITE = "https://feedback.example.org"
ANN = "ann@example.com"
Status = Invitation.Status


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def full(event):
    """A session of one seat, held for Ann's invitation, with Bo waiting for it."""
    event.registration_mode = "open"
    event.save(update_fields=["registration_mode"])
    session = SessionFactory(event=event, capacity=1)
    invite_one(session, ANN, holds_seat=True)
    bo = register(user=UserFactory(email="bo@example.com"), session=session)
    assert bo.status == Registration.Status.WAITLISTED
    return session


def link(team, email: str = ANN) -> str:
    return reverse("events:unsubscribe", args=[contact.unsubscribe_token(team.pk, email)])


def deliver_all() -> dict[str, list[str]]:
    """Run the outbox as a worker does; the kinds of mail that reached each address."""
    delivery.drain()
    sent = Notification.objects.filter(status="sent").order_by("pk")
    mail: dict[str, list[str]] = {}
    for row in sent:
        mail.setdefault(row.email, []).append(row.kind)
    return mail


def fresh(obj):
    obj.refresh_from_db()
    return obj


def test_unsubscribing_withdraws_pending_invitations_and_gives_the_held_seat_to_the_waitlist(
    event, full, smtp
):
    team = event.team
    other_event = EventFactory(organizer=team.memberships.first().user, title="Second demo")
    assert other_event.team == team
    # Event-wide, holding no seat; within the team's cool-down, so with a reason.
    everywhere = invite_one(None, ANN, event=other_event, override_reason="Our best tester.")
    elsewhere = invite_one(SessionFactory(), ANN)  # another team's: theirs to keep
    bo = Registration.objects.get(user__email="bo@example.com")

    response = Client(enforce_csrf_checks=True).post(link(team, "Ann@Example.com"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "You're unsubscribed" in page
    assert f"Your 2 pending invitations from {team.name} were withdrawn" in page
    assert "Mail about a seat you already hold" in page
    held = Invitation.objects.get(session=full)
    assert (held.status, held.seat_held) == (Status.REVOKED, False)
    assert fresh(everywhere).status == Status.REVOKED
    assert fresh(elsewhere).status == Status.PENDING
    # The seat went to the next in line, as a decline would give it.
    assert fresh(bo).status == Registration.Status.OFFERED
    assert Session.objects.get(pk=full.pk).seats_taken == 1
    # The invitation mails were still waiting: they never leave, Bo's offer does.
    mail = deliver_all()
    assert mail["bo@example.com"] == ["waitlisted", "offered"]
    skipped = Notification.objects.filter(invitation__in=[held, everywhere])
    assert {(n.status, n.last_error) for n in skipped} == {
        ("skipped", "They unsubscribed from the team's mail, or the team blocked them.")
    }
    # Only the other team's invitation reaches her.
    assert mail[ANN] == ["invitation"]
    [message] = smtp.to(ANN)
    assert elsewhere.event.title in message["Subject"]


def test_no_reminder_follows_a_withdrawn_invitation(event, session):
    invitation = invite_one(session, ANN)
    Invitation.objects.filter(pk=invitation.pk).update(remind_at=timezone.now())

    contact.unsubscribe(team=event.team, email=ANN)

    assert invitations.remind_due() == 0
    assert not Notification.objects.filter(kind="invitation_reminder").exists()


def test_an_organizer_blocking_an_address_withdraws_its_invitations_and_says_so(
    event, full, client_for, smtp
):
    organizer = add_to_team(event.team, UserFactory(), role="organizer").user

    response = client_for(organizer).post(
        reverse("manage:contact_block_add", args=[event.team.slug]),
        {"email": ANN, "note": "Asked us by phone."},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"{ANN} will get no invitations or surveys from the team. Their pending invitation was "
        "withdrawn (a seat held for it is free again)."
    ]
    held = Invitation.objects.get(session=full)
    assert (held.status, held.seat_held) == (Status.REVOKED, False)
    assert Registration.objects.get(user__email="bo@example.com").status == "offered"
    assert ANN not in deliver_all()
    assert smtp.to(ANN) == []


def test_a_blocked_registrant_keeps_the_seat_and_still_gets_a_session_change(event, smtp):
    event.registration_mode = "open"
    event.save(update_fields=["registration_mode"])
    session = SessionFactory(event=event)
    later = SessionFactory(event=event)
    ann = register(user=UserFactory(email=ANN), session=session)
    invite_one(later, ANN)
    deliver_all()
    smtp.messages.clear()

    listed = contact.block(team=event.team, actor=event.team.members.first(), email=ANN)
    scheduling.update_session(
        session=session, actor=event.team.members.first(), location="Room 7, Example HQ"
    )

    assert listed.withdrawn == 1
    assert fresh(ann).status == Registration.Status.CONFIRMED
    assert deliver_all()[ANN][-1:] == ["session_changed"]
    [notice] = smtp.to(ANN)
    assert "Room 7" in smtp.text(notice)
    assert notice["List-Unsubscribe"] is None
    assert ".ics" in "".join(part.get_filename() or "" for part in notice.iter_attachments())


def test_an_invitation_answered_already_is_not_withdrawn(event, session):
    accepted = invite_one(session, ANN)
    Invitation.objects.filter(pk=accepted.pk).update(status=Status.ACCEPTED)

    listed = contact.unsubscribe(team=event.team, email=ANN)

    assert listed.withdrawn == 0
    assert fresh(accepted).status == Status.ACCEPTED


def test_the_link_used_again_changes_nothing_and_sends_nothing_twice(event, session, smtp):
    invite_one(session, ANN)
    [invitation_mail] = Notification.objects.filter(kind="invitation")
    delivery.deliver(notification_id=invitation_mail.pk)  # the mail she unsubscribes from
    [mail] = smtp.to(ANN)
    url = urlsplit(next(u for u in smtp.links(mail) if "/unsubscribe/" in u)).path
    client = Client()

    first = client.post(url)
    outbox = list(Notification.objects.values_list("pk", "status"))
    entry = list(ContactBlock.objects.values_list("pk", "reason", "created_at"))
    statuses = list(Invitation.objects.values_list("pk", "status", "responded_at"))
    again = client.post(url)
    opened = client.get(url)

    assert "You're unsubscribed" in first.content.decode()
    for response in (again, opened):
        page = response.content.decode()
        assert response.status_code == 200
        assert "You're already unsubscribed" in page
        assert f"gets no invitations or surveys from {event.team.name}" in page
        assert "Mail about a seat you already hold" in page
    assert list(Notification.objects.values_list("pk", "status")) == outbox
    assert list(ContactBlock.objects.values_list("pk", "reason", "created_at")) == entry
    assert list(Invitation.objects.values_list("pk", "status", "responded_at")) == statuses
    deliver_all()
    assert len(smtp.to(ANN)) == 1


def test_a_link_for_a_team_that_is_gone_is_a_clear_400():
    team = TeamFactory()
    url = link(team)
    team.delete()

    response = Client().post(url)

    assert response.status_code == 400
    assert "This unsubscribe link is not valid" in response.content.decode()
    assert not ContactBlock.objects.exists()


def test_the_withdrawn_invitations_link_says_why_and_cannot_be_accepted(event, session, client_for):
    ann = UserFactory(email=ANN)
    invitation = invite_one(session, ANN)
    url = reverse("events:invitation", args=[invitations.token_for(invitation)])
    contact.unsubscribe(team=event.team, email=ANN)
    client = client_for(ann)

    opened = client.get(url)
    accepted = client.post(url, {"action": "accept"})

    said = "This invitation was withdrawn when you unsubscribed from these organizers&#x27; mail."
    assert said in opened.content.decode()
    assert accepted.status_code == 410
    assert said in accepted.content.decode()
    assert not Registration.objects.filter(user=ann).exists()
    assert fresh(invitation).status == Status.REVOKED
