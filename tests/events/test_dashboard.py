"""The organizer dashboard (manage:dashboard, manage:team_dashboard): one team's events at a
time, next session first, with each event's fill and what needs attention; the team switcher;
door staff see only the sessions they can check in, reviewers no events at all."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.invite_parsing import Row
from events.models import Event, Membership, Notification, Registration, Session
from events.services import invitations, open_calls, teams
from tests.factories import (
    EventFactory,
    OpenCallFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)

pytestmark = pytest.mark.django_db
Status = Registration.Status
DASHBOARD = reverse("manage:dashboard")


def team_url(team) -> str:
    return reverse("manage:team_dashboard", args=[team.slug])


def text(response) -> str:
    """The page as a person reads it: tags out, entities decoded, spaces squeezed."""
    assert response.status_code == 200
    html = response.content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


def heading(response) -> str:
    return unescape(re.search(r"<h1>([^<]*)</h1>", response.content.decode())[1])


def rows(response) -> list[str]:
    """The events table's rows, each as the text a person reads in it."""
    html = response.content.decode()
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for row in re.split(r"<tr\b[^>]*>", body)[1:]
    ]


def titles(response) -> list[str]:
    """The events' titles, top to bottom."""
    html = response.content.decode()
    return [
        unescape(title) for title in re.findall(r'<a class="strong" href="[^"]+">([^<]+)</a>', html)
    ]


def row_of(response, title: str) -> str:
    (row,) = [row for row in rows(response) if row.startswith(title)]
    return row


def session_at(event: Event, days: float, **fields) -> Session:
    starts = timezone.now() + timedelta(days=days)
    return SessionFactory(
        event=event, starts_at=starts, ends_at=starts + timedelta(hours=1), **fields
    )


def failed(rows) -> None:
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Notification.Status.FAILED, attempts=5, last_error="550 5.1.1 no such user"
    )


@pytest.fixture
def owner():
    return UserFactory(display_name="Olga Owner")


@pytest.fixture
def team(owner):
    return TeamFactory(owner=owner, name="Alpha programme", slug="alpha")


# Order and numbers ----------------------------------------------------------------------------


def test_events_with_an_upcoming_session_come_first_soonest_on_top_then_the_rest_newest_first(
    owner, team, client_for
):
    later = EventFactory(team=team, title="In ten days")
    session_at(later, 10)
    session_at(later, -3)  # a past session does not make it sooner
    sooner = EventFactory(team=team, title="In two days")
    session_at(sooner, 2)
    session_at(sooner, 20)
    past = EventFactory(team=team, title="Only in the past")
    session_at(past, -5)
    under_way = EventFactory(team=team, title="Under way now")
    SessionFactory(
        event=under_way,
        starts_at=timezone.now() - timedelta(minutes=30),
        ends_at=timezone.now() + timedelta(minutes=30),
    )
    EventFactory(team=team, title="No session yet", status="draft")
    called_off = EventFactory(team=team, title="Its session was cancelled")
    session_at(called_off, 1, status=Session.Status.CANCELLED)

    assert titles(client_for(owner).get(DASHBOARD)) == [
        "Under way now",
        "In two days",
        "In ten days",
        # Nothing upcoming: the newest first.
        "Its session was cancelled",
        "No session yet",
        "Only in the past",
    ]


def test_each_event_shows_its_fill_and_a_badge_for_each_thing_that_needs_attention(
    owner, team, client_for, enqueued
):
    event = EventFactory(team=team, title="Model preview", registration_mode="approval")
    first, second = session_at(event, 3, capacity=3), session_at(event, 4, capacity=5)
    for status, session, count in [
        (Status.CONFIRMED, first, 2),
        (Status.CONFIRMED, second, 1),
        (Status.APPLIED, first, 2),
        (Status.APPLIED, second, 2),
        (Status.OFFERED, second, 1),
        (Status.WAITLISTED, first, 3),
        (Status.CANCELLED, first, 4),  # gone: neither fill nor attention
        (Status.REJECTED, second, 2),
    ]:
        RegistrationFactory.create_batch(count, session=session, status=status)
    # A cancelled session's seats and people are not the event's any more.
    cancelled = session_at(event, 5, capacity=40, status=Session.Status.CANCELLED)
    RegistrationFactory.create_batch(6, session=cancelled, status=Status.APPLIED)
    # A message about a session and an event-wide invitation that could not be sent.
    session_row = Notification.objects.create(
        key="test:failed:session",
        kind=Notification.Kind.CONFIRMED,
        email="a@example.com",
        session=first,
    )
    invited = invitations.create_batch(
        event=event,
        session=None,
        rows=[Row(line=1, email="guest@example.com")],
        actor=owner,
    )
    failed([session_row, *Notification.objects.filter(invitation__in=invited)])
    quiet = EventFactory(team=team, title="Nothing to do")
    session_at(quiet, 6, capacity=12)

    response = client_for(owner).get(DASHBOARD)

    row = row_of(response, "Model preview")
    assert "3 / 8" in row  # confirmed / seats of its scheduled sessions
    assert "4 applied" in row
    assert "1 offer pending" in row
    assert "3 waitlisted" in row
    assert "2 failed messages" in row
    quiet_row = row_of(response, "Nothing to do")
    assert "0 / 12" in quiet_row
    assert "applied" not in quiet_row and "failed" not in quiet_row and "–" in quiet_row


def test_applications_and_offers_of_sessions_already_over_need_no_attention(
    owner, team, client_for
):
    event = EventFactory(team=team, title="Last week's roundtable", registration_mode="approval")
    over = session_at(event, -7, capacity=4)
    RegistrationFactory.create_batch(2, session=over, status=Status.APPLIED)
    RegistrationFactory.create_batch(1, session=over, status=Status.OFFERED)
    RegistrationFactory.create_batch(1, session=over, status=Status.WAITLISTED)
    RegistrationFactory.create_batch(3, session=over, status=Status.CONFIRMED)

    row = row_of(client_for(owner).get(DASHBOARD), "Last week's roundtable")

    assert "3 / 4" in row
    assert "applied" not in row and "pending" not in row and "waitlisted" not in row


# One team at a time -------------------------------------------------------------------------


@pytest.fixture
def member_of_two(owner, team):
    """Olga owns Alpha and organizes in Beta (whose events she must see only there)."""
    beta = TeamFactory(name="Beta lab", slug="beta")
    add_to_team(beta, owner, role="organizer")
    EventFactory(team=team, title="Alpha's demo")
    EventFactory(team=beta, title="Beta's roundtable")
    EventFactory(title="A stranger's event")
    return beta


def test_a_member_of_two_teams_sees_the_first_teams_events_and_a_switcher(
    owner, team, member_of_two, client_for
):
    response = client_for(owner).get(DASHBOARD)

    page = text(response)
    assert "Alpha's demo" in page
    assert "Beta's roundtable" not in page and "A stranger's event" not in page
    html = response.content.decode()
    assert f'href="{team_url(team)}" aria-current="page"' in html
    assert f'href="{team_url(member_of_two)}"' in html


def test_switching_team_shows_only_its_events_and_is_remembered(
    owner, team, member_of_two, client_for
):
    client = client_for(owner)

    on_beta = client.get(team_url(member_of_two))
    back_on_dashboard = client.get(DASHBOARD)

    for response in (on_beta, back_on_dashboard):
        assert heading(response) == "Beta lab"
        page = text(response)
        assert "Beta's roundtable" in page
        assert "Alpha's demo" not in page and "A stranger's event" not in page


def test_a_team_the_person_was_removed_from_is_gone_and_its_address_is_a_404(
    owner, team, member_of_two, client_for
):
    client = client_for(owner)
    client.get(team_url(member_of_two))  # chosen, then removed
    beta_owner = Membership.objects.get(team=member_of_two, role="owner").user
    teams.remove_member(
        team=member_of_two,
        actor=beta_owner,
        membership=Membership.objects.get(team=member_of_two, user=owner),
    )

    response = client.get(DASHBOARD)

    page = text(response)
    assert heading(response) == "Alpha programme" and "Alpha's demo" in page
    assert "Beta" not in page
    assert team_url(member_of_two) not in response.content.decode()
    assert client.get(team_url(member_of_two)).status_code == 404


def test_another_teams_address_and_an_unknown_one_are_404s(owner, team, client_for):
    stranger = TeamFactory(slug="strangers")
    client = client_for(owner)

    assert client.get(team_url(stranger)).status_code == 404
    assert client.get("/manage/t/no-such-team/").status_code == 404
    assert heading(client.get(DASHBOARD)) == "Alpha programme"  # choice unchanged


def test_a_person_in_one_team_sees_no_switcher(owner, team, client_for):
    assert 'aria-label="Your teams"' not in client_for(owner).get(DASHBOARD).content.decode()


# What each role sees ------------------------------------------------------------------------


def test_door_staff_see_only_the_sessions_to_check_in_and_nobody_s_name(team, client_for):
    door = UserFactory()
    add_to_team(team, door, role="door")
    event = EventFactory(team=team, title="Prototype demo")
    tonight = session_at(event, 0.2, title="Evening slot")
    RegistrationFactory(
        session=tonight,
        user=UserFactory(display_name="Ada Attendee", email="ada@example.com"),
        status=Status.APPLIED,
    )
    session_at(EventFactory(team=team, title="Last month's roundtable"), -30)
    session_at(EventFactory(team=team, title="Called off"), 2, status=Session.Status.CANCELLED)
    session_at(EventFactory(title="Another team's demo"), 1)

    response = client_for(door).get(DASHBOARD)

    page = text(response)
    html = response.content.decode()
    assert 'aria-label="Check in: Prototype demo · Evening slot"' in html
    assert "Prototype demo Evening slot" in page
    assert reverse("manage:checkin", args=[tonight.pk]) in html
    for hidden in (
        "Last month's roundtable",
        "Called off",
        "Another team's demo",
        "Ada Attendee",
        "ada@example.com",
        "applied",
        "New event",
        "Open calls",
    ):
        assert hidden not in page, hidden
    assert "<table" not in html
    assert reverse("manage:event", args=[event.pk]) not in html


def test_door_staff_do_not_see_the_sessions_of_a_cancelled_event(team, client_for):
    door = UserFactory()
    add_to_team(team, door, role="door")
    session_at(EventFactory(team=team, title="Called off", status="cancelled"), 1)

    page = text(client_for(door).get(DASHBOARD))

    assert "Called off" not in page and "nothing to check in yet" in page


def test_organizers_get_the_check_in_of_today_s_sessions_above_their_events(
    owner, team, client_for
):
    event = EventFactory(team=team, title="Prototype demo")
    now = timezone.now()
    on_now = SessionFactory(
        event=event, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1)
    )
    tonight = session_at(event, 0.25)
    next_week = session_at(event, 7)

    html = client_for(owner).get(DASHBOARD).content.decode()

    checkin = html[html.index('id="checkin-title"') : html.index("</section>")]
    assert "Check-in today" in checkin and "On now" in checkin
    assert reverse("manage:checkin", args=[on_now.pk]) in checkin
    assert reverse("manage:checkin", args=[tonight.pk]) in checkin
    assert reverse("manage:checkin", args=[next_week.pk]) not in html
    assert checkin.count("On now") == 1


def test_door_staff_with_no_session_coming_are_told_so(team, client_for):
    door = UserFactory()
    add_to_team(team, door, role="door")

    assert "No session is coming up: nothing to check in yet." in text(
        client_for(door).get(DASHBOARD)
    )


def test_reviewers_see_no_events_and_no_check_in(team, client_for):
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")
    event = EventFactory(team=team, title="Prototype demo")
    session_at(event, 1)

    response = client_for(reviewer).get(DASHBOARD)

    page = text(response)
    html = response.content.decode()
    assert "<table" not in html
    assert "Prototype demo" not in page and "Check in" not in page and "New event" not in page
    assert "You read and score what people send to the team's open calls." in page
    assert reverse("manage:calls") in html


def pool_of(call, count: int) -> list:
    """People who answered the call and confirmed their address."""
    people = []
    for n in range(count):
        submitted = open_calls.submit(
            call=call,
            email=f"pool{call.pk}-{n}@example.com",
            profile={"name": f"Pool member {n}", "role": "developer"},
            answers={},
        )
        people.append(
            open_calls.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)
        )
    return people


def test_reviewers_see_the_team_s_calls_with_what_they_have_yet_to_score(
    owner, team, client_for, enqueued
):
    reviewer = UserFactory()
    add_to_team(team, reviewer, role="reviewer")
    call = OpenCallFactory(organizer=owner, team=team, title="The open model")
    open_calls.set_status(call=call, actor=owner, published=True)
    first, second, _third = pool_of(call, 3)
    open_calls.review(submission=first, reviewer=reviewer, score=4)
    open_calls.review(submission=second, reviewer=owner, score=2)  # someone else's score
    OpenCallFactory(organizer=owner, team=team, title="A draft call")
    OpenCallFactory(title="Another team's call")

    response = client_for(reviewer).get(DASHBOARD)

    page = text(response)
    assert "The open model 3 in the pool · 2 to score" in page
    assert "A draft call 0 in the pool" in page
    assert "Another team's call" not in page
    assert reverse("manage:pool", args=[call.pk]) in response.content.decode()


def test_organizers_see_the_events_but_not_the_team_settings(team, client_for):
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")
    EventFactory(team=team, title="Prototype demo")

    page = text(client_for(organizer).get(DASHBOARD))

    assert "Prototype demo" in page and "New event" in page


def test_a_person_in_no_team_gets_a_404(client_for):
    assert client_for(UserFactory()).get(DASHBOARD).status_code == 404


# Queries ------------------------------------------------------------------------------------


def busy_events(team, count: int) -> None:
    """Events with two sessions each, people in every state and a failed message; as many
    open calls, with a pool of two."""
    owner = Membership.objects.filter(team=team, role="owner").first().user
    for _ in range(count):
        call = OpenCallFactory(organizer=owner, team=team)
        open_calls.set_status(call=call, actor=owner, published=True)
        pool_of(call, 2)
        event = EventFactory(team=team, registration_mode="approval")
        for days in (2, 9):
            session = session_at(event, days, capacity=6)
            for status in (Status.CONFIRMED, Status.APPLIED, Status.OFFERED, Status.WAITLISTED):
                RegistrationFactory(session=session, status=status)
        row = Notification.objects.create(
            key=f"test:failed:{session.pk}",
            kind=Notification.Kind.CONFIRMED,
            email="a@example.com",
            session=session,
        )
        failed([row])


@pytest.mark.parametrize("role", ["owner", "door", "reviewer"])
def test_the_dashboard_asks_no_more_queries_for_forty_events_than_for_five(
    owner, team, client_for, django_assert_max_num_queries, role, enqueued
):
    viewer = owner if role == "owner" else UserFactory()
    if role != "owner":
        add_to_team(team, viewer, role=role)
    client = client_for(viewer)
    busy_events(team, 5)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    busy_events(team, 35)

    with django_assert_max_num_queries(len(few)):
        response = client.get(DASHBOARD)

    assert response.status_code == 200
    if role == "owner":
        assert len(rows(response)) == 40
    elif role == "door":  # the next fifty sessions
        assert response.content.decode().count('aria-label="Check in: ') == 50
    else:
        assert text(response).count("in the pool") == 40
