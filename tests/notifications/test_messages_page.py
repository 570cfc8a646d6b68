"""The organizers' messages page (events.views.messages): what the outbox did for a session,
each message's status and reason, and 'send again' for a failed one."""

from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Notification
from events.outbox import delivery
from events.services.registration import register
from tests.factories import OrganizerFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status


@pytest.fixture
def owner():
    return OrganizerFactory()


@pytest.fixture
def session(owner):
    return SessionFactory(event__organizer=owner, capacity=500)


def page_url(session) -> str:
    return reverse("manage:session_messages", args=[session.pk])


def resend_url(row) -> str:
    return reverse("manage:message_resend", args=[row.pk])


def owed(session, count: int = 1) -> list[Notification]:
    for _ in range(count):
        register(user=UserFactory(), session=session)
    return list(Notification.objects.filter(session=session).order_by("pk"))


def failed(row: Notification, reason: str = "550 5.1.1 no such user") -> None:
    Notification.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=1, last_error=reason
    )


def test_anonymous_visitors_are_sent_to_log_in(session):
    response = Client().get(page_url(session))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_person_who_organizes_nothing_gets_a_404(session, client_for):
    assert client_for(UserFactory()).get(page_url(session)).status_code == 404


def test_the_organizer_of_another_event_gets_a_404(session, client_for):
    other = OrganizerFactory()
    SessionFactory(event__organizer=other)

    assert client_for(other).get(page_url(session)).status_code == 404


def test_the_owner_sees_each_message_with_its_status_and_reason(owner, session, client_for):
    sent, broken, waiting = owed(session, 3)
    Notification.objects.filter(pk=sent.pk).update(status=Status.SENT)
    failed(broken, "550 5.1.1 <person@example.com>: no such user")

    response = client_for(owner).get(page_url(session))

    assert response.status_code == 200
    page = unescape(response.content.decode())
    for row in (sent, broken, waiting):
        assert row.email in page
    assert "Sent" in page and "Failed" in page and "Pending" in page
    assert "550 5.1.1 <person@example.com>: no such user" in page
    assert page.count(">Send again<") == 1
    assert "Calendar invite" in page


def test_a_refused_recipient_shows_what_the_mail_server_said_not_a_python_repr(
    owner, session, smtp, client_for
):
    [row] = owed(session)
    smtp.rcpt_replies = ["550 5.1.1 User unknown"]
    delivery.deliver(notification_id=row.pk)

    page = unescape(client_for(owner).get(page_url(session)).content.decode())

    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.last_error == "550 5.1.1 User unknown"
    assert "550 5.1.1 User unknown" in page
    assert "SMTPRecipientsRefused" not in page
    assert "b'" not in page and "{'" not in page


def test_the_page_filters_by_status(owner, session, client_for):
    sent, broken = owed(session, 2)
    failed(broken)

    page = client_for(owner).get(page_url(session), {"status": "failed"}).content.decode()

    assert broken.email in page
    assert sent.email not in page


def test_sending_a_failed_message_again_makes_it_pending_and_enqueues_it_on_commit(
    owner, session, enqueued, django_capture_on_commit_callbacks, client_for
):
    [row] = owed(session)
    failed(row)
    client = client_for(owner)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(resend_url(row))
        assert enqueued == []

    assert response.status_code == 302
    assert response["Location"] == page_url(session)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        Status.PENDING,
        0,
        "",
        None,
    )
    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [row.pk]


def test_a_sent_message_is_not_sent_again(
    owner, session, enqueued, django_capture_on_commit_callbacks, client_for
):
    [row] = owed(session)
    Notification.objects.filter(pk=row.pk).update(status=Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(resend_url(row))

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Only a failed message can be sent again."
    ]
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert enqueued == []


def test_sending_again_is_a_post_for_the_owner_only(owner, session, enqueued, client_for):
    [row] = owed(session)
    failed(row)
    other = OrganizerFactory()
    SessionFactory(event__organizer=other)

    assert client_for(owner).get(resend_url(row)).status_code == 405
    assert client_for(other).post(resend_url(row)).status_code == 404
    assert client_for(UserFactory()).post(resend_url(row)).status_code == 404
    assert Client().post(resend_url(row)).status_code == 302
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert enqueued == []


def queries_for_page(client, session) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(session)).status_code == 200
    return len(queries)


def test_the_page_needs_the_same_queries_for_5_or_200_messages(owner, client_for):
    small = SessionFactory(event__organizer=owner, capacity=500)
    large = SessionFactory(event__organizer=owner, capacity=500)
    for row in owed(small, 5)[::2]:
        failed(row)
    for row in owed(large, 200)[::2]:
        failed(row)
    client = client_for(owner)
    queries_for_page(client, small)  # warm the session and the user's login

    assert queries_for_page(client, small) == queries_for_page(client, large)


def test_calendar_messages_are_named_for_people_not_by_itip_method(session, owner, client_for):
    from events.services.registration import cancel
    from events.services.scheduling import update_session

    person = UserFactory()
    registration = register(user=person, session=session)
    update_session(session=session, actor=owner, location="Room 9")
    cancel(registration=registration, actor=person)

    html = client_for(owner).get(page_url(session)).content.decode()

    assert "Calendar invite<" in html
    assert "Calendar update #1<" in html
    assert "Calendar cancellation<" in html
    assert "seq " not in html and "request ·" not in html and "cancel ·" not in html


def test_staff_sending_again_a_message_of_no_session_or_invitation_is_not_a_500(
    enqueued, client_for
):
    """Staff reach every outbox row; one about an open call (no session, no invitation) is
    sent again and leads back to the organizer pages rather than failing on the way."""
    row = Notification.objects.create(
        key="call_received:test:1", kind=Notification.Kind.CALL_RECEIVED, email="a@example.com"
    )
    failed(row)
    staff = UserFactory(is_staff=True)

    response = client_for(staff).post(resend_url(row))

    assert response.status_code == 302
    assert response["Location"] == reverse("manage:dashboard")
    row.refresh_from_db()
    assert row.status == Status.PENDING
