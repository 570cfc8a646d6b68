"""Two organizers of one team draw 20 people each from the same segment of 30 (different
seeds: the samples overlap) and invite their picks to the same event at the same instant,
with real threads on PostgreSQL, through the path the pages take: services.draws, the
draw's hand-on (draws.invite_rows, pasted as the invite page prefills it), the preview, then
invitations.create_batch with the previewed rows. Both previews are taken before either
batch is written, so only the team lock in create_batch stands between the two.

What must hold: nobody gets two invitations to the event, nobody passes the team's
max_invitations_per_90_days, and whoever the second batch leaves out is held back with the
reason the preview page shows, never an exception."""

import threading
import time
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from events.invite_parsing import Row, parse_pasted
from events.models import Draw, Event, Invitation, PanelMember, Session, Team
from events.services import ServiceError, contact, draws, segments
from events.services import invitations as service
from tests.factories import (
    EventFactory,
    PanelMemberFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)
from tests.governance.helpers import invited_days_ago

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PANEL = 30
SAMPLE = 20
SEEDS = ("olga-morning", "omar-afternoon")


def world(**rules):
    """A team with two organizers, a segment of 30 consenting researchers (and people outside
    it: developers, and researchers who did not agree to be contacted), and one event by
    invitation with a session for each organizer."""
    olga, omar = UserFactory(), UserFactory()
    team = TeamFactory(owner=olga, **rules)
    add_to_team(team, omar, role="organizer")
    for n in range(PANEL):
        PanelMemberFactory(team=team, email=f"r{n:02}@lab.example.org", role="researcher")
    for n in range(5):
        PanelMemberFactory(team=team, email=f"d{n}@dev.example.org", role="developer")
        PanelMemberFactory(
            team=team, email=f"x{n}@lab.example.org", role="researcher", consent=False
        )
    segment = segments.create_segment(
        team=team,
        actor=olga,
        name="Researchers who agreed",
        definition=[
            {"field": "role", "op": "in", "value": ["researcher"]},
            {"field": "consent", "op": "is", "value": True},
        ],
    )
    event = EventFactory(team=team, registration_mode="invitation")
    return (
        team,
        segment,
        event,
        (olga, SessionFactory(event=event)),
        (omar, SessionFactory(event=event)),
    )


def hand_on(drawn: Draw):
    """The rows the invite page gets from a draw: views.draws.draw_invite prefills
    "Name <email>" lines, the organizer submits them, views.invitations.invite parses them."""
    people = draws.invite_rows(draws.picked_people(drawn))
    pasted = "\n".join(f"{name} <{email}>" if name else email for email, name in people)
    return parse_pasted(pasted).rows


def at_once(team: Team, segment, plans: list[tuple]) -> list[dict]:
    """Each (organizer, session id, seed) in its own thread: all draw at one instant, all
    preview, then all create their batches at one instant."""
    drawn_together = threading.Barrier(len(plans))
    sent_together = threading.Barrier(len(plans))
    outcomes: list[dict] = [{} for _ in plans]

    def run(index: int, actor, session_id: int, seed: str) -> None:
        outcome = outcomes[index]
        try:
            session = Session.objects.select_related("event__team").get(pk=session_id)
            drawn_together.wait()
            drawn = draws.draw_sample(
                team=session.event.team, actor=actor, segment=segment, size=SAMPLE, seed=seed
            )
            rows = hand_on(drawn)
            preview = service.preview(event=session.event, session=session, rows=rows)
            outcome["session"] = session
            outcome["listed"] = [r.email for r in rows]
            outcome["previewed"] = [r.email for r in preview.valid]
            sent_together.wait()
            created = service.create_batch(
                event=session.event, session=session, rows=preview.valid, actor=actor
            )
            outcome["created"] = [i.email for i in created]
        except ServiceError as refusal:
            outcome["refused"] = refusal.message
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcome["error"] = f"{error.__class__.__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *p)) for i, p in enumerate(plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def race(team, segment, first, second) -> list[dict]:
    (olga, morning), (omar, afternoon) = first, second
    outcomes = at_once(
        team, segment, [(olga, morning.pk, SEEDS[0]), (omar, afternoon.pk, SEEDS[1])]
    )
    assert [o.get("error") or o.get("refused") for o in outcomes] == [None, None], outcomes
    return outcomes


def overlap(outcomes) -> set[str]:
    first, second = (set(o["listed"]) for o in outcomes)
    return first & second


def per_person(event: Event) -> Counter:
    return Counter(Invitation.objects.filter(event=event).values_list("email", flat=True))


def assert_left_out_with_reason(outcomes, reason: str) -> None:
    """Whoever a batch previewed but did not invite is now held back (never refused outright)
    with `reason`, as the invite page would list them: nobody vanished without one."""
    left_out_anyone = False
    for outcome in outcomes:
        left_out = set(outcome["previewed"]) - set(outcome["created"])
        if not left_out:
            continue
        left_out_anyone = True
        rows = [Row(line=n, email=e) for n, e in enumerate(sorted(left_out), start=1)]
        again = service.preview(
            event=outcome["session"].event, session=outcome["session"], rows=rows
        )
        assert {r.email for r in again.held_back} == left_out
        assert {why for _, _, why in again.refused} == {reason}, again.refused
    assert left_out_anyone


@pytest.mark.parametrize("round_number", range(2))
def test_two_organizers_drawing_and_inviting_overlapping_samples_at_once_invite_nobody_twice(
    round_number,
):
    team, segment, event, first, second = world()

    outcomes = race(team, segment, first, second)

    both = overlap(outcomes)
    # Different seeds, the same 30 people: the samples overlap, and the race is real.
    assert 10 <= len(both) < SAMPLE
    # Both drew from the segment only, before any invitation existed: 20 each, all invitable.
    assert [len(o["previewed"]) for o in outcomes] == [SAMPLE, SAMPLE]
    assert all(e.startswith("r") for o in outcomes for e in o["listed"])
    # One batch went first with its 20; the other kept only those nobody had invited.
    assert sorted(len(o["created"]) for o in outcomes) == [SAMPLE - len(both), SAMPLE]
    counts = per_person(event)
    assert set(counts.values()) == {1}, counts
    assert set(counts) == {e for o in outcomes for e in o["listed"]}
    assert_left_out_with_reason(outcomes, "Invited by this team today (cool-down: 30 days).")
    # A third draw from the segment now picks only the researchers nobody invited, and says
    # why it skipped the rest.
    olga = first[0]
    third = draws.draw_sample(team=team, actor=olga, segment=segment, size=SAMPLE, seed="later")
    picked = set(PanelMember.objects.filter(pk__in=third.picked).values_list("email", flat=True))
    assert picked == {f"r{n:02}@lab.example.org" for n in range(PANEL)} - set(counts)
    assert third.skipped == {"Invited by this team today (cool-down: 30 days).": len(counts)}


def test_two_organizers_at_once_never_take_anyone_past_the_teams_90_day_limit():
    team, segment, event, first, second = world(
        invite_cooldown_days=0, max_invitations_per_90_days=3
    )
    old = EventFactory(team=team)
    for n in range(PANEL):  # two invitations each already: room for one more
        invited_days_ago(old, f"r{n:02}@lab.example.org", 20)
        invited_days_ago(old, f"r{n:02}@lab.example.org", 45)

    outcomes = race(team, segment, first, second)

    both = overlap(outcomes)
    assert 10 <= len(both) < SAMPLE
    assert sorted(len(o["created"]) for o in outcomes) == [SAMPLE - len(both), SAMPLE]
    assert set(per_person(event).values()) == {1}
    in_90_days = Counter(
        Invitation.objects.filter(event__team=team).values_list("email", flat=True)
    )
    assert max(in_90_days.values()) == 3, in_90_days
    assert_left_out_with_reason(outcomes, "Already invited 3 times in 90 days (limit: 3).")


def test_without_the_team_lock_the_same_race_invites_people_twice(monkeypatch):
    """The negative control: batches that read the team without locking it (with the gap a
    busy server has between reading and writing) both see nobody invited; the harness must
    catch that."""

    def unlocked(team_id: int) -> Team:
        team = Team.objects.get(pk=team_id)
        time.sleep(0.2)
        return team

    monkeypatch.setattr(contact, "lock_team", unlocked)
    team, segment, event, first, second = world()

    outcomes = race(team, segment, first, second)

    assert [len(o["created"]) for o in outcomes] == [SAMPLE, SAMPLE]
    assert max(per_person(event).values()) == 2
