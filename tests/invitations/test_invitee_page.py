"""The invitee's page (events:invitation): opening it changes nothing (mail scanners follow
links, invariant 7); declining needs no account; accepting needs the invited, verified address
(or the organizer's "any account"), then confirms the held seat, a free seat, or the waitlist.
Closed links say why."""

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Invitation, Notification, Registration, TermsAcceptance
from events.services import ServiceError
from events.services import invitations as service
from events.services.registration import register
from tests.factories import PASSWORD, EventFactory, SessionFactory, UserFactory
from tests.invitations.helpers import (
    fresh,
    invitation_at,
    invite,
    invite_one,
    state,
    texts,
    token,
)

pytestmark = pytest.mark.django_db
Status = Invitation.Status


def link(invitation: Invitation) -> str:
    return reverse("events:invitation", args=[token(invitation)])


def answer(client: Client, invitation: Invitation, action: str, **data):
    return client.post(link(invitation), {"action": action, **data})


@pytest.fixture
def ann(db):
    return UserFactory(email="ann@example.com", display_name="Ann")


@pytest.fixture
def held(session):
    """An invitation for ann@example.com that holds a seat."""
    return invite_one(session, "ann@example.com", holds_seat=True)


# Opening the link


@pytest.mark.parametrize("who", ["anonymous", "invitee", "someone-else", "organizer"])
def test_opening_the_link_changes_nothing(session, held, ann, owner, who, client_for):
    client = {
        "anonymous": Client(),
        "invitee": client_for(ann),
        "someone-else": client_for(UserFactory()),
        "organizer": client_for(owner),
    }[who]
    before = state()

    for _ in range(3):
        response = client.get(link(held))
        assert response.status_code == 200

    assert state() == before
    assert "You're invited: Invite-only model preview" in response.content.decode()


def test_an_anonymous_visitor_is_offered_log_in_and_sign_up_with_the_address_prefilled(
    session, held
):
    response = Client().get(link(held))

    body = response.content.decode()
    signup = html.unescape(response.context["signup_url"])
    login = response.context["login_url"]
    assert f'href="{html.escape(signup)}"' in body
    assert f'href="{login}"' in body
    assert urlsplit(signup).path == reverse("account_signup")
    query = parse_qs(urlsplit(signup).query)
    assert query["email"] == ["ann@example.com"]
    assert invitation_at(query["next"][0]) == held
    assert urlsplit(login).path == reverse("account_login")
    assert invitation_at(parse_qs(urlsplit(login).query)["next"][0]) == held
    assert 'value="accept"' not in body  # accepting needs an account
    assert 'value="decline"' in body


def test_the_sign_up_link_opens_the_form_with_the_invited_address(session, held):
    signup = Client().get(link(held)).context["signup_url"]

    form = Client().get(signup).context["form"]

    assert form.initial.get("email") == "ann@example.com"


def test_the_sign_up_link_prefills_an_address_with_a_plus_sign(session):
    invitation = invite_one(session, "ann+team@example.com")
    signup = Client().get(link(invitation)).context["signup_url"]

    form = Client().get(signup).context["form"]

    assert form.initial.get("email") == "ann+team@example.com"


def test_the_invitee_logged_in_sees_accept_and_decline(session, held, ann, client_for):
    body = client_for(ann).get(link(held)).content.decode()

    assert 'value="accept"' in body
    assert 'value="decline"' in body
    assert "this invitation was sent to another address" not in body


def test_the_page_shows_the_organizers_message_escaped(session):
    invitation = invite_one(session, message="Hi <b>there</b>\nSee you!")

    body = Client().get(link(invitation)).content.decode()

    assert "Hi &lt;b&gt;there&lt;/b&gt;<br>See you!" in body


# Declining


def test_declining_needs_no_account_and_gives_the_held_seat_back(session, held):
    client = Client()
    assert fresh(session).seats_taken == 1

    response = answer(client, held, "decline")

    assert response.status_code == 302
    assert invitation_at(response["Location"]) == held
    held.refresh_from_db()
    assert held.status == Status.DECLINED
    assert held.responded_at is not None
    assert held.seat_held is False
    assert fresh(session).seats_taken == 0
    assert not Registration.objects.exists()
    after = client.get(link(held))
    assert "This invitation was declined." in after.content.decode()
    assert "Declined. Thank you for letting the organizers know." in [
        str(m) for m in after.context["messages"]
    ]


def test_a_declined_seat_is_offered_to_the_next_waitlisted_person(event):
    session = SessionFactory(event=event, capacity=1)
    invitation = invite_one(session, holds_seat=True)
    waiting = register(user=UserFactory(), session=session, invited_seat=False)
    assert waiting.status == Registration.Status.WAITLISTED

    answer(Client(), invitation, "decline")

    assert fresh(waiting).status == Registration.Status.OFFERED
    assert fresh(session).seats_taken == 1
    assert Notification.objects.filter(kind="offered", registration=waiting).exists()


def test_someone_logged_in_with_another_address_may_still_decline_with_the_link(
    session, held, client_for
):
    answer(client_for(UserFactory()), held, "decline")

    assert fresh(held).status == Status.DECLINED


# Accepting


def test_accepting_while_anonymous_asks_to_log_in_first(session, held):
    before = state()

    response = answer(Client(), held, "accept")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    assert invitation_at(parse_qs(location.query)["next"][0]) == held
    assert state() == before


def test_after_logging_in_the_invitee_comes_back_to_the_link_and_can_accept(session, held, ann):
    client = Client()
    login_url = answer(client, held, "accept")["Location"]

    response = client.post(login_url, {"login": ann.email, "password": PASSWORD})

    assert response.status_code == 302
    assert invitation_at(response["Location"]) == held
    assert 'value="accept"' in client.get(link(held)).content.decode()
    answer(client, held, "accept")
    assert fresh(held).status == Status.ACCEPTED


def test_someone_logged_in_with_another_address_cannot_accept(session, held, client_for):
    other = client_for(UserFactory(email="mallory@example.com"))
    assert "this invitation was sent to another address" in other.get(link(held)).content.decode()
    before = state()

    response = answer(other, held, "accept")

    assert response.status_code == 400
    assert "This invitation was sent to another email address." in response.content.decode()
    assert state() == before


def test_an_unverified_matching_address_does_not_count(session, held, client_for):
    unverified = UserFactory(email="ann@example.com", verified=False)
    before = state()

    response = answer(client_for(unverified), held, "accept")

    assert response.status_code == 400
    assert "This invitation was sent to another email address." in response.content.decode()
    assert state() == before


def test_a_verified_second_address_of_the_account_counts(session, held, client_for):
    user = UserFactory(email="ann.work@example.com")
    EmailAddress.objects.create(user=user, email="ann@example.com", verified=True)

    response = answer(client_for(user), held, "accept")

    assert response.status_code == 302
    assert fresh(held).status == Status.ACCEPTED
    assert Registration.objects.get(user=user).status == Registration.Status.CONFIRMED


def test_with_any_account_allowed_another_address_may_accept(session, client_for):
    invitation = invite_one(session, "ann@example.com", allow_any_account=True)
    other = UserFactory(email="someone.else@example.com")

    response = answer(client_for(other), invitation, "accept")

    assert response.status_code == 302
    assert fresh(invitation).status == Status.ACCEPTED
    assert fresh(invitation).registration.user == other


def test_accepting_confirms_the_held_seat_without_taking_another(session, held, ann, client_for):
    assert fresh(session).seats_taken == 1

    response = answer(client_for(ann), held, "accept")

    assert response.status_code == 302
    assert response["Location"] == reverse("events:my_sessions")
    assert texts(response) == ["You're in: your seat is confirmed."]
    assert fresh(session).seats_taken == 1
    registration = Registration.objects.get(user=ann, session=session)
    assert registration.status == Registration.Status.CONFIRMED
    held.refresh_from_db()
    assert held.status == Status.ACCEPTED
    assert (held.seat_held, held.remind_at) == (False, None)
    assert held.registration == registration
    assert held.responded_at is not None
    assert Notification.objects.filter(kind="confirmed", registration=registration).count() == 1


def test_accepting_without_a_held_seat_takes_a_free_one(session, ann, client_for):
    invitation = invite_one(session, "ann@example.com")
    assert fresh(session).seats_taken == 0

    answer(client_for(ann), invitation, "accept")

    assert fresh(session).seats_taken == 1
    assert Registration.objects.get(user=ann).status == Registration.Status.CONFIRMED


def test_accepting_without_a_held_seat_when_none_is_free_waitlists(event, ann, client_for):
    session = SessionFactory(event=event, capacity=1)
    invite_one(session, "holder@example.com", holds_seat=True)
    invitation = invite_one(session, "ann@example.com")

    response = answer(client_for(ann), invitation, "accept")

    assert texts(response) == [
        "The session is full, so you're on the waitlist; we'll email you if a seat frees up."
    ]
    assert Registration.objects.get(user=ann).status == Registration.Status.WAITLISTED
    assert fresh(invitation).status == Status.ACCEPTED
    assert fresh(session).seats_taken == 1


def test_accepting_a_full_session_without_a_waitlist_is_refused_and_changes_nothing(
    event, ann, client_for
):
    session = SessionFactory(event=event, capacity=1, waitlist_enabled=False)
    invite_one(session, "holder@example.com", holds_seat=True)
    invitation = invite_one(session, "ann@example.com")
    before = state()

    response = answer(client_for(ann), invitation, "accept")

    assert response.status_code == 400
    assert "This session is full." in response.content.decode()
    assert state() == before


def test_someone_already_on_the_session_is_told_so_and_the_held_seat_stays(event, ann, client_for):
    event.registration_mode = "open"
    event.save()
    session = SessionFactory(event=event, capacity=2)
    invitation = invite_one(session, "ann@example.com", holds_seat=True)
    register(user=ann, session=session)
    before = state()

    response = answer(client_for(ann), invitation, "accept")

    assert response.status_code == 400
    assert "You are already on this session" in response.content.decode()
    assert state() == before


def test_an_account_without_a_verified_address_cannot_take_the_seat(session, client_for):
    invitation = invite_one(session, "ann@example.com", allow_any_account=True, holds_seat=True)
    unverified = UserFactory(verified=False)
    before = state()

    response = answer(client_for(unverified), invitation, "accept")

    assert response.status_code == 400
    assert "Verify your email address" in response.content.decode()
    assert state() == before


def test_an_unknown_action_is_refused(session, held, ann, client_for):
    before = state()

    response = answer(client_for(ann), held, "maybe")

    assert response.status_code == 400
    assert "Choose accept or decline." in response.content.decode()
    assert state() == before


# Invitations to a whole event: the invitee picks a session


def test_an_event_invitation_lets_the_invitee_pick_a_session(event, ann, client_for):
    first = SessionFactory(event=event)
    second = SessionFactory(event=event)
    invitation = invite_one(None, "ann@example.com", event=event)
    client = client_for(ann)

    page = client.get(link(invitation))
    assert list(page.context["sessions"]) == [first, second]

    answer(client, invitation, "accept", session=str(second.pk))

    registration = Registration.objects.get(user=ann)
    assert registration.session == second
    assert registration.status == Registration.Status.CONFIRMED
    assert fresh(invitation).registration == registration
    assert (fresh(first).seats_taken, fresh(second).seats_taken) == (0, 1)


@pytest.mark.parametrize("choice", ["another-event", "cancelled", "started", "none", "garbage"])
def test_an_event_invitation_refuses_a_session_that_is_not_on_offer(event, ann, choice, client_for):
    SessionFactory(event=event)
    invitation = invite_one(None, "ann@example.com", event=event)
    now = timezone.now()
    data = {}
    if choice == "another-event":
        data = {"session": SessionFactory(event=EventFactory()).pk}
    elif choice == "cancelled":
        data = {"session": SessionFactory(event=event, status="cancelled").pk}
    elif choice == "started":
        started = SessionFactory(
            event=event, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
        )
        data = {"session": started.pk}
    elif choice == "garbage":
        data = {"session": "1 OR 1=1"}
    before = state()

    response = answer(client_for(ann), invitation, "accept", **data)

    assert response.status_code == 400
    assert "Choose one of the event&#x27;s sessions." in response.content.decode()
    assert state() == before


# Closed links: expired, revoked, used, declined


CLOSED = {
    "expired": "This invitation has expired.",
    "past-expiry": "This invitation has expired.",
    "revoked": "This invitation was withdrawn by the organizers.",
    "used": "This invitation has already been accepted.",
    "declined": "This invitation was declined.",
}


def closed(how: str) -> Invitation:
    """An invitation for ann@example.com in the state `how`. Set directly: these tests are
    about what the link says, not how it got there (the services have their own tests)."""
    invitation = invite_one(None, "ann@example.com", event=SessionFactory().event)
    changes = {
        "expired": {"status": Status.EXPIRED},
        "past-expiry": {"expires_at": timezone.now() - timedelta(seconds=1)},
        "revoked": {"status": Status.REVOKED},
        "used": {"status": Status.ACCEPTED},
        "declined": {"status": Status.DECLINED},
    }[how]
    Invitation.objects.filter(pk=invitation.pk).update(**changes)
    return invitation


@pytest.mark.parametrize("how", list(CLOSED))
def test_a_closed_link_says_so_when_opened(ann, how, client_for):
    invitation = closed(how)

    for client in (Client(), client_for(ann)):
        response = client.get(link(invitation))
        body = response.content.decode()
        assert response.status_code == 200
        assert CLOSED[how] in body
        assert 'value="accept"' not in body
        assert 'value="decline"' not in body


@pytest.mark.parametrize("how", list(CLOSED))
@pytest.mark.parametrize("action", ["accept", "decline"])
def test_answering_a_closed_link_is_a_410_that_changes_nothing(ann, how, action, client_for):
    invitation = closed(how)
    before = state()

    response = answer(client_for(ann), invitation, action)

    assert response.status_code == 410
    assert CLOSED[how] in response.content.decode()
    assert state() == before


def test_a_used_link_cannot_be_used_again(session, held, ann, client_for):
    client = client_for(ann)
    answer(client, held, "accept")
    before = state()

    again = answer(client, held, "accept")
    decline = answer(Client(), held, "decline")

    assert (again.status_code, decline.status_code) == (410, 410)
    assert "This invitation has already been accepted." in again.content.decode()
    assert state() == before
    assert fresh(session).seats_taken == 1


# Confidential events


@pytest.fixture
def confidential(event):
    event.terms_text = "Do not share what you see."
    event.terms_version = 2
    event.save()
    return event


def test_a_confidential_event_shows_its_terms_to_the_invitee(confidential, held, ann, client_for):
    body = client_for(ann).get(link(held)).content.decode()

    assert "Do not share what you see." in body
    assert 'name="accept_terms"' in body


def test_accepting_a_confidential_invitation_without_the_terms_is_refused(
    confidential, held, ann, client_for
):
    before = state()

    response = answer(client_for(ann), held, "accept")

    assert response.status_code == 400
    assert "You need to accept the terms to join." in response.content.decode()
    assert state() == before


def test_accepting_an_outdated_version_of_the_terms_is_refused(confidential, held, ann, client_for):
    before = state()

    response = answer(client_for(ann), held, "accept", accept_terms="on", terms_version="1")

    assert response.status_code == 400
    assert "The terms have changed" in response.content.decode()
    assert state() == before


def test_accepting_with_the_terms_records_them_and_confirms(confidential, held, ann, client_for):
    response = answer(client_for(ann), held, "accept", accept_terms="on", terms_version="2")

    assert response.status_code == 302
    assert TermsAcceptance.objects.filter(user=ann, event=confidential, version=2).exists()
    assert Registration.objects.get(user=ann).status == Registration.Status.CONFIRMED


def test_the_invitations_service_stores_the_terms_accepted_with_the_place(confidential, held, ann):
    registration = service.accept(invitation=held, user=ann, terms_version=2)

    assert registration.status == Registration.Status.CONFIRMED
    acceptance = TermsAcceptance.objects.get(user=ann, event=confidential)
    assert acceptance.version == 2
    # The acceptance is the person's own act, recorded as theirs like the place they took.
    assert registration.changes.get().actor == ann


def test_the_invitations_service_refuses_outdated_terms_and_writes_nothing(confidential, held, ann):
    before = state()

    with pytest.raises(ServiceError, match="terms have changed"):
        service.accept(invitation=held, user=ann, terms_version=1)

    assert state() == before


def test_a_refused_accept_stores_no_terms_acceptance(confidential, ann, client_for):
    session = SessionFactory(event=confidential, capacity=1, waitlist_enabled=False)
    invite_one(session, "holder@example.com", holds_seat=True)
    invitation = invite_one(session, "ann@example.com")

    response = answer(client_for(ann), invitation, "accept", accept_terms="on", terms_version="2")

    assert response.status_code == 400
    assert not TermsAcceptance.objects.exists()


def test_declining_a_confidential_invitation_needs_no_terms(confidential, held):
    response = answer(Client(), held, "decline")

    assert response.status_code == 302
    assert fresh(held).status == Status.DECLINED


def test_several_invitations_stay_independent(session, ann, client_for):
    mine, other = invite(session, "ann@example.com", "bob@example.com", holds_seat=True)

    client_for(ann).get(link(mine))

    assert fresh(other).status == Status.PENDING
    assert fresh(session).seats_taken == 2
