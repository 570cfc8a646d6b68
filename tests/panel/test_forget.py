"""Forget this person (`manage:panel_forget`): a team's owner erases one person of the panel at
their request. Their calendar entries of the team's events are cancelled (the CANCEL still
reaches them), their seats go to the waitlist, then nothing of the team's data names them;
their account and other teams' data stay; the record says how many rows, when and who, and
nothing about the person."""

import pytest
from django.db.models import Q
from django.urls import reverse

from accounts import services as accounts
from events.models import (
    ContactBlock,
    Notification,
    PanelErasure,
    PanelMember,
    Registration,
    Submission,
    SurveyRecipient,
    TeamHistory,
    TeamInvitation,
    TermsAcceptance,
    WebhookMessage,
)
from events.services import erasure
from tests.accounts.test_completeness import (
    BEFORE,
    EMAIL,
    NAME,
    WORDS,
    everything,
    identifying_rows,
)
from tests.factories import OrganizerFactory, UserFactory, add_to_team, team_of
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db

# What stays after the team forgets the person: their own account, and other teams' rows
# (a do-not-contact entry of a team they unsubscribed from, a team that invited them to join,
# the mail of that invitation). Each is checked below to be no row of the forgetting team.
THEIRS_OR_OTHER_TEAMS = {
    "accounts.User",
    "account.EmailAddress",
    "socialaccount.SocialAccount",
    "events.ContactBlock",
    "events.TeamInvitation",
    "events.TeamHistory",
    "events.Notification",
}


@pytest.fixture
def person(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return UserFactory(email=EMAIL, display_name=NAME, github_handle="lea-complete")


def forget_url(team, member) -> str:
    return reverse("manage:panel_forget", args=[team.slug, member.pk])


def test_an_owner_forgets_a_person_and_nothing_of_the_teams_names_them(person, client_for, smtp):
    world = everything(person)
    team, owner = world["team"], world["owner"]
    member = PanelMember.objects.get(team=team, email=EMAIL)
    deliver_pending()
    confirmed_before = len(invites(smtp.to(EMAIL)))
    elsewhere = {"submissions": Submission.objects.exclude(call__team=team).count()}

    page = client_for(owner).get(forget_url(team, member))
    assert page.status_code == 200
    assert "Forget this person?" in page.content.decode()
    assert PanelMember.objects.filter(pk=member.pk).exists()  # the page changed nothing

    response = client_for(owner).post(forget_url(team, member), follow=True)

    assert "The person is forgotten" in response.content.decode()
    # Their upcoming place's calendar entry is cancelled, after the forgetting.
    deliver_pending()
    cancels = [i for i in invites(smtp.to(EMAIL))[confirmed_before:] if i.method == "CANCEL"]
    assert len(cancels) == 1
    assert accounts.purge_farewells() >= 1
    # Nothing of the team's names them; what is left is theirs or other teams'.
    assert {label for label, _f, _n in identifying_rows()} <= THEIRS_OR_OTHER_TEAMS
    assert not ContactBlock.objects.filter(team=team).filter(email__in=[EMAIL, BEFORE]).exists()
    assert not TeamInvitation.objects.filter(team=team, email=EMAIL).exists()
    assert not TeamHistory.objects.filter(team=team, subject_email=EMAIL).exists()
    assert (
        not Notification.objects.filter(
            Q(email__iexact=EMAIL) | Q(email__iexact=BEFORE) | Q(recipient=person)
        )
        .filter(erasure._team_of_notification(team))
        .exists()
    )
    assert not Registration.objects.filter(user=person, session__event__team=team).exists()
    assert not TermsAcceptance.objects.filter(user=person, event__team=team).exists()
    assert not SurveyRecipient.objects.filter(user=person, survey__event__team=team).exists()
    assert (
        not PanelMember.objects.filter(team=team)
        .filter(Q(user=person) | Q(email__in=[EMAIL, BEFORE]))
        .exists()
    )
    assert not WebhookMessage.objects.filter(
        endpoint__team=team, payload__data__attendee__email=EMAIL
    ).exists()
    assert WebhookMessage.objects.filter(
        endpoint__team=team, payload__data__attendee__email="[erased]"
    ).exists()
    # Their account and other teams' data stay.
    person.refresh_from_db()
    assert person.display_name == NAME
    assert Submission.objects.exclude(call__team=team).count() == elsewhere["submissions"]
    assert person.memberships.count() == 1
    # The seats went back.
    for session in (world["held"], world["full"]):
        session.refresh_from_db()
        seated = Registration.objects.filter(session=session, status__in=Registration.SEATED)
        assert session.seats_taken == seated.count()
    # The record: how many, when, who; nothing of the person.
    [record] = PanelErasure.objects.filter(team=team)
    assert record.forgotten_by == owner and record.rows > 10
    assert WORDS not in str(vars(record)) and EMAIL not in str(vars(record))
    page = client_for(owner).get(
        forget_url(team, PanelMember.objects.create(team=team, email="x@example.com"))
    )
    assert "rows erased, by" in page.content.decode()


def test_the_panel_page_offers_forgetting_to_owners_only(person, client_for):
    owner = OrganizerFactory()
    team = team_of(owner)
    member = PanelMember.objects.create(team=team, email=EMAIL, consent=True)
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")
    page = reverse("manage:panel_member", args=[team.slug, member.pk])

    assert forget_url(team, member) in client_for(owner).get(page).content.decode()
    assert forget_url(team, member) not in client_for(organizer).get(page).content.decode()
    assert client_for(organizer).post(forget_url(team, member)).status_code == 404
    assert PanelMember.objects.filter(pk=member.pk).exists()


def test_forgetting_someone_of_another_teams_panel_or_no_one_is_a_404(person, client_for):
    owner, stranger = OrganizerFactory(), OrganizerFactory()
    team = team_of(owner)
    theirs = PanelMember.objects.create(team=team_of(stranger), email=EMAIL, consent=True)

    # Another team's person, through this team's address: not in this panel.
    assert client_for(owner).post(forget_url(team, theirs)).status_code == 404
    # Another team's address altogether.
    assert client_for(owner).post(forget_url(theirs.team, theirs)).status_code == 404
    # No such person.
    missing = reverse("manage:panel_forget", args=[team.slug, theirs.pk + 1000])
    assert client_for(owner).post(missing).status_code == 404
    assert PanelMember.objects.filter(pk=theirs.pk).exists()
    assert not PanelErasure.objects.exists()


def test_the_service_refuses_an_organizer_and_writes_nothing(person):
    owner = OrganizerFactory()
    team = team_of(owner)
    member = PanelMember.objects.create(team=team, email=EMAIL, consent=True)
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")

    with pytest.raises(erasure.ServiceError, match="Only the team's owners"):
        erasure.forget(team=team, member=member, actor=organizer)

    assert PanelMember.objects.filter(pk=member.pk).exists()
    assert not PanelErasure.objects.exists()


def test_a_person_without_an_account_is_forgotten_by_address(client_for):
    from tests.open_calls.conftest import in_pool, make_call

    owner = OrganizerFactory()
    team = team_of(owner)
    in_pool(make_call(owner, slug="no-account"), "walker@example.org", name="Wal Ker", consent=True)
    from events.services import panel

    panel.refresh(team=team)
    member = PanelMember.objects.get(team=team, email="walker@example.org")

    assert client_for(owner).post(forget_url(team, member)).status_code == 302

    assert not Submission.objects.filter(email="walker@example.org").exists()
    assert not PanelMember.objects.filter(email="walker@example.org").exists()
    assert identifying_rows(("walker@example.org", "Wal Ker")) == []
