"""The team pages: owners only (404 for everyone else), every change a CSRF-protected POST,
bad input a 400 with its message and nothing changed; and the join link's page."""

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from events.models import Membership, Notification, Team, TeamHistory, TeamInvitation
from events.services import teams
from tests.factories import (
    PASSWORD,
    EventFactory,
    OpenCallFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(email="olga@example.com", display_name="Olga", timezone="Asia/Tokyo")


@pytest.fixture
def team(owner):
    return TeamFactory(name="Model Launch", slug="model-launch", owner=owner)


def page(team):
    return reverse("manage:team", args=[team.slug])


def text(response) -> str:
    """The page's words as a person reads them: no tags, entities decoded (a <wbr>, where an
    email address may wrap, is no space)."""
    words = re.sub(r"<wbr>", "", response.content.decode())
    words = re.sub(r"<[^>]+>", " ", words)
    return re.sub(r"\s+", " ", html.unescape(words))


def test_the_owner_sees_members_with_their_roles_invitations_history_and_the_teams_work(
    team, owner, client_for
):
    add_to_team(team, UserFactory(email="rita@example.com"), role="reviewer")
    teams.invite_member(team=team, actor=owner, email="dana@example.com", role="door")
    event = EventFactory(team=team, title="Prototype demo night")
    call = OpenCallFactory(organizer=owner, title="Tell us what you expect")

    response = client_for(owner).get(page(team))

    assert response.status_code == 200
    body = text(response)
    assert "rita@example.com" in body and "Reviewer" in body
    assert "Reads open-call submissions and the pool" in body  # the role's one line
    assert "dana@example.com" in body and "Send again" in body and "Revoke" in body
    assert "Olga invited dana@example.com as door staff" in body
    assert reverse("manage:event", args=[event.pk]) in response.content.decode()
    assert reverse("manage:call", args=[call.pk]) in response.content.decode()
    # Times in the viewer's zone (Tokyo), not UTC.
    assert "JST" in body


@pytest.mark.parametrize("role", ["organizer", "reviewer", "door"])
def test_members_who_are_not_owners_get_a_404_on_the_team_page_and_its_posts(
    team, client_for, role
):
    member = UserFactory()
    add_to_team(team, member, role=role)
    client = client_for(member)
    assert client.get(page(team)).status_code == 404
    target = Membership.objects.get(team=team, role="owner")
    posts = [
        reverse("manage:team_invite", args=[team.slug]),
        reverse("manage:team_settings", args=[team.slug]),
        reverse("manage:member_role", args=[team.slug, target.pk]),
        reverse("manage:member_remove", args=[team.slug, target.pk]),
        reverse("manage:team_delete", args=[team.slug]),
    ]
    for url in posts:
        response = client.post(
            url, {"invite-email": "x@example.com", "invite-role": "owner", "role": "door"}
        )
        assert response.status_code == 404, url
    assert Membership.objects.get(pk=target.pk).role == "owner"
    assert not TeamInvitation.objects.exists()


def test_an_owner_of_another_team_and_anonymous_visitors_get_nothing(team, client_for):
    stranger = UserFactory()
    TeamFactory(owner=stranger)
    assert client_for(stranger).get(page(team)).status_code == 404
    response = Client().get(page(team))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_posts_are_csrf_protected(team, owner):
    client = Client(enforce_csrf_checks=True)
    client.login(email=owner.email, password=PASSWORD)
    response = client.post(
        reverse("manage:team_invite", args=[team.slug]),
        {"invite-email": "dana@example.com", "invite-role": "door"},
    )
    assert response.status_code == 403
    assert not TeamInvitation.objects.exists()
    assert 'name="csrfmiddlewaretoken"' in client.get(page(team)).content.decode()


def test_the_owner_invites_someone_and_the_mail_is_owed(team, owner, client_for):
    response = client_for(owner).post(
        reverse("manage:team_invite", args=[team.slug]),
        {"invite-email": "dana@example.com", "invite-role": "door"},
        follow=True,
    )
    assert "Invitation sent to dana@example.com as door staff" in text(response)
    invitation = TeamInvitation.objects.get(team=team)
    assert Notification.objects.filter(team_invitation=invitation).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"invite-email": "not an address", "invite-role": "door"}, "Enter a valid email"),
        ({"invite-email": "dana@example.com", "invite-role": "boss"}, "Select a valid choice"),
        ({"invite-email": "olga@example.com", "invite-role": "door"}, "already in the team"),
    ],
)
def test_a_bad_invitation_is_a_400_with_its_message_and_nothing_is_sent(
    team, owner, client_for, data, message
):
    response = client_for(owner).post(reverse("manage:team_invite", args=[team.slug]), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not TeamInvitation.objects.exists()
    assert not Notification.objects.exists()


def test_demoting_the_last_owner_on_the_page_is_a_400_with_its_message(team, owner, client_for):
    mine = Membership.objects.get(team=team, user=owner)
    response = client_for(owner).post(
        reverse("manage:member_role", args=[team.slug, mine.pk]), {"role": "organizer"}
    )
    assert response.status_code == 400
    assert "A team needs at least one owner" in text(response)
    assert Membership.objects.get(pk=mine.pk).role == "owner"


def test_removing_the_last_owner_on_the_page_is_a_400(team, owner, client_for):
    mine = Membership.objects.get(team=team, user=owner)
    response = client_for(owner).post(reverse("manage:member_remove", args=[team.slug, mine.pk]))
    assert response.status_code == 400
    assert "A team needs at least one owner" in text(response)
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_the_owner_changes_a_role_and_removes_a_member(team, owner, client_for):
    sam = add_to_team(team, UserFactory(email="sam@example.com"), role="reviewer")
    client = client_for(owner)
    client.post(reverse("manage:member_role", args=[team.slug, sam.pk]), {"role": "door"})
    assert Membership.objects.get(pk=sam.pk).role == "door"
    response = client.post(reverse("manage:member_remove", args=[team.slug, sam.pk]), follow=True)
    assert "sam@example.com is no longer in the team" in text(response)
    assert not Membership.objects.filter(pk=sam.pk).exists()


def test_a_member_of_another_team_cannot_be_changed_through_this_one(team, owner, client_for):
    other = TeamFactory()
    theirs = Membership.objects.get(team=other)
    response = client_for(owner).post(
        reverse("manage:member_role", args=[team.slug, theirs.pk]), {"role": "door"}
    )
    assert response.status_code == 404
    assert Membership.objects.get(pk=theirs.pk).role == "owner"


def test_a_member_leaves_from_the_leave_page_but_the_last_owner_cannot(team, owner, client_for):
    door = UserFactory()
    add_to_team(team, door, role="door")
    leave = reverse("manage:team_leave", args=[team.slug])
    client = client_for(door)
    assert "Leave Model Launch?" in text(client.get(leave))
    client.post(leave)
    assert not Membership.objects.filter(team=team, user=door).exists()

    response = client_for(owner).post(leave)
    assert response.status_code == 400
    assert "A team needs at least one owner" in text(response)


def test_pending_invitations_are_sent_again_or_revoked_from_the_page(team, owner, client_for):
    invitation = teams.invite_member(team=team, actor=owner, email="dana@example.com", role="door")
    client = client_for(owner)
    old_nonce = invitation.nonce
    client.post(reverse("manage:team_invitation_resend", args=[team.slug, invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.nonce != old_nonce
    assert Notification.objects.filter(team_invitation=invitation).count() == 2
    client.post(reverse("manage:team_invitation_revoke", args=[team.slug, invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    response = client.post(
        reverse("manage:team_invitation_resend", args=[team.slug, invitation.pk])
    )
    assert response.status_code == 400 and "revoked" in text(response)


def test_settings_are_saved_and_a_bad_zone_is_a_400(team, owner, client_for):
    url = reverse("manage:team_settings", args=[team.slug])
    client = client_for(owner)
    data = {
        "settings-name": "Model Launch",
        "settings-slug": "launch",
        "settings-timezone": "Europe/Paris",
        "settings-language": "fr",
        "settings-reviewers_may_export": "on",
    }
    response = client.post(url, {**data, "settings-timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert Team.objects.get(pk=team.pk).timezone == "Europe/Berlin"
    response = client.post(url, data)
    assert response["Location"] == reverse("manage:team", args=["launch"])
    team.refresh_from_db()
    assert (team.slug, team.timezone, team.language, team.reviewers_may_export) == (
        "launch",
        "Europe/Paris",
        "fr",
        True,
    )


def test_a_team_with_an_event_is_not_deleted_and_an_empty_one_is(team, owner, client_for):
    client = client_for(owner)
    url = reverse("manage:team_delete", args=[team.slug])
    event = EventFactory(team=team)
    response = client.post(url, {"confirm": team.slug})
    assert response.status_code == 400 and "still has events" in text(response)
    event.delete()
    response = client.post(url, {"confirm": "wrong"})
    assert response.status_code == 400 and "type its short name" in text(response)
    client.post(url, {"confirm": team.slug})
    assert not Team.objects.filter(pk=team.pk).exists()


def test_the_team_page_makes_as_many_queries_for_fifty_members_as_for_five(
    owner, client_for, django_assert_max_num_queries
):
    def team_with(n: int) -> Team:
        team = TeamFactory(owner=owner)
        for i in range(n - 1):
            add_to_team(team, UserFactory(), role=["organizer", "reviewer", "door"][i % 3])
            teams.invite_member(
                team=team, actor=owner, email=f"invitee{i}-{n}@example.com", role="door"
            )
            EventFactory(team=team)
        return team

    small, large = team_with(5), team_with(50)
    client = client_for(owner)
    client.get(page(small))  # warm the session and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as counted:
        assert client.get(page(small)).status_code == 200
    with django_assert_max_num_queries(len(counted)):
        response = client.get(page(large))
    assert response.status_code == 200
    assert response.content.decode().count('name="role"') == 50


# Creating a team


def test_a_verified_user_creates_a_team_when_creation_is_open(settings, client_for):
    settings.TEAM_CREATION = "open"
    ann = UserFactory()
    client = client_for(ann)
    assert client.get(reverse("manage:team_create")).status_code == 200
    response = client.post(
        reverse("manage:team_create"),
        {"name": "Launch Crew", "slug": "", "timezone": "Europe/Paris", "language": "en"},
    )
    team = Team.objects.get(slug="launch-crew")
    assert response["Location"] == reverse("manage:team", args=["launch-crew"])
    assert Membership.objects.get(team=team).user == ann


def test_a_taken_short_name_is_a_400_with_its_message(settings, client_for):
    settings.TEAM_CREATION = "open"
    TeamFactory(slug="launch-crew")
    response = client_for(UserFactory()).post(
        reverse("manage:team_create"),
        {"name": "Launch Crew", "slug": "", "timezone": "UTC", "language": "en"},
    )
    assert response.status_code == 400
    assert "The short name launch-crew is taken" in text(response)
    assert Team.objects.count() == 1


@pytest.mark.parametrize(
    ("setting", "staff", "verified", "status"),
    [("staff", False, True, 404), ("open", False, False, 404), ("staff", True, True, 200)],
)
def test_who_may_open_the_new_team_page(settings, client_for, setting, staff, verified, status):
    settings.TEAM_CREATION = setting
    user = UserFactory(is_staff=staff, verified=verified)
    assert client_for(user).get(reverse("manage:team_create")).status_code == status


def test_the_profile_links_to_creating_a_team_only_when_allowed(settings, client_for):
    client = client_for(UserFactory())
    settings.TEAM_CREATION = "open"
    assert reverse("manage:team_create") in client.get("/accounts/profile/").content.decode()
    settings.TEAM_CREATION = "staff"
    assert reverse("manage:team_create") not in client.get("/accounts/profile/").content.decode()


# The join link


def join_url(invitation) -> str:
    return reverse("events:team_join", args=[teams.join_token(invitation)])


@pytest.fixture
def invitation(team, owner):
    return teams.invite_member(team=team, actor=owner, email="dana@example.com", role="door")


def test_opening_the_link_shows_the_invitation_and_joins_nobody(invitation, client_for):
    dana = UserFactory(email="dana@example.com")
    response = client_for(dana).get(join_url(invitation))
    assert response.status_code == 200
    body = text(response)
    assert "Join Model Launch" in body and "Door staff" in body
    assert "Checks people in at the team's sessions" in body
    assert not Membership.objects.filter(user=dana).exists()


def test_an_anonymous_visitor_gets_log_in_and_sign_up_links_that_come_back(invitation):
    url = join_url(invitation)
    body = Client().get(url).content.decode()
    assert f"/accounts/login/?{urlencode({'next': url})}" in body
    assert "/accounts/signup/?email=dana%40example.com&amp;next=" in body
    response = Client().post(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not TeamHistory.objects.filter(action="joined").exists()


def test_the_invited_person_joins_with_one_post(invitation, client_for):
    dana = UserFactory(email="dana@example.com")
    response = client_for(dana).post(join_url(invitation))
    assert response["Location"] == reverse("manage:team_dashboard", args=["model-launch"])
    assert Membership.objects.get(user=dana).role == "door"


def test_the_wrong_account_gets_a_clear_403_and_nothing_changes(invitation, client_for):
    eve = UserFactory(email="eve@example.com")
    client = client_for(eve)
    assert "You are logged in as eve@example.com" in text(client.get(join_url(invitation)))
    response = client.post(join_url(invitation))
    assert response.status_code == 403
    assert "sent to dana@example.com" in text(response)
    assert not Membership.objects.filter(user=eve).exists()


def test_a_used_expired_or_revoked_link_is_a_410_page(team, owner, invitation, client_for):
    dana = UserFactory(email="dana@example.com")
    client = client_for(dana)
    url = join_url(invitation)
    client.post(url)
    response = client.post(url)
    assert response.status_code == 410 and "used already" in text(response)

    late = teams.invite_member(team=team, actor=owner, email="late@example.com", role="door")
    TeamInvitation.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(1))
    assert "expired" in text(Client().get(join_url(late)))

    gone = teams.invite_member(team=team, actor=owner, email="gone@example.com", role="door")
    url = join_url(gone)
    teams.revoke_invitation(team=team, actor=owner, invitation=gone)
    response = client_for(UserFactory(email="gone@example.com")).post(url)
    assert response.status_code == 410 and "withdrew" in text(response)
    assert Membership.objects.filter(team=team).count() == 2


def test_a_tampered_link_is_a_404_page(invitation):
    response = Client().get(join_url(invitation)[:-3] + "xx/")
    assert response.status_code == 404
    assert "This join link is not valid" in text(response)


def test_an_owner_who_makes_themselves_organizer_goes_back_to_the_dashboard(
    team, owner, client_for
):
    add_to_team(team, UserFactory(), role="owner")
    mine = Membership.objects.get(team=team, user=owner)
    client = client_for(owner)
    response = client.post(
        reverse("manage:member_role", args=[team.slug, mine.pk]), {"role": "organizer"}
    )
    assert response["Location"] == reverse("manage:dashboard")
    assert client.get(page(team)).status_code == 404


def test_a_flood_of_invitations_is_stopped_with_a_429(team, owner, client_for, monkeypatch):
    import events.ratelimit

    monkeypatch.setattr(events.ratelimit, "now", lambda: 1_800_000_010.0)  # one window
    client = client_for(owner)
    url = reverse("manage:team_invite", args=[team.slug])
    statuses = [
        client.post(url, {"invite-email": f"p{n}@example.com", "invite-role": "door"}).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [302] * 30
    assert statuses[30] == 429
    assert TeamInvitation.objects.count() == 30
