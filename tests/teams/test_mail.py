"""The invitation mail leaves through the outbox to a real SMTP server; a revoked or resent
invitation's earlier mail is skipped with its reason, not sent."""

import pytest
from django.urls import reverse

from events.models import Notification
from events.outbox import delivery
from events.services import teams
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status


@pytest.fixture
def team():
    return TeamFactory(
        name="Model Launch", timezone="Europe/Paris", owner=UserFactory(display_name="Olga")
    )


def owner_of(team):
    return team.memberships.get().user


def test_the_invitation_arrives_over_smtp_with_the_team_the_role_and_the_link(team, smtp):
    invitation = teams.invite_member(
        team=team, actor=owner_of(team), email="dana@example.com", role="reviewer"
    )
    row = Notification.objects.get(team_invitation=invitation)

    assert delivery.deliver(notification_id=row.pk).sent

    [message] = smtp.to("dana@example.com")
    assert message["Subject"].endswith("Join Model Launch as reviewer")
    body = smtp.text(message)
    assert 'Olga invites you to join the team "Model Launch"' in body
    assert "Reads open-call submissions and the pool" in body
    # Someone without an account reads the expiry in the team's zone.
    assert "CET" in body or "CEST" in body
    path = reverse("events:team_join", args=[teams.join_token(invitation)])
    assert any(link.endswith(path) for link in smtp.links(message))


def test_a_revoked_invitations_mail_is_skipped(team, smtp):
    invitation = teams.invite_member(
        team=team, actor=owner_of(team), email="dana@example.com", role="door"
    )
    teams.revoke_invitation(team=team, actor=owner_of(team), invitation=invitation)
    row = Notification.objects.get(team_invitation=invitation)

    assert not delivery.deliver(notification_id=row.pk).sent

    row.refresh_from_db()
    assert row.status == Status.SKIPPED
    assert "withdrew" in row.last_error
    assert smtp.messages == []


def test_after_a_resend_only_the_new_mail_leaves(team, smtp):
    owner = owner_of(team)
    invitation = teams.invite_member(team=team, actor=owner, email="dana@example.com", role="door")
    teams.resend_invitation(team=team, actor=owner, invitation=invitation)
    first, second = Notification.objects.filter(team_invitation=invitation).order_by("pk")

    assert not delivery.deliver(notification_id=first.pk).sent
    assert delivery.deliver(notification_id=second.pk).sent

    [message] = smtp.to("dana@example.com")
    invitation.refresh_from_db()
    path = reverse("events:team_join", args=[teams.join_token(invitation)])
    assert any(link.endswith(path) for link in smtp.links(message))
