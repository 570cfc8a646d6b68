"""The local inbox of `make run` (config.devmail): one terminal line per email instead of its
whole MIME, every message kept as a file and readable at /dev/mail/ while DEBUG is on, and the
sender's HTML shown where no script of it can run."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.urls import reverse

from config import devmail
from events.models import Notification
from events.outbox import delivery
from tests.factories import EventFactory, OrganizerFactory, SessionFactory
from tests.invitations.helpers import invite

ROOT = Path(__file__).resolve().parent.parent
EVIL = '<script>alert("x")</script>'


@pytest.fixture
def inbox_dir(settings, tmp_path) -> Path:
    settings.DEV_MAIL_DIR = str(tmp_path / "mail")
    settings.SITE_URL = "http://127.0.0.1:8123"
    return tmp_path / "mail"


def send(*messages: EmailMultiAlternatives) -> list[str]:
    """Send through the inbox backend; the lines it printed."""
    out = io.StringIO()
    backend = devmail.InboxBackend(stream=out)
    assert backend.send_messages(list(messages)) == len(messages)
    return out.getvalue().splitlines()


def welcome(to: str = "ann@example.com", subject: str = "Welcome") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body="Hello Ann,\n\nAnswer the survey: http://127.0.0.1:8123/survey/abc/\n",
        from_email="Feedback Sessions <noreply@localhost>",
        to=[to],
    )
    message.attach_alternative(
        '<p>Hello Ann</p><p><a href="http://127.0.0.1:8123/survey/abc/" '
        'style="display:inline-block">Answer the survey</a></p>',
        "text/html",
    )
    message.attach("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    return message


def test_each_email_is_one_terminal_line_with_recipient_subject_and_main_link(inbox_dir):
    lines = send(welcome(), welcome(to="bob@example.com", subject="Second"))

    assert len(lines) == 2
    assert "ann@example.com" in lines[0] and "'Welcome'" in lines[0]
    assert "http://127.0.0.1:8123/survey/abc/" in lines[0]
    assert "http://127.0.0.1:8123/dev/mail/" in lines[0]
    assert "bob@example.com" in lines[1] and "'Second'" in lines[1]
    assert not any("Content-Type" in line or "BEGIN:VCALENDAR" in line for line in lines)
    assert len(list(inbox_dir.glob("*.eml"))) == 2


def test_a_text_only_email_names_its_first_link(inbox_dir):
    message = EmailMultiAlternatives(
        subject="Please confirm your email address",
        body="To confirm, go to http://127.0.0.1:8123/accounts/confirm-email/KEY/\n\nThanks",
        to=["ann@example.com"],
    )

    [line] = send(message)

    assert "http://127.0.0.1:8123/accounts/confirm-email/KEY/ " in line


def test_a_confirmation_names_my_sessions_rather_than_its_cancel_button(inbox_dir):
    site = "http://127.0.0.1:8123"
    message = EmailMultiAlternatives(
        subject="You're in",
        body=(
            "Your seat is confirmed.\nJoin online: https://meet.example.com/x\n"
            f"Download it again: {site}/registrations/1/invite.ics\n"
            f"Can't make it? Cancel: {site}/registrations/1/cancel/\n--\n"
            f"My sessions: {site}/me/sessions/\n"
        ),
        to=["ann@example.com"],
    )
    message.attach_alternative(
        f'<a href="{site}/registrations/1/cancel/" style="display:inline-block">Cancel</a>',
        "text/html",
    )

    [line] = send(message)

    assert f"-> {site}/me/sessions/ " in line


@pytest.mark.django_db
def test_an_invitation_delivered_by_the_outbox_lands_in_the_inbox_with_its_accept_link(
    settings, inbox_dir, capsys
):
    settings.EMAIL_BACKEND = "config.devmail.InboxBackend"
    session = SessionFactory(event=EventFactory(organizer=OrganizerFactory(), title="Preview"))
    [invitation] = invite(session, "ann@example.com")
    row = Notification.objects.get(invitation=invitation, kind="invitation")

    assert delivery.deliver(notification_id=row.pk) == delivery.Outcome(sent=True)
    delivery.drop_worker_connection()

    [line] = capsys.readouterr().out.splitlines()
    assert "ann@example.com" in line and "Preview" in line
    assert "http://127.0.0.1:8123/invitations/" in line
    [kept] = inbox_dir.glob("*.eml")
    assert b"ann@example.com" in kept.read_bytes()


def test_make_run_keeps_mail_in_the_local_inbox_unless_an_email_url_is_set():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "EMAIL_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND)"
    )

    def backend(**extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    assert backend() == "config.devmail.InboxBackend"
    assert (
        backend(EMAIL_URL="smtp://127.0.0.1:1025") == "django.core.mail.backends.smtp.EmailBackend"
    )


@pytest.mark.django_db
def test_the_inbox_lists_messages_newest_first_and_shows_each_one(client, settings, inbox_dir):
    settings.DEBUG = True
    send(welcome(subject="Older"))
    send(welcome(to="bob@example.com", subject="Newer"))

    page = client.get("/dev/mail/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Newer") < html.index("Older")
    newest = devmail.summaries()[0].name
    message = client.get(reverse("dev_mail_message", args=[newest]))
    assert message.status_code == 200
    shown = message.content.decode()
    assert "bob@example.com" in shown and "Newer" in shown
    assert "Answer the survey: http://127.0.0.1:8123/survey/abc/" in shown
    assert "invite.ics" in shown
    assert reverse("dev_mail_html", args=[newest]) in shown


@pytest.mark.django_db
def test_the_inbox_does_not_exist_without_debug(client, settings, inbox_dir):
    settings.DEBUG = False
    send(welcome())
    name = devmail.summaries()[0].name

    assert client.get("/dev/mail/").status_code == 404
    assert client.get(reverse("dev_mail_message", args=[name])).status_code == 404
    assert client.get(reverse("dev_mail_html", args=[name])).status_code == 404


@pytest.mark.django_db
def test_a_name_that_is_not_a_kept_message_is_a_404(client, settings, inbox_dir):
    settings.DEBUG = True
    send(welcome())

    assert client.get("/dev/mail/..%2F..%2Fsettings/").status_code == 404
    assert client.get("/dev/mail/20990101T000000000000-deadbeef/").status_code == 404


@pytest.mark.django_db
def test_what_a_user_typed_into_an_email_never_runs_in_the_inbox(client, settings, inbox_dir):
    settings.DEBUG = True
    message = EmailMultiAlternatives(
        subject=f"Hi {EVIL}", body=f"Text {EVIL}", to=["a@example.com"]
    )
    message.attach_alternative(f"<p>Title {EVIL}</p>", "text/html")
    send(message)
    name = devmail.summaries()[0].name

    page = client.get(reverse("dev_mail_message", args=[name])).content.decode()
    assert EVIL not in page
    assert "&lt;script&gt;" in page
    assert '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    # The HTML part is served on its own, under a policy that runs no script even when the
    # address is opened outside its frame.
    raw = client.get(reverse("dev_mail_html", args=[name]))
    policy = raw["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy and "allow-scripts" not in policy


def test_the_backend_is_reachable_through_get_connection(settings, inbox_dir):
    settings.EMAIL_BACKEND = "config.devmail.InboxBackend"

    assert isinstance(get_connection(), devmail.InboxBackend)
