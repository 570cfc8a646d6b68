"""Joining a team by email: the invitation, its mail through the outbox, and the join link
(signed, expiring, single use, revocable, for the invited and verified address only)."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.utils import timezone

from events.models import Membership, Notification, TeamHistory, TeamInvitation
from events.outbox import rendering
from events.services import ServiceError, teams
from tests.factories import TeamFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db

History = TeamHistory.Action
# A well-formed address longer than an address may be (254 characters).
LONG = "d" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"


@pytest.fixture
def owner():
    return UserFactory(email="olga@example.com", display_name="Olga")


@pytest.fixture
def team(owner):
    return TeamFactory(name="Model Launch", owner=owner)


def invite(team, owner, email="dana@example.com", role="door"):
    return teams.invite_member(team=team, actor=owner, email=email, role=role)


def token(invitation) -> str:
    return teams.join_token(invitation)


def snapshot(team):
    """What a refused change must leave as it was."""
    return (
        sorted(Membership.objects.filter(team=team).values_list("user__email", "role")),
        sorted(
            TeamInvitation.objects.filter(team=team).values_list(
                "email", "nonce", "accepted_at", "revoked_at"
            )
        ),
        TeamHistory.objects.filter(team=team).count(),
        Notification.objects.count(),
    )


def test_inviting_someone_owes_one_mail_with_the_team_and_the_join_link(
    team, owner, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(team, owner)

    [mail] = Notification.objects.filter(kind=Notification.Kind.TEAM_INVITATION)
    assert mail.email == "dana@example.com"
    assert mail.team_invitation == invitation
    assert enqueued == [mail.pk]
    message = rendering.build(mail)
    link = f"/join/{teams.join_token(invitation)}/"
    assert "Model Launch" in message.subject
    assert "door staff" in message.subject
    assert link in message.body
    assert "Checks people in at the team's sessions" in message.body
    assert "Olga" in message.body
    html = message.alternatives[0][0]
    assert link in html and "Model Launch" in html
    entry = TeamHistory.objects.get(team=team, action=History.INVITED)
    assert (entry.actor, entry.subject_email, entry.role) == (owner, "dana@example.com", "door")


@pytest.mark.parametrize("email", ["not an address", "dana@", "", "dana@example.com\x00", LONG])
def test_an_address_that_is_not_one_is_refused_and_nothing_is_written(team, owner, email):
    before = snapshot(team)
    with pytest.raises(ServiceError, match="is not an email address"):
        invite(team, owner, email=email)
    assert snapshot(team) == before


def test_an_unknown_role_is_refused(team, owner):
    before = snapshot(team)
    with pytest.raises(ServiceError, match="Choose one of the roles"):
        invite(team, owner, role="admin")
    assert snapshot(team) == before


def test_someone_already_in_the_team_is_not_invited_again(team, owner):
    member = UserFactory(email="Sam@Example.com")
    add_to_team(team, member, role="reviewer")
    before = snapshot(team)
    with pytest.raises(ServiceError, match=r"sam@example\.com is already in the team"):
        invite(team, owner, email="sam@example.com")
    assert snapshot(team) == before


def test_a_second_invitation_to_an_address_with_one_open_is_refused(team, owner):
    invite(team, owner)
    before = snapshot(team)
    with pytest.raises(ServiceError, match="has an invitation already"):
        invite(team, owner, email="DANA@example.com", role="organizer")
    assert snapshot(team) == before


def test_an_expired_invitation_does_not_block_a_new_one(team, owner):
    old = invite(team, owner)
    TeamInvitation.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    assert invite(team, owner).pk != old.pk


def test_the_invited_verified_person_joins_with_the_role_once(team, owner):
    invitation = invite(team, owner)
    dana = UserFactory(email="dana@example.com")

    membership = teams.accept_invitation(token=token(invitation), user=dana)

    assert (membership.team, membership.user, membership.role) == (team, dana, "door")
    invitation.refresh_from_db()
    assert invitation.accepted_by == dana and invitation.accepted_at is not None
    joined = TeamHistory.objects.get(team=team, action=History.JOINED)
    assert (joined.actor, joined.subject_email, joined.role) == (dana, "dana@example.com", "door")


def test_a_used_link_does_not_work_twice(team, owner):
    invitation = invite(team, owner)
    dana = UserFactory(email="dana@example.com")
    teams.accept_invitation(token=token(invitation), user=dana)
    before = snapshot(team)
    with pytest.raises(ServiceError, match="used already"):
        teams.accept_invitation(token=token(invitation), user=dana)
    assert snapshot(team) == before


def test_an_expired_link_is_refused(team, owner):
    invitation = invite(team, owner)
    TeamInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    dana = UserFactory(email="dana@example.com")
    before = snapshot(team)
    with pytest.raises(ServiceError, match="expired"):
        teams.accept_invitation(token=token(invitation), user=dana)
    assert snapshot(team) == before


def test_a_revoked_link_is_refused_and_its_mail_goes_stale(team, owner):
    invitation = invite(team, owner)
    teams.revoke_invitation(team=team, actor=owner, invitation=invitation)
    dana = UserFactory(email="dana@example.com")
    before = snapshot(team)
    with pytest.raises(ServiceError, match="withdrew this invitation"):
        teams.accept_invitation(token=token(invitation), user=dana)
    assert snapshot(team) == before
    mail = Notification.objects.get(team_invitation=invitation)
    from events.outbox.registry import kinds

    assert "withdrew" in kinds.get(mail.kind).still_relevant(mail)
    assert TeamHistory.objects.filter(team=team, action=History.INVITATION_REVOKED).count() == 1


def test_revoking_twice_or_after_joining_is_refused(team, owner):
    invitation = invite(team, owner)
    teams.accept_invitation(token=token(invitation), user=UserFactory(email="dana@example.com"))
    with pytest.raises(ServiceError, match="has joined already"):
        teams.revoke_invitation(team=team, actor=owner, invitation=invitation)
    other = invite(team, owner, email="eve@example.com")
    teams.revoke_invitation(team=team, actor=owner, invitation=other)
    with pytest.raises(ServiceError, match="revoked already"):
        teams.revoke_invitation(team=team, actor=owner, invitation=other)


@pytest.mark.parametrize(
    "tampered",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: signing.Signer(salt="another.salt").sign_object({"t": 1, "n": "x"}),
        lambda t: "not-a-token",
        lambda t: signing.Signer(salt=teams.JOIN_SALT).sign_object({"t": "one", "n": "x"}),
    ],
)
def test_a_tampered_link_is_refused(team, owner, tampered):
    invitation = invite(team, owner)
    dana = UserFactory(email="dana@example.com")
    before = snapshot(team)
    with pytest.raises(ServiceError, match="not valid"):
        teams.accept_invitation(token=tampered(token(invitation)), user=dana)
    assert snapshot(team) == before


def test_the_wrong_account_cannot_join_and_nothing_changes(team, owner):
    invitation = invite(team, owner)
    eve = UserFactory(email="eve@example.com")
    before = snapshot(team)
    with pytest.raises(ServiceError, match=r"sent to dana@example\.com.*logged in as eve"):
        teams.accept_invitation(token=token(invitation), user=eve)
    assert snapshot(team) == before


def test_an_unverified_invited_address_cannot_join(team, owner):
    invitation = invite(team, owner)
    dana = UserFactory(email="dana@example.com", verified=False)
    with pytest.raises(ServiceError, match="verify it"):
        teams.accept_invitation(token=token(invitation), user=dana)
    assert not Membership.objects.filter(user=dana).exists()


def test_a_second_verified_address_of_the_account_may_join(team, owner):
    invitation = invite(team, owner, email="dana.work@example.com")
    dana = UserFactory(email="dana@example.com")
    EmailAddress.objects.create(user=dana, email="dana.work@example.com", verified=True)
    teams.accept_invitation(token=token(invitation), user=dana)
    assert Membership.objects.filter(team=team, user=dana, role="door").exists()


def test_resending_kills_the_old_link_and_owes_a_new_mail(team, owner):
    invitation = invite(team, owner)
    old_token, old_expiry = token(invitation), invitation.expires_at
    first = Notification.objects.get(team_invitation=invitation)

    resent = teams.resend_invitation(team=team, actor=owner, invitation=invitation)

    assert resent.expires_at > old_expiry
    dana = UserFactory(email="dana@example.com")
    with pytest.raises(ServiceError, match="only the link in the latest email works"):
        teams.accept_invitation(token=old_token, user=dana)
    from events.outbox.registry import kinds

    assert "latest email" in kinds.get(first.kind).still_relevant(first)
    second = Notification.objects.exclude(pk=first.pk).get(team_invitation=invitation)
    assert f"/join/{teams.join_token(resent)}/" in rendering.build(second).body
    teams.accept_invitation(token=teams.join_token(resent), user=dana)
    assert TeamHistory.objects.filter(team=team, action=History.INVITATION_RESENT).count() == 1


def test_an_expired_invitation_may_be_sent_again_and_then_works(team, owner):
    invitation = invite(team, owner)
    TeamInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    invitation.refresh_from_db()
    resent = teams.resend_invitation(team=team, actor=owner, invitation=invitation)
    dana = UserFactory(email="dana@example.com")
    teams.accept_invitation(token=teams.join_token(resent), user=dana)
    assert Membership.objects.filter(team=team, user=dana).exists()


def test_someone_already_in_the_team_cannot_join_again(team, owner):
    dana = UserFactory(email="dana@example.com")
    invitation = invite(team, owner)
    add_to_team(team, dana, role="reviewer")
    with pytest.raises(ServiceError, match="already in Model Launch"):
        teams.accept_invitation(token=token(invitation), user=dana)
    assert Membership.objects.get(team=team, user=dana).role == "reviewer"


def test_the_mail_is_skipped_once_the_invitation_was_used(team, owner):
    invitation = invite(team, owner)
    mail = Notification.objects.get(team_invitation=invitation)
    from events.outbox.registry import kinds

    assert kinds.get(mail.kind).still_relevant(mail) == ""
    teams.accept_invitation(token=token(invitation), user=UserFactory(email="dana@example.com"))
    mail.team_invitation.refresh_from_db()
    assert "used already" in kinds.get(mail.kind).still_relevant(mail)
