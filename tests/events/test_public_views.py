import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import (
    Registration,
    Session,
    Survey,
    SurveyRecipient,
    TermsAcceptance,
)
from events.services import registration as registration_service
from events.services import surveys
from tests.factories import (
    InvitationFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
    answers_in_words,
    choice_id,
    organizer_of,
)

pytestmark = pytest.mark.django_db


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# The event list


def test_the_list_shows_upcoming_public_events_only():
    shown = SessionFactory(event__title="Shown event").event
    SessionFactory(event__title="Draft event", event__status="draft")
    SessionFactory(event__title="Unlisted event", event__visibility="unlisted")
    SessionFactory(event__title="Invite-only event", event__registration_mode="invitation")
    past = SessionFactory(
        event__title="Past event",
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3, hours=-1),
    ).event

    html = Client().get(reverse("events:list")).content.decode()

    assert shown.title in html
    for hidden in ("Draft event", "Unlisted event", "Invite-only event", past.title):
        assert hidden not in html
    assert past.title in Client().get(reverse("events:list") + "?past=1").content.decode()


def test_the_list_filters_by_kind():
    SessionFactory(event__title="A demo", event__kind="demo")
    SessionFactory(event__title="A feedback round", event__kind="feedback")

    html = Client().get(reverse("events:list") + "?kind=demo").content.decode()

    assert "A demo" in html
    assert "A feedback round" not in html
    # An unknown kind is ignored rather than an error.
    assert Client().get(reverse("events:list") + "?kind=<script>").status_code == 200


def test_the_list_query_count_does_not_grow_with_events():
    for _ in range(5):
        SessionFactory()
    few = queries(Client(), reverse("events:list"))
    for _ in range(195):
        SessionFactory()
    many = queries(Client(), reverse("events:list"))

    assert few == many


def test_the_list_shows_times_in_the_viewers_zone_with_the_event_zone_beside(client_for):
    start = (timezone.now() + timedelta(days=30)).replace(hour=14, minute=0, second=0)
    SessionFactory(
        starts_at=start, ends_at=start + timedelta(hours=1), event__timezone="America/New_York"
    )
    viewer = UserFactory(timezone="Asia/Tokyo")

    html = client_for(viewer).get(reverse("events:list")).content.decode()

    tokyo = timezone.localtime(start, timezone.get_fixed_timezone(9 * 60))
    new_york = timezone.localtime(start, ZoneInfo("America/New_York"))
    assert f"{tokyo:%H:%M} JST" in html
    assert f"{new_york:%H:%M} {new_york:%Z} in America/New_York, event time" in html


def test_an_event_in_utc_names_its_zone_once(client_for):
    start = (timezone.now() + timedelta(days=30)).replace(hour=14, minute=0, second=0)
    SessionFactory(starts_at=start, ends_at=start + timedelta(hours=1), event__timezone="UTC")
    viewer = UserFactory(timezone="Asia/Tokyo")

    html = client_for(viewer).get(reverse("events:list")).content.decode()

    assert "(14:00 UTC, event time)" in html
    assert "UTC in UTC" not in html


def test_a_viewer_in_the_events_own_zone_sees_no_event_time_note(client_for):
    start = (timezone.now() + timedelta(days=30)).replace(hour=14, minute=0, second=0)
    SessionFactory(starts_at=start, ends_at=start + timedelta(hours=1), event__timezone="UTC")

    html = client_for(UserFactory(timezone="UTC")).get(reverse("events:list")).content.decode()

    assert "14:00 UTC" in html
    assert "event time" not in html


# An event's page


def test_a_draft_event_is_a_404_except_for_its_organizers(client_for):
    session = SessionFactory(event__status="draft")
    organizer = organizer_of(session.event)
    url = reverse("events:detail", args=[session.event.pk])

    assert Client().get(url).status_code == 404
    assert client_for(UserFactory()).get(url).status_code == 404
    assert client_for(organizer).get(url).status_code == 200


def test_the_place_is_shown_only_to_confirmed_attendees(client_for):
    session = SessionFactory(location="Secret room 42", capacity=1)
    confirmed, waitlisted = UserFactory(), UserFactory()
    registration_service.register(user=confirmed, session=session)
    registration_service.register(user=waitlisted, session=session)
    url = reverse("events:detail", args=[session.event.pk])

    assert "Secret room 42" in client_for(confirmed).get(url).content.decode()
    assert "Secret room 42" not in client_for(waitlisted).get(url).content.decode()
    assert "Secret room 42" not in Client().get(url).content.decode()


def test_the_description_is_markdown_with_no_script_getting_through():
    session = SessionFactory(
        event__description="**Bold** <script>alert(1)</script> [x](javascript:alert(2)) "
        '<img src=x onerror="alert(3)">'
    )

    html = Client().get(reverse("events:detail", args=[session.event.pk])).content.decode()

    assert "<strong>Bold</strong>" in html
    assert "<script>alert" not in html
    assert "javascript:" not in html
    assert "onerror" not in html


def test_times_are_shown_in_the_viewers_zone_with_the_event_zone_beside(client_for):
    start = timezone.now().replace(microsecond=0) + timedelta(days=30)
    start = start.replace(hour=14, minute=0, second=0)
    session = SessionFactory(
        starts_at=start, ends_at=start + timedelta(hours=1), event__timezone="America/New_York"
    )
    viewer = UserFactory(timezone="Asia/Tokyo")

    html = client_for(viewer).get(reverse("events:detail", args=[session.event.pk])).content
    html = html.decode()

    tokyo = timezone.localtime(start, timezone.get_fixed_timezone(9 * 60))
    assert f"{tokyo:%H:%M}" in html and "JST" in html
    assert "in America/New_York, event time" in html


def test_a_visitor_sees_times_in_the_zone_their_browser_reported():
    start = (timezone.now() + timedelta(days=30)).replace(hour=14, minute=0, second=0)
    session = SessionFactory(
        starts_at=start, ends_at=start + timedelta(hours=1), event__timezone="America/New_York"
    )
    url = reverse("events:detail", args=[session.event.pk])
    visitor = Client()
    visitor.cookies["tz"] = "Asia%2FTokyo"  # as static/js/tz.js writes it

    html = visitor.get(url).content.decode()

    tokyo = timezone.localtime(start, timezone.get_fixed_timezone(9 * 60))
    assert f"{tokyo:%H:%M}" in html and "JST" in html
    assert "in America/New_York, event time" in html
    # A zone that does not exist is ignored: UTC, not an error.
    visitor.cookies["tz"] = "Mars%2FOlympus_Mons"
    html = visitor.get(url).content.decode()
    assert f"{start:%H:%M}" in html and "UTC" in html


def test_after_a_lottery_its_page_shows_when_it_was_drawn_and_with_which_seed(client_for):
    from events.services.lottery import draw

    session = SessionFactory(event__registration_mode="lottery", capacity=1)
    applicant = UserFactory()
    registration_service.register(user=applicant, session=session)
    url = reverse("events:detail", args=[session.event.pk])
    assert "Seats drawn by lottery" not in Client().get(url).content.decode()

    draw(session=session, seed="c0ffee-seed")

    html = client_for(applicant).get(url).content.decode()
    assert "Seats drawn by lottery" in html and "c0ffee-seed" in html


# Signing up


def test_signing_up_in_open_mode_takes_one_post(client_for):
    session = SessionFactory()
    user = UserFactory()

    response = client_for(user).post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 302
    assert Registration.objects.get(user=user, session=session).status == "confirmed"


def test_a_full_session_puts_the_next_person_on_the_waitlist(client_for):
    session = SessionFactory(capacity=1)
    client_for(UserFactory()).post(reverse("events:register", args=[session.pk]))
    late = UserFactory()

    response = client_for(late).post(reverse("events:register", args=[session.pk]), follow=True)

    assert Registration.objects.get(user=late).status == "waitlisted"
    assert "waitlist" in response.content.decode()


def test_opening_the_sign_up_page_changes_nothing(client_for):
    session = SessionFactory()

    response = client_for(UserFactory()).get(reverse("events:register", args=[session.pk]))

    assert response.status_code == 200
    assert not Registration.objects.exists()


def test_an_anonymous_visitor_is_asked_to_log_in():
    session = SessionFactory()

    response = Client().post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Registration.objects.exists()


def test_signing_up_twice_says_so_and_keeps_one_registration(client_for):
    session = SessionFactory()
    client = client_for(UserFactory())
    client.post(reverse("events:register", args=[session.pk]))

    response = client.post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 400
    assert "already" in response.content.decode()
    assert Registration.objects.count() == 1


def test_a_started_session_refuses_sign_ups_with_a_message(client_for):
    now = timezone.now()
    session = SessionFactory(starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1))

    response = client_for(UserFactory()).post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 400
    assert "already started" in response.content.decode()
    assert not Registration.objects.exists()


def test_a_draft_events_session_is_a_404_to_sign_up_for(client_for):
    session = SessionFactory(event__status="draft")

    response = client_for(UserFactory()).post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 404


def test_an_invitation_only_event_says_so_and_refuses_a_sign_up_without_the_invitation(client_for):
    session = SessionFactory(event__registration_mode="invitation")
    invitee = UserFactory()
    InvitationFactory(
        event=session.event, email=invitee.email, expires_at=timezone.now() + timedelta(days=7)
    )
    client = client_for(invitee)

    page = client.get(reverse("events:detail", args=[session.event.pk])).content.decode()
    assert "By invitation only." in page
    assert reverse("events:register", args=[session.pk]) not in page

    forged = client.post(reverse("events:register", args=[session.pk]))
    assert forged.status_code == 400
    assert "This session is by invitation only." in forged.content.decode()
    assert not Registration.objects.exists()
    # Anyone else does not learn that the event exists.
    stranger = client_for(UserFactory())
    assert stranger.get(reverse("events:detail", args=[session.event.pk])).status_code == 404
    assert stranger.post(reverse("events:register", args=[session.pk])).status_code == 404


def test_confidential_events_need_the_terms_accepted_and_store_the_acceptance(client_for):
    session = SessionFactory(event__terms_text="Do not share.", event__terms_version=2)
    user = UserFactory()
    client = client_for(user)
    url = reverse("events:register", args=[session.pk])

    refused = client.post(url, {"terms_version": 2})
    assert refused.status_code == 400
    assert "accept the terms" in refused.content.decode()
    assert not Registration.objects.exists() and not TermsAcceptance.objects.exists()

    accepted = client.post(url, {"terms_version": 2, "accept_terms": "on"})
    assert accepted.status_code == 302
    acceptance = TermsAcceptance.objects.get(user=user)
    assert acceptance.version == 2
    assert Registration.objects.get(user=user).status == "confirmed"


def test_terms_changed_while_reading_are_refused_and_nothing_is_written(client_for):
    session = SessionFactory(event__terms_text="Do not share.", event__terms_version=3)

    response = client_for(UserFactory()).post(
        reverse("events:register", args=[session.pk]), {"terms_version": 2, "accept_terms": "on"}
    )

    assert response.status_code == 400
    assert "terms have changed" in response.content.decode()
    assert not Registration.objects.exists() and not TermsAcceptance.objects.exists()


def test_applying_records_answers_and_keeps_typed_values_when_one_is_missing(client_for):
    session = SessionFactory(event__registration_mode="approval")
    why = ScreeningQuestionFactory(event=session.event, label="Why?", kind="long_text")
    stack = ScreeningQuestionFactory(
        event=session.event, label="Stack", kind="single", choices=["Python", "Rust"]
    )
    client = client_for(UserFactory())
    url = reverse("events:register", args=[session.pk])

    missing = client.post(url, {f"q{why.pk}": "I build agents"})
    assert missing.status_code == 400
    assert "I build agents" in missing.content.decode()
    assert not Registration.objects.exists()

    bad_choice = client.post(url, {f"q{why.pk}": "x", f"q{stack.pk}": "COBOL"})
    assert bad_choice.status_code == 400
    assert not Registration.objects.exists()

    rust = choice_id(stack, "Rust")
    ok = client.post(url, {f"q{why.pk}": "I build agents", f"q{stack.pk}": rust})
    assert ok.status_code == 302
    registration = Registration.objects.get()
    assert registration.status == "applied"
    assert answers_in_words(registration) == {str(why.pk): "I build agents", str(stack.pk): "Rust"}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (lambda why, stack: {f"q{stack.pk}": "0"}, "This question needs an answer."),
        (
            lambda why, stack: {f"q{why.pk}": "x" * 5001, f"q{stack.pk}": "0"},
            "At most 5000 characters, please",
        ),
        (
            lambda why, stack: {f"q{why.pk}": "x", f"q{stack.pk}": "99"},
            "Pick one of the choices offered.",
        ),
    ],
    ids=["missing-required", "too-long", "wrong-choice-id"],
)
def test_bad_screening_answers_on_the_page_say_why_with_a_400(client_for, answers, message):
    session = SessionFactory(event__registration_mode="approval")
    why = ScreeningQuestionFactory(event=session.event, label="Why?", kind="long_text")
    stack = ScreeningQuestionFactory(
        event=session.event, label="Stack", kind="single", choices=["Python", "Rust"]
    )
    url = reverse("events:register", args=[session.pk])

    response = client_for(UserFactory()).post(url, answers(why, stack))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Registration.objects.exists()


# My sessions, cancelling and offers


def test_my_sessions_lists_only_my_own_registrations(client_for):
    mine, theirs = SessionFactory(event__title="Mine"), SessionFactory(event__title="Theirs")
    me, other = UserFactory(), UserFactory()
    registration_service.register(user=me, session=mine)
    registration_service.register(user=other, session=theirs)

    html = client_for(me).get(reverse("events:my_sessions")).content.decode()

    assert "Mine" in html and "Theirs" not in html


def test_my_sessions_shows_every_place_i_hold_or_wait_for_with_a_cancel_button(client_for):
    me = UserFactory()
    confirmed = registration_service.register(user=me, session=SessionFactory())
    applied = registration_service.register(
        user=me, session=SessionFactory(event__registration_mode="approval")
    )
    full = SessionFactory(capacity=1)
    registration_service.register(user=UserFactory(), session=full)
    waitlisted = registration_service.register(user=me, session=full)
    freed = SessionFactory(capacity=1)
    leaving = registration_service.register(user=UserFactory(), session=freed)
    offered = registration_service.register(user=me, session=freed)
    registration_service.cancel(registration=leaving, actor=leaving.user)
    closed = registration_service.register(user=me, session=SessionFactory())
    registration_service.cancel(registration=closed, actor=me)

    html = client_for(me).get(reverse("events:my_sessions")).content.decode()

    for registration, label in [
        (confirmed, "Confirmed"),
        (applied, "Applied"),
        (waitlisted, "Waitlisted"),
        (offered, "Seat offered"),
        (closed, "Cancelled"),
    ]:
        assert registration.session.event.title in html
        assert label in html
    for registration in (confirmed, applied, waitlisted, offered):
        assert reverse("events:cancel", args=[registration.pk]) in html
    assert reverse("events:offer", args=[offered.pk]) in html
    assert reverse("events:cancel", args=[closed.pk]) not in html


def ended(registration: Registration, **attendance) -> Registration:
    """Move the registration's session into the past (sign-up needs it ahead), with the
    attendance the door page or the no-show sweep would have recorded."""
    ends = timezone.now() - timedelta(hours=3)
    Session.objects.filter(pk=registration.session_id).update(
        starts_at=ends - timedelta(hours=1), ends_at=ends
    )
    Registration.objects.filter(pk=registration.pk).update(**attendance)
    registration.refresh_from_db()
    return registration


def past_rows(html: str) -> str:
    return html[html.index('id="past-heading"') :]


def test_past_sessions_say_whether_i_attended(client_for):
    me = UserFactory()
    attended = ended(
        registration_service.register(user=me, session=SessionFactory(event__title="Came")),
        checked_in_at=timezone.now() - timedelta(hours=4),
    )
    missed = ended(
        registration_service.register(user=me, session=SessionFactory(event__title="Missed")),
        no_show=True,
    )
    unrecorded = ended(
        registration_service.register(user=me, session=SessionFactory(event__title="Unknown"))
    )

    past = past_rows(client_for(me).get(reverse("events:my_sessions")).content.decode())

    assert "Confirmed" not in past
    for registration, label in (
        (attended, "Attended"),
        (missed, "Did not attend"),
        (unrecorded, "Ended"),
    ):
        row = past[past.index(registration.session.event.title) :].split("</tr>")[0]
        assert label in row, row


def test_a_past_session_links_to_the_survey_i_can_still_answer(client_for):
    me, other = UserFactory(), UserFactory()
    registration = ended(
        registration_service.register(user=me, session=SessionFactory(event__title="Preview")),
        checked_in_at=timezone.now() - timedelta(hours=4),
    )
    survey = SurveyFactory(event=registration.session.event)
    mine = SurveyRecipient.objects.create(
        survey=survey, user=me, session=registration.session, sent_at=timezone.now()
    )
    ended(registration_service.register(user=other, session=SessionFactory()))

    past = past_rows(client_for(me).get(reverse("events:my_sessions")).content.decode())

    [link] = re.findall(r'href="(/survey/[^"]+)"', past)
    assert surveys.from_token(link.split("/")[2]) == mine
    assert "Answer the survey" in past
    assert client_for(me).get(link).status_code == 200


def test_a_closed_survey_is_not_offered_on_my_sessions(client_for):
    me = UserFactory()
    registration = ended(registration_service.register(user=me, session=SessionFactory()))
    survey = SurveyFactory(event=registration.session.event)
    SurveyRecipient.objects.create(survey=survey, user=me, session=registration.session)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(minutes=1))

    past = past_rows(client_for(me).get(reverse("events:my_sessions")).content.decode())

    assert "/survey/" not in past


def test_my_sessions_query_count_does_not_grow_with_registrations(client_for):
    me = UserFactory()
    client = client_for(me)
    for _ in range(5):
        registration_service.register(user=me, session=SessionFactory())
    few = queries(client, reverse("events:my_sessions"))
    for _ in range(195):
        registration_service.register(user=me, session=SessionFactory())
    many = queries(client, reverse("events:my_sessions"))

    assert few == many


def test_the_cancel_link_shows_a_page_and_only_its_post_cancels(client_for):
    session = SessionFactory()
    user = UserFactory()
    registration = registration_service.register(user=user, session=session)
    client = client_for(user)
    url = reverse("events:cancel", args=[registration.pk])

    assert client.get(url).status_code == 200
    registration.refresh_from_db()
    assert registration.status == "confirmed"

    assert client.post(url).status_code == 302
    registration.refresh_from_db()
    assert registration.status == "cancelled"
    session.refresh_from_db()
    assert session.seats_taken == 0


def test_nobody_can_see_or_cancel_someone_elses_registration(client_for):
    registration = registration_service.register(user=UserFactory(), session=SessionFactory())
    intruder = client_for(UserFactory())

    assert intruder.get(reverse("events:cancel", args=[registration.pk])).status_code == 404
    assert intruder.post(reverse("events:cancel", args=[registration.pk])).status_code == 404
    assert (
        intruder.post(
            reverse("events:offer", args=[registration.pk]), {"action": "accept"}
        ).status_code
        == 404
    )
    registration.refresh_from_db()
    assert registration.status == "confirmed"


def offered_registration():
    session = SessionFactory(capacity=1)
    first, second = UserFactory(), UserFactory()
    taken = registration_service.register(user=first, session=session)
    waiting = registration_service.register(user=second, session=session)
    registration_service.cancel(registration=taken, actor=first)
    waiting.refresh_from_db()
    assert waiting.status == "offered"
    return waiting


def test_an_offer_is_accepted_by_post_and_not_by_opening_the_link(client_for):
    registration = offered_registration()
    client = client_for(registration.user)
    url = reverse("events:offer", args=[registration.pk])

    assert "A seat is free for you" in client.get(url).content.decode()
    registration.refresh_from_db()
    assert registration.status == "offered"

    assert client.post(url, {"action": "accept"}).status_code == 302
    registration.refresh_from_db()
    assert registration.status == "confirmed"


@pytest.mark.parametrize("query", ["", "?action=accept", "?action=decline"])
def test_opening_the_offer_link_in_any_way_changes_nothing(query, client_for):
    # Mail scanners open links, with whatever query string, and some send HEAD first.
    registration = offered_registration()
    client = client_for(registration.user)
    url = reverse("events:offer", args=[registration.pk]) + query

    assert client.get(url).status_code == 200
    client.head(url)
    client.options(url)

    registration.refresh_from_db()
    registration.session.refresh_from_db()
    assert registration.status == "offered"
    assert registration.session.seats_taken == 1
    assert registration.changes.count() == 2  # waitlisted, offered


@pytest.mark.parametrize("query", ["", "?confirm=1", "?action=cancel"])
def test_opening_the_cancel_link_in_any_way_changes_nothing(query, client_for):
    session = SessionFactory()
    user = UserFactory()
    registration = registration_service.register(user=user, session=session)
    client = client_for(user)
    url = reverse("events:cancel", args=[registration.pk]) + query

    assert "Yes, cancel" in client.get(url).content.decode()
    client.head(url)
    client.options(url)

    registration.refresh_from_db()
    session.refresh_from_db()
    assert (registration.status, session.seats_taken) == ("confirmed", 1)
    assert registration.changes.count() == 1


def test_declining_an_offer_frees_the_seat(client_for):
    registration = offered_registration()

    client_for(registration.user).post(
        reverse("events:offer", args=[registration.pk]), {"action": "decline"}
    )

    registration.refresh_from_db()
    registration.session.refresh_from_db()
    assert registration.status == "declined"
    assert registration.session.seats_taken == 0


def test_a_forged_offer_action_is_a_clear_400(client_for):
    registration = offered_registration()

    response = client_for(registration.user).post(
        reverse("events:offer", args=[registration.pk]), {"action": "steal"}
    )

    assert response.status_code == 400
    registration.refresh_from_db()
    assert registration.status == "offered"


def test_the_event_page_query_count_does_not_grow_with_sessions_or_registrations(client_for):
    viewer = UserFactory()
    client = client_for(viewer)
    first = SessionFactory(capacity=500)
    registration_service.register(user=viewer, session=first)
    event = first.event
    url = reverse("events:detail", args=[event.pk])

    def grow(sessions: int, people: int) -> None:
        for _ in range(sessions):
            session = SessionFactory(event=event)
            registration_service.register(user=viewer, session=session)
        for _ in range(people):
            registration_service.register(user=UserFactory(), session=first)

    grow(4, 5)  # 5 sessions, 5 people
    few = queries(client, url)
    grow(195, 195)  # 200 sessions, 200 people
    many = queries(client, url)

    assert few == many


def test_the_registration_mode_cannot_change_under_signed_up_people():
    from events.services import ServiceError, scheduling

    session = SessionFactory()
    registration_service.register(user=UserFactory(), session=session)

    with pytest.raises(ServiceError, match="cannot change once people have signed up"):
        scheduling.update_event(
            event=session.event, actor=organizer_of(session.event), registration_mode="lottery"
        )
    session.event.refresh_from_db()
    assert session.event.registration_mode == "open"


def test_a_session_of_one_seat_says_seat_not_seats():
    open_one = SessionFactory(capacity=1)
    approval_one = SessionFactory(capacity=1, event__registration_mode="approval")

    open_page = Client().get(reverse("events:detail", args=[open_one.event_id])).content.decode()
    approval_page = (
        Client().get(reverse("events:detail", args=[approval_one.event_id])).content.decode()
    )

    assert "1 of 1 seat left" in open_page and "1 seats" not in open_page
    assert "1 seat<" in approval_page and "1 seats" not in approval_page


def test_an_online_session_shows_no_empty_where_label(client_for):
    me = UserFactory()
    online = SessionFactory(location="", online_url="https://meet.example.com/x")
    registration = registration_service.register(user=me, session=online)
    client = client_for(me)

    for url in (reverse("events:my_sessions"), reverse("events:detail", args=[online.event_id])):
        html = client.get(url).content.decode()
        assert "Where:" not in html, url
        # Their own join link, not the meeting's address (which they reach through it).
        assert f'href="/join/{registration.join_token}/"' in html, url
        assert "meet.example.com" not in html, url


def test_a_session_in_a_room_says_where(client_for):
    me = UserFactory()
    room = SessionFactory(location="Room 4", online_url="")
    registration_service.register(user=me, session=room)

    html = client_for(me).get(reverse("events:my_sessions")).content.decode()

    assert "<strong>Where:</strong> Room 4" in html


def test_the_application_form_groups_each_choice_question_under_its_question(client_for):
    """A choice question on the sign-up page is a group named by its question (a fieldset
    and legend), its choices named by id, as on every page that asks questions."""
    session = SessionFactory(event__registration_mode="approval")
    stack = ScreeningQuestionFactory(
        event=session.event, label="Stack", kind="single", choices=["Python", "Rust"]
    )
    uses = ScreeningQuestionFactory(
        event=session.event, label="Uses", kind="multiple", choices=["CLI", "API"]
    )

    html = client_for(UserFactory()).get(reverse("events:register", args=[session.pk]))
    html = html.content.decode()

    assert html.count("<fieldset>") == 2
    assert "<legend>Stack" in html and "<legend>Uses" in html
    rust, api = choice_id(stack, "Rust"), choice_id(uses, "API")
    assert f'type="radio" name="q{stack.pk}" value="{rust}"' in html
    assert f'type="checkbox" name="q{uses.pk}" value="{api}"' in html
