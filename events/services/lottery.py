"""Fair lotteries for oversubscribed sessions: seeded, reproducible, with optional shares of
seats reserved per role."""

import logging
import random
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..drawing import Minimum, pick
from ..models import Event, Notification, Registration, Session
from . import ServiceError, audit
from .registration import confirmed_at_the_same_time
from .seats import take_seat
from .transitions import transition

Status = Registration.Status
Kind = Notification.Kind
CLASH = "already has a confirmed seat at that time"
log = logging.getLogger(__name__)


def draw_order(applicant_ids: list[int], seed: str) -> list[int]:
    """The order of the draw: a shuffle of the applicants (sorted by id) by a stored seed, so
    anyone holding the seed and the list can check the result."""
    order = sorted(applicant_ids)
    random.Random(seed).shuffle(order)
    return order


def pick_winners(
    ordered: list[Registration], seats: int, reserved_shares: dict[str, int]
) -> list[Registration]:
    """Winners in draw order: first the reserved seats of each role, filled by that role's
    applicants in draw order; then the remaining seats by everyone left, in draw order.

    A share is a floor ("at least 30% researchers"), so it is rounded up: 30% of 5 seats keeps
    2 for researchers, not 1 (20%). Shares that round up past the seats there are get what
    is left, role by role. The picking is events.drawing's, shared with the panel's draws."""
    minimums = [Minimum("role", role, int(share)) for role, share in reserved_shares.items()]
    winners, _passed = pick(ordered, seats, value_of=_role_of, minimums=minimums)
    return winners


def _role_of(registration: Registration, field: str) -> str:
    return registration.user.role


@transaction.atomic
def draw(*, session: Session, actor: User | None = None, seed: str | None = None) -> Session:
    """Draw the seats of a lottery session among its applicants. Winners are confirmed; the
    others go to the waitlist in draw order. Nobody wins a seat clashing with a confirmed one
    (as approve and move-in refuse): they wait, in draw order, like the others. Runs once per
    session, and never once the session has started. Once registration has closed, a lottery
    nobody applied to is drawn all the same, with no winners: it is done, and the sweep stops
    coming back to it (unless registration reopens: see scheduling.update_event)."""
    session = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
    if session.event.registration_mode != Event.Mode.LOTTERY:
        raise ServiceError(_("This session does not use a lottery."))
    if session.lottery_drawn_at:
        raise ServiceError(_("The lottery for this session has already been drawn."))
    if session.is_cancelled:
        raise ServiceError(_("This session is cancelled."))
    if session.has_started:
        # As the sweep: seats drawn now would go to people who can no longer come.
        raise ServiceError(_("This session has already started: its seats can no longer be drawn."))
    if session.event.status != Event.Status.PUBLISHED:
        raise ServiceError(_("Publish the event before drawing its lottery."))
    seed = seed or secrets.token_hex(16)
    applicants = {
        r.pk: r
        for r in Registration.objects.filter(session=session, status=Status.APPLIED).select_related(
            "user"
        )
    }
    if not applicants and session.event.registration_is_open():
        raise ServiceError(_("Nobody has applied yet: there is nothing to draw."))
    ordered = [applicants[pk] for pk in draw_order(list(applicants), seed)]
    clashing = _clashing_users(session, [r.user_id for r in ordered])
    # Whoever already holds a confirmed seat at that time is drawn (their rank stays, so the
    # draw can be checked) but cannot win: their seat goes to the next in draw order.
    eligible = [r for r in ordered if r.user_id not in clashing]
    winners = pick_winners(eligible, session.seats_left, session.event.lottery_reserved_shares)
    now = timezone.now()
    for rank, registration in enumerate(ordered, start=1):
        note = f"Lottery draw, rank {rank} (seed {seed})"
        if registration.user_id in clashing:
            note = f"{note}: {CLASH}"
        if registration in winners and take_seat(session.pk):
            transition(
                registration,
                Status.CONFIRMED,
                allowed_from=[Status.APPLIED],
                actor=actor,
                note=note,
                notify=Kind.APPROVED,
                confirmed_at=now,
                lottery_rank=rank,
            )
        elif session.waitlist_enabled:
            # Microseconds apart keep the waitlist in draw order.
            transition(
                registration,
                Status.WAITLISTED,
                allowed_from=[Status.APPLIED],
                actor=actor,
                note=note,
                notify=Kind.WAITLISTED,
                lottery_rank=rank,
                waitlisted_at=now + timedelta(microseconds=rank),
            )
        else:
            transition(
                registration,
                Status.REJECTED,
                allowed_from=[Status.APPLIED],
                actor=actor,
                note=note,
                notify=Kind.REJECTED,
                lottery_rank=rank,
            )
    Session.objects.filter(pk=session.pk).update(lottery_seed=seed, lottery_drawn_at=now)
    session.lottery_seed, session.lottery_drawn_at = seed, now
    if actor is not None:  # the beat sweep's draws are the system's, not a person's action
        audit.record(
            actor=actor,
            action="lottery.drawn",
            team=session.event.team_id,
            event=session.event_id,
            target=session,
            summary={"applicants": len(ordered), "winners": len(winners), "seed": seed},
        )
    return session


def _clashing_users(session: Session, user_ids: list[int]) -> set[int]:
    """Those of `user_ids` holding a confirmed seat in another session at the same time (one
    query for all applicants)."""
    return set(
        Registration.objects.filter(
            confirmed_at_the_same_time(session.starts_at, session.ends_at), user_id__in=user_ids
        )
        .exclude(session=session)
        .values_list("user_id", flat=True)
    )


def draw_due_lotteries(*, now=None) -> int:
    """The beat sweep: draw every lottery whose registration has closed and whose session has
    not started (a draw after the start would hand out seats nobody can use). Safe to run
    twice.

    Each draw is its own transaction: one that fails, for whatever reason, is rolled back,
    logged with its session, and tried again on the next run, without holding up the others."""
    now = now or timezone.now()
    due = Session.objects.filter(
        event__registration_mode=Event.Mode.LOTTERY,
        event__status=Event.Status.PUBLISHED,
        event__registration_closes_at__lte=now,
        lottery_drawn_at__isnull=True,
        status=Session.Status.SCHEDULED,
        starts_at__gt=now,
    )
    drawn = 0
    for pk in list(due.order_by("starts_at", "pk").values_list("pk", flat=True)):
        try:
            draw(session=Session(pk=pk))
        except ServiceError as refusal:
            # Changed since it was selected (drawn by hand, cancelled, unpublished): not due.
            log.info("Lottery of session %s not drawn: %s", pk, refusal.message)
        except Exception:
            log.exception("Lottery draw of session %s failed; the next sweep tries again", pk)
        else:
            drawn += 1
    return drawn
