"""Who may open the team pages: (anonymous, other user, member of another team, door staff,
reviewer, organizer, owner) x every team URL x GET and POST. Only owners reach the team
page and its changes; any member may leave; creating a team follows TEAM_CREATION. A POST
by anyone who may not changes nothing.

(The site-wide access table, tests/test_access_table.py, lists these URLs too once it knows
teams; the join link is a token URL, tested in test_views.py.)"""

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Membership, Team, TeamHistory, TeamInvitation
from events.services import teams
from tests.factories import TeamFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "other_user", "other_team", "door", "reviewer", "organizer", "owner")
LOGIN, OK = "login", "ok"


def only(*allowed: str) -> dict[str, object]:
    """Logged-in roles not `allowed` get a 404; the anonymous visitor, the login page."""
    return {
        role: LOGIN if role == "anonymous" else OK if role in allowed else 404 for role in ROLES
    }


OWNERS = only("owner")
MEMBERS = only("door", "reviewer", "organizer", "owner")
# TEAM_CREATION "open": every verified user (all test users are verified).
ANYONE = only("other_user", "other_team", "door", "reviewer", "organizer", "owner")


def build_world() -> SimpleNamespace:
    owner = UserFactory()
    team = TeamFactory(owner=owner, slug="crew")
    w = SimpleNamespace(team=team, owner=owner, other_user=UserFactory())
    for role in ("door", "reviewer", "organizer"):
        setattr(w, role, UserFactory())
        add_to_team(team, getattr(w, role), role=role)
    w.other_team = UserFactory()
    TeamFactory(owner=w.other_team)
    w.target = add_to_team(team, UserFactory(email="target@example.com"), role="reviewer")
    w.invitation = teams.invite_member(
        team=team, actor=owner, email="invitee@example.com", role="door"
    )
    return w


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    args: Callable[[SimpleNamespace], list]
    family: dict[str, object]
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.name}-{self.method}"


def slug(w):
    return [w.team.slug]


CASES = [
    Case("manage:team", "GET", slug, OWNERS),
    Case("manage:team", "POST", slug, only()),  # GET only: a 405 for everyone, checked below
    Case(
        "manage:team_settings",
        "POST",
        slug,
        OWNERS,
        {"settings-name": "Hijacked", "settings-timezone": "UTC", "settings-language": "en"},
    ),
    Case(
        "manage:team_invite",
        "POST",
        slug,
        OWNERS,
        {"invite-email": "new@example.com", "invite-role": "owner"},
    ),
    Case(
        "manage:member_role",
        "POST",
        lambda w: [w.team.slug, w.target.pk],
        OWNERS,
        {"role": "owner"},
    ),
    Case("manage:member_remove", "POST", lambda w: [w.team.slug, w.target.pk], OWNERS),
    Case(
        "manage:team_invitation_resend",
        "POST",
        lambda w: [w.team.slug, w.invitation.pk],
        OWNERS,
    ),
    Case(
        "manage:team_invitation_revoke",
        "POST",
        lambda w: [w.team.slug, w.invitation.pk],
        OWNERS,
    ),
    Case("manage:team_delete", "POST", slug, OWNERS, {"confirm": "crew"}),
    Case("manage:team_leave", "GET", slug, MEMBERS),
    Case("manage:team_leave", "POST", slug, MEMBERS),
    Case("manage:team_create", "GET", lambda w: [], ANYONE),
]


def snapshot(w) -> dict:
    return {
        "teams": list(Team.objects.order_by("pk").values()),
        "members": sorted(Membership.objects.values_list("team_id", "user_id", "role")),
        "invitations": list(TeamInvitation.objects.order_by("pk").values()),
        "history": TeamHistory.objects.count(),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_access(case: Case, role: str, settings) -> None:
    settings.TEAM_CREATION = "open"
    w = build_world()
    client = Client()
    if role != "anonymous":
        client.force_login(getattr(w, role))
    url = reverse(case.name, args=case.args(w))
    before = snapshot(w)
    response = client.get(url) if case.method == "GET" else client.post(url, case.data)
    expected = case.family[role]
    if case.name == "manage:team" and case.method == "POST":
        assert response.status_code in {302, 404, 405}
        assert snapshot(w) == before
        return
    if expected == LOGIN:
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == reverse("account_login")
    elif expected == OK:
        assert response.status_code in ({200} if case.method == "GET" else {200, 302, 400})
    else:
        assert response.status_code == expected
    if case.method == "POST" and expected != OK:
        assert snapshot(w) == before, f"{role} changed something through {case}"


def test_staff_who_are_in_no_team_may_manage_any_team(client_for) -> None:
    w = build_world()
    staff = UserFactory(is_staff=True)
    assert client_for(staff).get(reverse("manage:team", args=[w.team.slug])).status_code == 200


def test_a_member_removed_loses_the_team_page_on_their_next_request(client_for) -> None:
    w = build_world()
    second = UserFactory()
    membership = add_to_team(w.team, second, role="owner")
    client = client_for(second)
    url = reverse("manage:team", args=[w.team.slug])
    assert client.get(url).status_code == 200
    teams.remove_member(team=w.team, actor=w.owner, membership=membership)
    assert client.get(url).status_code == 404
