"""Draws from an open call: its qualified people (never a disqualified one), under its
quotas turned into draw rules (with the organizer's rules added), reproducible from the seed;
the cap on one value that the picker gained for it; and the pages ("Draw from this call" on
the call's page, the form and the draw saying which call and quotas)."""

import pytest
from django.urls import reverse

from accounts import services as accounts
from events.drawing import Cap, pick
from events.models import CallQuota, Draw, PanelMember, Submission
from events.services import ServiceError, contact, draws, panel
from events.services import invitations as invitation_service
from tests.factories import UserFactory, add_to_team
from tests.invitations.helpers import rows

from .conftest import confirmed
from .test_draws import P, names, value_of

pytestmark = pytest.mark.django_db

Bound = CallQuota.Bound


def test_a_cap_on_one_value_limits_that_value_only():
    people = [P(f"a{n}", affiliation="acme") for n in range(4)]
    people += [P(f"l{n}", affiliation="lab") for n in range(4)]

    picked, skipped = pick(
        people, 6, value_of=value_of, caps=[Cap("affiliation", share=20, value="acme")]
    )

    # 20% of 6 is 1 from acme; lab is not capped.
    assert names(picked) == ["a0", "l0", "l1", "l2", "l3"]
    assert {p.name: why for p, why in skipped}["a1"] == (
        "cap reached: at most 20% (1) with affiliation “acme”"
    )


def test_a_cap_on_one_value_and_a_cap_per_value_on_one_field_count_separately():
    people = [P(f"a{n}", affiliation="acme") for n in range(4)]
    people += [P(f"l{n}", affiliation="lab") for n in range(4)]

    picked, _ = pick(
        people,
        4,
        value_of=value_of,
        caps=[Cap("affiliation", count=3), Cap("affiliation", count=1, value="acme")],
    )

    assert names(picked) == ["a0", "l0", "l1", "l2"]


@pytest.fixture
def applicants(team, call):
    """Twelve people answered the call: six researchers (two of them disqualified) and six
    developers, four from ACME; some did not agree to be contacted about future sessions."""
    for n in range(12):
        role = "researcher" if n % 2 else "developer"
        confirmed(
            call,
            f"a{n:02}@example.com",
            role=role,
            affiliation="ACME" if n < 4 else f"Lab {n}",
            consent=n % 3 != 0,
        )
    Submission.objects.filter(call=call).update(screening=Submission.Screening.QUALIFIED)
    Submission.objects.filter(call=call, email__in=["a01@example.com", "a03@example.com"]).update(
        screening=Submission.Screening.DISQUALIFIED
    )
    panel.refresh(team=team)
    return PanelMember.objects.filter(team=team)


DISQUALIFIED = {"a01@example.com", "a03@example.com"}


def quota(call, field, bound, percent, value=""):
    return CallQuota.objects.create(
        call=call, field=field, bound=bound, percent=percent, value=value
    )


def picked(draw: Draw) -> list[PanelMember]:
    return [p for p in draws.picked_people(draw) if p is not None]


def test_the_call_quotas_hold_in_the_picks_under_every_seed(team, owner, call, applicants):
    quota(call, "role", Bound.AT_LEAST, 50, "Researcher")
    quota(call, "affiliation", Bound.AT_MOST, 20, "acme")
    quota(call, "affiliation", Bound.AT_MOST, 40)

    for seed in ("s1", "s2", "s3", "s4", "s5", "s6"):
        drawn = draws.draw_sample(team=team, actor=owner, call=call, size=5, seed=seed)
        people = picked(drawn)
        assert len(people) == 5
        assert sum(p.role == "researcher" for p in people) >= 3  # 50% of 5, rounded up
        assert sum(p.affiliation == "ACME" for p in people) <= 1  # 20% of 5, rounded down
        assert not {p.email for p in people} & DISQUALIFIED

    assert drawn.call == call
    assert drawn.rules["minimums"] == [{"field": "role", "value": "researcher", "share": 50}]
    assert drawn.rules["caps"] == [
        {"field": "affiliation", "share": 40},
        {"field": "affiliation", "share": 20, "value": "acme"},
    ]
    assert drawn.rules["call"] == {
        "title": call.title,
        "quotas": [
            "at most 40% per affiliation",
            "at most 20% with affiliation “acme”",
            "at least 50% with role “researcher”",
        ],
    }


def test_a_disqualified_person_is_never_a_candidate(team, owner, call, applicants):
    for seed in ("a", "b", "c"):
        drawn = draws.draw_sample(team=team, actor=owner, call=call, size=12, seed=seed)
        assert drawn.candidates == 10
        assert len(drawn.picked) == 10
        assert not {p.email for p in picked(drawn)} & DISQUALIFIED


def test_within_its_call_a_person_is_picked_without_consent_to_future_contact(
    team, owner, call, applicants
):
    drawn = draws.draw_sample(team=team, actor=owner, call=call, size=12, seed="x")

    assert any(not p.consent for p in picked(drawn))
    assert draws.NO_CONSENT not in drawn.skipped


def test_within_its_call_do_not_contact_and_an_erased_persons_wish_still_hold(
    team, owner, call, applicants, event
):
    # Submitting is consent to be considered for this call, not to be contacted against a
    # wish: a(00) never agreed to future contact and then unsubscribed; a(09), who had
    # unsubscribed too, deleted their account and answered the call again.
    contact.unsubscribe(team=team, email="a00@example.com")
    contact.unsubscribe(team=team, email="a09@example.com")
    accounts.delete_account(user=UserFactory(email="a09@example.com"))
    confirmed(call, "a09@example.com", role="researcher", consent=True)
    Submission.objects.filter(call=call).update(screening=Submission.Screening.QUALIFIED)
    Submission.objects.filter(call=call, email__in=DISQUALIFIED).update(
        screening=Submission.Screening.DISQUALIFIED
    )
    panel.refresh(team=team)

    drawn = draws.draw_sample(team=team, actor=owner, call=call, size=12, seed="x")

    emails = {p.email for p in picked(drawn)}
    assert not emails & {"a00@example.com", "a09@example.com"}
    assert any(not p.consent for p in picked(drawn))  # others without consent are drawn
    assert sum(drawn.skipped.values()) == 2
    # Nor can the invitations flow reach them from the draw's picks.
    preview = invitation_service.preview(
        event=event, session=None, rows=rows("a00@example.com", "a09@example.com")
    )
    assert [line for line, _email, _why in preview.refused] == [1, 2]


def test_the_same_seed_picks_the_same_people_and_a_rerun_keeps_the_quotas_of_then(
    team, owner, call, applicants
):
    quota(call, "role", Bound.AT_LEAST, 60, "researcher")
    first = draws.draw_sample(team=team, actor=owner, call=call, size=4, seed="fixed")
    again = draws.draw_sample(team=team, actor=owner, call=call, size=4, seed="fixed")
    CallQuota.objects.all().delete()

    rerun = draws.rerun(draw=first, actor=owner)

    assert again.picked == first.picked
    assert rerun.picked == first.picked
    assert rerun.call == call
    assert rerun.rules["call"] == first.rules["call"]


def test_the_organizers_rules_are_added_to_the_quotas(team, owner, call, applicants):
    quota(call, "role", Bound.AT_LEAST, 50, "researcher")

    drawn = draws.draw_sample(
        team=team,
        actor=owner,
        call=call,
        size=4,
        seed="s",
        caps=[{"field": "affiliation", "count": 1}],
    )

    assert drawn.rules["minimums"] == [{"field": "role", "value": "researcher", "share": 50}]
    assert drawn.rules["caps"] == [{"field": "affiliation", "count": 1}]
    assert sum(p.affiliation == "ACME" for p in picked(drawn)) <= 1


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"minimums": [{"field": "role", "value": "researcher", "share": 30}]},
            "already set a minimum for role “researcher”",
        ),
        (
            {"minimums": [{"field": "role", "value": "developer", "share": 60}]},
            "add up to more than 100%",
        ),
        ({"caps": [{"field": "affiliation", "share": 10}]}, "already cap affiliation"),
    ],
)
def test_a_rule_that_clashes_with_the_quotas_is_refused_and_nothing_is_written(
    team, owner, call, applicants, rules, message
):
    quota(call, "role", Bound.AT_LEAST, 50, "researcher")
    quota(call, "affiliation", Bound.AT_MOST, 40)

    with pytest.raises(ServiceError, match=message):
        draws.draw_sample(team=team, actor=owner, call=call, size=4, **rules)
    assert not Draw.objects.exists()


def test_quotas_that_contradict_at_this_size_are_refused(team, owner, call, applicants):
    quota(call, "affiliation", Bound.AT_LEAST, 60, "acme")
    quota(call, "affiliation", Bound.AT_MOST, 20, "acme")

    with pytest.raises(ServiceError, match="contradict"):
        draws.draw_sample(team=team, actor=owner, call=call, size=5)
    assert not Draw.objects.exists()


def test_another_teams_call_is_refused(team, owner, other_team, call, applicants):
    add_to_team(other_team, owner, role="organizer")
    with pytest.raises(ServiceError, match="not one of the team's"):
        draws.draw_sample(team=other_team, actor=owner, call=call, size=2)
    assert not Draw.objects.exists()


def test_only_those_still_qualified_are_handed_to_the_invitation(team, owner, call, applicants):
    drawn = draws.draw_sample(team=team, actor=owner, call=call, size=12, seed="x")
    people = draws.picked_people(drawn)
    later = people[0]
    Submission.objects.filter(call=call, email=later.email).update(
        screening=Submission.Screening.DISQUALIFIED
    )

    rows = draws.invite_rows(people, call=call)

    assert len(rows) == 9
    assert later.email not in {email for email, _ in rows}
    assert any(not p.consent for p in people if p.email in {e for e, _ in rows})


# Pages --------------------------------------------------------------------------------


def test_the_call_page_offers_the_draw_to_owners_and_organizers_only(team, owner, call, client_for):
    url = reverse("manage:call", args=[call.pk])
    draw_url = reverse("manage:call_draw", args=[call.pk])
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")

    assert draw_url in client_for(owner).get(url).content.decode()
    assert draw_url not in client_for(reviewer).get(url).content.decode()
    assert client_for(reviewer).get(draw_url).status_code == 404


def test_an_organizer_draws_from_the_call_and_the_draw_says_which_call_and_quotas(
    team, owner, call, applicants, client_for
):
    quota(call, "role", Bound.AT_LEAST, 50, "researcher")
    client = client_for(owner)
    url = reverse("manage:call_draw", args=[call.pk])

    form = client.get(url).content.decode()
    response = client.post(url, {"size": "4", "seed": "s1"})
    drawn = Draw.objects.get()
    page = client.get(reverse("manage:draw", args=[drawn.pk])).content.decode()

    said = f"From call “{call.title}” (its quotas: at least 50% with role “researcher”)"
    assert said in form
    assert response.status_code == 302
    assert len(drawn.picked) == 4
    assert f"“{call.title}”</a> (its quotas: at least 50% with role “researcher”)" in page


def test_bad_input_on_the_call_draw_is_a_400_and_nothing_is_written(
    team, owner, call, applicants, client_for
):
    quota(call, "role", Bound.AT_LEAST, 50, "researcher")
    response = client_for(owner).post(
        reverse("manage:call_draw", args=[call.pk]),
        {"size": "4", "m-0-field": "role", "m-0-value": "researcher", "m-0-share": "20"},
    )

    assert response.status_code == 400
    assert "already set a minimum for role “researcher”" in response.content.decode()
    assert not Draw.objects.exists()
