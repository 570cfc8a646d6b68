"""Organizers' changes to events and sessions, and what they owe attendees
(events.services.scheduling)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.invite_parsing import Row
from events.models import (
    Event,
    Membership,
    Notification,
    Registration,
    RegistrationChange,
    Session,
)
from events.services import ServiceError, teams
from events.services.invitations import create_batch
from events.services.lottery import draw_due_lotteries
from events.services.registration import cancel, check_can_sign_up, register
from events.services.scheduling import (
    cancel_event,
    cancel_session,
    create_event,
    create_session,
    publish_event,
    update_event,
    update_session,
)
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
    organizer_of,
    team_of,
)

pytestmark = pytest.mark.django_db

Status = Registration.Status
Kind = Notification.Kind


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def assert_seats_add_up(session: Session) -> None:
    session.refresh_from_db()
    seated = Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
    assert session.seats_taken == seated
    assert seated <= session.capacity


def session_row(session: Session) -> dict:
    return Session.objects.values().get(pk=session.pk)


def people_in_every_state():
    """A session of two seats with one person confirmed, one offered, one waitlisted and one
    who cancelled."""
    session = SessionFactory(capacity=2)
    organizer = organizer_of(session.event)
    cancelled = register(user=UserFactory(), session=session)
    confirmed = register(user=UserFactory(), session=session)
    offered = register(user=UserFactory(), session=session)
    waitlisted = register(user=UserFactory(), session=session)
    cancel(registration=cancelled, actor=cancelled.user)
    assert [fresh(r).status for r in (cancelled, confirmed, offered, waitlisted)] == [
        Status.CANCELLED,
        Status.CONFIRMED,
        Status.OFFERED,
        Status.WAITLISTED,
    ]
    return (
        session,
        organizer,
        {
            "cancelled": cancelled,
            "confirmed": confirmed,
            "offered": offered,
            "waitlisted": waitlisted,
        },
    )


def owed(kind: str, session: Session) -> set[int]:
    return set(
        Notification.objects.filter(kind=kind, registration__session=session).values_list(
            "recipient_id", flat=True
        )
    )


# Events


@pytest.mark.parametrize("role", [None, "reviewer", "door"])
def test_only_a_teams_owners_and_organizers_can_create_its_events(role):
    team = TeamFactory()
    person = UserFactory()
    if role:
        add_to_team(team, person, role=role)
    with pytest.raises(ServiceError, match="Only the team's owners and organizers"):
        create_event(team=team, actor=person, title="My own event")

    assert not Event.objects.filter(title="My own event").exists()


def test_an_organizer_creates_a_draft_event_in_their_team():
    organizer = OrganizerFactory()
    team = team_of(organizer)

    event = create_event(
        team=team, actor=organizer, title="Model preview", registration_mode="lottery"
    )

    event.refresh_from_db()
    assert (event.title, event.status, event.registration_mode) == (
        "Model preview",
        Event.Status.DRAFT,
        Event.Mode.LOTTERY,
    )
    assert event.team == team


def test_an_event_created_with_terms_starts_at_terms_version_one():
    organizer = OrganizerFactory()
    event = create_event(
        team=team_of(organizer), actor=organizer, title="Secret demo", terms_text="Hush."
    )

    event.refresh_from_db()
    assert event.terms_version == 1
    assert event.is_confidential


def test_an_event_with_bad_fields_is_refused_with_a_message():
    organizer = OrganizerFactory()
    now = timezone.now()

    with pytest.raises(ServiceError):
        create_event(
            team=team_of(organizer),
            actor=organizer,
            title="Backwards",
            registration_opens_at=now + timedelta(days=2),
            registration_closes_at=now + timedelta(days=1),
        )
    with pytest.raises(ServiceError, match="known time zone"):
        create_event(
            team=team_of(organizer), actor=organizer, title="Nowhere", timezone="Mars/Olympus"
        )

    assert not Event.objects.filter(title__in=["Backwards", "Nowhere"]).exists()


@pytest.mark.parametrize(
    "shares",
    [
        {"emperor": 10},
        {"researcher": 101},
        {"researcher": 60, "community": 50},
        {"researcher": "x"},
    ],
)
def test_reserved_lottery_shares_must_be_sensible(shares):
    with pytest.raises(ServiceError, match="Reserved shares"):
        organizer = OrganizerFactory()
        create_event(
            team=team_of(organizer),
            actor=organizer,
            title="Odd shares",
            lottery_reserved_shares=shares,
        )

    assert not Event.objects.filter(title="Odd shares").exists()


def test_changing_the_terms_text_raises_the_terms_version():
    event = EventFactory(terms_text="Version one.", terms_version=1)
    organizer = organizer_of(event)

    event = update_event(event=event, actor=organizer, terms_text="Version two.")

    event.refresh_from_db()
    assert (event.terms_text, event.terms_version) == ("Version two.", 2)


def test_saving_the_same_terms_again_keeps_the_version():
    event = EventFactory(terms_text="Version one.", terms_version=1)

    update_event(event=event, actor=organizer_of(event), terms_text="Version one.", title="New")

    event.refresh_from_db()
    assert (event.title, event.terms_version) == ("New", 1)


def test_the_terms_version_cannot_go_down():
    event = EventFactory(terms_text="Version three.", terms_version=3)

    with pytest.raises(ServiceError, match="cannot go down"):
        update_event(event=event, actor=organizer_of(event), terms_version=2)

    event.refresh_from_db()
    assert event.terms_version == 3


def test_publishing_an_event_without_sessions_is_refused():
    event = EventFactory(status="draft")

    with pytest.raises(ServiceError, match="Add at least one session"):
        publish_event(event=event, actor=organizer_of(event))

    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_publishing_an_event_whose_only_session_is_cancelled_is_refused():
    event = EventFactory(status="draft")
    SessionFactory(event=event, status="cancelled")

    with pytest.raises(ServiceError, match="Add at least one session"):
        publish_event(event=event, actor=organizer_of(event))

    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_publishing_an_event_with_a_session_opens_it_for_sign_up():
    event = EventFactory(status="draft")
    organizer = organizer_of(event)
    starts = timezone.now() + timedelta(days=5)
    session = create_session(
        event=event,
        actor=organizer,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        capacity=5,
    )
    with pytest.raises(ServiceError, match="not open for registration"):
        check_can_sign_up(user=UserFactory(), session=session)

    publish_event(event=event, actor=organizer)

    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED
    assert register(user=UserFactory(), session=session).status == Status.CONFIRMED


def test_a_lottery_without_a_closing_time_cannot_be_published():
    # The sweep draws a lottery when its registration closes: without a closing time it
    # would never be drawn, and its applicants would wait for nothing.
    event = EventFactory(status="draft", registration_mode="lottery")
    SessionFactory(event=event)

    with pytest.raises(ServiceError, match="A lottery is drawn when registration closes"):
        publish_event(event=event, actor=organizer_of(event))

    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT
    event.registration_closes_at = timezone.now() + timedelta(days=2)
    event.save()
    publish_event(event=event, actor=organizer_of(event))
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_a_published_lottery_keeps_its_closing_time():
    closes = timezone.now() + timedelta(days=2)
    event = EventFactory(registration_mode="lottery", registration_closes_at=closes)
    organizer = organizer_of(event)

    with pytest.raises(ServiceError, match="A lottery is drawn when registration closes"):
        update_event(event=event, actor=organizer, title="Renamed", registration_closes_at=None)
    open_event = EventFactory()
    with pytest.raises(ServiceError, match="A lottery is drawn when registration closes"):
        update_event(
            event=open_event,
            actor=organizer_of(open_event),
            registration_mode=Event.Mode.LOTTERY,
        )

    event.refresh_from_db()
    assert event.title != "Renamed" and event.registration_closes_at == closes
    open_event.refresh_from_db()
    assert open_event.registration_mode == Event.Mode.OPEN


def test_a_cancelled_event_cannot_be_published_again():
    session = SessionFactory()
    event = session.event
    cancel_event(event=event, actor=organizer_of(event))

    with pytest.raises(ServiceError, match="cannot be published again"):
        publish_event(event=event, actor=organizer_of(event))

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED


# Sessions


def test_moving_a_session_raises_its_sequence_and_tells_everyone_holding_a_seat():
    session, organizer, people = people_in_every_state()
    before = session_row(session)
    later = session.starts_at + timedelta(hours=2)

    update_session(
        session=session, actor=organizer, starts_at=later, ends_at=later + timedelta(hours=1)
    )

    after = session_row(session)
    assert after["sequence"] == before["sequence"] + 1
    assert (after["starts_at"], after["uid"]) == (later, before["uid"])
    assert owed(Kind.SESSION_CHANGED, session) == {
        people["confirmed"].user_id,
        people["offered"].user_id,
    }
    assert_seats_add_up(session)


@pytest.mark.parametrize(
    "changes",
    [
        {"location": "Room 2, Example HQ"},
        # Going online changes the invite's place (the personal join link joins the room).
        {"format": "hybrid", "online_url": "https://meet.example.com/new"},
    ],
)
def test_changing_the_place_raises_the_sequence_and_tells_seated_people(changes):
    session, organizer, people = people_in_every_state()
    before = session_row(session)["sequence"]

    update_session(session=session, actor=organizer, **changes)

    assert session_row(session)["sequence"] == before + 1
    for field, value in changes.items():
        assert session_row(session)[field] == value
    assert owed(Kind.SESSION_CHANGED, session) == {
        people["confirmed"].user_id,
        people["offered"].user_id,
    }


def test_changing_the_meeting_address_keeps_the_sequence_and_owes_nothing():
    """Invites carry personal join links, which lead to the address as it is when used."""
    session, organizer, _ = people_in_every_state()
    update_session(
        session=session, actor=organizer, format="hybrid", online_url="https://meet.example.com/a"
    )
    before = session_row(session)["sequence"]
    owed_before = Notification.objects.count()

    update_session(session=session, actor=organizer, online_url="https://meet.example.com/b")

    assert session_row(session)["sequence"] == before
    assert Notification.objects.count() == owed_before


def test_each_change_of_time_owes_a_new_update():
    session, organizer, people = people_in_every_state()

    update_session(session=session, actor=organizer, location="Room 2")
    update_session(session=session, actor=organizer, location="Room 3")

    assert session_row(session)["sequence"] == 2
    rows = Notification.objects.filter(
        kind=Kind.SESSION_CHANGED, recipient=people["confirmed"].user
    )
    assert rows.count() == 2


def test_changing_only_the_capacity_keeps_the_sequence_and_owes_nothing():
    session, organizer, _ = people_in_every_state()
    before = session_row(session)
    owed_before = Notification.objects.count()

    update_session(session=session, actor=organizer, capacity=2)
    update_session(session=session, actor=organizer, capacity=5)

    after = session_row(session)
    assert after["sequence"] == before["sequence"]
    assert after["capacity"] == 5
    assert not Notification.objects.filter(kind=Kind.SESSION_CHANGED).exists()
    # The new seats went to the waitlist (one offer, nothing else owed).
    assert Notification.objects.count() == owed_before + 1
    assert_seats_add_up(session)


def test_renaming_a_session_raises_the_sequence_and_tells_seated_people():
    session, organizer, people = people_in_every_state()
    before = session_row(session)["sequence"]

    update_session(session=session, actor=organizer, title="Europe-friendly slot")

    assert session_row(session)["sequence"] == before + 1
    assert owed(Kind.SESSION_CHANGED, session) == {
        people["confirmed"].user_id,
        people["offered"].user_id,
    }


def test_renaming_an_event_updates_each_of_its_sessions_still_to_come():
    session, organizer, people = people_in_every_state()
    event = session.event
    past = SessionFactory(event=event)
    register(user=UserFactory(), session=past)
    yesterday = timezone.now() - timedelta(days=1)
    Session.objects.filter(pk=past.pk).update(
        starts_at=yesterday, ends_at=yesterday + timedelta(hours=1)
    )
    called_off = SessionFactory(event=event)
    register(user=UserFactory(), session=called_off)
    cancel_session(session=called_off, actor=organizer)
    before = {s.pk: session_row(s)["sequence"] for s in (session, past, called_off)}

    update_event(event=event, actor=organizer, title="The new model, renamed")
    update_event(event=event, actor=organizer, description="Only the description changes.")

    assert session_row(session)["sequence"] == before[session.pk] + 1
    assert owed(Kind.SESSION_CHANGED, session) == {
        people["confirmed"].user_id,
        people["offered"].user_id,
    }
    # An update about a meeting that is over, or called off, would be noise.
    assert session_row(past)["sequence"] == before[past.pk]
    assert session_row(called_off)["sequence"] == before[called_off.pk]
    assert not owed(Kind.SESSION_CHANGED, past) | owed(Kind.SESSION_CHANGED, called_off)


def test_saving_a_session_unchanged_keeps_the_sequence():
    session, organizer, _ = people_in_every_state()
    before = session_row(session)

    update_session(
        session=session,
        actor=organizer,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        location=session.location,
    )

    assert session_row(session)["sequence"] == before["sequence"]
    assert not Notification.objects.filter(kind=Kind.SESSION_CHANGED).exists()


def test_moving_a_session_earlier_shortens_running_offers_to_the_new_start():
    session = SessionFactory(capacity=1, event__offer_hours=24)
    seated = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)
    cancel(registration=seated, actor=seated.user)
    assert fresh(waiting).status == Status.OFFERED
    sooner = timezone.now() + timedelta(hours=2)

    update_session(
        session=session,
        actor=organizer_of(session.event),
        starts_at=sooner,
        ends_at=sooner + timedelta(hours=1),
    )

    assert fresh(waiting).offer_expires_at <= sooner


def test_the_capacity_cannot_drop_below_the_seats_given():
    session, organizer, _ = people_in_every_state()
    before = session_row(session)
    owed_before = Notification.objects.count()

    with pytest.raises(ServiceError) as refusal:
        update_session(session=session, actor=organizer, capacity=1, location="Room 9")

    assert refusal.value.message == (
        "2 seats are already given (confirmed or offered): the capacity cannot go below 2."
    )
    assert session_row(session) == before
    assert Notification.objects.count() == owed_before


def test_a_session_ending_before_it_starts_is_refused():
    session, organizer, _ = people_in_every_state()
    before = session_row(session)

    with pytest.raises(ServiceError):
        update_session(session=session, actor=organizer, ends_at=session.starts_at)

    assert session_row(session) == before
    assert not Notification.objects.filter(kind=Kind.SESSION_CHANGED).exists()


def test_a_cancelled_session_cannot_be_edited():
    session, organizer, _ = people_in_every_state()
    cancel_session(session=session, actor=organizer)
    before = session_row(session)

    with pytest.raises(ServiceError, match="cannot be edited"):
        update_session(session=session, actor=organizer, location="Elsewhere")

    assert session_row(session) == before


def test_cancelling_a_session_closes_every_active_registration_and_tells_them():
    session, organizer, people = people_in_every_state()
    before = session_row(session)
    cancelled_before = fresh(people["cancelled"]).changes.count()

    cancel_session(session=session, actor=organizer)

    after = session_row(session)
    assert after["status"] == Session.Status.CANCELLED
    assert after["seats_taken"] == 0
    assert after["sequence"] == before["sequence"] + 1
    for name in ("confirmed", "offered", "waitlisted"):
        registration = fresh(people[name])
        assert registration.status == Status.CANCELLED
        assert registration.cancelled_at is not None
        assert registration.offer_expires_at is None
        change = registration.changes.last()
        assert (change.to_status, change.actor, change.note) == (
            Status.CANCELLED,
            organizer,
            "The session was cancelled",
        )
    assert owed(Kind.SESSION_CANCELLED, session) == {
        people[name].user_id for name in ("confirmed", "offered", "waitlisted")
    }
    assert fresh(people["cancelled"]).changes.count() == cancelled_before
    assert_seats_add_up(session)


def test_a_cancelled_session_takes_no_more_sign_ups():
    session, organizer, _ = people_in_every_state()

    cancel_session(session=session, actor=organizer)

    with pytest.raises(ServiceError, match="This session is cancelled"):
        register(user=UserFactory(), session=session)


def test_cancelling_a_session_twice_is_refused():
    session, organizer, _ = people_in_every_state()
    cancel_session(session=session, actor=organizer)
    before = session_row(session)
    changes = RegistrationChange.objects.count()

    with pytest.raises(ServiceError, match="already cancelled"):
        cancel_session(session=session, actor=organizer)

    assert session_row(session) == before
    assert RegistrationChange.objects.count() == changes


def test_cancelling_an_event_leaves_the_sessions_that_already_took_place_alone():
    event = EventFactory()
    organizer = organizer_of(event)
    held = SessionFactory(event=event)
    coming = SessionFactory(event=event)
    attended = register(user=UserFactory(), session=held)
    booked = register(user=UserFactory(), session=coming)
    last_week = timezone.now() - timedelta(days=7)
    # Time passes: the first session took place last week.
    Session.objects.filter(pk=held.pk).update(
        starts_at=last_week, ends_at=last_week + timedelta(hours=1)
    )

    cancel_event(event=event, actor=organizer)

    assert fresh(booked).status == Status.CANCELLED
    assert owed(Kind.SESSION_CANCELLED, coming) == {booked.user_id}
    assert fresh(attended).status == Status.CONFIRMED
    assert owed(Kind.SESSION_CANCELLED, held) == set()
    assert session_row(held)["status"] == Session.Status.SCHEDULED


def test_cancelling_an_event_cancels_all_its_sessions():
    event = EventFactory()
    organizer = organizer_of(event)
    first = SessionFactory(event=event, capacity=1)
    second = SessionFactory(event=event, capacity=1)
    seated = register(user=UserFactory(), session=first)
    waiting = register(user=UserFactory(), session=first)
    other = register(user=UserFactory(), session=second)
    unrelated = register(user=UserFactory(), session=SessionFactory())

    cancel_event(event=event, actor=organizer)

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    for session in (first, second):
        row = session_row(session)
        assert (row["status"], row["seats_taken"], row["sequence"]) == ("cancelled", 0, 1)
    assert [fresh(r).status for r in (seated, waiting, other)] == [Status.CANCELLED] * 3
    assert fresh(unrelated).status == Status.CONFIRMED
    assert owed(Kind.SESSION_CANCELLED, first) == {seated.user_id, waiting.user_id}
    assert owed(Kind.SESSION_CANCELLED, second) == {other.user_id}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_once_leave_one():
    pairs = []
    for _ in range(10):
        event = EventFactory()
        first, second = organizer_of(event), UserFactory()
        add_to_team(event.team, second, role="owner")
        pairs += [(event, first, second), (event, second, first)]
    barrier = threading.Barrier(len(pairs))

    def remove(event, actor, other) -> None:
        membership = Membership.objects.get(team=event.team_id, user=other)
        try:
            barrier.wait()
            teams.remove_member(team=event.team, actor=actor, membership=membership)
        except ServiceError:
            pass  # the one refused: the other went first
        finally:
            connection.close()

    threads = [threading.Thread(target=remove, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    counts = [
        Membership.objects.filter(team=event.team_id, role="owner").count()
        for event, *_ in pairs[::2]
    ]
    assert counts == [1] * 10


# A lottery is drawn when registration closes, so that must come before its sessions start


def lottery_event_with_a_session(*, closes_in: timedelta, starts_in: timedelta):
    event = EventFactory(
        registration_mode="lottery", registration_closes_at=timezone.now() + closes_in
    )
    session = SessionFactory(
        event=event,
        starts_at=timezone.now() + starts_in,
        ends_at=timezone.now() + starts_in + timedelta(hours=1),
    )
    return event, session, organizer_of(event)


def test_a_lottery_cannot_close_registration_after_a_session_starts():
    event, _, organizer = lottery_event_with_a_session(
        closes_in=timedelta(days=1), starts_in=timedelta(days=3)
    )
    closes = event.registration_closes_at

    with pytest.raises(ServiceError, match="before its first session starts") as refusal:
        update_event(
            event=event, actor=organizer, registration_closes_at=timezone.now() + timedelta(days=4)
        )

    assert "lottery" in refusal.value.message
    event.refresh_from_db()
    assert event.registration_closes_at == closes


def test_switching_to_a_lottery_that_would_close_after_a_session_starts_is_refused():
    event, _, organizer = lottery_event_with_a_session(
        closes_in=timedelta(days=3), starts_in=timedelta(days=2)
    )
    Event.objects.filter(pk=event.pk).update(registration_mode=Event.Mode.OPEN)
    event.refresh_from_db()

    with pytest.raises(ServiceError, match="before its first session starts"):
        update_event(event=event, actor=organizer, registration_mode="lottery")

    event.refresh_from_db()
    assert event.registration_mode == Event.Mode.OPEN


def test_a_lottery_session_cannot_start_before_registration_closes():
    event, session, organizer = lottery_event_with_a_session(
        closes_in=timedelta(days=2), starts_in=timedelta(days=3)
    )
    before = session_row(session)
    early = timezone.now() + timedelta(days=1)

    with pytest.raises(ServiceError, match="before its first session starts"):
        update_session(
            session=session, actor=organizer, starts_at=early, ends_at=early + timedelta(hours=1)
        )
    with pytest.raises(ServiceError, match="before its first session starts"):
        create_session(
            event=event,
            actor=organizer,
            starts_at=early,
            ends_at=early + timedelta(hours=1),
            capacity=5,
        )

    assert session_row(session) == before
    assert event.sessions.count() == 1


def test_a_lottery_closing_before_its_sessions_start_is_saved():
    event, _, organizer = lottery_event_with_a_session(
        closes_in=timedelta(days=1), starts_in=timedelta(days=3)
    )
    later = timezone.now() + timedelta(days=2)

    update_event(event=event, actor=organizer, registration_closes_at=later)
    create_session(
        event=event,
        actor=organizer,
        starts_at=later + timedelta(hours=1),
        ends_at=later + timedelta(hours=2),
        capacity=5,
    )

    event.refresh_from_db()
    assert event.registration_closes_at == later
    assert event.sessions.count() == 2


# Reopening a lottery's registration after its draw


def lottery_closed_a_minute_ago(applicants: int = 0, *, cancelled: int = 0):
    """A lottery session whose registration has just closed and been swept: drawn, with
    nobody to draw when it had no applicants left."""
    event, session, organizer = lottery_event_with_a_session(
        closes_in=timedelta(days=1), starts_in=timedelta(days=3)
    )
    for _ in range(applicants):
        register(user=UserFactory(), session=session)
    for _ in range(cancelled):
        gone = register(user=UserFactory(), session=session)
        cancel(registration=gone, actor=gone.user)
    Event.objects.filter(pk=event.pk).update(
        registration_closes_at=timezone.now() - timedelta(minutes=1)
    )
    assert draw_due_lotteries() == 1
    event.refresh_from_db()
    session.refresh_from_db()
    assert session.lottery_drawn_at is not None
    return event, session, organizer


def test_reopening_registration_undoes_a_draw_that_had_nobody_to_draw():
    event, session, organizer = lottery_closed_a_minute_ago()
    closes = timezone.now() + timedelta(days=1)

    update_event(event=event, actor=organizer, registration_closes_at=closes)

    session.refresh_from_db()
    assert (session.lottery_drawn_at, session.lottery_seed) == (None, "")
    late = register(user=UserFactory(), session=session)
    assert late.status == Status.APPLIED
    assert draw_due_lotteries(now=closes + timedelta(minutes=1)) == 1
    assert fresh(late).status == Status.CONFIRMED
    assert fresh(late).lottery_rank == 1


def test_reopening_registration_undoes_a_draw_whose_only_applicant_had_cancelled():
    event, session, organizer = lottery_closed_a_minute_ago(cancelled=1)

    update_event(
        event=event, actor=organizer, registration_closes_at=timezone.now() + timedelta(days=1)
    )

    session.refresh_from_db()
    assert session.lottery_drawn_at is None
    assert register(user=UserFactory(), session=session).status == Status.APPLIED


def test_reopening_registration_keeps_a_draw_that_had_applicants():
    event, session, organizer = lottery_closed_a_minute_ago(applicants=2)
    drawn = session_row(session)

    update_event(
        event=event, actor=organizer, registration_closes_at=timezone.now() + timedelta(days=1)
    )

    assert session_row(session) == drawn
    late = register(user=UserFactory(), session=session)
    assert late.status == Status.CONFIRMED  # first come, first served, as after any draw
    assert late.lottery_rank is None


def test_moving_the_closing_time_within_the_past_keeps_an_empty_draw():
    event, session, organizer = lottery_closed_a_minute_ago()
    drawn = session_row(session)

    update_event(
        event=event, actor=organizer, registration_closes_at=timezone.now() - timedelta(hours=1)
    )

    assert session_row(session) == drawn


def test_reopening_registration_past_the_start_of_a_session_drawn_empty_is_refused():
    event, session, organizer = lottery_closed_a_minute_ago()
    drawn = session_row(session)
    closes = event.registration_closes_at

    with pytest.raises(ServiceError, match="before its first session starts"):
        update_event(
            event=event, actor=organizer, registration_closes_at=timezone.now() + timedelta(days=4)
        )

    assert session_row(session) == drawn
    event.refresh_from_db()
    assert event.registration_closes_at == closes


# Capacity: at least one seat, whoever asks


def test_a_session_without_seats_cannot_be_created():
    event = EventFactory()
    starts = timezone.now() + timedelta(days=3)

    with pytest.raises(ServiceError) as refusal:
        create_session(
            event=event,
            actor=organizer_of(event),
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=0,
        )

    assert (
        refusal.value.message == "A session needs at least one seat: set its capacity to 1 or more."
    )
    assert not event.sessions.exists()


def test_the_capacity_of_an_empty_session_cannot_drop_to_zero():
    session = SessionFactory(capacity=3)
    before = session_row(session)

    with pytest.raises(ServiceError, match="at least one seat"):
        update_session(session=session, actor=organizer_of(session.event), capacity=0)

    assert session_row(session) == before


def test_seats_held_by_invitations_keep_the_capacity_from_dropping_below_them():
    session = SessionFactory(capacity=3)
    organizer = organizer_of(session.event)
    create_batch(
        event=session.event,
        session=session,
        rows=[Row(line=n, email=f"held-{n}@example.com") for n in (1, 2)],
        actor=organizer,
        holds_seat=True,
    )
    session.refresh_from_db()
    assert session.seats_taken == 2

    with pytest.raises(ServiceError, match="cannot go below 2"):
        update_session(session=session, actor=organizer, capacity=1)

    update_session(session=session, actor=organizer, capacity=2)
    session.refresh_from_db()
    assert session.capacity == 2


# The mode cannot change under a sign-up


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_mode_does_not_change_under_a_sign_up_that_has_taken_its_seat(monkeypatch):
    """Someone takes the first seat of an open event; before their transaction commits, an
    organizer switches the event to approval. The organizer's count cannot see the
    uncommitted registration: they must wait for it (the seat holds the session row), then
    be refused."""
    from events.services import registration as registration_service

    session = SessionFactory(capacity=5)
    event, organizer, person = session.event, organizer_of(session.event), UserFactory()
    seated, organizer_started = threading.Event(), threading.Event()
    real_insert = registration_service.insert

    def insert_after_the_organizer_started(row):
        seated.set()  # the seat is taken (its UPDATE done), nothing committed yet
        organizer_started.wait(timeout=10)
        threading.Event().wait(0.5)  # the organizer is now counting, or waiting to
        return real_insert(row)

    monkeypatch.setattr(registration_service, "insert", insert_after_the_organizer_started)
    outcome: dict[str, str] = {}

    def sign_up() -> None:
        try:
            outcome["sign_up"] = register(user=person, session=session).status
        finally:
            organizer_started.set()
            connection.close()

    def change_mode() -> None:
        seated.wait(timeout=10)
        organizer_started.set()
        try:
            update_event(event=event, actor=organizer, registration_mode="approval")
            outcome["organizer"] = "changed"
        except ServiceError as refusal:
            outcome["organizer"] = refusal.message
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up), threading.Thread(target=change_mode)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome["sign_up"] == Status.CONFIRMED
    assert outcome["organizer"].startswith("The registration mode cannot change")
    assert Event.objects.get(pk=event.pk).registration_mode == Event.Mode.OPEN


def test_one_seat_given_says_seat_is_not_seats_are():
    session = SessionFactory(capacity=3)
    register(user=UserFactory(), session=session)

    with pytest.raises(ServiceError) as refusal:
        update_session(session=session, actor=organizer_of(session.event), capacity=0)

    assert refusal.value.message.startswith("1 seat is already given (confirmed or offered)")
