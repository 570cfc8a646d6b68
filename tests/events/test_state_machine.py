"""Random sequences of what people and organizers do to one session, with the invariants
checked after every step (hypothesis stateful testing):

- never overbooked, and the seat counter equals the people holding seats;
- no free seat while someone waits (a freed seat is offered at once);
- offers go in waitlist order;
- nobody who cancelled, declined or let an offer lapse is offered a seat again unless they
  sign up anew (the waiting-list bugs users report in pretix).
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from events.models import Registration, Session
from events.services import ServiceError, registration, review, scheduling, waitlist
from tests.factories import SessionFactory, UserFactory, organizer_of

Status = Registration.Status
PEOPLE = 7


class OneSession(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each example runs in a transaction rolled back at the end
        self.left: set[int] = set()  # cancelled, declined or lapsed since their last sign-up

    @initialize(mode=st.sampled_from(["open", "approval"]), capacity=st.integers(1, 3))
    def a_session(self, mode, capacity):
        # Open mode fills the waitlist by itself; approval mode exercises approve/reject.
        self.session = SessionFactory(capacity=capacity, event__registration_mode=mode)
        self.organizer = organizer_of(self.session.event)
        self.people = [UserFactory() for _ in range(PEOPLE)]

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def row(self, person) -> Registration | None:
        return Registration.objects.filter(session=self.session, user=person).first()

    def attempt(self, action, **kwargs) -> None:
        try:
            with transaction.atomic():
                action(**kwargs)
        except ServiceError:
            pass  # a refusal with a message is a valid outcome; the invariants still hold

    @rule(who=st.integers(0, PEOPLE - 1))
    def sign_up(self, who):
        person = self.people[who]
        before = self.row(person)
        self.attempt(registration.register, user=person, session=self.session)
        after = self.row(person)
        if after is not None and (before is None or after.status != before.status):
            self.left.discard(person.pk)

    @rule(who=st.integers(0, PEOPLE - 1), waitlist_if_full=st.booleans())
    def approve(self, who, waitlist_if_full):
        found = self.row(self.people[who])
        if found:
            when_full = "waitlist" if waitlist_if_full else "refuse"
            self.attempt(
                review.approve, registration=found, actor=self.organizer, when_full=when_full
            )

    @rule(who=st.integers(0, PEOPLE - 1))
    def reject(self, who):
        found = self.row(self.people[who])
        if found:
            self.attempt(review.reject, registration=found, actor=self.organizer)

    @rule(who=st.integers(0, PEOPLE - 1))
    def cancel(self, who):
        found = self.row(self.people[who])
        if found and found.is_active:
            self.attempt(registration.cancel, registration=found, actor=found.user)
            if self.row(self.people[who]).status == Status.CANCELLED:
                self.left.add(found.user_id)

    @rule(who=st.integers(0, PEOPLE - 1), accept=st.booleans())
    def answer_offer(self, who, accept):
        found = self.row(self.people[who])
        if found and found.status == Status.OFFERED:
            action = waitlist.accept_offer if accept else waitlist.decline_offer
            self.attempt(action, registration=found, user=found.user)
            if not accept:
                self.left.add(found.user_id)

    @rule(who=st.integers(0, PEOPLE - 1))
    def let_an_offer_lapse(self, who):
        found = self.row(self.people[who])
        if found and found.status == Status.OFFERED:
            Registration.objects.filter(pk=found.pk).update(
                offer_expires_at=timezone.now() - timedelta(seconds=1)
            )
            waitlist.expire_offers()
            self.left.add(found.user_id)

    @rule(capacity=st.integers(0, 5))
    def change_capacity(self, capacity):
        self.attempt(
            scheduling.update_session, session=self.session, actor=self.organizer, capacity=capacity
        )

    @invariant()
    def never_overbooked_and_counted_right(self):
        session = Session.objects.get(pk=self.session.pk)
        seated = Registration.objects.filter(session=session, status__in=Registration.SEATED)
        assert session.seats_taken == seated.count() <= session.capacity

    @invariant()
    def no_free_seat_while_someone_waits(self):
        session = Session.objects.get(pk=self.session.pk)
        waiting = Registration.objects.filter(session=session, status=Status.WAITLISTED)
        assert session.seats_taken == session.capacity or not waiting.exists()

    @invariant()
    def offers_follow_the_waitlist_order(self):
        rows = Registration.objects.filter(session=self.session)
        offered = rows.filter(status=Status.OFFERED).values_list("waitlisted_at", flat=True)
        waiting = rows.filter(status=Status.WAITLISTED).values_list("waitlisted_at", flat=True)
        if offered and waiting:
            assert max(offered) <= min(waiting)

    @invariant()
    def nobody_who_left_is_offered_again(self):
        offered = Registration.objects.filter(session=self.session, status=Status.OFFERED)
        assert not set(offered.values_list("user_id", flat=True)) & self.left


@pytest.mark.django_db
def test_random_sequences_keep_every_waitlist_invariant():
    run_state_machine_as_test(
        OneSession,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
