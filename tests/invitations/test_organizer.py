"""The organizers' side after sending: the invitations table with its counts, and the resend,
revoke and extend actions. Every invitation URL is for the event's organizers only, and the
actions are POSTs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Invitation, Notification, Registration
from events.outbox import delivery
from events.services import ServiceError
from events.services import invitations as service
from events.services.registration import register
from tests.factories import EventFactory, OrganizerFactory, SessionFactory, UserFactory, add_to_team
from tests.invitations.helpers import fresh, invite, invite_one, state, texts, token

pytestmark = pytest.mark.django_db
Status = Invitation.Status


def act(client: Client, invitation: Invitation, action: str, **data):
    return client.post(reverse("manage:invitation_action", args=[invitation.pk, action]), data)


def table(event) -> str:
    return reverse("manage:invitations", args=[event.pk])


def lapse(invitation: Invitation) -> None:
    """Let an invitation run out, then let the beat sweep expire it."""
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    service.expire_due()


# The table


def test_the_table_shows_the_counts_of_every_status_at_the_top(event, session, owner, owner_client):
    _pending, declined, revoked, expired, _also_pending = invite(
        session, *[f"p{n}@example.com" for n in range(5)], holds_seat=True
    )
    service.decline(invitation=declined)
    service.revoke(invitation=revoked, actor=owner)
    lapse(expired)
    accepted = invite_one(session, "acc@example.com")
    service.accept(invitation=accepted, user=UserFactory(email="acc@example.com"))

    response = owner_client.get(table(event))

    assert response.status_code == 200
    assert response.context["counts"] == {
        "pending": 2,
        "accepted": 1,
        "declined": 1,
        "expired": 1,
        "revoked": 1,
    }
    assert response.context["total"] == 6
    head = response.content.decode().split("<table>")[0]
    for text in ("6 in all", "2 pending", "1 accepted", "1 declined", "1 expired", "1 revoked"):
        assert text in head


def test_the_table_lists_each_invitation_with_its_state(event, session, owner_client):
    invitation = invite_one(session, "ann@example.com", holds_seat=True)
    Invitation.objects.filter(pk=invitation.pk).update(name="Ann Smith", note="met at PyCon")

    body = owner_client.get(table(event)).content.decode()

    assert "Ann Smith" in body
    assert "ann@example.com" in body
    assert "met at PyCon" in body
    assert "Seat held" in body
    assert "Queued" in body  # owed, the worker has not sent it yet
    for action in ("resend", "revoke", "extend"):
        assert reverse("manage:invitation_action", args=[invitation.pk, action]) in body


def test_the_table_filters_by_status(event, session, owner_client):
    keep, gone = invite(session, "keep@example.com", "gone@example.com")
    service.decline(invitation=gone)

    response = owner_client.get(table(event) + "?status=declined")

    assert list(response.context["rows"]) == [gone]
    assert response.context["counts"]["pending"] == 1
    # An unknown status shows everything rather than an error.
    everything = owner_client.get(table(event) + "?status=<script>")
    assert everything.status_code == 200
    assert set(everything.context["rows"]) == {keep, gone}


def test_the_table_shows_only_this_events_invitations(event, session, owner, owner_client):
    other = SessionFactory(event=EventFactory(organizer=owner))
    invite(other, "elsewhere@example.com")
    invite(session, "here@example.com")

    response = owner_client.get(table(event))

    assert [i.email for i in response.context["rows"]] == ["here@example.com"]
    assert response.context["total"] == 1


def test_the_table_shows_when_the_email_and_the_reminder_went_out(event, session, owner_client):
    invitation = invite_one(session)
    sent = datetime(2030, 3, 14, 9, 26, tzinfo=UTC)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=sent, reminder_sent_at=sent)

    body = owner_client.get(table(event)).content.decode()

    assert body.count("14 Mar, 09:26") == 2


# Resend


def test_resending_sends_a_new_link_and_kills_the_old_one(event, session, owner_client):
    invitation = invite_one(session)
    old_token = token(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())

    response = act(owner_client, invitation, "resend")

    assert response["Location"] == table(event)
    assert texts(response) == ["Sent again to ann@example.com, with a new link."]
    invitation.refresh_from_db()
    assert invitation.sent_at is None
    assert service.from_token(old_token) is None
    assert service.from_token(token(invitation)) == invitation
    owed = Notification.objects.filter(invitation=invitation, kind="invitation").order_by("pk")
    assert [n.payload["nonce"] for n in owed][-1] == invitation.nonce
    assert owed.count() == 2


@pytest.mark.parametrize("how", ["declined", "revoked", "expired", "past-expiry"])
def test_only_a_pending_invitation_can_be_sent_again(event, session, owner, owner_client, how):
    invitation = invite_one(session)
    if how == "declined":
        service.decline(invitation=invitation)
    elif how == "revoked":
        service.revoke(invitation=invitation, actor=owner)
    elif how == "expired":
        lapse(invitation)
    else:
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    before = state()

    response = act(owner_client, invitation, "resend")

    assert response["Location"] == table(event)
    assert texts(response) == ["Only a pending invitation can be sent again."]
    assert state() == before


# Revoke


def test_revoking_kills_the_link_and_gives_the_held_seat_to_the_waitlist(
    event, owner, owner_client
):
    session = SessionFactory(event=event, capacity=1)
    invitation = invite_one(session, holds_seat=True)
    waiting = register(user=UserFactory(), session=session, invited_seat=False)
    assert waiting.status == Registration.Status.WAITLISTED

    response = act(owner_client, invitation, "revoke")

    assert texts(response) == ["Withdrawn: ann@example.com can no longer use the link."]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.seat_held) == (Status.REVOKED, False)
    assert fresh(waiting).status == Registration.Status.OFFERED
    assert fresh(session).seats_taken == 1
    assert Notification.objects.filter(kind="offered", registration=waiting).exists()
    page = Client().get(reverse("events:invitation", args=[token(invitation)]))
    assert "This invitation was withdrawn by the organizers." in page.content.decode()


def test_revoking_without_a_waitlist_frees_the_seat(event, session, owner_client):
    invitation = invite_one(session, holds_seat=True)

    act(owner_client, invitation, "revoke")

    assert fresh(session).seats_taken == 0


def test_revoking_an_answered_invitation_is_refused(event, session, owner_client):
    invitation = invite_one(session)
    service.decline(invitation=invitation)
    before = state()

    response = act(owner_client, invitation, "revoke")

    assert texts(response) == ["Only a pending invitation can be revoked (this one is declined)."]
    assert state() == before


# Extend


def test_extending_a_pending_invitation_gives_it_more_days(event, session, owner_client):
    invitation = invite_one(session, expires_in_days=2)

    response = act(owner_client, invitation, "extend", days="5")

    assert texts(response) == ["Extended: ann@example.com has 5 more days."]
    invitation.refresh_from_db()
    assert invitation.status == Status.PENDING
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=5))) < timedelta(minutes=1)
    assert invitation.remind_at == invitation.expires_at - timedelta(hours=48)


def test_an_extension_never_runs_past_the_sessions_start(event, owner_client):
    starts = timezone.now() + timedelta(days=3)
    session = SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=1))
    invitation = invite_one(session, expires_in_days=1)

    act(owner_client, invitation, "extend", days="30")

    assert fresh(invitation).expires_at == starts


def test_extending_an_expired_invitation_that_held_a_seat_holds_one_again(
    event, session, owner_client
):
    invitation = invite_one(session, holds_seat=True)
    lapse(invitation)
    assert fresh(session).seats_taken == 0

    act(owner_client, invitation, "extend", days="7")

    invitation.refresh_from_db()
    assert (invitation.status, invitation.seat_held) == (Status.PENDING, True)
    assert fresh(session).seats_taken == 1
    page = Client().get(reverse("events:invitation", args=[token(invitation)]))
    assert 'value="decline"' in page.content.decode()


def test_extending_an_expired_invitation_is_refused_when_its_seat_is_gone(event, owner_client):
    session = SessionFactory(event=event, capacity=1)
    invitation = invite_one(session, holds_seat=True)
    lapse(invitation)
    invite_one(session, "newcomer@example.com", holds_seat=True)
    before = state()

    response = act(owner_client, invitation, "extend", days="7")

    assert texts(response) == ["No seat is free to hold again: revoke it or invite without a seat."]
    assert state() == before
    assert fresh(session).seats_taken == 1


@pytest.mark.parametrize("days", ["0", "91", "", "seven", "-3", "1.5"])
def test_extending_by_a_bad_number_of_days_is_refused(event, session, owner_client, days):
    invitation = invite_one(session)
    before = state()

    response = act(owner_client, invitation, "extend", days=days)

    assert response.status_code == 302
    assert texts(response) == ["Extend by a whole number of days from 1 to 90."]
    assert state() == before


@pytest.mark.parametrize("how", ["accepted", "declined", "revoked"])
def test_an_answered_or_revoked_invitation_cannot_be_extended(
    event, session, owner, owner_client, how
):
    invitation = invite_one(session)
    if how == "accepted":
        service.accept(invitation=invitation, user=UserFactory(email="ann@example.com"))
    elif how == "declined":
        service.decline(invitation=invitation)
    else:
        service.revoke(invitation=invitation, actor=owner)
    before = state()

    response = act(owner_client, invitation, "extend", days="7")

    assert texts(response) == ["Only a pending or expired invitation can be extended."]
    assert state() == before


def test_an_invitation_to_a_session_that_has_started_cannot_be_extended(event, owner):
    starts = timezone.now() + timedelta(days=2)
    session = SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=1))
    invitation = invite_one(session)
    Invitation.objects.filter(pk=invitation.pk).update(status=Status.EXPIRED)
    session.starts_at = timezone.now() - timedelta(minutes=1)
    session.save()

    with pytest.raises(ServiceError, match="The session has started or is cancelled"):
        service.extend(invitation=invitation, actor=owner)


def test_extending_an_expired_invitation_superseded_by_a_newer_one_is_refused_clearly(
    event, session, owner_client
):
    old = invite_one(session, "ann@example.com")
    lapse(old)
    invite_one(session, "ann@example.com", override_reason="The first one lapsed unread.")
    before = state()

    response = act(owner_client, old, "extend", days="7")

    assert response.status_code == 302
    [message] = texts(response)
    assert "pending" in message
    assert state() == before


def test_an_unknown_action_is_refused(event, session, owner_client):
    invitation = invite_one(session)
    before = state()

    response = act(owner_client, invitation, "accept")

    assert texts(response) == ["Unknown action."]
    assert state() == before


# Who may open what


@pytest.fixture
def world(event, session):
    invitation = invite_one(session)
    return {"event": event, "session": session, "invitation": invitation}


URLS = [
    pytest.param("manage:invitations", "get", lambda w: [w["event"].pk], {}, id="table"),
    pytest.param("manage:invite", "get", lambda w: [w["event"].pk], {}, id="invite-form"),
    pytest.param(
        "manage:invite",
        "post",
        lambda w: [w["event"].pk],
        {"pasted": "x@example.com", "expires_in_days": 7},
        id="invite-preview",
    ),
    pytest.param(
        "manage:invite_confirm", "post", lambda w: [w["event"].pk], {"token": "x"}, id="confirm"
    ),
    *[
        pytest.param(
            "manage:invitation_action",
            "post",
            lambda w, action=action: [w["invitation"].pk, action],
            {"days": 3},
            id=action,
        )
        for action in ("resend", "revoke", "extend")
    ],
]


def call(client: Client, world, name, method, args, data):
    return getattr(client, method)(reverse(name, args=args(world)), data)


@pytest.mark.parametrize(("name", "method", "args", "data"), URLS)
def test_every_invitation_url_sends_anonymous_visitors_to_log_in(world, name, method, args, data):
    before = state()

    response = call(Client(), world, name, method, args, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert state() == before


@pytest.mark.parametrize(("name", "method", "args", "data"), URLS)
def test_every_invitation_url_is_a_404_for_someone_who_is_not_an_organizer(
    world, name, method, args, data, client_for
):
    before = state()

    response = call(client_for(UserFactory()), world, name, method, args, data)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize(("name", "method", "args", "data"), URLS)
def test_every_invitation_url_is_a_404_for_the_organizer_of_another_event(
    world, name, method, args, data, client_for
):
    other = OrganizerFactory()
    EventFactory(organizer=other)
    before = state()

    response = call(client_for(other), world, name, method, args, data)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize(("name", "method", "args", "data"), URLS)
def test_every_invitation_url_opens_for_the_events_organizer(
    world, owner_client, name, method, args, data
):
    response = call(owner_client, world, name, method, args, data)

    assert response.status_code in ({200} if method == "get" or name == "manage:invite" else {302})


def test_a_co_organizer_may_manage_the_invitations(world, client_for):
    co = OrganizerFactory()
    add_to_team(world["event"].team, co)

    response = act(client_for(co), world["invitation"], "revoke")

    assert response.status_code == 302
    assert fresh(world["invitation"]).status == Status.REVOKED


def test_staff_may_manage_any_events_invitations(world, client_for):
    staff = client_for(UserFactory(is_staff=True))

    assert staff.get(table(world["event"])).status_code == 200


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("manage:invite_confirm", lambda w: [w["event"].pk]),
        ("manage:invitation_action", lambda w: [w["invitation"].pk, "resend"]),
        ("manage:invitation_action", lambda w: [w["invitation"].pk, "revoke"]),
        ("manage:invitation_action", lambda w: [w["invitation"].pk, "extend"]),
    ],
)
def test_the_actions_refuse_get(world, owner_client, name, args):
    before = state()

    response = owner_client.get(reverse(name, args=args(world)))

    assert response.status_code == 405
    assert state() == before


def test_the_table_refuses_post(world, owner_client):
    assert owner_client.post(table(world["event"])).status_code == 405


def sent_cell(html: str, email: str) -> str:
    """The Sent column of the row of `email`."""
    row = html[html.index(email) :].split("</tr>")[0]
    return row.split('<td data-label="Sent">')[1].split("</td>")[0]


def test_a_just_sent_invitation_says_queued_not_not_yet(owner_client, event, session, smtp):
    [invitation] = invite(session, "ann@example.com")

    before = sent_cell(owner_client.get(table(event)).content.decode(), "ann@example.com")

    assert "not yet" not in before
    assert "Queued" in before

    [row] = Notification.objects.filter(invitation=invitation, kind="invitation")
    delivery.deliver(notification_id=row.pk)
    after = sent_cell(owner_client.get(table(event)).content.decode(), "ann@example.com")
    assert "Queued" not in after
    assert f"{fresh(invitation).sent_at:%-d %b}" in after


def test_an_invitation_whose_mail_failed_says_so(owner_client, event, session):
    [invitation] = invite(session, "bob@example.com")
    Notification.objects.filter(invitation=invitation).update(
        status=Notification.Status.FAILED, last_error="550 5.1.1 no such user"
    )

    cell = sent_cell(owner_client.get(table(event)).content.decode(), "bob@example.com")

    assert "Not delivered" in cell
