"""A panel person's page (`manage:panel_member`): what the team knows of one person (their
attributes, consent and contact standing, history, each call they answered with its verdict,
tags and every review of the team, their invitations and registrations), only for the team's
panel viewers and only for someone the panel shows, in a fixed number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import ContactBlock, PanelMember
from events.services import open_calls, panel
from tests.factories import (
    EventFactory,
    InvitationFactory,
    PanelMemberFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
)

from .conftest import confirmed, make_call, row

pytestmark = pytest.mark.django_db


def page_url(team, member) -> str:
    return reverse("manage:panel_member", args=[team.slug, member.pk])


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def ada(team, owner, call, event):
    """Ada answered the call with consent, was tagged and reviewed by two people, invited to
    the event and signed up for its session; the panel refreshed."""
    submission = confirmed(
        call,
        "ada@lab.org",
        name="Ada Lovelace",
        role="researcher",
        affiliation="Analytical Lab",
        github_handle="ada-l",
        location="Europe/London",
        consent=True,
    )
    open_calls.set_tags(submission=submission, actor=owner, names=["Fine-tuning", "vip"])
    open_calls.review(submission=submission, reviewer=owner, score=4, note="Knows <b>models</b>")
    reviewer = UserFactory(display_name="Rita Reviewer")
    add_to_team(team, reviewer, role="reviewer")
    open_calls.review(submission=submission, reviewer=reviewer, score=2, note="Too busy?")
    session = SessionFactory(event=event)
    InvitationFactory(event=event, session=session, email="Ada@Lab.org", status="accepted")
    # Her account's profile, which the panel prefers to the submission's.
    user = UserFactory(
        email="ada@lab.org",
        display_name="Ada Lovelace",
        role="researcher",
        affiliation="Analytical Lab",
        github_handle="ada-l",
    )
    RegistrationFactory(session=session, user=user, status="confirmed")
    panel.refresh(team=team)
    return row(team, "ada@lab.org")


def test_the_page_shows_the_person_their_standing_history_calls_reviews_and_events(
    team, owner_client, ada, call, event
):
    response = owner_client.get(page_url(team, ada))
    html = response.content.decode()
    assert response.status_code == 200
    for seen in (
        "Ada Lovelace",
        "Researcher",
        "Analytical Lab",
        "Europe/London",
        "ada-l",
        "agreed",
        call.title,
        "Qualified",
        "fine-tuning",
        "vip",
        "Rita Reviewer",
        "Too busy?",
        event.title,
        "Accepted",
        "Confirmed",
    ):
        assert seen in html, seen
    # Notes are the reviewers' words, escaped.
    assert "Knows &lt;b&gt;models&lt;/b&gt;" in html
    assert reverse("manage:submission", args=[call.submissions.get().pk]) in html
    assert "<dt>Registrations</dt><dd>1</dd>" in html
    assert "Can be invited now" in html


def test_the_contact_standing_says_when_the_person_is_on_the_do_not_contact_list(
    team, owner_client, ada
):
    ContactBlock.objects.create(team=team, email="ada@lab.org", reason="blocked")
    html = owner_client.get(page_url(team, ada)).content.decode()
    assert "On the team&#x27;s do-not-contact list." in html
    assert '<span class="badge badge-danger">Never</span>' in html


def test_each_row_of_the_panel_table_links_to_the_person(team, owner_client, ada):
    html = owner_client.get(reverse("manage:panel", args=[team.slug])).content.decode()
    assert f'href="{page_url(team, ada)}"' in html


def test_a_reviewer_sees_the_page_with_every_note_as_on_the_submission_page(team, client_for, ada):
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")
    html = client_for(reviewer).get(page_url(team, ada)).content.decode()
    assert "Too busy?" in html and "Knows &lt;b&gt;models&lt;/b&gt;" in html


def test_someone_who_answered_without_consent_is_not_shown_here(team, owner_client, call):
    confirmed(call, "quiet@x.org")  # no consent, never signed up for an event
    panel.refresh(team=team)
    quiet = row(team, "quiet@x.org")
    assert not quiet.consent
    assert owner_client.get(page_url(team, quiet)).status_code == 404
    # Once they sign up for one of the team's events, the panel shows them.
    PanelMember.objects.filter(pk=quiet.pk).update(registrations=1)
    assert owner_client.get(page_url(team, quiet)).status_code == 200


def test_another_teams_person_and_a_bad_pk_are_404(team, other_team, owner_client, client_for):
    theirs = PanelMemberFactory(team=other_team, consent=True)
    assert owner_client.get(page_url(team, theirs)).status_code == 404
    # The other team's person under their own team's address: not this viewer's team.
    assert owner_client.get(page_url(other_team, theirs)).status_code == 404
    assert owner_client.get(f"/manage/t/{team.slug}/panel/999999/").status_code == 404
    door = UserFactory()
    add_to_team(team, door, role="door")
    ours = PanelMemberFactory(team=team, consent=True)
    assert client_for(door).get(page_url(team, ours)).status_code == 404


def _history(team, owner, event, email: str, n: int) -> PanelMember:
    """Someone with `n` confirmed, tagged and reviewed submissions, `n` invitations and `n`
    registrations in the team's calls and events."""
    user = UserFactory(email=email)
    for i in range(n):
        call = make_call(owner, team, title=f"Call {email} {i}", slug=f"c-{email[:2]}-{i}")
        # Logged in with the address verified: in the pool at once, no confirmation mail
        # (whose hourly limit 20 calls would reach).
        sent = open_calls.submit(
            call=call, email=email, profile={"name": "N", "consent": True}, answers={}, user=user
        )
        assert sent.confirmed
        submission = sent.submission
        open_calls.set_tags(submission=submission, actor=owner, names=[f"t{i}"])
        open_calls.review(submission=submission, reviewer=owner, score=3, note=f"n{i}")
        other = EventFactory(organizer=owner, team=team)
        session = SessionFactory(event=other)
        InvitationFactory(event=other, session=session, email=email)
        RegistrationFactory(session=session, user=user)
    panel.refresh(team=team)
    return row(team, email)


def test_the_page_reads_in_as_many_queries_for_1_or_20_of_everything(
    team, owner, client_for, event
):
    one = _history(team, owner, event, "one@x.org", 1)
    twenty = _history(team, owner, event, "twenty@x.org", 20)
    client = client_for(owner)
    counts = []
    for member, n in ((one, 1), (twenty, 20)):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(page_url(team, member)).content.decode()
        assert len(re.findall(r'class="person-call"', html)) == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_draw_page_links_each_picked_person_the_panel_shows(team, owner, owner_client):
    from events.models import Segment
    from events.services import draws

    shown = PanelMemberFactory(team=team, email="shown@x.org", consent=True)
    segment = Segment.objects.create(
        team=team, name="All", definition=[{"field": "consent", "op": "is", "value": True}]
    )
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=1, seed="s")
    html = owner_client.get(reverse("manage:draw", args=[drawn.pk])).content.decode()
    assert f'href="{page_url(team, shown)}"' in html
