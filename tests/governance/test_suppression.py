"""Do-not-contact survives erasure: a person who asked a team not to contact them and was then
erased (their account deleted, or forgotten by the team) is not contacted again when the
team types or imports their address anew. What stays is a suppression: a keyed hash, never
the address; the team sees how many, not which. Erasing someone who was on no list leaves
nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from events.models import (
    AuditEntry,
    ContactBlock,
    ContactSuppression,
    Notification,
    PanelMember,
)
from events.outbox import delivery
from events.services import ServiceError, contact, draws, erasure, panel, retention
from events.services import invitations as invitation_service
from tests.factories import TeamFactory, UserFactory, add_to_team
from tests.invitations.helpers import invite, rows
from tests.panel.conftest import confirmed, make_call

pytestmark = pytest.mark.django_db

ANN = "Ann.Gone@Example.com"
ann = ANN.lower()


@pytest.fixture
def other_team():
    return TeamFactory()


@pytest.fixture
def call(owner, team):
    return make_call(owner, team, slug="expect")


def suppression_columns() -> list[str]:
    """Every value stored in the suppression table, as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM events_contactsuppression")
        return [str(value) for row in cursor.fetchall() for value in row]


def test_an_unsubscribed_person_whose_account_is_deleted_is_never_invited_again(
    event, team, session, smtp
):
    person = UserFactory(email=ann)
    contact.unsubscribe(team=team, email=ann)

    accounts.delete_account(user=person)

    assert not ContactBlock.objects.filter(email=ann).exists()
    [kept] = ContactSuppression.objects.filter(team=team)
    assert kept.reason == "unsubscribed"
    # Nothing that reads as the address, in any column.
    assert not any("gone" in value.lower() for value in suppression_columns())
    # The team types the address again, in another case: refused, whatever the override.
    preview = invitation_service.preview(event=event, session=session, rows=rows(ANN))
    assert preview.refused == [
        (1, ANN, "Asked not to be contacted, then had their data erased: never invited again.")
    ]
    with pytest.raises(ServiceError):
        invite(session, ANN, override_reason="They asked to come back.")
    assert not invitation_service.Invitation.objects.filter(email__iexact=ann).exists()
    assert contact.is_blocked(team.pk, ANN)
    assert contact.unsubscribed(team.pk, ANN)


def test_programme_mail_owed_to_the_address_again_is_skipped(event, team, session, smtp):
    person = UserFactory(email=ann)
    contact.unsubscribe(team=team, email=ann)
    accounts.delete_account(user=person)
    # An invitation written before the erasure and owed again would be the same address.
    bob = invite(session, "bob@example.com")[0]
    Notification.objects.filter(invitation=bob).update(email=ann)
    [row] = Notification.objects.filter(invitation=bob)

    delivery.deliver(notification_id=row.pk)

    row.refresh_from_db()
    assert row.status == "skipped"
    assert smtp.to(ann) == []


def test_erasing_someone_on_no_list_leaves_no_suppression(event, team, session):
    person = UserFactory(email=ann)
    invite(session, ann)

    accounts.delete_account(user=person)

    assert not ContactSuppression.objects.exists()
    assert len(invite(session, ann)) == 1


def test_a_suppression_is_the_teams_alone(event, team, session, other_team):
    person = UserFactory(email=ann)
    contact.unsubscribe(team=other_team, email=ann)

    accounts.delete_account(user=person)

    assert not contact.is_blocked(team.pk, ann)
    assert contact.is_blocked(other_team.pk, ann)
    # The same person's digests in two teams cannot be matched with each other.
    assert contact.suppression_digest(team.pk, ann) != contact.suppression_digest(
        other_team.pk, ann
    )


def test_a_person_forgotten_by_the_team_is_not_drawn_nor_invited_when_they_come_back(
    owner, team, call, event, session
):
    confirmed(call, ann, consent=True)
    for n in range(3):
        confirmed(call, f"p{n}@example.com", consent=True)
    panel.refresh(team=team)
    contact.block(team=team, actor=owner, email=ann, note="Asked us by phone")
    erasure.forget(team=team, member=PanelMember.objects.get(team=team, email=ann), actor=owner)
    assert not ContactBlock.objects.filter(team=team).exists()
    assert ContactSuppression.objects.filter(team=team, reason="blocked").count() == 1

    # They answer the call again: their submission is theirs (they sent it), and the panel
    # imports them anew, but neither a draw nor an invitation reaches them.
    confirmed(call, ANN, consent=True)
    panel.refresh(team=team)
    assert PanelMember.objects.filter(team=team, email=ann).exists()
    drawn = draws.draw_sample(team=team, actor=owner, call=call, size=4, seed="back")
    picked = {p.email for p in draws.picked_people(drawn) if p is not None}
    assert ann not in picked and len(picked) == 3
    assert sum(drawn.skipped.values()) == 1
    with pytest.raises(ServiceError):
        invite(session, ann)


def test_the_team_sees_how_many_addresses_are_suppressed_but_not_which(owner, team, client_for):
    for email in (ann, "zed@example.com"):
        contact.unsubscribe(team=team, email=email)
        accounts.delete_account(user=UserFactory(email=email))

    page = client_for(owner).get(reverse("manage:contact_blocks", args=[team.slug]))

    text = page.content.decode()
    assert "Also never contacted: 2 addresses of people whose data was erased" in text
    assert "gone" not in text.lower() and "zed" not in text


def test_the_team_lifting_its_own_block_lifts_the_suppression_of_it_but_not_a_wish(
    owner, team, session
):
    for email, wish in ((ann, False), ("zed@example.com", True)):
        if wish:
            contact.unsubscribe(team=team, email=email)
        else:
            contact.block(team=team, actor=owner, email=email)
        accounts.delete_account(user=UserFactory(email=email))
    # The team blocks the address again (typed anew) and then lifts its block.
    entry = contact.block(team=team, actor=owner, email=ann).entry
    contact.unblock(team=team, actor=owner, entry=entry)

    [lifted] = AuditEntry.objects.filter(action="contact.unblocked")
    assert (lifted.actor, lifted.summary) == (owner, {"suppressions_lifted": 1})
    assert not contact.is_blocked(team.pk, ann)
    assert contact.is_blocked(team.pk, "zed@example.com")
    assert len(invite(session, ann)) == 1


def test_rotating_the_secret_key_forgets_no_wish(event, team, session, settings):
    contact.unsubscribe(team=team, email=ann)
    accounts.delete_account(user=UserFactory(email=ann))

    # The old key is gone for good (its fallbacks removed after the rotation): the wish is
    # kept under CONTACT_SUPPRESSION_KEY, which did not change.
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 50, []

    assert contact.is_blocked(team.pk, ann)
    assert contact.unsubscribed(team.pk, ann)
    with pytest.raises(ServiceError):
        invite(session, ANN)


def test_a_suppressed_member_back_on_the_panel_gets_no_renewal_mail(owner, team, call):
    contact.unsubscribe(team=team, email=ann)
    accounts.delete_account(user=UserFactory(email=ann))
    confirmed(call, ann, consent=True)
    confirmed(call, "bob@example.com", consent=True)
    panel.refresh(team=team)
    later = timezone.now() + timedelta(days=team.retention_panel_days)

    asked = retention.ask_renewals(team=team, now=later)

    assert asked == 1
    mailed = set(Notification.objects.filter(kind="panel_renewal").values_list("email", flat=True))
    assert mailed == {"bob@example.com"}


def test_someone_forgotten_by_a_team_finds_its_kept_wish_in_their_export(
    owner, team, call, client_for
):
    person = UserFactory(email=ann)
    confirmed(call, ann, consent=True)
    panel.refresh(team=team)
    contact.unsubscribe(team=team, email=ann)
    erasure.forget(team=team, member=PanelMember.objects.get(team=team, email=ann), actor=owner)

    data = client_for(person).get(reverse("accounts:export")).json()

    assert data["do_not_contact"] == []
    assert [(row["team"], row["why"]) for row in data["do_not_contact_after_erasure"]] == [
        (team.name, "Unsubscribed")
    ]


def test_the_organizer_who_lifts_a_block_from_the_page_is_in_the_audit_log(owner, team, client_for):
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")
    entry = contact.block(team=team, actor=owner, email=ann).entry

    response = client_for(organizer).post(
        reverse("manage:contact_block_remove", args=[team.slug, entry.pk])
    )

    assert response.status_code == 302
    [lifted] = AuditEntry.objects.filter(action="contact.unblocked")
    assert (lifted.actor, lifted.actor_role, lifted.object_id) == (organizer, "organizer", entry.pk)
    assert "gone" not in str(lifted.summary)
