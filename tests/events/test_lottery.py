"""Fair lotteries: seeded and reproducible, seats reserved per role, drawn once
(events.services.lottery)."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event, Registration, Session
from events.services import ServiceError
from events.services.lottery import draw, draw_due_lotteries, draw_order, pick_winners
from events.services.registration import cancel, register
from events.services.review import approve
from tests.factories import SessionFactory, UserFactory, organizer_of

pytestmark = pytest.mark.django_db

Status = Registration.Status


class Undo(Exception):
    """Raised to roll a savepoint back on purpose."""


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def assert_seats_add_up(session: Session) -> None:
    session.refresh_from_db()
    seated = Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
    assert session.seats_taken == seated
    assert seated <= session.capacity


def lottery(applicants: int = 10, *, capacity: int = 3, roles=(), **fields):
    """A lottery session and its applicants; `roles` gives the first applicants' roles."""
    session = SessionFactory(event__registration_mode="lottery", capacity=capacity, **fields)
    applied = []
    for index in range(applicants):
        role = roles[index] if index < len(roles) else "developer"
        applied.append(register(user=UserFactory(role=role), session=session))
    assert {r.status for r in applied} <= {Status.APPLIED}
    return session, applied


def outcome(session: Session) -> list[tuple]:
    """Who got what, in draw order."""
    return list(
        Registration.objects.filter(session=session)
        .order_by("lottery_rank")
        .values_list("user_id", "status", "lottery_rank")
    )


def trial_draw(session: Session, seed: str) -> list[tuple]:
    """Draw with `seed`, note the outcome, then roll it all back, so the same session can be
    drawn again as if for the first time."""
    with pytest.raises(Undo), transaction.atomic():
        draw(session=session, seed=seed)
        result = outcome(session)
        raise Undo
    session.refresh_from_db()
    assert session.lottery_drawn_at is None
    return result


def winners(result: list[tuple]) -> set[int]:
    return {user_id for user_id, status, _ in result if status == Status.CONFIRMED}


def test_the_same_seed_and_applicants_give_the_same_draw():
    session, _ = lottery(12, capacity=4)

    first = trial_draw(session, "seed-of-the-day")
    second = trial_draw(session, "seed-of-the-day")

    assert first == second
    assert len(winners(first)) == 4


def test_different_seeds_give_different_draws():
    session, _ = lottery(20, capacity=5)

    alpha = trial_draw(session, "alpha")
    beta = trial_draw(session, "beta")

    assert [user for user, *_ in alpha] != [user for user, *_ in beta]
    assert winners(alpha) != winners(beta)


def test_anyone_holding_the_seed_can_check_the_draw():
    session, applied = lottery(8, capacity=3)

    drawn = draw(session=session)

    assert len(drawn.lottery_seed) == 32
    session.refresh_from_db()
    assert session.lottery_seed == drawn.lottery_seed
    assert session.lottery_drawn_at is not None
    expected = draw_order([r.pk for r in applied], session.lottery_seed)
    by_rank = Registration.objects.filter(session=session).order_by("lottery_rank")
    assert list(by_rank.values_list("pk", flat=True)) == expected


def test_the_draw_gives_exactly_the_seats_there_are():
    session, _ = lottery(10, capacity=3)

    draw(session=session, seed="fixed")

    result = outcome(session)
    assert Counter(status for _, status, _ in result) == {
        Status.CONFIRMED: 3,
        Status.WAITLISTED: 7,
    }
    assert [rank for *_, rank in result] == list(range(1, 11))
    assert {rank for _, status, rank in result if status == Status.CONFIRMED} == {1, 2, 3}
    assert_seats_add_up(session)
    assert session.seats_taken == 3


def test_the_losers_wait_in_draw_order():
    session, _ = lottery(8, capacity=2)

    draw(session=session, seed="fixed")

    waiting = Registration.objects.filter(session=session, status=Status.WAITLISTED)
    by_time = list(waiting.order_by("waitlisted_at", "pk").values_list("lottery_rank", flat=True))
    assert by_time == list(range(3, 9))
    winner = Registration.objects.get(session=session, lottery_rank=1)
    cancel(registration=winner, actor=winner.user)
    assert Registration.objects.get(session=session, lottery_rank=3).status == Status.OFFERED
    assert_seats_add_up(session)


def test_when_there_are_fewer_applicants_than_seats_everyone_wins():
    session, applied = lottery(3, capacity=5)

    draw(session=session, seed="fixed")

    assert {fresh(r).status for r in applied} == {Status.CONFIRMED}
    assert_seats_add_up(session)
    assert session.seats_left == 2


def test_without_a_waitlist_the_losers_are_turned_down():
    session, _ = lottery(5, capacity=2, waitlist_enabled=False)

    draw(session=session, seed="fixed")

    assert Counter(status for _, status, _ in outcome(session)) == {
        Status.CONFIRMED: 2,
        Status.REJECTED: 3,
    }
    assert_seats_add_up(session)


def test_seats_given_before_the_draw_are_not_drawn_again():
    session, applied = lottery(6, capacity=3)

    approve(registration=applied[0], actor=organizer_of(session.event))

    draw(session=session, seed="fixed")

    assert Registration.objects.filter(session=session, status=Status.CONFIRMED).count() == 3
    assert fresh(applied[0]).lottery_rank is None  # approved by hand, not drawn
    assert_seats_add_up(session)


def test_the_draw_is_recorded_in_each_persons_history():
    session, applied = lottery(4, capacity=2)
    organizer = organizer_of(session.event)

    draw(session=session, seed="recorded", actor=organizer)

    for registration in applied:
        registration = fresh(registration)
        change = registration.changes.last()
        assert (change.from_status, change.to_status, change.actor) == (
            Status.APPLIED,
            registration.status,
            organizer,
        )
        assert change.note == f"Lottery draw, rank {registration.lottery_rank} (seed recorded)"


# Reserved shares


def test_a_reserved_share_gives_a_few_researchers_their_seats_in_every_draw():
    session, applied = lottery(
        25,
        capacity=10,
        roles=["researcher"] * 3,
        event__lottery_reserved_shares={"researcher": 30},
    )
    researchers = {r.user_id for r in applied[:3]}

    for seed in range(12):
        result = trial_draw(session, f"seed-{seed}")
        assert researchers <= winners(result), seed
        assert len(winners(result)) == 10


def test_a_reserved_share_larger_than_its_applicants_leaves_no_seat_empty():
    session, applied = lottery(
        15,
        capacity=10,
        roles=["researcher"],
        event__lottery_reserved_shares={"researcher": 30},
    )

    draw(session=session, seed="fixed")

    assert fresh(applied[0]).status == Status.CONFIRMED
    assert_seats_add_up(session)
    assert session.seats_taken == 10


def test_a_reserved_share_goes_to_the_best_drawn_of_the_role():
    session, applied = lottery(
        20,
        capacity=10,
        roles=["researcher"] * 8,
        event__lottery_reserved_shares={"researcher": 30},
    )
    researchers = {r.user_id for r in applied[:8]}
    reserve_mattered = 0

    for seed in range(20):
        result = trial_draw(session, f"seed-{seed}")
        of_role = [(status, rank) for user, status, rank in result if user in researchers]
        # The three best-drawn researchers always win, whatever their rank overall.
        assert [status for status, _ in of_role[:3]] == [Status.CONFIRMED] * 3, seed
        assert len(winners(result)) == 10
        reserve_mattered += any(rank > 10 for status, rank in of_role[:3])

    assert reserve_mattered, "no seed drew researchers low enough to need their reserved seats"


def test_reserved_seats_are_taken_first_and_the_rest_go_by_draw_order():
    session, _ = lottery(12, capacity=5, roles=["developer"] * 8 + ["researcher"] * 4)
    ordered = list(Registration.objects.filter(session=session).select_related("user"))
    developers, researchers = ordered[:8], ordered[8:]

    picked = pick_winners(ordered, 5, {"researcher": 40, "community": 20})

    # 40% of 5 is 2 researchers; 20% of 5 is 1 seat for nobody of that role, so it is
    # given by draw order like the rest; the result keeps the draw order.
    assert picked == developers[:3] + researchers[:2]


def test_a_reserved_share_is_at_least_that_share_of_the_seats():
    # "At least 30% researchers": of 5 seats, 1.5 would be 30%, so 2 are kept for them.
    session, _ = lottery(10, capacity=5, roles=["developer"] * 8 + ["researcher"] * 2)
    ordered = list(Registration.objects.filter(session=session).select_related("user"))
    developers, researchers = ordered[:8], ordered[8:]

    picked = pick_winners(ordered, 5, {"researcher": 30})

    assert picked == developers[:3] + researchers


def test_reserved_shares_rounded_up_never_give_more_seats_than_there_are():
    session, _ = lottery(6, capacity=3, roles=["researcher"] * 3 + ["community"] * 3)
    ordered = list(Registration.objects.filter(session=session).select_related("user"))

    picked = pick_winners(ordered, 3, {"researcher": 50, "community": 50})

    assert len(picked) == 3
    assert {r.user.role for r in picked} == {"researcher", "community"}


# Once and only once


def test_a_lottery_cannot_be_drawn_twice():
    session, _ = lottery(5, capacity=2)
    draw(session=session, seed="first")
    before = outcome(session)

    with pytest.raises(ServiceError, match="already been drawn"):
        draw(session=session, seed="second")

    session.refresh_from_db()
    assert session.lottery_seed == "first"
    assert outcome(session) == before
    assert_seats_add_up(session)


def test_a_session_that_is_not_a_lottery_cannot_be_drawn():
    session = SessionFactory(event__registration_mode="approval")

    with pytest.raises(ServiceError, match="does not use a lottery"):
        draw(session=session)

    session.refresh_from_db()
    assert session.lottery_drawn_at is None


def test_a_cancelled_session_cannot_be_drawn():
    session, applied = lottery(3, capacity=2)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)

    with pytest.raises(ServiceError, match="cancelled"):
        draw(session=session)

    assert {fresh(r).status for r in applied} == {Status.APPLIED}


def test_a_session_that_has_started_cannot_be_drawn_by_hand():
    session, applied = lottery(3, capacity=1)
    Session.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=55),
    )

    with pytest.raises(ServiceError, match="has already started"):
        draw(session=session)

    session.refresh_from_db()
    assert (session.lottery_drawn_at, session.lottery_seed) == (None, "")
    assert {fresh(r).status for r in applied} == {Status.APPLIED}
    assert_seats_add_up(session)


def close_registration(session: Session) -> None:
    Event.objects.filter(pk=session.event_id).update(
        registration_closes_at=timezone.now() - timedelta(minutes=1)
    )


def test_the_sweep_draws_only_closed_published_undrawn_lotteries_and_can_run_twice():
    due, due_applicants = lottery(4, capacity=2)
    close_registration(due)
    still_open, _ = lottery(
        2, capacity=1, event__registration_closes_at=timezone.now() + timedelta(hours=1)
    )
    never_closes, _ = lottery(2, capacity=1)
    unpublished, _ = lottery(2, capacity=1)
    close_registration(unpublished)
    Event.objects.filter(pk=unpublished.event_id).update(status=Event.Status.DRAFT)
    cancelled, _ = lottery(2, capacity=1)
    close_registration(cancelled)
    Session.objects.filter(pk=cancelled.pk).update(status=Session.Status.CANCELLED)
    already, _ = lottery(2, capacity=1)
    draw(session=already, seed="earlier")
    close_registration(already)
    first_come = SessionFactory(capacity=1)
    close_registration(first_come)

    assert draw_due_lotteries() == 1

    due.refresh_from_db()
    assert due.lottery_drawn_at is not None
    assert Counter(fresh(r).status for r in due_applicants) == {
        Status.CONFIRMED: 2,
        Status.WAITLISTED: 2,
    }
    for other in (still_open, never_closes, unpublished, cancelled, first_come):
        other.refresh_from_db()
        assert other.lottery_drawn_at is None, other
    already.refresh_from_db()
    assert already.lottery_seed == "earlier"
    seed, result = due.lottery_seed, outcome(due)

    assert draw_due_lotteries() == 0

    due.refresh_from_db()
    assert (due.lottery_seed, outcome(due)) == (seed, result)
    assert_seats_add_up(due)


def test_the_sweep_uses_the_time_it_is_given():
    session, _ = lottery(
        2, capacity=1, event__registration_closes_at=timezone.now() + timedelta(hours=1)
    )

    assert draw_due_lotteries(now=timezone.now()) == 0
    assert draw_due_lotteries(now=timezone.now() + timedelta(hours=2)) == 1

    session.refresh_from_db()
    assert session.lottery_drawn_at is not None


# After the draw


def test_after_the_draw_a_latecomer_gets_a_free_seat_at_once():
    session, _ = lottery(2, capacity=4)
    draw(session=session, seed="fixed")
    latecomer = UserFactory()

    late = fresh(register(user=latecomer, session=session))

    assert late.status == Status.CONFIRMED
    assert late.lottery_rank is None
    assert_seats_add_up(session)
    assert session.seats_taken == 3


def test_after_the_draw_a_latecomer_waits_behind_the_lottery_losers():
    session, _ = lottery(4, capacity=2)
    draw(session=session, seed="fixed")
    late = register(user=UserFactory(), session=session)
    assert fresh(late).status == Status.WAITLISTED

    for rank in (1, 2):
        winner = Registration.objects.get(session=session, lottery_rank=rank)
        cancel(registration=winner, actor=winner.user)

    offered = Registration.objects.filter(session=session, status=Status.OFFERED)
    assert sorted(offered.values_list("lottery_rank", flat=True)) == [3, 4]
    assert fresh(late).status == Status.WAITLISTED
    assert_seats_add_up(session)


# Fairness


def test_over_many_seeds_every_applicant_wins_about_equally_often():
    """10 applicants, 3 seats, 3000 seeded draws: each should win about 900 times (standard
    deviation ~25); a bound of +-125 catches a biased draw and never trips on chance."""
    session, applied = lottery(10, capacity=3)
    applied = list(Registration.objects.filter(session=session).select_related("user"))
    by_pk = {r.pk: r for r in applied}
    wins: Counter[int] = Counter()
    draws = 3000

    for seed in range(draws):
        ordered = [by_pk[pk] for pk in draw_order(list(by_pk), f"fair-{seed}")]
        wins.update(r.pk for r in pick_winners(ordered, 3, {}))

    expected = draws * 3 / 10
    assert sum(wins.values()) == draws * 3
    assert set(wins) == set(by_pk)
    for pk, count in wins.items():
        assert abs(count - expected) < 125, (pk, count, expected)


def test_the_order_of_applications_gives_no_advantage():
    """The first applicant wins the first rank as often as anyone else."""
    ids = list(range(1, 11))
    first_ranked = Counter(draw_order(ids, f"order-{seed}")[0] for seed in range(3000))

    assert set(first_ranked) == set(ids)
    for count in first_ranked.values():
        assert abs(count - 300) < 80, first_ranked


# Clashes: nobody holds two confirmed seats at the same time, whoever confirms them


def seed_ranking_first(session: Session, registration: Registration) -> str:
    """A seed under which `registration` is drawn first."""
    applicants = list(
        Registration.objects.filter(session=session, status=Status.APPLIED).values_list(
            "pk", flat=True
        )
    )
    return next(
        seed
        for seed in (f"first-{n}" for n in range(1000))
        if draw_order(applicants, seed)[0] == registration.pk
    )


def confirmed_elsewhere_at_the_same_time(session: Session, user) -> Registration:
    other = SessionFactory(
        starts_at=session.starts_at + timedelta(minutes=30),
        ends_at=session.ends_at + timedelta(minutes=30),
    )
    seat = register(user=user, session=other)
    assert seat.status == Status.CONFIRMED
    return seat


def test_a_winner_with_a_confirmed_seat_at_the_same_time_waits_and_the_seat_goes_on():
    session, applied = lottery(3, capacity=2)
    clasher = applied[0]
    elsewhere = confirmed_elsewhere_at_the_same_time(session, clasher.user)
    seed = seed_ranking_first(session, clasher)

    draw(session=session, seed=seed)

    skipped = fresh(clasher)
    assert (skipped.status, skipped.lottery_rank) == (Status.WAITLISTED, 1)
    change = skipped.changes.last()
    assert change.to_status == Status.WAITLISTED
    assert change.note == (
        f"Lottery draw, rank 1 (seed {seed}): already has a confirmed seat at that time"
    )
    # Both seats went to the others, in draw order; the clash kept its seat elsewhere.
    assert {fresh(r).status for r in applied[1:]} == {Status.CONFIRMED}
    assert fresh(elsewhere).status == Status.CONFIRMED
    assert_seats_add_up(session)
    assert session.seats_taken == 2


def test_a_clashing_applicant_waits_in_draw_order_and_is_offered_the_next_seat_in_turn():
    session, applied = lottery(4, capacity=2)
    clasher = applied[0]
    confirmed_elsewhere_at_the_same_time(session, clasher.user)
    seed = seed_ranking_first(session, clasher)

    draw(session=session, seed=seed)

    waiting = Registration.objects.filter(session=session, status=Status.WAITLISTED)
    by_time = list(waiting.order_by("waitlisted_at", "pk").values_list("lottery_rank", flat=True))
    assert by_time == [1, 4]


def test_a_clashing_researcher_leaves_the_reserved_seat_to_the_next_researcher():
    session, applied = lottery(
        10,
        capacity=5,
        roles=["researcher"] * 2,
        event__lottery_reserved_shares={"researcher": 20},
    )
    clasher, other_researcher = applied[0], applied[1]
    confirmed_elsewhere_at_the_same_time(session, clasher.user)

    for seed in range(10):
        result = trial_draw(session, f"share-{seed}")
        assert clasher.user_id not in winners(result), seed
        assert other_researcher.user_id in winners(result), seed
        assert len(winners(result)) == 5


def test_without_a_waitlist_a_clashing_applicant_is_turned_down_with_the_reason():
    session, applied = lottery(3, capacity=2, waitlist_enabled=False)
    clasher = applied[0]
    confirmed_elsewhere_at_the_same_time(session, clasher.user)

    draw(session=session, seed=seed_ranking_first(session, clasher))

    skipped = fresh(clasher)
    assert skipped.status == Status.REJECTED
    assert skipped.changes.last().note.endswith("already has a confirmed seat at that time")
    assert {fresh(r).status for r in applied[1:]} == {Status.CONFIRMED}
    assert_seats_add_up(session)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_application_made_while_the_draw_runs_is_not_left_undrawn(monkeypatch):
    """The draw locks the session and reads the applicants; someone applying at that moment
    read the session as not drawn yet. Their application must not be left behind as
    'applied' after the draw (nobody would ever draw it): they are served first come, first
    served, as anyone after the draw."""
    from events.services import lottery as lottery_service

    session, _ = lottery(3, capacity=2)
    late = UserFactory()
    drawing, applied = threading.Event(), threading.Event()
    slow_order = lottery_service.draw_order

    def draw_order_while_someone_applies(ids, seed):
        drawing.set()
        applied.wait(timeout=2)  # the application is blocked, or done, by now
        return slow_order(ids, seed)

    monkeypatch.setattr(lottery_service, "draw_order", draw_order_while_someone_applies)
    outcome_of: dict[str, str] = {}

    def run_draw() -> None:
        try:
            draw(session=session, seed="fixed")
        finally:
            connection.close()

    def apply_late() -> None:
        drawing.wait(timeout=10)
        threading.Timer(0.5, applied.set).start()
        try:
            outcome_of["late"] = register(user=late, session=session).status
        except ServiceError as error:
            outcome_of["late"] = error.message
        finally:
            applied.set()
            connection.close()

    threads = [threading.Thread(target=run_draw), threading.Thread(target=apply_late)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    session.refresh_from_db()
    assert session.lottery_drawn_at is not None
    assert not Registration.objects.filter(session=session, status=Status.APPLIED).exists()
    assert outcome_of["late"] == Status.WAITLISTED
    assert_seats_add_up(session)


# The sweep, session by session


def test_the_sweep_records_a_closed_lottery_nobody_applied_to_and_leaves_it_alone():
    session, _ = lottery(0, capacity=3)
    close_registration(session)

    assert draw_due_lotteries() == 1

    session.refresh_from_db()
    assert session.lottery_drawn_at is not None
    assert len(session.lottery_seed) == 32
    assert session.seats_taken == 0
    drawn_at = session.lottery_drawn_at
    assert draw_due_lotteries() == 0
    session.refresh_from_db()
    assert session.lottery_drawn_at == drawn_at


def test_a_lottery_nobody_applied_to_is_not_drawn_while_registration_is_open():
    session, _ = lottery(0, capacity=3)

    with pytest.raises(ServiceError, match="Nobody has applied yet"):
        draw(session=session)

    session.refresh_from_db()
    assert session.lottery_drawn_at is None


def test_one_failing_draw_is_logged_and_the_sweep_draws_the_others(monkeypatch, caplog):
    from events.services import lottery as lottery_service

    broken, broken_applicants = lottery(3, capacity=1)
    fine, _ = lottery(3, capacity=1)
    for session in (broken, fine):
        close_registration(session)
    real = lottery_service._clashing_users

    def fails_for_the_broken_one(session, user_ids):
        if session.pk == broken.pk:
            raise RuntimeError("something unexpected")
        return real(session, user_ids)

    monkeypatch.setattr(lottery_service, "_clashing_users", fails_for_the_broken_one)

    assert draw_due_lotteries() == 1

    fine.refresh_from_db()
    broken.refresh_from_db()
    assert fine.lottery_drawn_at is not None
    assert broken.lottery_drawn_at is None
    assert {fresh(r).status for r in broken_applicants} == {Status.APPLIED}
    assert_seats_add_up(broken)
    failure = next(r for r in caplog.records if r.levelname == "ERROR")
    assert f"session {broken.pk}" in failure.getMessage()
    assert failure.exc_info

    monkeypatch.setattr(lottery_service, "_clashing_users", real)
    assert draw_due_lotteries() == 1  # retried on the next run
    broken.refresh_from_db()
    assert broken.lottery_drawn_at is not None


def test_the_sweep_never_draws_a_session_that_has_started():
    session, applied = lottery(3, capacity=1)
    close_registration(session)
    Session.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=55),
    )

    assert draw_due_lotteries() == 0

    session.refresh_from_db()
    assert session.lottery_drawn_at is None
    assert {fresh(r).status for r in applied} == {Status.APPLIED}
