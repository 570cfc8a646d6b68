"""Regressions found in review: each was a real bug before its fix."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from events.models import Invitation, Notification, Registration, Session
from events.services import ServiceError, scheduling
from events.services.registration import register
from events.services.review import approve
from tests.factories import (
    PASSWORD,
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    in_days,
    organizer_of,
)

from .helpers import fresh, invite_one

pytestmark = pytest.mark.django_db


def test_cancelling_a_session_revokes_its_invitations_and_their_held_seats(session, owner):
    invitation = invite_one(session, holds_seat=True)
    assert fresh(session).seats_taken == 1

    scheduling.cancel_session(session=session, actor=owner)

    invitation = fresh(invitation)
    assert invitation.status == Invitation.Status.REVOKED
    assert not invitation.seat_held
    assert fresh(session).seats_taken == 0


def test_cancelling_an_event_revokes_its_event_wide_invitations(event, session, owner):
    invitation = invite_one(None, event=event)

    scheduling.cancel_event(event=event, actor=owner)

    assert fresh(invitation).status == Invitation.Status.REVOKED


def soon(event):
    start = in_days(10)
    return SessionFactory(event=event, starts_at=start, ends_at=start + timedelta(hours=1))


def test_moving_a_session_earlier_brings_its_invitation_links_forward(event, owner):
    session = soon(event)
    invitation = invite_one(session, expires_in_days=30)
    assert fresh(invitation).expires_at == session.starts_at  # cut short by the start
    earlier = session.starts_at - timedelta(days=2)

    scheduling.update_session(
        session=session, actor=owner, starts_at=earlier, ends_at=earlier + timedelta(hours=1)
    )

    assert fresh(invitation).expires_at == earlier


def test_moving_a_session_later_lets_a_link_cut_short_by_the_old_start_run_on(event, owner):
    session = soon(event)
    invitation = invite_one(session, expires_in_days=30)
    later = session.starts_at + timedelta(days=3)

    scheduling.update_session(
        session=session, actor=owner, starts_at=later, ends_at=later + timedelta(hours=1)
    )

    assert fresh(invitation).expires_at == later


def test_approving_someone_with_a_confirmed_seat_at_the_same_time_is_refused():
    applied = SessionFactory(event__registration_mode="approval")
    clashing = SessionFactory(starts_at=applied.starts_at, ends_at=applied.ends_at)
    person = UserFactory()
    register(user=person, session=clashing)
    application = register(user=person, session=applied)

    with pytest.raises(ServiceError, match="already has a confirmed seat at that time"):
        approve(registration=application, actor=organizer_of(applied.event))

    assert fresh(application).status == Registration.Status.APPLIED
    assert fresh(applied).seats_taken == 0


def test_someone_with_a_past_session_can_delete_their_account(client_for):
    person = UserFactory()
    session = SessionFactory()
    register(user=person, session=session)
    past = timezone.now() - timedelta(days=3)
    Session.objects.filter(pk=session.pk).update(starts_at=past, ends_at=past + timedelta(hours=1))

    response = client_for(person).post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    assert response.status_code == 302
    assert not User.objects.filter(pk=person.pk).exists()


def test_an_owner_who_shares_the_team_with_another_owner_can_delete_their_account(client_for):
    leaving, staying = OrganizerFactory(), OrganizerFactory()
    event = EventFactory(organizer=leaving)
    add_to_team(event.team, staying, role="owner")

    response = client_for(leaving).post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    assert response.status_code == 302
    assert [m.user for m in event.team.memberships.all()] == [staying]


@pytest.mark.parametrize("bad", ["²", "9" * 30, "-1", "1.5", ""])
def test_odd_ids_in_a_bulk_action_are_ignored_not_a_500(session, owner, bad, client_for):
    response = client_for(owner).post(
        reverse("manage:registrations_action", args=[session.pk]),
        {"action": "reject", "ids": [bad]},
    )

    assert response.status_code == 302


def test_a_session_in_the_year_one_is_a_form_error_not_a_500(event, owner, client_for):
    response = client_for(owner).post(
        reverse("manage:session_create", args=[event.pk]),
        {"starts_at": "0001-01-01T00:30", "ends_at": "0001-01-01T01:30", "capacity": 5},
    )

    assert response.status_code == 400
    assert "between the years 2000 and 2200" in response.content.decode()


def test_a_huge_invitation_reminder_is_refused_on_the_event_form(event, owner, client_for):
    from django.forms.models import model_to_dict

    data = {k: v for k, v in model_to_dict(event).items() if v is not None and k != "organizers"}
    data.update(invitation_reminder_hours=2_147_483_647, lottery_reserved_shares="")

    response = client_for(owner).post(reverse("manage:event_edit", args=[event.pk]), data)

    assert response.status_code == 400
    assert "less than or equal to 720" in response.content.decode()
    assert fresh(event).invitation_reminder_hours == 48


def test_a_failed_event_wide_invitation_can_be_sent_again(event, session, owner, client_for):
    invite_one(None, event=event)
    message = Notification.objects.get(kind=Notification.Kind.INVITATION)
    Notification.objects.filter(pk=message.pk).update(status=Notification.Status.FAILED)

    response = client_for(owner).post(reverse("manage:message_resend", args=[message.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("manage:invitations", args=[event.pk])
    assert fresh(message).status == Notification.Status.PENDING
    other = client_for(OrganizerFactory()).post(reverse("manage:message_resend", args=[message.pk]))
    assert other.status_code == 404
