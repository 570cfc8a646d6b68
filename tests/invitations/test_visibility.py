"""Invitation-only events are not listed; their page is for the people invited (by a verified
address) and the organizers; everyone else gets a 404, not a hint that the event exists, and
nobody signs up without an invitation."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from events.models import Registration
from events.services import invitations as service
from tests.factories import OrganizerFactory, SessionFactory, UserFactory, add_to_team
from tests.invitations.helpers import invite_one, state, token

pytestmark = pytest.mark.django_db


def detail(event) -> str:
    return reverse("events:detail", args=[event.pk])


def test_an_invitation_only_event_is_not_in_the_public_list(event, session, client_for):
    listed = SessionFactory(event__title="An open feedback round").event
    invite_one(session, "ann@example.com")
    ann = client_for(UserFactory(email="ann@example.com"))

    for client in (Client(), ann):
        body = client.get(reverse("events:list")).content.decode()
        assert listed.title in body
        assert event.title not in body
        assert detail(event) not in body


def test_its_page_is_a_404_for_anonymous_visitors(event, session):
    invite_one(session)

    assert Client().get(detail(event)).status_code == 404


def test_its_page_is_a_404_for_someone_not_invited(event, session, client_for):
    invite_one(session, "ann@example.com")

    assert client_for(UserFactory(email="bob@example.com")).get(detail(event)).status_code == 404


def test_its_page_is_a_404_for_the_organizer_of_another_event(event, session, client_for):
    assert client_for(OrganizerFactory()).get(detail(event)).status_code == 404


def test_its_page_opens_for_an_invitee_by_their_verified_address(event, session, client_for):
    invite_one(session, "ann@example.com")

    response = client_for(UserFactory(email="ann@example.com")).get(detail(event))

    assert response.status_code == 200
    assert event.title in response.content.decode()


def test_its_page_opens_for_an_invitee_by_a_verified_second_address(event, session, client_for):
    invite_one(session, "ann@example.com")
    user = UserFactory(email="ann.work@example.com")
    EmailAddress.objects.create(user=user, email="ann@example.com", verified=True)

    assert client_for(user).get(detail(event)).status_code == 200


def test_an_unverified_matching_address_does_not_open_it(event, session, client_for):
    invite_one(session, "ann@example.com")
    user = UserFactory(email="ann.work@example.com")
    EmailAddress.objects.create(user=user, email="ann@example.com", verified=False)

    assert client_for(user).get(detail(event)).status_code == 404


def test_an_invitee_to_the_whole_event_sees_it(event, session, client_for):
    invite_one(None, "ann@example.com", event=event)

    assert client_for(UserFactory(email="ann@example.com")).get(detail(event)).status_code == 200


def test_its_page_opens_for_its_organizers(event, session, owner, owner_client, client_for):
    co = OrganizerFactory()
    add_to_team(event.team, co)

    assert owner_client.get(detail(event)).status_code == 200
    assert client_for(co).get(detail(event)).status_code == 200


def test_someone_who_accepted_keeps_seeing_it(event, session, client_for):
    invitation = invite_one(session, "ann@example.com")
    ann = UserFactory(email="ann@example.com")
    service.accept(invitation=invitation, user=ann)

    assert client_for(ann).get(detail(event)).status_code == 200


def test_someone_whose_invitation_was_withdrawn_no_longer_sees_it(
    event, session, owner, client_for
):
    invitation = invite_one(session, "ann@example.com")
    service.revoke(invitation=invitation, actor=owner)

    assert client_for(UserFactory(email="ann@example.com")).get(detail(event)).status_code == 404


def test_an_invitation_to_another_event_opens_nothing_here(event, session, owner, client_for):
    elsewhere = SessionFactory(event__registration_mode="invitation", event__organizer=owner)
    invite_one(elsewhere, "ann@example.com")

    assert client_for(UserFactory(email="ann@example.com")).get(detail(event)).status_code == 404


def test_the_invitation_link_works_without_an_account_on_an_invitation_only_event(event, session):
    invitation = invite_one(session)

    response = Client().get(reverse("events:invitation", args=[token(invitation)]))

    assert response.status_code == 200
    assert event.title in response.content.decode()


# Signing up


def test_the_register_view_is_a_404_for_someone_not_invited(event, session, client_for):
    client = client_for(UserFactory())
    before = state()

    for method in ("get", "post"):
        response = getattr(client, method)(reverse("events:register", args=[session.pk]))
        assert response.status_code == 404
    assert state() == before


def test_an_invitee_cannot_sign_up_around_the_invitation(event, session, client_for):
    invite_one(session, "ann@example.com", holds_seat=True)
    client = client_for(UserFactory(email="ann@example.com"))
    before = state()

    response = client.post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 400
    assert "This session is by invitation only." in response.content.decode()
    assert state() == before
    assert not Registration.objects.exists()


def test_the_register_view_sends_anonymous_visitors_to_log_in(event, session):
    response = Client().post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Registration.objects.exists()
