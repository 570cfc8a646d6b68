"""Retention of open-call submissions (unconfirmed or disqualified, after M days) and of the
panel (K days without contact, unless the person renews their consent from the mail sent
30 days before)."""

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from events.invite_parsing import Row
from events.models import (
    ContactBlock,
    Invitation,
    Notification,
    PanelMember,
    PanelRenewal,
    Registration,
    RetentionLog,
    Submission,
)
from events.services import invitations as invitation_service
from events.services import open_calls, panel, retention
from tests.factories import (
    EventFactory,
    OpenCallFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
    team_of,
)

DAY = timedelta(days=1)

pytestmark = pytest.mark.django_db


def a_call():
    owner = OrganizerFactory()
    call = OpenCallFactory(organizer=owner)
    open_calls.set_status(call=call, actor=owner, published=True)
    return owner, call


def submitted(call, email, *, consent=True, confirm=True, days_ago=0):
    sub = open_calls.submit(
        call=call, email=email, profile={"name": "Someone", "consent": consent}, answers={}
    ).submission
    if confirm:
        open_calls.confirm(submission=sub, nonce=sub.nonce)
    then = timezone.now() - timedelta(days=days_ago)
    Submission.objects.filter(pk=sub.pk).update(
        created_at=then,
        submitted_at=then,
        pending_at=None if confirm else then,
        confirmed_at=then if confirm else None,
    )
    return Submission.objects.get(pk=sub.pk)


def test_unconfirmed_and_disqualified_submissions_go_after_the_call_s_days(db):
    _owner, call = a_call()
    old_unconfirmed = submitted(call, "old@example.com", confirm=False, days_ago=100)
    new_unconfirmed = submitted(call, "new@example.com", confirm=False, days_ago=10)
    disqualified = submitted(call, "dq@example.com", days_ago=100)
    Submission.objects.filter(pk=disqualified.pk).update(screening="disqualified")
    qualified = submitted(call, "ok@example.com", days_ago=100)

    panel.refresh(team=call.team)
    assert PanelMember.objects.filter(team=call.team, email="dq@example.com").exists()

    assert retention.sweep_calls() == 2

    left = set(Submission.objects.filter(call=call).values_list("pk", flat=True))
    assert left == {new_unconfirmed.pk, qualified.pk}
    assert old_unconfirmed.pk not in left
    assert not Notification.objects.filter(email__in=["old@example.com", "dq@example.com"]).exists()
    [entry] = RetentionLog.objects.filter(kind="call")
    assert entry.call == call and entry.counts["submissions"] == 2
    assert retention.sweep_calls() == 0  # safe to run twice
    # The panel forgets the disqualified person at once.
    assert not PanelMember.objects.filter(team=call.team, email="dq@example.com").exists()


def test_a_call_s_own_days_override_the_team_s(db):
    owner, call = a_call()
    submitted(call, "late@example.com", confirm=False, days_ago=20)
    retention.set_call_days(call=call, actor=owner, days=14)
    assert retention.sweep_calls() == 1


def panel_of(call, email, *, consent=True, days_ago=800):
    submitted(call, email, consent=consent, days_ago=days_ago)
    panel.refresh(team=call.team)
    member = PanelMember.objects.get(team=call.team, email=email)
    then = timezone.now() - timedelta(days=days_ago)
    PanelMember.objects.filter(pk=member.pk).update(first_seen_at=then)
    return member


def test_a_quiet_panel_member_is_asked_30_days_before_removal_then_removed(db):
    _owner, call = a_call()
    team = call.team
    panel_of(call, "quiet@example.com", days_ago=710)  # 730 - 710 = 20 days left: ask now
    now = timezone.now()
    assert retention.ask_renewals(team=team, now=now) == 1
    [mail] = Notification.objects.filter(kind="panel_renewal")
    assert mail.email == "quiet@example.com"
    assert retention.ask_renewals(team=team, now=now) == 0  # asked once
    # Not removed before the notice has run its 30 days, even when K has passed.
    assert retention.remove_panel_members(team=team, now=now + timedelta(days=25)) == 0
    assert retention.remove_panel_members(team=team, now=now + timedelta(days=31)) == 1
    assert not PanelMember.objects.filter(team=team, email="quiet@example.com").exists()
    assert not Submission.objects.filter(email="quiet@example.com").exists()
    assert not PanelRenewal.objects.filter(email="quiet@example.com").exists()
    [entry] = RetentionLog.objects.filter(kind="panel")
    assert entry.counts["panel_members"] == 1
    assert "quiet" not in str(entry.counts)


def test_keeping_from_the_link_renews_and_keeps_them(db):
    _owner, call = a_call()
    team = call.team
    panel_of(call, "stay@example.com", days_ago=710)
    now = timezone.now()
    retention.ask_renewals(team=team, now=now)
    renewal = PanelRenewal.objects.get(email="stay@example.com")
    retention.keep_me(renewal=renewal, nonce=renewal.nonce, now=now + timedelta(days=1))
    assert retention.remove_panel_members(team=team, now=now + timedelta(days=31)) == 0
    assert PanelMember.objects.filter(team=team, email="stay@example.com").exists()
    # Not asked again before another stretch without contact.
    assert retention.ask_renewals(team=team, now=now + timedelta(days=40)) == 0


def test_a_member_without_consent_or_blocked_is_removed_without_a_mail(db):
    _owner, call = a_call()
    team = call.team
    panel_of(call, "noconsent@example.com", consent=False, days_ago=800)
    panel_of(call, "blocked@example.com", days_ago=800)
    ContactBlock.objects.create(team=team, email="blocked@example.com", reason="blocked")
    now = timezone.now()
    assert retention.ask_renewals(team=team, now=now) == 0
    assert retention.remove_panel_members(team=team, now=now) == 2
    assert not Notification.objects.filter(kind="panel_renewal").exists()
    # The do-not-contact entry stays: it is the person's wish, kept to be respected.
    assert ContactBlock.objects.filter(email="blocked@example.com").exists()


def test_a_recent_member_is_left_alone(db):
    _owner, call = a_call()
    panel_of(call, "recent@example.com", days_ago=100)
    swept = retention.sweep()
    assert swept.renewals_asked == 0 and swept.panel_members == 0
    assert PanelMember.objects.filter(email="recent@example.com").exists()


def test_the_link_is_scoped_signed_and_only_the_latest_works(db):
    _owner, call = a_call()
    team = call.team
    panel_of(call, "link@example.com", days_ago=710)
    now = timezone.now()
    retention.ask_renewals(team=team, now=now)
    renewal = PanelRenewal.objects.get(email="link@example.com")
    token = retention.renewal_token(renewal)
    found, nonce = retention.from_renewal_token(token)
    assert found == renewal and nonce == renewal.nonce
    assert retention.from_renewal_token(token[:-2] + "xx") == (None, "")
    old_nonce = renewal.nonce
    # Asked again later (after a new stretch): the first mail's link no longer works.
    PanelRenewal.objects.filter(pk=renewal.pk).update(asked_at=now - timedelta(days=800))
    retention.ask_renewals(team=team, now=now + timedelta(days=1))
    renewal.refresh_from_db()
    assert renewal.nonce != old_nonce
    with pytest.raises(retention.ServiceError, match="earlier email"):
        retention.keep_me(renewal=renewal, nonce=old_nonce)


def test_the_team_of_the_factory_is_the_call_s(db):
    owner, call = a_call()
    assert team_of(owner) == call.team


def test_members_kept_for_a_session_to_come_do_not_hold_the_removal_in_a_loop(db):
    """Someone quiet for K days but registered (long ago) for a session still to come is kept;
    with a full batch of such people first, the removal must move past them and finish."""
    _owner, call = a_call()
    team = call.team
    upcoming = SessionFactory(event=EventFactory(team=team), starts_at=timezone.now() + DAY)
    long_ago = timezone.now() - timedelta(days=800)
    for n in range(2):
        email = f"coming{n}@example.com"
        registration = RegistrationFactory(
            session=upcoming, user=UserFactory(email=email), status="cancelled"
        )
        Registration.objects.filter(pk=registration.pk).update(created_at=long_ago)
        panel_of(call, email, consent=False)
    panel_of(call, "gone@example.com", consent=False)  # the last by id: after both

    def stuck(*_args):
        raise AssertionError("the removal went round the same members forever")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        removed = retention.remove_panel_members(team=team, now=timezone.now(), batch=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert removed == 1
    assert not PanelMember.objects.filter(team=team, email="gone@example.com").exists()
    assert PanelMember.objects.filter(team=team, email__startswith="coming").count() == 2


def test_a_removed_members_seat_held_by_an_invitation_goes_back_to_the_session(db):
    owner, call = a_call()
    team = call.team
    panel_of(call, "held@example.com", consent=False)
    session = SessionFactory(
        event=EventFactory(team=team), starts_at=timezone.now() + DAY, capacity=1
    )
    invitation_service.create_batch(
        event=session.event,
        session=session,
        rows=[Row(line=1, email="held@example.com")],
        actor=owner,
        holds_seat=True,
    )
    session.refresh_from_db()
    assert session.seats_taken == 1

    assert retention.remove_panel_members(team=team, now=timezone.now()) == 1

    session.refresh_from_db()
    assert session.seats_taken == 0  # not lost with the invitation
    assert not Invitation.objects.filter(email="held@example.com").exists()
