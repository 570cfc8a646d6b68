"""Personal join links (/join/<token>/): the window, the person and session they belong to,
tampering, and the team invitations that used to live at the same address."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Registration, RegistrationChange, TermsAcceptance
from events.services import joining, scheduling, teams
from events.services import registration as registration_service
from tests.factories import (
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
    organizer_of,
)

pytestmark = pytest.mark.django_db

MEETING = "https://meet.example.com/abc-defg-hij"


def online_session(*, starts_in: timedelta, **fields):
    now = timezone.now()
    fields.setdefault("online_url", MEETING)
    fields.setdefault("location", "")
    return SessionFactory(
        starts_at=now + starts_in, ends_at=now + starts_in + timedelta(hours=1), **fields
    )


def link(registration: Registration) -> str:
    return reverse("events:join", args=[registration.join_token])


def test_inside_the_window_the_link_records_the_join_and_leads_to_the_meeting():
    registration = RegistrationFactory(session=online_session(starts_in=timedelta(minutes=10)))
    client = Client()
    page = client.get(link(registration))
    assert page.status_code == 200
    assert "Join the meeting" in page.content.decode()
    # The page itself never names the meeting: a mail scanner opening the link learns nothing.
    assert MEETING not in page.content.decode()
    registration.refresh_from_db()
    assert registration.first_joined_at is None  # opening the link is not joining

    response = client.post(link(registration))
    assert response.status_code == 302
    assert response["Location"] == MEETING
    registration.refresh_from_db()
    first = registration.first_joined_at
    assert first is not None and registration.last_joined_at == first
    assert registration.checked_in_at is not None  # a join is a check-in
    assert registration.checked_in_by is None  # their own act: no one of the team checked them in

    again = client.post(link(registration))
    assert again["Location"] == MEETING
    registration.refresh_from_db()
    assert registration.first_joined_at == first
    assert registration.last_joined_at > first
    # One check-in in the history, whatever the number of joins.
    notes = RegistrationChange.objects.filter(registration=registration).values_list(
        "note", flat=True
    )
    assert list(notes).count(joining.JOINED_NOTE) == 1


def test_the_page_inside_the_window_waits_for_a_press_of_its_focused_button():
    """Mail scanners open links, and some run the page's scripts: nothing on the page sends
    its form by itself, or a scanner would check the person in. One focused button does."""
    registration = RegistrationFactory(session=online_session(starts_in=timedelta(minutes=5)))
    page = Client().get(link(registration))
    html = page.content.decode()
    assert 'id="join-form"' in html
    assert re.search(r'<button type="submit" autofocus>\s*Join the meeting', html)
    assert "join.js" not in html and "data-auto" not in html
    assert not any("join" in src for src in re.findall(r'<script[^>]*src="([^"]+)"', html))
    registration.refresh_from_db()
    assert registration.first_joined_at is None
    # A form's redirect elsewhere is held to CSP form-action: this page lets it through.
    assert "form-action 'self' https:" in page["Content-Security-Policy"]
    assert page["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "starts_in, door",
    [
        (timedelta(minutes=16), "early"),
        (timedelta(minutes=14), "open"),
        (timedelta(minutes=-59), "open"),
        (timedelta(minutes=-61), "over"),
    ],
)
def test_the_window_runs_by_default_from_15_minutes_before_the_start_to_the_end(starts_in, door):
    registration = RegistrationFactory(session=online_session(starts_in=starts_in))
    page = Client().get(link(registration))
    assert f'data-door="{door}"' in page.content.decode()
    response = Client().post(link(registration))
    if door == "open":
        assert response.status_code == 302
    else:
        assert response.status_code == 400
        assert MEETING not in response.content.decode()
        registration.refresh_from_db()
        assert registration.first_joined_at is None and registration.checked_in_at is None


def test_before_the_window_the_page_says_when_to_come_back_in_the_viewers_zone():
    starts = timezone.now().replace(microsecond=0) + timedelta(days=2)
    session = online_session(starts_in=starts - timezone.now())
    registration = RegistrationFactory(session=session)
    client = Client()
    client.cookies["tz"] = "America/New_York"
    html = client.get(link(registration)).content.decode()
    local = (starts - timedelta(minutes=15)).astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%H:%M} {local.tzname()}" in html
    assert "Times are in America/New_York." in html
    assert MEETING not in html


def test_the_window_is_set_per_event_and_a_session_may_set_its_own():
    session = online_session(starts_in=timedelta(minutes=50))
    registration = RegistrationFactory(session=session)
    assert joining.look(registration).door == joining.Door.EARLY
    event = session.event
    scheduling.update_event(event=event, actor=organizer_of(event), join_opens_before=60)
    registration = Registration.objects.get(pk=registration.pk)
    assert joining.look(registration).door == joining.Door.OPEN
    scheduling.update_session(session=session, actor=organizer_of(event), join_opens_before=30)
    registration = Registration.objects.get(pk=registration.pk)
    assert joining.look(registration).door == joining.Door.EARLY
    # After the end, the event may keep the door open a while (a session that overruns).
    over = RegistrationFactory(session=online_session(starts_in=timedelta(minutes=-70)))
    assert joining.look(over).door == joining.Door.OVER
    scheduling.update_session(
        session=over.session, actor=organizer_of(over.session.event), join_closes_after=15
    )
    assert joining.look(Registration.objects.get(pk=over.pk)).door == joining.Door.OPEN


def test_a_window_beyond_a_day_is_refused_with_a_clear_message():
    session = online_session(starts_in=timedelta(days=3))
    with pytest.raises(scheduling.ServiceError, match="1440"):
        scheduling.update_session(
            session=session, actor=organizer_of(session.event), join_opens_before=2000
        )


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "offered", "applied"])
def test_someone_without_a_confirmed_seat_learns_nothing_of_the_meeting(status):
    registration = RegistrationFactory(
        session=online_session(starts_in=timedelta(minutes=5)), status=status
    )
    html = Client().get(link(registration)).content.decode()
    assert 'data-door="not_seated"' in html
    assert MEETING not in html and "join-form" not in html
    response = Client().post(link(registration))
    assert response.status_code == 400
    assert MEETING not in response.content.decode()
    registration.refresh_from_db()
    assert registration.first_joined_at is None


def test_after_a_cancellation_the_link_stops_working():
    registration = RegistrationFactory(session=online_session(starts_in=timedelta(minutes=5)))
    registration_service.cancel(registration=registration, actor=registration.user)
    response = Client().post(link(registration))
    assert response.status_code == 400
    assert MEETING not in response.content.decode()


def test_a_cancelled_session_shows_nothing_of_the_meeting():
    session = online_session(starts_in=timedelta(minutes=5))
    registration = RegistrationFactory(session=session)
    scheduling.cancel_session(session=session, actor=organizer_of(session.event))
    registration = Registration.objects.get(pk=registration.pk)
    html = Client().get(link(registration)).content.decode()
    assert MEETING not in html and "join-form" not in html


def test_before_the_terms_are_accepted_the_page_asks_for_them_and_shows_nothing_else():
    session = online_session(
        starts_in=timedelta(minutes=5), event__terms_text="Keep it secret.", event__terms_version=2
    )
    registration = RegistrationFactory(session=session)
    TermsAcceptance.objects.create(event=session.event, user=registration.user, version=1)
    client = Client()
    html = client.get(link(registration)).content.decode()
    assert 'data-door="terms"' in html and "Keep it secret." in html
    assert MEETING not in html and "join-form" not in html
    assert client.post(link(registration)).status_code == 400  # joining is refused

    stale = client.post(link(registration), {"action": "accept_terms", "terms_version": "1"})
    assert stale.status_code == 400
    assert "The terms have changed" in stale.content.decode()
    accepted = client.post(link(registration), {"action": "accept_terms", "terms_version": "2"})
    assert accepted.status_code == 302 and accepted["Location"] == link(registration)
    # Recorded as given through the link, without a login (the version before, on the site).
    assert TermsAcceptance.objects.get(user=registration.user, version=2).via == "join_link"
    assert TermsAcceptance.objects.get(user=registration.user, version=1).via == "site"
    assert client.post(link(registration))["Location"] == MEETING


def test_no_meeting_address_yet_says_so_and_joins_nobody():
    registration = RegistrationFactory(
        session=online_session(starts_in=timedelta(minutes=5), online_url="", format="online")
    )
    html = Client().get(link(registration)).content.decode()
    assert "have not shared the meeting" in html
    assert Client().post(link(registration)).status_code == 400


def test_an_in_person_session_has_no_meeting_to_join():
    session = SessionFactory(starts_at=timezone.now() + timedelta(minutes=5))
    registration = RegistrationFactory(session=session)
    html = Client().get(link(registration)).content.decode()
    assert 'data-door="in_person"' in html and "join-form" not in html


def test_a_link_belongs_to_one_person_and_one_session():
    session = online_session(starts_in=timedelta(minutes=5))
    mine, theirs = RegistrationFactory(session=session), RegistrationFactory(session=session)
    other = RegistrationFactory(
        session=online_session(starts_in=timedelta(minutes=5)), user=mine.user
    )
    assert len({mine.join_token, theirs.join_token, other.join_token}) == 3
    assert len(mine.join_token) >= 32
    # Logged in as someone else, the link still joins its owner only.
    client = Client()
    client.force_login(theirs.user)
    client.post(link(mine))
    for registration in (mine, theirs, other):
        registration.refresh_from_db()
    assert mine.checked_in_at is not None
    assert theirs.checked_in_at is None and other.checked_in_at is None


@pytest.mark.parametrize("tamper", ["flip", "cut", "extend", "unknown"])
def test_a_tampered_or_unknown_token_is_a_404(tamper):
    registration = RegistrationFactory(session=online_session(starts_in=timedelta(minutes=5)))
    token = registration.join_token
    token = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "cut": token[:-3],
        "extend": token + "x",
        "unknown": "x" * 32,
    }[tamper]
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/join/{token}/")
        assert response.status_code == 404
        assert MEETING not in response.content.decode()
    registration.refresh_from_db()
    assert registration.first_joined_at is None


def team_invitation():
    owner = OrganizerFactory()
    team = TeamFactory()
    add_to_team(team, owner, "owner")
    invitation = teams.invite_member(
        team=team, actor=owner, email="newcomer@example.com", role="organizer"
    )
    return team, invitation


def test_team_invitations_have_their_own_address_and_the_old_one_still_leads_there():
    team, invitation = team_invitation()
    token = teams.join_token(invitation)
    new = reverse("events:team_join", args=[token])
    assert new == f"/teams/join/{token}/"
    page = Client().get(new)
    assert page.status_code == 200 and f"Join {team.name}" in page.content.decode()

    old = Client().get(f"/join/{token}/", follow=True)
    assert old.redirect_chain == [(new, 308)]
    assert f"Join {team.name}" in old.content.decode()


def test_an_old_team_join_link_posted_from_its_page_still_joins():
    team, invitation = team_invitation()
    newcomer = UserFactory(email="newcomer@example.com")
    client = Client()
    client.force_login(newcomer)
    token = teams.join_token(invitation)
    response = client.post(f"/join/{token}/")
    assert response.status_code == 308
    assert response["Location"] == reverse("events:team_join", args=[token])
    client.post(response["Location"])
    assert team.memberships.filter(user=newcomer).exists()


def test_a_tampered_team_token_at_the_old_address_is_a_404():
    _team, invitation = team_invitation()
    token = teams.join_token(invitation)
    response = Client().get(f"/join/{token[:-2]}xx/")
    assert response.status_code == 404


def test_changing_the_meeting_address_sends_nothing_and_the_link_leads_to_the_new_one(
    django_capture_on_commit_callbacks,
):
    session = online_session(starts_in=timedelta(minutes=5))
    registration = RegistrationFactory(session=session)
    sequence = session.sequence
    outbox_before = set(registration.user.notifications.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.update_session(
            session=session,
            actor=organizer_of(session.event),
            online_url="https://meet.example.com/new-room",
        )
    session.refresh_from_db()
    assert session.sequence == sequence  # no calendar update
    assert set(registration.user.notifications.values_list("pk", flat=True)) == outbox_before
    assert mail.outbox == []
    assert Client().post(link(registration))["Location"] == "https://meet.example.com/new-room"


def test_an_in_person_session_with_an_online_link_is_refused():
    session = SessionFactory()
    with pytest.raises(scheduling.ServiceError, match="in-person session has no online link"):
        scheduling.update_session(
            session=session, actor=organizer_of(session.event), online_url=MEETING
        )


def test_tokens_never_repeat_across_many_registrations():
    rows = RegistrationFactory.create_batch(50)
    assert len({r.join_token for r in rows}) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", r.join_token) for r in rows)
