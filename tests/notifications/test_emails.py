"""The emails as the SMTP server received them (events.outbox.rendering): the MIME shape mail
clients need for an invite, From equal to the calendar ORGANIZER, links that are absolute and
open for the recipient, times in the recipient's zone; and every kind of message renders,
escaped."""

import email
from datetime import timedelta
from email import policy
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import resolve
from django.utils import timezone

from events.messages import registrations as registration_messages
from events.models import Notification, Registration
from events.outbox import delivery, rendering
from events.services import reminders
from events.services.lottery import draw
from events.services.registration import cancel, register
from events.services.review import approve, reject
from events.services.scheduling import cancel_session, update_session
from events.services.waitlist import expire_offers
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of
from tests.notifications.helpers import (
    FIXED_START,
    bodies,
    calendar_part,
    deliver_pending,
    links_in,
    parse_calendar,
)

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
# The kinds a registration's people are owed (invitations bring their own, tested with them).
KINDS = set(registration_messages.KINDS)
EVIL = '<script>alert("x")</script> & <b>friends</b>'


def raw_messages(smtp, user) -> list[email.message.EmailMessage]:
    """The bytes the server received for `user`, parsed afresh (nothing added by the test)."""
    found = []
    for data in smtp.raw:
        message = email.message_from_bytes(data, policy=policy.default)
        if user.email in message["To"]:
            found.append(message)
    return found


def only_mail_for(smtp, user):
    deliver_pending()
    [message] = raw_messages(smtp, user)
    return message


def assert_invite_shape(message, method: str) -> None:
    assert message.get_content_type() == "multipart/mixed"
    alternative, *attachments = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar = alternative.get_payload()[2]
    assert calendar.get_param("method") == method
    assert calendar.get_param("charset").lower() == "utf-8"
    # Other attachments may come along (a check-in code); exactly one is the invite.
    [attachment] = [a for a in attachments if a.get_filename() == "invite.ics"]
    assert attachment.get_content_disposition() == "attachment"
    data = attachment.get_payload(decode=True)
    assert data == calendar.get_payload(decode=True)
    assert parse_calendar(data).method == method == calendar.get_param("method")


def test_an_invite_is_mixed_with_an_alternative_of_text_html_and_the_request(smtp):
    user = UserFactory()
    register(user=user, session=SessionFactory())

    message = only_mail_for(smtp, user)

    assert_invite_shape(message, "REQUEST")
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_cancellation_has_the_same_shape_with_method_cancel(smtp):
    user = UserFactory()
    registration = register(user=user, session=SessionFactory())
    deliver_pending()
    smtp.raw.clear()
    cancel(registration=registration, actor=user)

    message = only_mail_for(smtp, user)

    assert_invite_shape(message, "CANCEL")


def test_a_message_without_a_calendar_is_just_text_and_html(smtp):
    user = UserFactory()
    register(user=user, session=SessionFactory(event__registration_mode="approval"))

    message = only_mail_for(smtp, user)

    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]


def test_the_sender_is_the_calendar_organizer_on_every_message_about_a_session(smtp):
    session = SessionFactory()
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()
    update_session(session=session, actor=organizer_of(session.event), location="Room 5")
    deliver_pending()
    cancel(registration=registration, actor=user)
    deliver_pending()

    messages = raw_messages(smtp, user)

    assert len(messages) == 3
    for message in messages:
        name, address = parseaddr(message["From"])
        invite = parse_calendar(calendar_part(message))
        assert message["From"] == settings.DEFAULT_FROM_EMAIL
        assert invite.organizer == f"mailto:{address}"
        assert invite.organizer_cn == name


def open_every_link(client_for, message, user, *, external: set[str] = frozenset()) -> set[str]:
    """Every link is on this site and opens (200) for the recipient; returns the paths."""
    links = links_in(message) - set(external)
    assert links
    client = client_for(user)
    paths = set()
    for link in links:
        assert link.startswith(settings.SITE_URL + "/"), link
        path = urlsplit(link).path
        resolve(path)
        response = client.get(path)
        assert response.status_code == 200, (link, response.status_code)
        paths.add(path)
    return paths


def test_every_link_in_a_confirmation_is_absolute_and_opens_for_the_recipient(smtp, client_for):
    session = SessionFactory(online_url="https://meet.example.com/abc")
    user = UserFactory()
    registration = register(user=user, session=session)

    message = only_mail_for(smtp, user)
    paths = open_every_link(client_for, message, user)

    # The meeting is reached through the person's own join link, never written in the mail.
    assert f"/join/{registration.join_token}/" in paths
    text, html = bodies(message)
    assert session.online_url not in text + html + str(calendar_part(message))
    assert f"/registrations/{registration.pk}/cancel/" in paths
    assert f"/registrations/{registration.pk}/invite.ics" in paths
    assert f"/events/{session.event_id}/" in paths
    assert parse_calendar(calendar_part(message)).url.startswith(settings.SITE_URL + "/")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED, "opening a link changed nothing"


def test_every_link_in_an_offer_opens_for_the_recipient_and_only_shows_the_offer(smtp, client_for):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    user = UserFactory()
    waiting = register(user=user, session=session)
    cancel(registration=seated, actor=seated.user)
    deliver_pending()

    offer = raw_messages(smtp, user)[-1]
    paths = open_every_link(client_for, offer, user)

    assert f"/registrations/{waiting.pk}/offer/" in paths
    waiting.refresh_from_db()
    assert waiting.status == Registration.Status.OFFERED, "opening the link changed nothing"


def test_every_link_in_a_change_a_reminder_and_a_cancellation_opens_for_the_recipient(
    smtp, client_for
):
    session = SessionFactory()
    user = UserFactory()
    registration = register(user=user, session=session)
    update_session(session=session, actor=organizer_of(session.event), location="Room 6")
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))
    deliver_pending()
    for message in raw_messages(smtp, user)[1:]:
        open_every_link(client_for, message, user)

    cancel(registration=registration, actor=user)
    deliver_pending()
    open_every_link(client_for, raw_messages(smtp, user)[-1], user)

    assert len(raw_messages(smtp, user)) == 4


def test_a_change_mailed_to_an_offered_person_shows_no_place_and_no_dead_link(smtp, client_for):
    session = SessionFactory(capacity=1, online_url="https://meet.example.com/confidential")
    seated = register(user=UserFactory(), session=session)
    user = UserFactory()
    register(user=user, session=session)
    cancel(registration=seated, actor=seated.user)  # user holds an offer, not a seat
    deliver_pending()
    smtp.raw.clear()
    update_session(session=session, actor=organizer_of(session.event), location="Room 7")

    message = only_mail_for(smtp, user)
    text, rich = bodies(message)

    assert calendar_part(message) is None
    assert "Room 7" not in text + rich
    assert "meet.example.com" not in text + rich
    open_every_link(client_for, message, user)


def test_times_are_in_the_recipients_zone_with_the_events_zone_beside_them(smtp):
    session = SessionFactory(
        starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=1, minutes=30)
    )  # event in Europe/Berlin
    user = UserFactory(timezone="America/New_York")
    register(user=user, session=session)

    text, rich = bodies(only_mail_for(smtp, user))

    expected = "Mon 15 Jul 2030, 10:00–11:30 EDT (16:00 CEST in Europe/Berlin, event time)"
    assert expected in text
    assert expected in rich
    assert "America/New_York" in text


def test_a_recipient_in_the_events_zone_sees_the_time_once(smtp):
    session = SessionFactory(starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=1))
    user = UserFactory(timezone="Europe/Berlin")
    register(user=user, session=session)

    text, _ = bodies(only_mail_for(smtp, user))

    assert "Mon 15 Jul 2030, 16:00–17:00 CEST\n" in text
    assert "event time" not in text


def test_a_session_across_a_change_of_the_clocks_shows_each_ends_own_zone_label(smtp):
    from datetime import UTC, datetime

    start = datetime(2033, 3, 27, 0, 30, tzinfo=UTC)  # 01:30 CET; the clocks go forward at 02:00
    session = SessionFactory(starts_at=start, ends_at=start + timedelta(hours=2))
    user = UserFactory(timezone="Europe/Berlin")
    register(user=user, session=session)

    text, rich = bodies(only_mail_for(smtp, user))

    assert "Sun 27 Mar 2033, 01:30 CET–04:30 CEST" in text
    assert "Sun 27 Mar 2033, 01:30 CET–04:30 CEST" in rich
    assert "01:30–04:30 CEST" not in text


def test_an_offer_deadline_is_in_the_recipients_zone(smtp):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    user = UserFactory(timezone="Asia/Tokyo")
    waiting = register(user=user, session=session)
    cancel(registration=seated, actor=seated.user)
    deliver_pending()
    waiting.refresh_from_db()

    text, _ = bodies(raw_messages(smtp, user)[-1])

    deadline = timezone.localtime(waiting.offer_expires_at, ZoneInfo("Asia/Tokyo"))
    assert f"until {deadline:%a %-d %b %Y, %H:%M} JST" in text


def every_kind_of_row() -> dict[str, Notification]:
    """One realistic row of each kind, made by the services, about an event whose title and
    people's names are hostile."""
    open_event = EventFactory(title=EVIL)
    organizer = organizer_of(open_event)
    session = SessionFactory(event=open_event, capacity=1, online_url="https://meet.example.com/x")
    hostile = {"display_name": "<img src=x onerror=alert(1)>"}
    seated = register(user=UserFactory(**hostile), session=session)
    first = register(user=UserFactory(**hostile), session=session)  # waitlisted
    register(user=UserFactory(**hostile), session=session)  # waitlisted, offered next
    cancel(registration=seated, actor=seated.user)  # first is offered
    Registration.objects.filter(pk=first.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expire_offers()  # offer expired; second is offered
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))  # nobody confirmed yet

    other = SessionFactory(event=open_event)
    kept = register(user=UserFactory(**hostile), session=other)
    dropped = register(user=UserFactory(**hostile), session=other)
    cancel(registration=dropped, actor=organizer, by_organizer=True)
    update_session(session=other, actor=organizer, location="Room <8>")
    reminders.queue_due(now=other.starts_at - timedelta(minutes=59))
    cancel_session(session=other, actor=organizer)
    assert kept

    applications = SessionFactory(event=EventFactory(title=EVIL, registration_mode="approval"))
    yes = register(user=UserFactory(**hostile), session=applications)
    no = register(user=UserFactory(**hostile), session=applications)
    approve(registration=yes, actor=organizer_of(applications.event))
    reject(registration=no, actor=organizer_of(applications.event))

    lottery = SessionFactory(event=EventFactory(title=EVIL, registration_mode="lottery"))
    register(user=UserFactory(**hostile), session=lottery)
    draw(session=lottery, seed="fixed")

    rows = {}
    for row in Notification.objects.order_by("pk"):
        rows.setdefault(row.kind, row)
    return rows


def test_every_kind_of_message_renders_subject_text_and_html():
    rows = every_kind_of_row()

    assert set(rows) == KINDS
    for kind, row in rows.items():
        message = rendering.build(row)
        mime = message.message()
        text, rich = message.body, message.alternatives[0].content
        assert message.subject.startswith("[Feedback Sessions] "), kind
        assert EVIL in message.subject, kind  # plain text: kept as written
        assert "\n" not in message.subject
        assert "Hello " in text and "Hello " in rich, kind
        assert EVIL in text, kind
        assert "{{" not in text + rich and "{%" not in text + rich, kind
        assert mime["To"] == row.email
        assert b"Traceback" not in mime.as_bytes()


def test_html_escapes_what_people_typed():
    rows = every_kind_of_row()

    for kind, row in rows.items():
        rich = rendering.build(row).alternatives[0].content
        assert "<script>" not in rich, kind
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;friends" in rich
        assert "<img src=x" not in rich, kind
        assert "&lt;img src=x onerror=alert(1)&gt;" in rich, kind
        assert "<b>friends</b>" not in rich, kind
    changed = rendering.build(rows[Kind.SESSION_CHANGED]).alternatives[0].content
    assert "Room &lt;8&gt;" in changed


def test_the_calendar_of_every_kind_that_has_one_parses(smtp):
    rows = every_kind_of_row()

    methods = {}
    for kind, row in rows.items():
        data = rendering.calendar_bytes(row, rendering.context_for(row))
        if data:
            method, ics = data
            assert parse_calendar(ics).method == method
            methods[kind] = method

    assert methods == {
        Kind.CONFIRMED: "REQUEST",
        Kind.APPROVED: "REQUEST",
        Kind.SESSION_CHANGED: "REQUEST",
        Kind.CANCELLED: "CANCEL",
        Kind.CANCELLED_BY_ORGANIZER: "CANCEL",
        Kind.SESSION_CANCELLED: "CANCEL",
    }


def test_a_copy_sent_twice_carries_the_same_message_id_built_from_the_outbox_key(smtp, settings):
    settings.DEFAULT_FROM_EMAIL = "Feedback Sessions <noreply@feedback.example.org>"
    user = UserFactory()
    register(user=user, session=SessionFactory())
    row = Notification.objects.get()
    assert delivery.deliver(notification_id=row.pk).sent
    # The worker died between sending and marking it sent: the row is taken back and sent
    # again (the at-least-once window), a copy receivers can drop.
    Notification.objects.filter(pk=row.pk).update(status=Notification.Status.SENDING)
    delivery.requeue_due(now=timezone.now() + timedelta(hours=1))
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=None)
    assert delivery.deliver(notification_id=row.pk).sent

    first, second = raw_messages(smtp, user)
    assert first["Message-ID"] == second["Message-ID"]
    key = row.key.replace(":", ".")  # confirmed.reg<pk>.user<pk>.<version>
    assert first["Message-ID"] == f"<{key}@feedback.example.org>"


def test_a_message_id_is_valid_whatever_characters_the_key_holds(settings):
    settings.DEFAULT_FROM_EMAIL = "noreply@localhost"
    weird = rendering.message_id("invitation:inv7:a.b=c d<e>@f::")
    plain = rendering.message_id("invitation:inv7:Ab-_9:20300715T140000")

    assert plain == "<invitation.inv7.Ab-_9.20300715T140000@localhost>"
    left = weird[1:].split("@")[0]
    assert weird == f"<{left}@localhost>"
    assert all(c.isalnum() or c in "-_=" for c in left), left
    assert weird != rendering.message_id("invitation:inv7:a.b=c d<e>@f")
