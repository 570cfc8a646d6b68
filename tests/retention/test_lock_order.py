""" "Forget this person" racing the retention sweep (events, calls, the panel's renewal mail and
removals) on the same person's rows, with real threads on PostgreSQL. Both take the team's
panel lock before any row (docs/ARCHITECTURE.md, "Lock order of the panel"): before that
order the sweep held the event's rows and waited for the panel lock that forget held while
waiting for those rows, and PostgreSQL killed one of them as a deadlock."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import PanelMember, Registration, Submission
from events.services import ServiceError, erasure, open_calls, panel, retention
from tests.factories import OpenCallFactory

from .conftest import make_past_event
from .test_race import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 8
GONE = "This person is not in the team's panel any more."
_quiet = itertools.count()


def overlapping_world():
    """A past event due for anonymisation whose attendee Ada is on the team's panel, with an
    old unconfirmed submission to the team's call (due too), and two quiet panel members
    (one to remove, one to ask to renew)."""
    past = make_past_event()
    team, ada = past.team, past.ada
    call = OpenCallFactory(organizer=past.owner, team=team)
    open_calls.set_status(call=call, actor=past.owner, published=True)
    long_ago = timezone.now() - timedelta(days=800)
    quiet = f"quiet{next(_quiet)}@example.com"
    for email, consent in ((ada.email, True), (quiet, False)):
        sent = open_calls.submit(
            call=call, email=email, profile={"name": "Someone", "consent": consent}, answers={}
        ).submission
        if email != ada.email:
            open_calls.confirm(submission=sent, nonce=sent.nonce)
        Submission.objects.filter(pk=sent.pk).update(
            created_at=long_ago, submitted_at=long_ago, pending_at=None
        )
    panel.refresh(team=team)
    PanelMember.objects.filter(team=team).update(first_seen_at=long_ago)
    return past, PanelMember.objects.get(team=team, email=ada.email)


@pytest.mark.parametrize("first", ["forget", "sweep"])
def test_forget_and_the_sweeps_on_the_same_person_never_deadlock(first):
    for _round in range(ROUNDS):
        past, member = overlapping_world()

        def forget(past=past, member=member):
            return erasure.forget(team=past.team, member=member, actor=past.owner)

        actions = [forget, retention.sweep]
        outcomes = race(*(actions if first == "forget" else reversed(actions)))
        forgotten, swept = outcomes if first == "forget" else reversed(outcomes)

        # The sweep may have removed Ada first (her rows were due): forget then says so.
        if isinstance(forgotten, ServiceError):
            assert forgotten.message == GONE
        else:
            assert not isinstance(forgotten, Exception), repr(forgotten)
        assert not isinstance(swept, Exception), repr(swept)
        assert swept.failed == 0, "an item of the sweep failed (a deadlock?): see the log"
        assert swept.events == 1
        # Whatever the order, nothing of Ada is left in the team's data.
        assert not Registration.objects.filter(user=past.ada).exists()
        assert not Submission.objects.filter(email=past.ada.email).exists()
        assert not PanelMember.objects.filter(team=past.team, email=past.ada.email).exists()
