"""The beat sweeps of invitations: expiry (held seats go back, to the waitlist first) and the
reminder before expiry; both safe to run twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events import tasks
from events.models import Invitation, Notification, Registration
from events.services import invitations as service
from events.services.registration import register
from tests.factories import SessionFactory, UserFactory
from tests.invitations.helpers import fresh, invite, invite_one, state

pytestmark = pytest.mark.django_db
Status = Invitation.Status
Kind = Notification.Kind


def run_out(*invitations: Invitation) -> None:
    Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def due_for_reminder(*invitations: Invitation) -> None:
    Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        remind_at=timezone.now() - timedelta(seconds=1)
    )


def reminders() -> list[str]:
    return sorted(
        Notification.objects.filter(kind=Kind.INVITATION_REMINDER).values_list("email", flat=True)
    )


# Expiry


def test_an_invitation_past_its_expiry_lapses_and_its_held_seat_is_released(session):
    invitation = invite_one(session, holds_seat=True)
    run_out(invitation)

    assert service.expire_due() == 1

    invitation.refresh_from_db()
    assert (invitation.status, invitation.seat_held) == (Status.EXPIRED, False)
    assert invitation.responded_at is not None
    assert invitation.remind_at is None
    assert fresh(session).seats_taken == 0


def test_an_expired_held_seat_is_offered_to_the_next_waitlisted_person(event):
    session = SessionFactory(event=event, capacity=1)
    invitation = invite_one(session, holds_seat=True)
    first = register(user=UserFactory(), session=session, invited_seat=False)
    second = register(user=UserFactory(), session=session, invited_seat=False)
    run_out(invitation)

    service.expire_due()

    assert fresh(first).status == Registration.Status.OFFERED
    assert fresh(second).status == Registration.Status.WAITLISTED
    assert fresh(session).seats_taken == 1
    assert Notification.objects.filter(kind=Kind.OFFERED, registration=first).count() == 1


def test_expiring_twice_changes_nothing_the_second_time(event):
    session = SessionFactory(event=event, capacity=1)
    invitation = invite_one(session, holds_seat=True)
    register(user=UserFactory(), session=session, invited_seat=False)
    run_out(invitation)
    service.expire_due()
    after_first = state()

    assert service.expire_due() == 0
    assert state() == after_first
    assert fresh(session).seats_taken == 1


def test_only_pending_invitations_past_their_expiry_lapse(session, owner):
    due, _later, declined, accepted = invite(
        session, "due@example.com", "later@example.com", "dec@example.com", "acc@example.com"
    )
    service.decline(invitation=declined)
    service.accept(invitation=accepted, user=UserFactory(email="acc@example.com"))
    run_out(due, declined, accepted)

    assert service.expire_due() == 1

    assert dict(Invitation.objects.values_list("email", "status")) == {
        "due@example.com": Status.EXPIRED,
        "later@example.com": Status.PENDING,
        "dec@example.com": Status.DECLINED,
        "acc@example.com": Status.ACCEPTED,
    }


def test_an_event_invitation_without_a_seat_simply_lapses(event, session):
    invitation = invite_one(None, "ann@example.com", event=event)
    run_out(invitation)

    service.expire_due()

    assert fresh(invitation).status == Status.EXPIRED
    assert fresh(session).seats_taken == 0


def test_the_expiry_task_calls_the_sweep(session):
    invitations = invite(session, "a@example.com", "b@example.com", holds_seat=True)
    run_out(*invitations)

    assert tasks.expire_invitations() == 2
    assert tasks.expire_invitations() == 0
    assert fresh(session).seats_taken == 0


def test_an_expired_link_can_no_longer_be_accepted(session):
    invitation = invite_one(session, "ann@example.com", holds_seat=True)
    run_out(invitation)

    with pytest.raises(service.ServiceError, match="This invitation has expired"):
        service.accept(invitation=invitation, user=UserFactory(email="ann@example.com"))

    # The seat stays held until the sweep passes: nothing is half released.
    assert fresh(session).seats_taken == 1
    service.expire_due()
    assert fresh(session).seats_taken == 0


# Reminders


def test_pending_invitees_whose_reminder_is_due_get_one_reminder_each(session):
    known = UserFactory(email="known@example.com")
    due = invite(session, "known@example.com", "new@example.com")
    invite(session, "not-yet@example.com")
    due_for_reminder(*due)

    assert service.remind_due() == 2

    assert reminders() == ["known@example.com", "new@example.com"]
    rows = {n.email: n for n in Notification.objects.filter(kind=Kind.INVITATION_REMINDER)}
    assert rows["known@example.com"].recipient == known
    assert rows["new@example.com"].recipient is None
    for invitation in due:
        invitation.refresh_from_db()
        assert invitation.remind_at is None
        assert rows[invitation.email].payload == {"nonce": invitation.nonce}


def test_a_reminder_is_never_queued_twice(session):
    invitation = invite_one(session)
    due_for_reminder(invitation)
    service.remind_due()

    assert service.remind_due() == 0
    assert reminders() == ["ann@example.com"]


def test_answered_invitations_get_no_reminder(session, owner):
    accepted, declined, revoked = invite(
        session, "acc@example.com", "dec@example.com", "rev@example.com"
    )
    service.accept(invitation=accepted, user=UserFactory(email="acc@example.com"))
    service.decline(invitation=declined)
    service.revoke(invitation=revoked, actor=owner)
    # Answering clears the due time; set it again to check the sweep looks at the status too.
    due_for_reminder(accepted, declined, revoked)

    assert service.remind_due() == 0
    assert reminders() == []


def test_an_invitation_already_past_its_expiry_gets_no_reminder(session):
    invitation = invite_one(session)
    due_for_reminder(invitation)
    run_out(invitation)

    assert service.remind_due() == 0


def test_the_reminder_is_due_the_events_configured_hours_before_expiry(event, session):
    event.invitation_reminder_hours = 24
    event.save()

    invitation = invite_one(session, expires_in_days=5)

    assert invitation.remind_at == invitation.expires_at - timedelta(hours=24)
    assert service.remind_due(now=invitation.remind_at - timedelta(seconds=1)) == 0
    assert service.remind_due(now=invitation.remind_at) == 1


def test_a_resent_invitation_is_reminded_with_its_new_link(session, owner):
    invitation = invite_one(session)
    service.resend(invitation=invitation, actor=owner)
    due_for_reminder(invitation)

    service.remind_due()

    [reminder] = Notification.objects.filter(kind=Kind.INVITATION_REMINDER)
    assert reminder.payload["nonce"] == fresh(invitation).nonce


def test_extending_a_reminded_invitation_does_not_break_the_reminder_sweep(session, owner):
    reminded = invite_one(session, "reminded@example.com")
    other = invite_one(session, "other@example.com")
    due_for_reminder(reminded)
    service.remind_due()
    service.extend(invitation=reminded, actor=owner, days=7)
    due_for_reminder(reminded, other)

    service.remind_due()

    assert "other@example.com" in reminders()
    assert fresh(other).remind_at is None


def test_the_reminder_task_calls_the_sweep(session, enqueued, django_capture_on_commit_callbacks):
    invitation = invite_one(session)
    due_for_reminder(invitation)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.remind_invitations() == 1

    [reminder] = Notification.objects.filter(kind=Kind.INVITATION_REMINDER)
    assert reminder.pk in enqueued
