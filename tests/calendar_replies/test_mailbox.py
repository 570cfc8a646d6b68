"""The IMAP poll as a guest in someone's mailbox: it leaves mail that is not a calendar answer
unread for a person, never sends the password in clear, and gives up on a server that stalls
instead of holding a sweeps worker."""

import socket
import threading
import time

import pytest

from events import tasks
from events.models import CalendarReply, Registration
from events.services import mailbox as mailbox_service
from events.services.registration import register
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = [pytest.mark.django_db]

BY_HAND = (
    b"From: Ada <ada@example.org>\r\nTo: rsvp@replies.example.com\r\n"
    b"Message-ID: <by-hand@example.org>\r\nSubject: Can I bring a colleague?\r\n\r\n"
    b"Hello, can I bring a colleague along?\r\n"
)


def confirmed_with_invite(smtp):
    session = SessionFactory()
    ada = UserFactory()
    register(user=ada, session=session)
    deliver_pending()
    [invite] = invites(smtp.to(ada.email))
    return ada, invite


@pytest.mark.imap
def test_mail_that_is_not_a_calendar_answer_stays_unread_and_is_read_once(replies_by_imap, smtp):
    mailbox = replies_by_imap
    ada, invite = confirmed_with_invite(smtp)
    mailbox.deliver(BY_HAND)
    mailbox.deliver(reply_mail(invite, partstat="ACCEPTED", sender=ada.email))

    assert tasks.poll_calendar_replies() == 2
    by_hand, answer = mailbox.flags()
    assert b"\\Seen" not in by_hand  # a person still sees it as new
    assert b"\\Seen" in answer
    assert mailbox.unseen() == 1
    assert Registration.objects.get(user=ada).current_calendar_answer == "accepted"

    # The next polls skip it: not fetched again, not counted.
    assert tasks.poll_calendar_replies() == 0
    assert CalendarReply.objects.count() == 2
    assert mailbox.unseen() == 1


@pytest.mark.imap
def test_a_server_without_tls_gets_no_password_unless_the_url_allows_it(
    replies_by_imap, smtp, settings
):
    mailbox = replies_by_imap
    ada, invite = confirmed_with_invite(smtp)
    mailbox.deliver(reply_mail(invite, partstat="ACCEPTED", sender=ada.email))
    settings.CALENDAR_REPLIES_IMAP_URL = mailbox.plain_url  # no STARTTLS in this dovecot

    def logins() -> int:  # dovecot logs each login (the test's own deliveries included)
        return (mailbox.root / "dovecot.log").read_text().count("Login: user=")

    before = logins()
    with pytest.raises(mailbox_service.MailboxError, match="refusing to send the password"):
        tasks.poll_calendar_replies()
    assert logins() == before
    assert mailbox.unseen() == 1
    assert not CalendarReply.objects.exists()

    settings.CALENDAR_REPLIES_IMAP_URL = mailbox.url  # ?insecure=1
    assert tasks.poll_calendar_replies() == 1


@pytest.fixture
def stalling_server():
    """A server that accepts connections and then says nothing (or only its greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()
    greeting: list[bytes] = []

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            for line in greeting:
                conn.sendall(line)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], greeting
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("says", [b"", b"* OK IMAP4rev1 ready\r\n"])
def test_a_server_that_stalls_is_given_up_within_the_timeout(stalling_server, settings, says):
    port, greeting = stalling_server
    if says:
        greeting.append(says)  # greets, then never answers CAPABILITY
    settings.CALENDAR_REPLY_ADDRESS = "rsvp@replies.example.com"
    settings.CALENDAR_REPLIES_IMAP_URL = f"imap://u:p@127.0.0.1:{port}/INBOX?insecure=1"
    settings.CALENDAR_REPLIES_IMAP_TIMEOUT = 1.0

    started = time.monotonic()
    with pytest.raises(mailbox_service.MailboxError, match="did not answer within 1 s"):
        tasks.poll_calendar_replies()
    assert time.monotonic() - started < 5


def test_the_poll_task_has_a_hard_time_limit_beyond_its_own_bounds(settings):
    """The worker process is killed past the limit (a server trickling bytes defeats a
    per-read timeout); the poll's own bounds end it well before."""
    assert tasks.poll_calendar_replies.time_limit == tasks.POLL_TIME_LIMIT
    own = settings.CALENDAR_REPLIES_POLL_SECONDS + 3 * settings.CALENDAR_REPLIES_IMAP_TIMEOUT
    assert own < tasks.POLL_TIME_LIMIT
