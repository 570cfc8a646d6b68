"""The funnel's counts, step by step, for the small world of conftest.py that anyone can
check by hand; rates; a segment; a team's funnel against a call's; the panel's identity
rule (an account and its verified address are one person)."""

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from events.models import OpenCall, PanelMember, Segment, Submission, Team
from events.services import funnel, segments
from events.services import panel as panel_service
from tests.factories import PanelMemberFactory, TeamFactory, UserFactory

from .conftest import DISQUALIFIED, QUALIFIED, make_call, refresh_panel, submit

pytestmark = pytest.mark.django_db

STEPS = ["submitted", "confirmed", "qualified", "invited", "accepted", "attended", "answered"]


def counts(result: funnel.Funnel) -> dict[str, int]:
    return {step.key: step.count for step in result.steps}


def test_each_step_of_a_calls_funnel_counts_the_people_a_user_would_count(world, call):
    result = funnel.for_call(call)

    assert [s.key for s in result.steps] == STEPS
    assert counts(result) == {
        "submitted": 9,  # everyone, ann who never confirmed too
        "confirmed": 8,
        "qualified": 6,  # not bob (disqualified) nor cat (not scored yet)
        "invited": 4,  # eve, fay, gus, hal
        "accepted": 3,  # fay, gus, hal
        "attended": 2,  # gus, hal: ivy attended but was never invited
        "answered": 1,  # hal: ivy answered a survey too, but is out since "invited"
    }
    assert (result.disqualified, result.unscored) == (1, 1)
    assert result.as_of == call.team.panel_refreshed_at


def test_the_rates_are_of_the_step_before_and_of_the_first(world, call):
    steps = funnel.for_call(call).steps

    assert steps[0].of_previous is None
    assert steps[0].of_first == 100
    assert [round(s.of_previous) for s in steps[1:]] == [89, 75, 67, 75, 67, 50]
    assert [round(s.of_first) for s in steps] == [100, 89, 67, 44, 33, 22, 11]


def test_a_funnel_never_grows_from_one_step_to_the_next(world, call, team):
    # Someone with every later step but not qualified: counted at none of them.
    PanelMember.objects.filter(team=team, email="bob@x.org").update(
        invitations=3, invitations_accepted=3, attended=3, surveys_answered=3
    )
    values = [s.count for s in funnel.for_call(call).steps]

    assert values == sorted(values, reverse=True)
    assert counts(funnel.for_call(call))["invited"] == 4


def test_an_empty_call_has_zeros_and_no_rates(call):
    result = funnel.for_call(call)

    assert [s.count for s in result.steps] == [0] * 7
    assert all(s.of_previous is None and s.of_first is None for s in result.steps)


def test_a_segment_restricts_every_step_to_its_members(world, call, team):
    definition = segments.definition_of(Segment.objects.get(team=team, name="Researchers"))

    assert counts(funnel.for_call(call, definition=definition)) == {
        "submitted": 4,  # bob, eve, gus, hal
        "confirmed": 4,
        "qualified": 3,
        "invited": 3,
        "accepted": 2,
        "attended": 2,
        "answered": 1,
    }


def test_another_teams_panel_counts_for_nothing(world, call):
    other = TeamFactory()
    PanelMemberFactory(
        team=other,
        email="dan@x.org",
        invitations=1,
        invitations_accepted=1,
        attended=1,
        surveys_answered=1,
    )

    assert counts(funnel.for_call(call))["invited"] == 4


def test_a_teams_funnel_counts_each_person_once_over_every_call(world, owner, team, call):
    second = make_call(owner, team, "second")
    submit(second, "dan@x.org", screening=QUALIFIED)  # in both calls: once
    submit(second, "bob@x.org", screening=QUALIFIED)  # disqualified in the first call only
    submit(second, "jon@x.org", screening=DISQUALIFIED)
    refresh_panel(team)

    assert counts(funnel.for_call(second)) == {
        "submitted": 3,
        "confirmed": 3,
        "qualified": 2,
        "invited": 0,
        "accepted": 0,
        "attended": 0,
        "answered": 0,
    }
    assert counts(funnel.for_team(team)) == {
        "submitted": 10,  # ann..ivy and jon; not kim, who only signed up for an event
        "confirmed": 9,
        "qualified": 7,  # bob, qualified in the second call
        "invited": 4,
        "accepted": 3,
        "attended": 2,
        "answered": 1,
    }
    researchers = segments.definition_of(Segment.objects.get(team=team, name="Researchers"))
    assert counts(funnel.for_team(team, definition=researchers))["qualified"] == 4


def test_a_submission_from_an_accounts_verified_address_is_the_accounts_person(owner, team, call):
    # The panel keys an account by its email; an anonymous submission from one of its
    # verified addresses is the same person, and the funnel must find their history.
    user = UserFactory(email="lea@home.org")
    EmailAddress.objects.create(user=user, email="lea@work.org", verified=True)
    submit(call, "LEA@work.org", screening=QUALIFIED)
    panel_service.refresh(team=team)
    PanelMember.objects.filter(team=team, email="lea@home.org").update(invitations=1)

    assert PanelMember.objects.filter(team=team).count() == 1
    assert counts(funnel.for_call(call))["invited"] == 1


def test_the_csv_rows_are_the_steps_with_their_rates(world, call):
    rows = funnel.csv_rows(funnel.for_call(call), about=call.title, segment="")

    assert rows[0][:6] == [
        "Funnel",
        "Segment",
        "Step",
        "People",
        "% of previous step",
        "% of first step",
    ]
    assert [r[2:6] for r in rows[1:]] == [
        ["Submitted", 9, "", "100.0"],
        ["Confirmed", 8, "88.9", "88.9"],
        ["Qualified", 6, "75.0", "66.7"],
        ["Invited", 4, "66.7", "44.4"],
        ["Accepted", 3, "75.0", "33.3"],
        ["Attended", 2, "66.7", "22.2"],
        ["Answered a survey", 1, "50.0", "11.1"],
    ]


def test_an_address_that_never_confirmed_is_submitted_once_and_only_where_it_sent(
    world, owner, team, call
):
    second = make_call(owner, team, "second")
    submit(second, "ann@x.org")  # never confirmed, in both calls: one address
    submit(second, "dan@x.org")  # confirmed in the first call only

    assert counts(funnel.for_team(team))["submitted"] == 9  # as before: 8 confirmed and ann
    assert [s.count for s in funnel.for_call(second).steps[:2]] == [2, 0]


def test_a_new_verdict_counts_once_the_minutes_refresh_took_it_in(world, team, call):
    # A re-score as call_screening.rescore leaves it: the verdict, stamped.
    Submission.objects.filter(email="dan@x.org").update(
        screening=DISQUALIFIED, screened_at=timezone.now()
    )
    assert counts(funnel.for_call(call))["qualified"] == 6  # the panel as of its refresh

    panel_service.refresh_changed()

    result = funnel.for_call(OpenCall.objects.select_related("team").get(pk=call.pk))
    assert counts(result)["qualified"] == 5
    assert result.disqualified == 2
    assert result.as_of == Team.objects.get(pk=team.pk).panel_refreshed_at
