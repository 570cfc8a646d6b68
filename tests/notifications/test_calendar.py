"""Calendar truth (DESIGN invariant 4), read back from the mail the SMTP server received: every
calendar object parses with icalendar and vobject; a REQUEST names the recipient; a CANCEL
carries STATUS:CANCELLED; one UID per session; SEQUENCE rises for each attendee; nobody gets a
calendar object for a seat they do not hold, nor a CANCEL for an entry they never had."""

from datetime import UTC, timedelta
from email.utils import parseaddr

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from events.ics import uid_for
from events.models import Notification, Registration
from events.services.registration import cancel, register
from events.services.review import approve, reject
from events.services.scheduling import (
    cancel_event,
    cancel_session,
    update_event,
    update_session,
)
from events.services.waitlist import accept_offer, expire_offers
from tests import factories
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import (
    FIXED_START,
    calendar_part,
    deliver_pending,
    invites,
    parse_calendar,
)

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def organizer_of(session):
    return factories.organizer_of(session.event)


def mailed(smtp, user) -> list:
    deliver_pending()
    return smtp.to(user.email)


def test_a_confirmation_carries_a_complete_request_for_the_recipient(smtp):
    session = SessionFactory(
        starts_at=FIXED_START,
        ends_at=FIXED_START + timedelta(hours=1, minutes=30),
        location="Room 1, Example HQ",
        online_url="https://meet.example.com/abc-defg",
    )
    user = UserFactory(display_name="Ada Lovelace")

    register(user=user, session=session)
    [message] = mailed(smtp, user)
    [invite] = invites([message])

    assert invite.method == "REQUEST"
    assert invite.ical["VERSION"] == "2.0"
    assert invite.ical["PRODID"]
    assert invite.uid == uid_for(session) == f"session-{session.uid}@feedback-sessions"
    assert invite.sequence == 0
    assert invite.status == "CONFIRMED"
    [attendee] = invite.attendees
    assert attendee.lower() == f"mailto:{user.email}"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    # Nobody reads answers here (no calendar replies configured): no Yes / No buttons that
    # would do nothing (tests/calendar_replies for where they are read).
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["CN"] == "Ada Lovelace"
    from_name, from_address = parseaddr(message["From"])
    assert invite.organizer == f"mailto:{from_address}"
    assert invite.organizer_cn == from_name == "Feedback Sessions"
    event = invite.ical.walk("VEVENT")[0]
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert (invite.start, invite.end) == (session.starts_at, session.ends_at)
    assert invite.start.utcoffset() == timedelta(0)
    assert b"DTSTART:20300715T140000Z" in invite.raw
    assert b"DTEND:20300715T153000Z" in invite.raw
    assert "Room 1, Example HQ" in invite.location
    # A hybrid session: the place and the person's own join link, never the meeting itself.
    registration = Registration.objects.get(session=session, user=user)
    join = f"{settings.SITE_URL}{reverse('events:join', args=[registration.join_token])}"
    assert join in invite.location
    assert "meet.example.com" not in invite.raw.decode()
    page = f"{settings.SITE_URL}{reverse('events:detail', args=[session.event_id])}"
    assert page in invite.description
    assert f"Join online: {join}" in invite.description
    assert invite.url == join


def test_an_in_person_invite_links_the_event_page(smtp):
    session = SessionFactory(location="Room 1, Example HQ")
    user = UserFactory()
    register(user=user, session=session)
    [invite] = invites(mailed(smtp, user))
    assert invite.location == "Room 1, Example HQ"
    assert invite.url == f"{settings.SITE_URL}{reverse('events:detail', args=[session.event_id])}"
    assert "/join/" not in invite.raw.decode()


def test_an_online_only_session_puts_the_link_in_the_location_and_description(smtp):
    session = SessionFactory(location="", online_url="https://meet.example.com/only-online")
    user = UserFactory()

    registration = register(user=user, session=session)
    [invite] = invites(mailed(smtp, user))

    join = f"{settings.SITE_URL}{reverse('events:join', args=[registration.join_token])}"
    assert invite.location == join
    assert invite.url == join
    assert f"Join online: {join}" in invite.description
    assert "only-online" not in invite.raw.decode()


def test_a_cancellation_by_the_attendee_carries_a_cancel_for_the_same_entry(smtp):
    session = SessionFactory(online_url="https://meet.example.com/secret")
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()  # the invite went out before they cancelled
    cancel(registration=registration, actor=user)

    request, cancellation = invites(mailed(smtp, user))

    assert cancellation.method == "CANCEL"
    assert cancellation.status == "CANCELLED"
    assert cancellation.uid == request.uid
    assert cancellation.sequence > request.sequence
    assert [a.lower() for a in cancellation.attendees] == [f"mailto:{user.email}"]
    assert cancellation.organizer == request.organizer
    # A cancellation gives away nothing the person no longer holds.
    assert "meet.example.com" not in cancellation.raw.decode()


def test_one_uid_and_a_rising_sequence_from_confirmation_to_change_to_cancelled_session(smtp):
    session = SessionFactory(starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=1))
    user = UserFactory()
    register(user=user, session=session)
    deliver_pending()
    later = FIXED_START + timedelta(days=1)
    update_session(
        session=session,
        actor=organizer_of(session),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )
    deliver_pending()
    cancel_session(session=session, actor=organizer_of(session))

    found = invites(mailed(smtp, user))

    assert [i.method for i in found] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {i.uid for i in found} == {uid_for(session)}
    sequences = [i.sequence for i in found]
    assert sequences == sorted(set(sequences)), sequences
    assert found[1].start == later
    assert found[2].status == "CANCELLED"
    assert found[0].organizer == found[1].organizer == found[2].organizer


def test_sequence_keeps_rising_through_cancel_sign_up_again_and_a_change(smtp):
    session = SessionFactory()
    user = UserFactory()
    registration = register(user=user, session=session)
    cancel(registration=registration, actor=user)
    register(user=user, session=session)
    update_session(session=session, actor=organizer_of(session), location="Room 9, Example HQ")

    found = invites(mailed(smtp, user))

    assert [i.method for i in found] == ["REQUEST", "CANCEL", "REQUEST", "REQUEST"]
    assert {i.uid for i in found} == {uid_for(session)}
    sequences = [i.sequence for i in found]
    assert sequences == sorted(set(sequences)), sequences
    assert "Room 9, Example HQ" in found[-1].location


def test_each_attendee_counts_its_own_sequence_that_never_drops_below_the_sessions(smtp):
    session = SessionFactory(capacity=5)
    early, late = UserFactory(), UserFactory()
    first = register(user=early, session=session)
    cancel(registration=first, actor=early)
    register(user=early, session=session)  # early's entry has been through two messages
    update_session(session=session, actor=organizer_of(session), location="Room 2")
    register(user=late, session=session)  # late joins after the change
    update_session(session=session, actor=organizer_of(session), location="Room 3")
    session.refresh_from_db()

    early_seq = [i.sequence for i in invites(mailed(smtp, early))]
    late_seq = [i.sequence for i in invites(smtp.to(late.email))]

    assert early_seq == sorted(set(early_seq))
    assert late_seq == sorted(set(late_seq))
    assert late_seq[0] == 1, "a newcomer starts at the session's own sequence"
    assert late_seq[-1] >= session.sequence
    assert early_seq[-1] >= session.sequence


def test_an_approved_applicant_gets_a_request(smtp):
    session = SessionFactory(event__registration_mode="approval")
    user = UserFactory()
    applied = register(user=user, session=session)
    approve(registration=applied, actor=organizer_of(session))

    applied_mail, approved_mail = mailed(smtp, user)

    assert calendar_part(applied_mail) is None
    [invite] = invites([approved_mail])
    assert invite.method == "REQUEST"
    assert invite.uid == uid_for(session)


def test_waitlisted_and_applied_people_get_no_calendar(smtp):
    full = SessionFactory(capacity=1)
    register(user=UserFactory(), session=full)
    waiting = UserFactory()
    register(user=waiting, session=full)
    applicant = UserFactory()
    register(user=applicant, session=SessionFactory(event__registration_mode="approval"))

    deliver_pending()

    for user in (waiting, applicant):
        [message] = smtp.to(user.email)
        assert calendar_part(message) is None
        assert not [p for p in message.walk() if p.get_filename()]


def test_people_who_never_had_an_entry_get_no_cancel(smtp):
    session = SessionFactory(capacity=1)
    register(user=UserFactory(), session=session)
    waiting, leaving = UserFactory(), UserFactory()
    register(user=waiting, session=session)
    gone = register(user=leaving, session=session)
    cancel(registration=gone, actor=leaving)  # a waitlisted person leaves
    applied_session = SessionFactory(event__registration_mode="approval")
    turned_down = UserFactory()
    rejected = register(user=turned_down, session=applied_session)
    reject(registration=rejected, actor=organizer_of(applied_session))
    cancel_session(session=session, actor=organizer_of(session))

    deliver_pending()

    for user in (waiting, leaving, turned_down):
        messages = smtp.to(user.email)
        assert len(messages) == 2
        assert [calendar_part(m) for m in messages] == [None, None], user
        assert "removed from your calendar" not in messages[-1].get_body(("plain",)).get_content()


def test_an_offered_person_gets_a_request_only_once_they_accept(smtp):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    user = UserFactory()
    waiting = register(user=user, session=session)
    cancel(registration=seated, actor=seated.user)  # user is offered the seat
    update_session(session=session, actor=organizer_of(session), location="Room 4")
    deliver_pending()
    before = smtp.to(user.email)

    accept_offer(registration=waiting, user=user)
    deliver_pending()
    after = smtp.to(user.email)[len(before) :]

    assert [calendar_part(m) for m in before] == [None, None, None]  # waitlisted, offered, changed
    [invite] = invites(after)
    assert invite.method == "REQUEST"
    session.refresh_from_db()
    assert invite.sequence == session.sequence
    assert "Room 4" in invite.location


def test_an_offered_person_turned_down_or_lapsed_gets_no_cancel(smtp):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    first, second = UserFactory(), UserFactory()
    offered_first = register(user=first, session=session)
    offered_second = register(user=second, session=session)
    cancel(registration=seated, actor=seated.user)  # first is offered the seat
    deliver_pending()
    reject(registration=offered_first, actor=organizer_of(session))  # now second is offered
    deliver_pending()
    Registration.objects.filter(pk=offered_second.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expire_offers()

    deliver_pending()

    assert [m["Subject"].split(":")[0] for m in smtp.to(first.email)] == [
        "[Feedback Sessions] You're on the waitlist",
        "[Feedback Sessions] A seat is free for you",
        "[Feedback Sessions] About your application",
    ]
    assert [m["Subject"].split(":")[0] for m in smtp.to(second.email)] == [
        "[Feedback Sessions] You're on the waitlist",
        "[Feedback Sessions] A seat is free for you",
        "[Feedback Sessions] Your offer expired",
    ]
    for user in (first, second):
        assert [calendar_part(m) for m in smtp.to(user.email)] == [None] * 3


def test_an_attendee_cancelled_by_the_organizer_gets_a_cancel(smtp):
    session = SessionFactory()
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()
    cancel(registration=registration, actor=organizer_of(session), by_organizer=True)

    request, cancellation = invites(mailed(smtp, user))

    assert (cancellation.method, cancellation.status) == ("CANCEL", "CANCELLED")
    assert cancellation.uid == request.uid
    assert cancellation.sequence > request.sequence


def test_every_calendar_object_states_its_times_in_utc(smtp):
    session = SessionFactory(starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=2))
    session.event.timezone = "Asia/Tokyo"
    session.event.save(update_fields=["timezone"])
    user = UserFactory(timezone="America/Los_Angeles")
    register(user=user, session=session)
    deliver_pending()
    cancel_session(session=session, actor=organizer_of(session))

    found = invites(mailed(smtp, user))

    assert len(found) == 2
    for invite in found:
        assert invite.start.tzinfo is not None and invite.start.utcoffset() == timedelta(0)
        assert invite.start == FIXED_START.astimezone(UTC)
        assert b"TZID" not in invite.raw
        assert b"VTIMEZONE" not in invite.raw


def test_the_calendar_part_and_the_attachment_are_the_same_object(smtp):
    user = UserFactory()
    register(user=user, session=SessionFactory())

    [message] = mailed(smtp, user)

    [attachment] = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert attachment.get_payload(decode=True) == calendar_part(message)
    assert parse_calendar(attachment.get_payload(decode=True)).method == "REQUEST"


def test_a_new_time_is_sent_to_every_confirmed_attendee_and_nobody_else(smtp):
    session = SessionFactory(
        capacity=3, starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=1)
    )
    attendees = [UserFactory() for _ in range(3)]
    registrations = [register(user=u, session=session) for u in attendees]
    waiting, leaving = UserFactory(), UserFactory()
    register(user=waiting, session=session)
    cancel(registration=registrations.pop(), actor=attendees[-1])  # waiting is offered the seat
    register(user=leaving, session=session)
    deliver_pending()
    before = {u.email: len(smtp.to(u.email)) for u in (*attendees, waiting, leaving)}
    later = FIXED_START + timedelta(hours=3)

    update_session(
        session=session,
        actor=organizer_of(session),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )
    deliver_pending()

    for user in attendees[:2]:
        first, update = invites(smtp.to(user.email))
        assert update.method == "REQUEST"
        assert update.uid == first.uid
        assert update.sequence > first.sequence
        assert (update.start, update.end) == (later, later + timedelta(hours=1))
        assert [a.lower() for a in update.attendees] == [f"mailto:{user.email}"]
    # The one who left gets nothing; the offered one is told, without a calendar object.
    assert len(smtp.to(attendees[-1].email)) == before[attendees[-1].email]
    [told] = smtp.to(waiting.email)[before[waiting.email] :]
    assert calendar_part(told) is None
    assert len(smtp.to(leaving.email)) == before[leaving.email]  # waitlisted: nothing


def test_a_change_of_capacity_alone_sends_no_calendar_update(smtp):
    session = SessionFactory()
    user = UserFactory()
    register(user=user, session=session)

    update_session(session=session, actor=organizer_of(session), capacity=20)

    session.refresh_from_db()
    assert session.sequence == 0
    assert not Notification.objects.filter(kind=Kind.SESSION_CHANGED).exists()


def test_renaming_the_event_or_the_session_updates_every_attendees_entry(smtp):
    session = SessionFactory(event__title="Model preview", title="")
    first, second = UserFactory(), UserFactory()
    register(user=first, session=session)
    register(user=second, session=session)

    deliver_pending()
    update_event(event=session.event, actor=organizer_of(session), title="Model preview 2")
    deliver_pending()
    update_session(session=session, actor=organizer_of(session), title="Europe slot")
    deliver_pending()

    for user in (first, second):
        found = invites(smtp.to(user.email))
        assert [i.method for i in found] == ["REQUEST"] * 3
        assert {i.uid for i in found} == {uid_for(session)}
        sequences = [i.sequence for i in found]
        assert sequences == sorted(set(sequences)), sequences
        summaries = [str(i.ical.walk("VEVENT")[0]["SUMMARY"]) for i in found]
        assert summaries == [
            "Model preview",
            "Model preview 2",
            "Model preview 2: Europe slot",
        ]
        assert [a.lower() for a in found[-1].attendees] == [f"mailto:{user.email}"]
        assert "Changed: Model preview 2" in smtp.to(user.email)[-1]["Subject"]


def test_cancelling_an_event_sends_a_cancel_for_each_session_to_come(smtp):
    first = SessionFactory()
    second = SessionFactory(event=first.event)
    user = UserFactory()
    register(user=user, session=first)
    register(user=user, session=second)
    deliver_pending()

    cancel_event(event=first.event, actor=organizer_of(first))
    found = invites(mailed(smtp, user))

    cancels = {i.uid: i for i in found if i.method == "CANCEL"}
    assert set(cancels) == {uid_for(first), uid_for(second)}
    assert all(i.status == "CANCELLED" for i in cancels.values())
