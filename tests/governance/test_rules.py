"""The team's contact rules, enforced where invitations are made (services.invitations,
create_batch): a cool-down after an invitation and after attending, a limit per 90 days, each
on both sides of its boundary; an owner or organizer may set them aside only with a reason,
which is kept on the invitation; nobody unsubscribed or blocked is invited, override or not."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.invite_parsing import Row
from events.models import ContactBlock, Invitation, Notification
from events.services import ServiceError
from events.services import invitations as service
from tests.factories import EventFactory, SessionFactory, organizer_of
from tests.invitations.helpers import invite, rows
from tests.query_shape import insert_batches

from .helpers import attended_days_ago, invited_days_ago

pytestmark = pytest.mark.django_db


def invited(session, *emails: str, **options) -> list[str]:
    try:
        created = invite(session, *emails, **options)
    except ServiceError as refusal:
        return [f"refused: {refusal.message}"]
    return sorted(i.email for i in created)


def reasons(session, *emails: str) -> dict[str, str]:
    result = service.preview(event=session.event, session=session, rows=rows(*emails))
    return {email: reason for _line, email, reason in result.refused}


def snapshot() -> tuple:
    return (
        list(Invitation.objects.order_by("pk").values_list("pk", "status", "override_reason")),
        Notification.objects.count(),
    )


# The cool-down after an invitation


def test_someone_invited_29_days_ago_is_held_back_by_a_30_day_cooldown(event, session):
    invited_days_ago(event, "ann@example.com", 29)

    assert reasons(session, "ann@example.com") == {
        "ann@example.com": "Invited by this team 29 days ago (cool-down: 30 days)."
    }
    assert invited(session, "ann@example.com", "bob@example.com") == ["bob@example.com"]


def test_someone_invited_31_days_ago_is_invited_again(event, session):
    invited_days_ago(event, "ann@example.com", 31)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_an_invitation_by_another_event_of_the_same_team_counts(event, session):
    other_event = EventFactory(team=event.team)
    invited_days_ago(other_event, "ann@example.com", 3)

    assert invited(session, "ann@example.com", "bob@example.com") == ["bob@example.com"]


def test_an_invitation_by_another_team_does_not_count(session):
    invited_days_ago(EventFactory(), "ann@example.com", 3)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_a_revoked_invitation_whose_mail_never_left_does_not_count(event, session):
    invited_days_ago(event, "ann@example.com", 1).__class__.objects.update(status="revoked")

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_addresses_are_matched_whatever_their_case(event, session):
    invited_days_ago(event, "Ann@Example.com", 2)

    assert "ann@example.com" in reasons(session, "ann@example.com")


def test_a_cooldown_of_zero_is_no_rule(event, session):
    event.team.invite_cooldown_days = 0
    event.team.save()
    invited_days_ago(event, "ann@example.com", 1)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


# The rest after attending


def test_someone_who_attended_59_days_ago_is_held_back_by_a_60_day_rest(event, session):
    attended_days_ago(event, "ann@example.com", 59)

    assert reasons(session, "ann@example.com") == {
        "ann@example.com": "Attended a session 59 days ago (rest: 60 days)."
    }
    assert invited(session, "ann@example.com", "bob@example.com") == ["bob@example.com"]


def test_someone_who_attended_61_days_ago_is_invited(event, session):
    attended_days_ago(event, "ann@example.com", 61)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_someone_registered_but_not_checked_in_has_not_attended(event, session):
    registration = attended_days_ago(event, "ann@example.com", 5)
    registration.__class__.objects.filter(pk=registration.pk).update(checked_in_at=None)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_with_check_in_off_a_confirmed_seat_in_an_ended_session_counts_as_attended(event, session):
    event.checkin_enabled = False
    event.save(update_fields=["checkin_enabled"])
    registration = attended_days_ago(event, "ann@example.com", 10)
    registration.__class__.objects.filter(pk=registration.pk).update(checked_in_at=None)

    assert reasons(session, "ann@example.com") == {
        "ann@example.com": "Attended a session 10 days ago (rest: 60 days)."
    }


# The limit per 90 days


def limit_only(team, limit: int = 3) -> None:
    team.invite_cooldown_days = 0
    team.max_invitations_per_90_days = limit
    team.save()


def test_two_invitations_in_90_days_leave_room_for_a_third(event, team, session):
    limit_only(team)
    for days in (10, 80):
        invited_days_ago(event, "ann@example.com", days)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


def test_three_invitations_in_90_days_reach_the_limit(event, team, session):
    limit_only(team)
    for days in (10, 50, 89):
        invited_days_ago(event, "ann@example.com", days)

    assert reasons(session, "ann@example.com") == {
        "ann@example.com": "Already invited 3 times in 90 days (limit: 3)."
    }
    assert invited(session, "ann@example.com", "bob@example.com") == ["bob@example.com"]


def test_an_invitation_91_days_old_is_out_of_the_window(event, team, session):
    limit_only(team)
    for days in (10, 50, 91):
        invited_days_ago(event, "ann@example.com", days)

    assert invited(session, "ann@example.com") == ["ann@example.com"]


# Setting the rules aside


def test_an_override_with_a_reason_invites_those_held_back_and_keeps_the_reason(event, session):
    invited_days_ago(event, "ann@example.com", 5)

    created = invite(
        session, "ann@example.com", "bob@example.com", override_reason="  Our only Rust expert. "
    )

    by_email = {i.email: i.override_reason for i in created}
    # Kept only where it was needed, without the spaces around it.
    assert by_email == {"ann@example.com": "Our only Rust expert.", "bob@example.com": ""}
    assert Notification.objects.filter(invitation__email="ann@example.com").count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501], ids=["empty", "blank", "too-long"])
def test_an_override_without_a_fitting_reason_is_refused_and_writes_nothing(event, session, reason):
    invited_days_ago(event, "ann@example.com", 5)
    before = snapshot()

    with pytest.raises(ServiceError, match="reason"):
        invite(session, "ann@example.com", "bob@example.com", override_reason=reason)

    assert snapshot() == before


def test_without_an_override_nobody_held_back_is_invited(event, session):
    invited_days_ago(event, "ann@example.com", 5)

    assert invited(session, "ann@example.com") == [
        "refused: Nobody in this list can be invited (see the reasons listed)."
    ]


def test_someone_who_unsubscribed_is_never_invited_even_with_an_override(team, session):
    ContactBlock.objects.create(team=team, email="ann@example.com", reason="unsubscribed")
    ContactBlock.objects.create(team=team, email="bo@example.com", reason="blocked")

    assert reasons(session, "ann@example.com", "bo@example.com") == {
        "ann@example.com": "Unsubscribed from this team's mail: never invited again.",
        "bo@example.com": "On the team's do-not-contact list.",
    }
    outcome = invited(
        session, "ann@example.com", "bo@example.com", "cy@example.com", override_reason="Please."
    )
    assert outcome == ["cy@example.com"]
    assert invited(session, "ANN@example.com", override_reason="Please.") == [
        "refused: Nobody in this list can be invited (see the reasons listed)."
    ]


def test_a_block_in_another_team_does_not_count(session):
    ContactBlock.objects.create(
        team=EventFactory().team, email="ann@example.com", reason="unsubscribed"
    )

    assert invited(session, "ann@example.com") == ["ann@example.com"]


# Cost


INSERTED = (Invitation, Notification)


def batch_queries(session, count: int) -> int:
    big = [Row(line=n, email=f"p{n}@example.com") for n in range(count)]
    for n in range(0, count, 2):  # half have a history, some are blocked
        invited_days_ago(session.event, f"p{n}@example.com", 40)
    with CaptureQueriesContext(connection) as ctx:
        service.create_batch(
            event=session.event, session=session, rows=big, actor=organizer_of(session.event)
        )
    return len(ctx.captured_queries)


def test_checking_the_rules_takes_as_many_queries_for_50_people_as_for_5(event):
    small = batch_queries(SessionFactory(event=event, capacity=100), 5)
    big = batch_queries(SessionFactory(event=EventFactory(), capacity=100), 50)

    # SQLite binds at most 999 parameters per statement: more rows may take more INSERTs.
    extra = sum(insert_batches(model, 50) - insert_batches(model, 5) for model in INSERTED)
    assert big == small + extra
