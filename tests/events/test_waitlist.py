"""The waitlist: first come, first served; a freed seat becomes an offer with a deadline; whoever
left the list is never offered a seat again (events.services.waitlist)."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from events import tasks
from events.models import Notification, Registration, Session
from events.services import ServiceError
from events.services.registration import cancel, register
from events.services.review import reject
from events.services.scheduling import update_session
from events.services.seats import release_seat
from events.services.waitlist import (
    accept_offer,
    decline_offer,
    expire_offers,
    fill_open_seats,
    refill_soon,
)
from tests.factories import SessionFactory, UserFactory, organizer_of

pytestmark = pytest.mark.django_db

Status = Registration.Status


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def statuses(*registrations: Registration) -> list[str]:
    return [fresh(r).status for r in registrations]


def assert_seats_add_up(session: Session) -> None:
    """The invariant: seats_taken is exactly the confirmed + offered people, never more than
    capacity; and no seat of a running-up session stays free while someone waits for one."""
    session.refresh_from_db()
    registrations = Registration.objects.filter(session=session)
    seated = registrations.filter(status__in=Registration.SEATED).count()
    assert session.seats_taken == seated, (session.seats_taken, seated)
    assert seated <= session.capacity
    if not session.has_started and not session.is_cancelled and seated < session.capacity:
        assert not registrations.filter(status=Status.WAITLISTED).exists()


def full_session(*, capacity: int = 1, waiting: int = 3, **fields):
    """A session whose seats are all taken, and `waiting` people on its waitlist, in order."""
    session = SessionFactory(capacity=capacity, **fields)
    seated = [register(user=UserFactory(), session=session) for _ in range(capacity)]
    queue = [register(user=UserFactory(), session=session) for _ in range(waiting)]
    assert statuses(*seated) == [Status.CONFIRMED] * capacity
    assert statuses(*queue) == [Status.WAITLISTED] * waiting
    assert_seats_add_up(session)
    return session, seated, queue


def expire_now(registration: Registration) -> None:
    """Time passes: the offer's deadline is now behind us."""
    Registration.objects.filter(pk=registration.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_freed_seats_are_offered_in_the_order_people_joined_the_waitlist():
    session, [seated], [first, second, third] = full_session()

    cancel(registration=seated, actor=seated.user)
    assert statuses(first, second, third) == [Status.OFFERED, Status.WAITLISTED, Status.WAITLISTED]
    assert_seats_add_up(session)

    decline_offer(registration=first, user=first.user)
    assert statuses(first, second, third) == [Status.DECLINED, Status.OFFERED, Status.WAITLISTED]
    assert_seats_add_up(session)

    accept_offer(registration=second, user=second.user)
    assert statuses(first, second, third) == [Status.DECLINED, Status.CONFIRMED, Status.WAITLISTED]
    assert_seats_add_up(session)


def test_the_waitlist_order_is_by_arrival_not_by_id():
    session, [seated], [first, second] = full_session(waiting=2)
    # The second person joined the list earlier (say, an organizer moved them there first).
    Registration.objects.filter(pk=second.pk).update(
        waitlisted_at=fresh(first).waitlisted_at - timedelta(minutes=5)
    )

    cancel(registration=seated, actor=seated.user)

    assert statuses(first, second) == [Status.WAITLISTED, Status.OFFERED]
    assert_seats_add_up(session)


def test_a_freed_seat_is_offered_for_offer_hours():
    session, [seated], [first, _] = full_session(waiting=2, event__offer_hours=6)

    before = timezone.now()
    cancel(registration=seated, actor=seated.user)
    after = timezone.now()

    offer = fresh(first)
    assert offer.status == Status.OFFERED
    assert before <= offer.offered_at <= after
    assert before + timedelta(hours=6) <= offer.offer_expires_at <= after + timedelta(hours=6)
    change = offer.changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.WAITLISTED,
        Status.OFFERED,
        None,
    )
    assert change.note == "A seat was freed"
    assert_seats_add_up(session)


def test_an_offer_never_runs_past_the_start_of_the_session():
    starts = timezone.now() + timedelta(hours=3)
    session, [seated], [first] = full_session(
        waiting=1, starts_at=starts, ends_at=starts + timedelta(hours=1), event__offer_hours=24
    )

    cancel(registration=seated, actor=seated.user)

    assert fresh(first).offer_expires_at == session.starts_at
    assert_seats_add_up(session)


def test_accepting_an_offer_confirms_the_seat():
    session, [seated], [first] = full_session(waiting=1)
    cancel(registration=seated, actor=seated.user)

    accept_offer(registration=first, user=first.user)

    confirmed = fresh(first)
    assert confirmed.status == Status.CONFIRMED
    assert confirmed.confirmed_at is not None
    change = confirmed.changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.OFFERED,
        Status.CONFIRMED,
        first.user,
    )
    session.refresh_from_db()
    assert session.seats_taken == 1
    assert_seats_add_up(session)


def test_declining_an_offer_passes_the_seat_to_the_next_person():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    decline_offer(registration=first, user=first.user)

    assert statuses(first, second) == [Status.DECLINED, Status.OFFERED]
    change = fresh(first).changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.OFFERED,
        Status.DECLINED,
        first.user,
    )
    assert_seats_add_up(session)


def test_declining_the_last_offer_leaves_a_free_seat_for_anyone():
    session, [seated], [first] = full_session(waiting=1)
    cancel(registration=seated, actor=seated.user)

    decline_offer(registration=first, user=first.user)

    session.refresh_from_db()
    assert session.seats_taken == 0
    assert register(user=UserFactory(), session=session).status == Status.CONFIRMED
    assert_seats_add_up(session)


def test_an_expired_offer_passes_to_the_next_person_and_the_sweep_can_run_twice():
    session, [seated], [first, second, third] = full_session()
    cancel(registration=seated, actor=seated.user)
    expire_now(first)

    assert expire_offers() == 1

    assert statuses(first, second, third) == [Status.EXPIRED, Status.OFFERED, Status.WAITLISTED]
    change = fresh(first).changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.OFFERED,
        Status.EXPIRED,
        None,
    )
    assert_seats_add_up(session)
    owed = Notification.objects.count()

    assert expire_offers() == 0

    assert statuses(first, second, third) == [Status.EXPIRED, Status.OFFERED, Status.WAITLISTED]
    assert Notification.objects.count() == owed
    assert_seats_add_up(session)


def test_the_sweep_leaves_running_offers_alone():
    session, [seated], [first, _] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    assert expire_offers() == 0

    assert fresh(first).status == Status.OFFERED
    assert_seats_add_up(session)


def test_the_sweep_expires_offers_of_many_sessions_at_once():
    one, [seated_one], [waiting_one] = full_session(waiting=1)
    two, [seated_two], [waiting_two] = full_session(waiting=1)
    cancel(registration=seated_one, actor=seated_one.user)
    cancel(registration=seated_two, actor=seated_two.user)
    expire_now(waiting_one)
    expire_now(waiting_two)

    assert expire_offers() == 2

    assert statuses(waiting_one, waiting_two) == [Status.EXPIRED, Status.EXPIRED]
    assert_seats_add_up(one)
    assert_seats_add_up(two)
    assert (one.seats_taken, two.seats_taken) == (0, 0)


def test_every_step_of_a_waitlist_journey_is_in_the_history_with_who_did_it():
    session, [seated], [person] = full_session(waiting=1)
    user = person.user
    organizer = organizer_of(session.event)

    cancel(registration=seated, actor=seated.user)  # offered by the system
    expire_now(person)
    expire_offers()  # expired by the system
    register(user=user, session=session)  # the seat is free again: confirmed
    cancel(registration=person, actor=organizer, by_organizer=True)

    history = list(
        fresh(person).changes.order_by("pk").values_list("from_status", "to_status", "actor_id")
    )
    assert history == [
        ("", Status.WAITLISTED, user.pk),
        (Status.WAITLISTED, Status.OFFERED, None),
        (Status.OFFERED, Status.EXPIRED, None),
        (Status.EXPIRED, Status.CONFIRMED, user.pk),
        (Status.CONFIRMED, Status.CANCELLED, organizer.pk),
    ]
    assert_seats_add_up(session)


# The pretix bugs: someone who left the waitlist must never be offered a seat again.


def test_a_person_who_left_the_waitlist_is_never_offered_a_seat():
    session, [seated], [quitter, stayer] = full_session(waiting=2)
    cancel(registration=quitter, actor=quitter.user)

    cancel(registration=seated, actor=seated.user)
    assert statuses(quitter, stayer) == [Status.CANCELLED, Status.OFFERED]

    decline_offer(registration=stayer, user=stayer.user)
    assert statuses(quitter, stayer) == [Status.CANCELLED, Status.DECLINED]
    session.refresh_from_db()
    assert session.seats_taken == 0
    assert_seats_add_up(session)


def test_a_person_who_declined_is_never_offered_again():
    session, [seated], [decliner, other] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)
    decline_offer(registration=decliner, user=decliner.user)
    assert statuses(decliner, other) == [Status.DECLINED, Status.OFFERED]

    decline_offer(registration=other, user=other.user)

    assert statuses(decliner, other) == [Status.DECLINED, Status.DECLINED]
    assert Notification.objects.filter(kind="offered", recipient=decliner.user).count() == 1
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def test_a_person_whose_offer_expired_is_never_offered_again():
    session, [seated], [late, other] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)
    expire_now(late)
    expire_offers()
    assert statuses(late, other) == [Status.EXPIRED, Status.OFFERED]

    cancel(registration=other, actor=other.user)
    expire_offers()

    assert statuses(late, other) == [Status.EXPIRED, Status.CANCELLED]
    assert Notification.objects.filter(kind="offered", recipient=late.user).count() == 1
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def test_a_person_who_cancelled_a_confirmed_seat_is_not_offered_it_back():
    session, [seated], [] = full_session(capacity=1, waiting=0)
    other = register(user=UserFactory(), session=session)
    cancel(registration=seated, actor=seated.user)
    assert statuses(seated, other) == [Status.CANCELLED, Status.OFFERED]

    decline_offer(registration=other, user=other.user)

    assert statuses(seated, other) == [Status.CANCELLED, Status.DECLINED]
    assert_seats_add_up(session)


def test_cancelling_an_offer_frees_the_seat_for_the_next_person():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    cancel(registration=first, actor=first.user)

    assert statuses(first, second) == [Status.CANCELLED, Status.OFFERED]
    assert_seats_add_up(session)
    assert session.seats_taken == 1


# Organizers changing things


def test_raising_the_capacity_offers_the_new_seats_in_order():
    session, _, [first, second, third] = full_session(capacity=1)

    update_session(session=session, actor=organizer_of(session.event), capacity=3)

    assert statuses(first, second, third) == [Status.OFFERED, Status.OFFERED, Status.WAITLISTED]
    assert_seats_add_up(session)
    assert session.seats_taken == 3


def test_raising_the_capacity_beyond_the_waitlist_leaves_seats_free():
    session, _, [first] = full_session(capacity=1, waiting=1)

    update_session(session=session, actor=organizer_of(session.event), capacity=4)

    assert statuses(first) == [Status.OFFERED]
    assert_seats_add_up(session)
    assert session.seats_taken == 2
    assert session.seats_left == 2


def test_rejecting_an_offered_person_passes_the_seat_on():
    session, [seated], [first, second] = full_session(waiting=2)
    organizer = organizer_of(session.event)
    cancel(registration=seated, actor=seated.user)

    reject(registration=first, actor=organizer)

    assert statuses(first, second) == [Status.REJECTED, Status.OFFERED]
    change = fresh(first).changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.OFFERED,
        Status.REJECTED,
        organizer,
    )
    assert fresh(first).offer_expires_at is None
    assert_seats_add_up(session)


# Refusals


def test_nobody_can_accept_someone_elses_offer():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    with pytest.raises(ServiceError, match="This offer is not yours"):
        accept_offer(registration=first, user=second.user)

    assert statuses(first, second) == [Status.OFFERED, Status.WAITLISTED]
    assert_seats_add_up(session)


def test_nobody_can_decline_someone_elses_offer():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    with pytest.raises(ServiceError, match="This offer is not yours"):
        decline_offer(registration=first, user=second.user)

    assert statuses(first, second) == [Status.OFFERED, Status.WAITLISTED]
    assert_seats_add_up(session)


def test_an_expired_offer_cannot_be_accepted():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)
    expire_now(first)

    with pytest.raises(ServiceError, match="This offer has expired"):
        accept_offer(registration=first, user=first.user)

    assert statuses(first, second) == [Status.OFFERED, Status.WAITLISTED]
    expire_offers()
    assert statuses(first, second) == [Status.EXPIRED, Status.OFFERED]
    assert_seats_add_up(session)


def test_a_declined_offer_cannot_be_accepted_afterwards():
    session, [seated], [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)
    decline_offer(registration=first, user=first.user)

    with pytest.raises(ServiceError, match="no open offer"):
        accept_offer(registration=first, user=first.user)

    assert statuses(first, second) == [Status.DECLINED, Status.OFFERED]
    assert_seats_add_up(session)


def test_a_waitlisted_person_cannot_accept_before_being_offered():
    session, _, [first] = full_session(waiting=1)

    with pytest.raises(ServiceError, match="no open offer"):
        accept_offer(registration=first, user=first.user)

    assert statuses(first) == [Status.WAITLISTED]
    assert_seats_add_up(session)


def test_an_offer_clashing_with_a_confirmed_seat_cannot_be_accepted():
    session, [seated], [first] = full_session(waiting=1)
    same_time = SessionFactory(starts_at=session.starts_at, ends_at=session.ends_at)
    register(user=first.user, session=same_time)
    cancel(registration=seated, actor=seated.user)

    with pytest.raises(ServiceError, match="already have a confirmed seat at that time"):
        accept_offer(registration=first, user=first.user)

    assert statuses(first) == [Status.OFFERED]
    assert_seats_add_up(session)


def test_a_seat_freed_after_the_start_is_not_offered():
    session, [seated], [first] = full_session(waiting=1)
    now = timezone.now()
    Session.objects.filter(pk=session.pk).update(starts_at=now - timedelta(minutes=5))

    cancel(registration=seated, actor=seated.user)

    assert statuses(first) == [Status.WAITLISTED]
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def lose_a_seat(session: Session, seated: Registration) -> None:
    """The end state of a cancellation that raced a sign-up on PostgreSQL: the sign-up found
    the session full; the cancellation released the seat and committed, offering it to nobody
    it could see; then the sign-up committed its place on the waitlist. A seat is free while
    people wait."""
    Registration.objects.filter(pk=seated.pk).update(status=Status.CANCELLED)
    release_seat(session.pk)
    session.refresh_from_db()
    assert session.seats_taken < session.capacity
    assert session.registrations.filter(status=Status.WAITLISTED).exists()


def offers_owed_to(registration: Registration) -> int:
    return Notification.objects.filter(
        registration=registration, kind=Notification.Kind.OFFERED
    ).count()


def test_the_sweep_offers_a_seat_left_free_to_the_first_in_line_once():
    session, [seated], [first, second] = full_session(waiting=2)
    lose_a_seat(session, seated)

    assert fill_open_seats() == 1

    assert statuses(first, second) == [Status.OFFERED, Status.WAITLISTED]
    assert offers_owed_to(first) == 1
    assert_seats_add_up(session)

    assert fill_open_seats() == 0

    assert statuses(first, second) == [Status.OFFERED, Status.WAITLISTED]
    assert offers_owed_to(first) == 1
    assert offers_owed_to(second) == 0
    assert_seats_add_up(session)


def test_the_sweep_fills_every_free_seat_of_every_session_in_order():
    one, [a, b], [first, second, third] = full_session(capacity=2, waiting=3)
    other, [c], [elsewhere] = full_session(waiting=1)
    lose_a_seat(one, a)
    lose_a_seat(one, b)
    lose_a_seat(other, c)

    assert fill_open_seats() == 3

    assert statuses(first, second, third, elsewhere) == [
        Status.OFFERED,
        Status.OFFERED,
        Status.WAITLISTED,
        Status.OFFERED,
    ]
    assert_seats_add_up(one)
    assert_seats_add_up(other)


def test_the_sweep_leaves_cancelled_and_started_sessions_alone():
    cancelled, [a], [waiting_on_cancelled] = full_session(waiting=1)
    started, [b], [waiting_on_started] = full_session(waiting=1)
    lose_a_seat(cancelled, a)
    lose_a_seat(started, b)
    Session.objects.filter(pk=cancelled.pk).update(status=Session.Status.CANCELLED)
    Session.objects.filter(pk=started.pk).update(starts_at=timezone.now() - timedelta(minutes=5))

    assert fill_open_seats() == 0

    assert statuses(waiting_on_cancelled, waiting_on_started) == [Status.WAITLISTED] * 2
    assert Notification.objects.filter(kind=Notification.Kind.OFFERED).count() == 0


def test_the_sweep_leaves_full_sessions_and_free_seats_nobody_waits_for_alone():
    full_session(waiting=2)
    free = SessionFactory(capacity=3)
    register(user=UserFactory(), session=free)

    assert fill_open_seats() == 0
    assert Notification.objects.filter(kind=Notification.Kind.OFFERED).count() == 0


def test_every_release_rings_a_refill_once_it_has_committed(
    monkeypatch, django_capture_on_commit_callbacks
):
    rung = []
    monkeypatch.setattr(
        tasks.fill_session, "apply_async", lambda args, **kw: rung.append((args, kw))
    )
    session, [seated], [first, second] = full_session(waiting=2)

    with django_capture_on_commit_callbacks(execute=True):
        cancel(registration=seated, actor=seated.user)
    with django_capture_on_commit_callbacks(execute=True):
        decline_offer(registration=first, user=first.user)
    assert rung == [((session.pk,), {"countdown": 2})] * 2

    rung.clear()
    expire_now(second)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_offers() == 1
    organizer = organizer_of(session.event)
    with django_capture_on_commit_callbacks(execute=True):
        update_session(session=session, actor=organizer, capacity=2)
    assert rung == [((session.pk,), {"countdown": 2})] * 2


def test_a_broker_outage_when_ringing_a_refill_is_left_to_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(tasks.fill_session, "apply_async", broker_down)
    session, [seated], _ = full_session(waiting=1)

    with django_capture_on_commit_callbacks(execute=True):
        refill_soon(session.pk)  # logged, not raised: the change has committed

    cancel(registration=seated, actor=seated.user)


def test_seats_always_add_up_over_a_long_run_of_mixed_actions():
    """A seeded random walk of sign-ups, cancellations, answers to offers, expiries and
    capacity changes; after every step the counter matches the people holding seats, nobody
    waits while a seat is free, and nobody who left is ever offered a seat without signing up
    again."""
    rng = random.Random(20240607)
    session = SessionFactory(capacity=3)
    organizer = organizer_of(session.event)
    people = [UserFactory() for _ in range(12)]
    left: set[int] = set()  # people who cancelled, declined or let an offer lapse
    done: Counter[str] = Counter()

    def pick(*in_status):
        """Someone in one of these statuses (each status as likely as the others)."""
        found = list(Registration.objects.filter(session=session, status__in=in_status))
        if not found:
            return None
        status = rng.choice(sorted({r.status for r in found}))
        return rng.choice([r for r in found if r.status == status])

    actions = ["register"] * 5 + ["cancel", "accept", "decline", "expire", "capacity"]
    for step in range(200):
        action = rng.choice(actions)
        try:
            if action == "register":
                user = rng.choice(people)
                outcome = register(user=user, session=session).status
                left.discard(user.pk)
                done[f"register:{outcome}"] += 1
            elif action == "cancel" and (registration := pick(*Registration.ACTIVE)):
                cancel(registration=registration, actor=registration.user)
                left.add(registration.user_id)
                done[f"cancel:{registration.status}"] += 1
            elif action == "accept" and (registration := pick(Status.OFFERED)):
                accept_offer(registration=registration, user=registration.user)
                done["accept"] += 1
            elif action == "decline" and (registration := pick(Status.OFFERED)):
                decline_offer(registration=registration, user=registration.user)
                left.add(registration.user_id)
                done["decline"] += 1
            elif action == "expire" and (registration := pick(Status.OFFERED)):
                expire_now(registration)
                assert expire_offers() == 1
                left.add(registration.user_id)
                done["expire"] += 1
            elif action == "capacity":
                session.refresh_from_db()
                wanted = min(max(session.capacity + rng.choice([-2, -1, 1, 2]), 1), 4)
                update_session(session=session, actor=organizer, capacity=wanted)
                done["capacity:" + ("up" if wanted > session.capacity else "down or same")] += 1
        except ServiceError as refusal:
            done[f"refused:{action}"] += 1
            if action == "capacity":
                assert "cannot go below" in refusal.message

        assert_seats_add_up(session)
        returned = Registration.objects.filter(
            session=session, user_id__in=left, status__in=[Status.OFFERED, Status.CONFIRMED]
        )
        assert not returned.exists(), f"step {step}: {list(returned)}"

    # The walk really went through every path it is meant to check.
    assert set(done) >= {
        "register:confirmed",
        "register:waitlisted",
        "refused:register",
        "cancel:confirmed",
        "cancel:offered",
        "cancel:waitlisted",
        "accept",
        "decline",
        "expire",
        "capacity:up",
        "capacity:down or same",
        "refused:capacity",
    }, done
