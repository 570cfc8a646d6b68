"""Draws from the panel: the generic picker the lottery shares (floors rounded up, caps by
count and by share), and services.draws (reproducible from the seed, consent, the preference
for people who never attended, the governance hook, every bad input refused with nothing
written, a rerun giving the same people)."""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.drawing import FULL, Cap, Minimum, pick
from events.models import ContactBlock, Draw, Invitation, PanelMember
from events.services import ServiceError, draws, teams
from events.services.lottery import draw_order
from tests.factories import (
    EventFactory,
    InvitationFactory,
    PanelMemberFactory,
    SegmentFactory,
    UserFactory,
    add_to_team,
)
from tests.query_shape import shape

pytestmark = pytest.mark.django_db

# The generic picker -----------------------------------------------------------------------


@dataclass(frozen=True)
class P:
    name: str
    role: str = "developer"
    affiliation: str = ""


def value_of(p: P, field: str) -> str:
    return getattr(p, field)


def names(people) -> list[str]:
    return [p.name for p in people]


def test_a_minimum_share_is_rounded_up_and_filled_first_in_draw_order():
    people = [P(f"d{n}") for n in range(8)] + [P("r0", "researcher"), P("r1", "researcher")]

    picked, skipped = pick(
        people, 5, value_of=value_of, minimums=[Minimum("role", "researcher", 30)]
    )

    # 30% of 5 is 1.5: two places are kept for researchers, the rest go by draw order.
    assert names(picked) == ["d0", "d1", "d2", "r0", "r1"]
    assert [(p.name, why) for p, why in skipped] == [(f"d{n}", FULL) for n in range(3, 8)]


def test_a_cap_by_count_skips_the_third_of_one_affiliation_with_the_reason():
    people = [P("a", affiliation="acme"), P("b", affiliation="acme"), P("c", affiliation="acme")]
    people += [P("d", affiliation="initech"), P("e")]

    picked, skipped = pick(people, 4, value_of=value_of, caps=[Cap("affiliation", count=2)])

    assert names(picked) == ["a", "b", "d", "e"]
    assert [(p.name, why) for p, why in skipped] == [
        ("c", "cap reached: at most 2 per affiliation")
    ]


def test_a_cap_by_share_is_rounded_down_and_blank_values_are_not_one_affiliation():
    people = [P(f"a{n}", affiliation="acme") for n in range(4)] + [P(f"x{n}") for n in range(4)]

    picked, _ = pick(people, 5, value_of=value_of, caps=[Cap("affiliation", share=40)])

    # 40% of 5 is 2 from acme; the people with no affiliation are not capped together.
    assert names(picked) == ["a0", "a1", "x0", "x1", "x2"]


def test_a_minimum_and_a_cap_at_once():
    people = [P("r0", "researcher", "acme"), P("r1", "researcher", "acme")]
    people += [P("d0", affiliation="acme"), P("r2", "researcher", "lab"), P("d1", affiliation="b")]

    picked, skipped = pick(
        people,
        3,
        value_of=value_of,
        minimums=[Minimum("role", "researcher", 60)],
        caps=[Cap("affiliation", count=1)],
    )

    # Two researchers, but at most one from acme: r0 and r2; then the next not from acme.
    assert names(picked) == ["r0", "r2", "d1"]
    assert {p.name: why for p, why in skipped} == {
        "r1": "cap reached: at most 1 per affiliation",
        "d0": "cap reached: at most 1 per affiliation",
    }


def test_fewer_candidates_than_the_size_picks_them_all():
    picked, skipped = pick([P("a"), P("b")], 5, value_of=value_of)

    assert names(picked) == ["a", "b"]
    assert skipped == []


def test_refused_is_asked_only_of_the_people_looked_at_once_each_and_its_reason_kept():
    people = [P("r0", "researcher"), P("d0"), P("no"), P("d1"), P("r1", "researcher")]
    people += [P(f"late{n}") for n in range(50)]
    asked: list[str] = []

    def refused(p: P) -> str | None:
        asked.append(p.name)
        return "held back" if p.name in ("no", "r1") else None

    picked, skipped = pick(
        people, 3, value_of=value_of, minimums=[Minimum("role", "researcher", 60)], refused=refused
    )

    # Two places for researchers: r0, then r1 refused, so none other; then d0, d1 in order.
    assert names(picked) == ["r0", "d0", "d1"]
    assert asked == ["r0", "r1", "d0", "no", "d1"]
    assert [(p.name, why) for p, why in skipped][:2] == [("no", "held back"), ("r1", "held back")]
    assert {why for _, why in skipped[2:]} == {FULL}


def test_refusing_as_the_picker_looks_picks_the_same_as_leaving_them_out_first():
    rng = random.Random(7)
    for _ in range(200):
        people = [
            P(f"p{n}", rng.choice(["developer", "researcher"]), rng.choice(["", "a", "b", "c"]))
            for n in range(rng.randint(0, 30))
        ]
        out = {p.name for p in people if rng.random() < 0.3}
        rules = {
            "size": rng.randint(1, 12),
            "value_of": value_of,
            "minimums": [Minimum("role", "researcher", rng.choice([0, 30, 60]))],
            "caps": [Cap("affiliation", count=rng.randint(1, 3))],
        }

        def refused(p: P, out: set[str] = out) -> str | None:
            return "out" if p.name in out else None

        lazily, _ = pick(people, refused=refused, **rules)
        first, _ = pick([p for p in people if p.name not in out], **rules)

        assert lazily == first


# services.draws ---------------------------------------------------------------------------


def panel(team, count: int = 10, **fields) -> list[PanelMember]:
    return [PanelMemberFactory(team=team, email=f"p{n:02}@x.org", **fields) for n in range(count)]


@pytest.fixture
def everyone(team):
    return SegmentFactory(team=team, definition=[{"field": "consent", "op": "is", "value": True}])


def test_the_same_seed_on_the_same_panel_picks_the_same_people_in_the_same_order(
    team, owner, everyone
):
    panel(team, 30)

    first = draws.draw_sample(team=team, actor=owner, segment=everyone, size=5, seed="fixed")
    again = draws.draw_sample(team=team, actor=owner, segment=everyone, size=5, seed="fixed")
    other = draws.draw_sample(team=team, actor=owner, segment=everyone, size=5, seed="other")

    assert len(first.picked) == 5
    assert again.picked == first.picked
    assert other.picked != first.picked
    assert first.skipped == {FULL: 25}
    assert first.candidates == 30


def test_a_draw_without_a_seed_gets_a_random_one_that_reruns_it(team, owner, everyone):
    panel(team, 30)

    drawn = draws.draw_sample(team=team, actor=owner, segment=everyone, size=4)
    rerun = draws.rerun(draw=drawn, actor=owner)

    assert len(drawn.seed) == 32
    assert rerun.seed == drawn.seed
    assert rerun.picked == drawn.picked
    assert rerun.pk != drawn.pk


def test_a_draw_records_who_drew_and_the_segments_words_at_the_time(team, owner, everyone):
    panel(team, 3)

    drawn = draws.draw_sample(
        team=team,
        actor=owner,
        segment=everyone,
        size=2,
        minimums=[{"field": "role", "value": "Researchers", "share": "30"}],
        caps=[{"field": "affiliation", "count": "2"}],
        prefer_never_attended=True,
    )
    everyone.definition = [{"field": "attended", "op": "gte", "value": 1}]
    everyone.save()
    drawn.refresh_from_db()

    assert drawn.drawn_by == owner
    assert drawn.segment_name == everyone.name
    assert drawn.description == "agreed to be contacted"
    assert drawn.definition == [{"field": "consent", "op": "is", "value": True}]
    assert drawn.rules["minimums"] == [{"field": "role", "value": "researcher", "share": 30}]
    assert drawn.rules["caps"] == [{"field": "affiliation", "count": 2}]
    assert drawn.rules["prefer_never_attended"] is True


def test_people_who_did_not_agree_to_be_contacted_are_skipped_with_the_reason(team, owner):
    PanelMemberFactory(team=team, email="yes@x.org", consent=True)
    no = PanelMemberFactory(team=team, email="no@x.org", consent=False, registrations=1)

    drawn = draws.draw_sample(team=team, actor=owner, definition=[], size=5)

    assert len(drawn.picked) == 1
    assert drawn.skipped == {draws.NO_CONSENT: 1}
    assert drawn.rules["first_skipped"] == [[no.pk, draws.NO_CONSENT]]


def test_a_draw_leaves_out_whom_the_contact_rules_hold_back_or_refuse(team, owner):
    panel(team, 4)
    # Invited by this team 3 days ago (cool-down 30 days); unsubscribed from its mail.
    invited = InvitationFactory(event=EventFactory(team=team), email="p00@x.org")
    Invitation.objects.filter(pk=invited.pk).update(created_at=timezone.now() - timedelta(days=3))
    ContactBlock.objects.create(team=team, email="p01@x.org", reason="unsubscribed")

    drawn = draws.draw_sample(team=team, actor=owner, definition=[], size=4)

    emails = set(PanelMember.objects.filter(pk__in=drawn.picked).values_list("email", flat=True))
    assert emails == {"p02@x.org", "p03@x.org"}
    reasons = " | ".join(drawn.skipped)
    assert "cool-down: 30 days" in reasons and "Unsubscribed" in reasons
    assert sum(drawn.skipped.values()) == 2


def test_a_draw_asks_the_contact_rules_about_the_people_it_looks_at_not_the_whole_segment(
    team, owner, monkeypatch
):
    # 50 and 5,050 candidates (more than one batch of ELIGIBILITY_CHUNK): the same statements,
    # and only the first batch in draw order checked against the contact rules.
    asked: list[int] = []
    eligible = draws.eligible

    def counting(team, emails):
        asked.append(len(emails))
        return eligible(team, emails)

    monkeypatch.setattr(draws, "eligible", counting)
    InvitationFactory(event=EventFactory(team=team), email="someone-else@x.org")

    def measure(count: int) -> tuple[Counter, list[int]]:
        PanelMember.objects.filter(team=team).delete()
        PanelMember.objects.bulk_create(
            PanelMember(team=team, email=f"p{n:05}@x.org", name=f"P {n}", consent=True)
            for n in range(count)
        )
        asked.clear()
        with CaptureQueriesContext(connection) as queries:
            drawn = draws.draw_sample(
                team=team,
                actor=owner,
                definition=[],
                size=5,
                caps=[{"field": "affiliation", "count": 2}],
                seed="shape",
            )
        assert len(drawn.picked) == 5 and drawn.candidates == count
        return shape([q["sql"] for q in queries.captured_queries]), list(asked)

    few, few_asked = measure(50)
    many, many_asked = measure(draws.ELIGIBILITY_CHUNK + 50)

    assert many == few
    assert few_asked == [50]
    assert many_asked == [draws.FIRST_ELIGIBILITY_BATCH]


def test_the_contact_rules_are_checked_in_growing_batches_in_draw_order(team, owner, monkeypatch):
    monkeypatch.setattr(draws, "FIRST_ELIGIBILITY_BATCH", 2)
    asked: list[int] = []
    eligible = draws.eligible

    def counting(team, emails):
        asked.append(len(emails))
        return eligible(team, emails)

    monkeypatch.setattr(draws, "eligible", counting)
    panel(team, 10)
    ContactBlock.objects.create(team=team, email="p07@x.org", reason="unsubscribed")

    drawn = draws.draw_sample(team=team, actor=owner, definition=[], size=10)

    # Everyone is looked at: batches of 2, 4, then the 4 left; the one refused is found.
    assert asked == [2, 4, 4]
    assert len(drawn.picked) == 9
    assert list(drawn.skipped.values()) == [1] and "Unsubscribed" in next(iter(drawn.skipped))


def test_a_minimum_found_far_down_the_order_checks_that_person_not_everyone_before(
    team, owner, monkeypatch
):
    monkeypatch.setattr(draws, "FIRST_ELIGIBILITY_BATCH", 2)
    asked: list[list[str]] = []
    eligible = draws.eligible

    def recording(team, emails):
        asked.append(sorted(emails))
        return eligible(team, emails)

    monkeypatch.setattr(draws, "eligible", recording)
    members = panel(team, 20)
    order = draw_order([m.pk for m in members], "far")
    far = PanelMember.objects.get(pk=order[15])
    PanelMember.objects.filter(pk=far.pk).update(role="researcher")
    first_two = sorted(PanelMember.objects.get(pk=pk).email for pk in order[:2])

    drawn = draws.draw_sample(
        team=team,
        actor=owner,
        definition=[],
        size=3,
        minimums=[{"field": "role", "value": "researcher", "share": 30}],
        seed="far",
    )

    # The researcher's place (15th) with the first batch; the sample is full after two more.
    assert drawn.picked == [order[0], order[1], far.pk]
    assert asked == [sorted([*first_two, far.email])]


def test_a_team_without_contact_rules_draws_someone_invited_yesterday(team, owner):
    team = teams.update_team(
        team=team, actor=owner, invite_cooldown_days=0, max_invitations_per_90_days=0
    )
    panel(team, 2)
    InvitationFactory(event=EventFactory(team=team), email="p00@x.org")

    drawn = draws.draw_sample(team=team, actor=owner, definition=[], size=2)

    assert drawn.skipped == {}
    assert len(drawn.picked) == 2


def test_people_who_never_attended_come_first_when_preferred(team, owner):
    came = panel(team, 10, attended=2)
    never = [PanelMemberFactory(team=team, email=f"new{n}@x.org", attended=0) for n in range(3)]

    drawn = draws.draw_sample(
        team=team, actor=owner, definition=[], size=5, prefer_never_attended=True, seed="s"
    )
    plain = draws.draw_sample(team=team, actor=owner, definition=[], size=13, seed="s")

    assert set(drawn.picked[:3]) == {p.pk for p in never}
    assert set(drawn.picked[3:]) <= {p.pk for p in came}
    # Within each part, the draw order of the seed.
    order = [pk for pk in plain.picked if pk not in {p.pk for p in never}]
    assert drawn.picked[3:] == order[:2]


def test_a_minimum_share_and_a_cap_apply_to_the_panel(team, owner):
    PanelMember.objects.bulk_create(
        [
            PanelMember(
                team=team,
                email=f"d{n}@x.org",
                role="developer",
                affiliation="Acme" if n % 2 else "ACME ",
                consent=True,
            )
            for n in range(10)
        ]
        + [
            PanelMember(
                team=team,
                email=f"r{n}@x.org",
                role="researcher",
                affiliation=f"Lab {n}",
                consent=True,
            )
            # Three researchers: with two from Acme at most, a sample of 6 cannot fill, so
            # every candidate is looked at whatever the seed.
            for n in range(3)
        ]
    )

    drawn = draws.draw_sample(
        team=team,
        actor=owner,
        definition=[],
        size=6,
        minimums=[{"field": "role", "value": "researcher", "share": 30}],
        caps=[{"field": "affiliation", "count": 2}],
    )
    people = list(PanelMember.objects.filter(pk__in=drawn.picked))

    assert len(people) == 5
    assert sum(p.role == "researcher" for p in people) == 3
    # "ACME" and "Acme" would be one affiliation: at most two of them.
    assert sum(p.affiliation.strip().lower() == "acme" for p in people) == 2
    assert drawn.skipped == {"cap reached: at most 2 per affiliation": 8}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": "0"}, "The sample's size: from 1 to 1,000."),
        ({"size": "1001"}, "The sample's size: from 1 to 1,000."),
        ({"size": "ten"}, "The sample's size: “ten” is not a whole number."),
        ({"size": ""}, "The sample's size: give a number."),
        (
            {"minimums": [{"field": "role", "value": "researcher", "share": "101"}]},
            "Minimum 1, its share: from 0 to 100.",
        ),
        (
            {"minimums": [{"field": "role", "value": "researcher", "share": "-5"}]},
            "Minimum 1, its share: from 0 to 100.",
        ),
        (
            {
                "minimums": [
                    {"field": "role", "value": "researcher", "share": 60},
                    {"field": "role", "value": "developer", "share": 50},
                ]
            },
            "The minimum shares add up to more than 100%.",
        ),
        (
            {"minimums": [{"field": "shoe_size", "value": "9", "share": 10}]},
            "Minimum 1: “shoe_size” is not a field to draw by",
        ),
        (
            {"minimums": [{"field": "role", "value": "wizard", "share": 10}]},
            "Minimum 1: “wizard” is not a role",
        ),
        (
            {"minimums": [{"field": "affiliation", "value": " ", "share": 10}]},
            "Minimum 1: give the value (which affiliation).",
        ),
        ({"caps": [{"field": "affiliation", "count": "0"}]}, "Cap 1, its number: from 1 to"),
        ({"caps": [{"field": "affiliation", "share": "0"}]}, "Cap 1, its share: from 1 to 100."),
        (
            {"caps": [{"field": "affiliation", "count": "2", "share": "40"}]},
            "Cap 1: give either a number of people or a share, not both.",
        ),
        ({"caps": [{"field": "email", "count": "2"}]}, "Cap 1: “email” is not a field"),
        ({"caps": [{"field": "affiliation"}]}, "Cap 1: give at most how many"),
        (
            {
                "size": 10,
                "minimums": [{"field": "role", "value": "researcher", "share": 50}],
                "caps": [{"field": "role", "share": 30}],
            },
            "the rules contradict each other",
        ),
        ({"seed": "with spaces"}, "The seed is 1 to 64 letters"),
        ({"seed": "x" * 65}, "The seed is 1 to 64 letters"),
        ({"definition": [{"field": "nope", "op": "in", "value": "x"}]}, "no field “nope”"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(
    team, owner, arguments, message
):
    panel(team, 3)
    given = {"definition": [], "size": 2} | arguments

    with pytest.raises(ServiceError) as refusal:
        draws.draw_sample(team=team, actor=owner, **given)

    assert message in refusal.value.message
    assert not Draw.objects.exists()


def test_a_reviewer_may_not_draw(team):
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")
    panel(team, 3)

    with pytest.raises(ServiceError, match="owners and organizers"):
        draws.draw_sample(team=team, actor=reviewer, definition=[], size=2)
    assert not Draw.objects.exists()


def test_another_teams_segment_cannot_be_drawn_from(team, owner, other_team):
    theirs = SegmentFactory(team=other_team)

    with pytest.raises(ServiceError, match="not one of the team's"):
        draws.draw_sample(team=team, actor=owner, segment=theirs, size=2)
    assert not Draw.objects.exists()
