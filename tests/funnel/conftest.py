"""A small world a research-operations lead could check by hand: one team, two open calls,
nine people at every step of the first call's funnel (and a tenth in the second call only),
their panel rows built by services.panel from their submissions (with the history that
invitations, attendance and surveys would have left in them), and a segment of the
researchers among them.

Call "expect", person by person (S = screening, then the panel's history):

    ann  submitted, never confirmed
    bob  confirmed, disqualified (researcher; qualified in the second call)
    cat  confirmed, not scored yet
    dan  qualified, no history
    eve  qualified, invited once, accepted none (researcher)
    fay  qualified, invited twice, accepted one, did not attend
    gus  qualified, invited, accepted, attended, no survey (researcher)
    hal  qualified, invited, accepted, attended, answered a survey (researcher)
    ivy  qualified, never invited, yet attended and answered a survey (signed up herself)

so: submitted 9, confirmed 8, qualified 6, invited 4, accepted 3, attended 2, answered 1.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import OpenCall, PanelMember, Segment, Submission, Team
from events.services import open_calls
from events.services import panel as panel_service
from tests.factories import OpenCallFactory, OrganizerFactory, PanelMemberFactory, team_of

QUALIFIED, DISQUALIFIED = "qualified", "disqualified"


def submit(call: OpenCall, email: str, *, screening: str | None = None) -> Submission:
    """Someone who sent the call's form; with a screening verdict ("" for not scored yet),
    they confirmed their address too."""
    sent = open_calls.submit(
        call=call, email=email, profile={"name": email.split("@")[0].title()}, answers={}
    )
    if screening is not None:
        if not sent.confirmed:
            open_calls.confirm(submission=sent.submission, nonce=sent.submission.nonce)
        # The verdict as services.call_screening leaves it.
        Submission.objects.filter(pk=sent.submission.pk).update(screening=screening)
    return Submission.objects.get(pk=sent.submission.pk)


# Each person's history with the team, as invitations, registrations and surveys would have
# left it in their panel row (the submissions are real; these sources are not).
HISTORY = {
    "bob@x.org": {"role": "researcher"},
    "eve@x.org": {"role": "researcher", "invitations": 1},
    "fay@x.org": {"invitations": 2, "invitations_accepted": 1, "invitations_declined": 1},
    "gus@x.org": {"role": "researcher", "invitations": 1, "invitations_accepted": 1, "attended": 1},
    "hal@x.org": {
        "role": "researcher",
        "invitations": 1,
        "invitations_accepted": 1,
        "attended": 2,
        "surveys_answered": 1,
    },
    "ivy@x.org": {"registrations": 2, "attended": 2, "surveys_answered": 1},
}


def refresh_panel(team: Team) -> None:
    """The team's panel rebuilt from the submissions (services.panel), then each person's
    history put back. Everyone in it agreed to be contacted, so segments see them."""
    panel_service.refresh(team=team)
    PanelMember.objects.filter(team=team).update(consent=True)
    for email, fields in HISTORY.items():
        PanelMember.objects.filter(team=team, email=email).update(**fields)


def make_call(owner, team: Team, slug: str) -> OpenCall:
    call = OpenCallFactory(organizer=owner, team=team, title=f"Call {slug}", slug=slug)
    return open_calls.set_status(call=call, actor=owner, published=True)


@pytest.fixture
def owner(db):
    return OrganizerFactory()


@pytest.fixture
def team(owner) -> Team:
    team = team_of(owner)
    Team.objects.filter(pk=team.pk).update(panel_refreshed_at=timezone.now() - timedelta(minutes=1))
    team.refresh_from_db()
    return team


@pytest.fixture
def call(owner, team) -> OpenCall:
    return make_call(owner, team, "expect")


@pytest.fixture
def world(owner, team, call):
    submit(call, "ann@x.org")
    for email, screening in [
        ("bob@x.org", DISQUALIFIED),
        ("cat@x.org", ""),
        ("dan@x.org", QUALIFIED),
        ("eve@x.org", QUALIFIED),
        ("fay@x.org", QUALIFIED),
        ("gus@x.org", QUALIFIED),
        ("hal@x.org", QUALIFIED),
        ("ivy@x.org", QUALIFIED),
    ]:
        submit(call, email, screening=screening)
    refresh_panel(team)
    # Known to the panel through an event only: in no call's funnel.
    PanelMemberFactory(
        team=team,
        email="kim@x.org",
        consent=False,
        registrations=1,
        attended=1,
        surveys_answered=1,
    )
    researchers = Segment.objects.create(
        team=team,
        name="Researchers",
        definition=[{"field": "role", "op": "in", "value": ["researcher"]}],
    )
    return researchers
