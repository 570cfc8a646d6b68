"""A full run, as production writes its logs: gunicorn (our logger class, an access log that
prints the request line, the referer and the Authorization header) and a Celery worker, both
with LOG_FORMAT=json, on the run's PostgreSQL database and Redis, mail to a real SMTP server.
People sign up, log in, reset a password, follow every link their mail brings, open feeds,
invitations, surveys, check-in codes, join links, unsubscribe links and call links, and call
the API with a token. Then every log line is read: each is one JSON object, and none holds a
token the run created, or an email address."""

import json
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client

from config.celery import app
from events.models import Notification, Registration, SurveyRecipient
from events.services import api_tokens, contact, invitations, surveys, teams
from tests.celery_worker import wait_for
from tests.factories import (
    InvitationFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
)
from tests.mail import SMTPServer
from tests.workers import ROOT, worker_env, worker_process

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s "%(f)s" "%({authorization}i)s" %(L)s'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(port: int, log: Path, *, env: dict[str, str]):
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.py",
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        "--no-control-socket",  # several test runs on one machine
        f"--access-logformat={ACCESS_FORMAT}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=20)
                break
            except (requests.ConnectionError, requests.Timeout):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10).text
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]


def links_in(text: str, site: str) -> list[str]:
    return [link.rstrip(".,)") for link in re.findall(re.escape(site) + r"/[^\s\"'<>]+", text)]


def test_no_token_reaches_a_log_line_in_a_full_run(tmp_path):
    app.control.purge()
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    mail_dir = tmp_path / "mail"
    with SMTPServer() as smtp:
        env = worker_env(
            LOG_FORMAT="json",
            SECRET_KEY=settings.SECRET_KEY,  # the session made here is valid there
            SITE_URL=site,
            ALLOWED_HOSTS="127.0.0.1",
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
            DEV_MAIL_DIR=str(mail_dir),
        )
        with (
            gunicorn(port, tmp_path / "web.log", env=env),
            worker_process(
                ["default", "mail", "hooks", "sweeps"], tmp_path / "worker.log", env=env
            ),
        ):
            secrets, request_ids = run_everything(site, smtp.mailbox)
    lines = [
        line
        for name in ("web.log", "worker.log")
        for line in (tmp_path / name).read_text().splitlines()
        if line.strip()
    ]
    records = []
    for line in lines:
        if line.startswith(" ") or not line.startswith("{"):
            continue  # the worker's start-up banner (printed, not logged)
        records.append(json.loads(line))
    text = "\n".join(lines)
    assert len(records) > 30
    assert any("<redacted>" in r["message"] for r in records if r["logger"] == "gunicorn.access")
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == [], f"tokens in the logs: {leaked}"
    assert not re.search(r"[\w.+-]+@example\.(?:com|org)", text), "an email address in the logs"
    # The sign-up's request id reached the worker's lines about the mail it caused.
    [done] = [
        r
        for r in records
        if r["logger"] == "celery.app.trace" and r.get("request_id") == request_ids["sign-up"]
    ]
    assert done["task"] == "events.outbox.tasks.deliver_pending"
    assert done["user_id"] == int(request_ids["person"])
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)


def run_everything(site: str, smtp) -> tuple[set[str], dict[str, str]]:
    """Drive the site over HTTP; the secrets it created or was given, and request ids sent."""
    secrets: set[str] = set()
    owner = OrganizerFactory()
    team = owner.memberships.get().team
    person = UserFactory()
    session = SessionFactory(event__organizer=owner, capacity=20)
    secrets.add(person.calendar_token)

    # Links made by the services, as the mail would carry them.
    invitation = InvitationFactory(event=session.event)
    secrets.add(invitations.token_for(invitation))
    registration = RegistrationFactory(session=session, user=UserFactory())
    secrets.add(registration.checkin_token)
    survey = SurveyFactory(event=session.event)
    recipient = SurveyRecipient.objects.create(survey=survey, user=person, session=session)
    secrets.add(surveys.token_for(recipient))
    secrets.add(contact.unsubscribe_token(team.pk, person.email))
    created = api_tokens.create_token(team=team, actor=owner, name="CRM", scopes=["events:read"])
    secrets.add(created.secret)
    from django.db import transaction

    with transaction.atomic():
        join = teams.invite_member(
            team=team, actor=owner, email="new@example.org", role="organizer"
        )
    secrets.add(teams.join_token(join))
    secrets |= {"Made-Up-Token-12345", "Another_made_up_token_678"}

    browser = requests.Session()
    request_ids = {"sign-up": "signup-req-4242", "person": str(person.pk)}

    # Logged in as the person (their session, made here), sign up for the session: its mail
    # goes through the worker.
    client = Client()
    client.force_login(person)
    browser.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    detail = f"{site}/events/{session.event.pk}/"
    token = csrf(browser, detail)
    answer = browser.post(
        f"{site}/sessions/{session.pk}/register/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": detail, "X-Request-ID": request_ids["sign-up"]},
        timeout=10,
    )
    assert answer.status_code in (200, 302), answer.status_code
    assert Registration.objects.filter(user=person, session=session).exists()
    wait_for(lambda: smtp.to(person.email), timeout=30)
    wait_for(lambda: Notification.objects.filter(status="sent").exists(), timeout=30)

    # Every link of every mail, opened with the previous one as referer.
    links: list[str] = []
    for message in smtp.messages:
        links += links_in(smtp.text(message), site)
    # The links made above, a wrong token, the feed, and each without its trailing slash.
    links += [
        f"{site}/calendar/{person.calendar_token}.ics",
        f"{site}/invitations/{invitations.token_for(invitation)}/",
        f"{site}/checkin/{registration.checkin_token}/",
        f"{site}/survey/{surveys.token_for(recipient)}/",
        f"{site}/survey/{surveys.token_for(recipient)}/thanks/",
        f"{site}/unsubscribe/{contact.unsubscribe_token(team.pk, person.email)}/",
        f"{site}/join/{teams.join_token(join)}",
        f"{site}/call-confirm/Made-Up-Token-12345/",
        f"{site}/call-withdraw/Another_made_up_token_678/?token=Made-Up-Token-12345",
    ]
    referer = site
    for link in links:
        for secret in re.findall(r"/(?:[\w-]+)/([\w:.-]{16,})", link):
            secrets.add(secret.removesuffix(".ics"))
        browser.get(link, headers={"Referer": referer}, timeout=10, allow_redirects=True)
        requests.get(link, timeout=10)  # and as someone logged out
        referer = link

    # The API, with the token in the Authorization header (and a wrong one).
    for secret in (created.secret, "fbt_Made-Up-Token-12345"):
        requests.get(
            f"{site}/api/v1/events/", headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )

    # A password reset: allauth's key arrives by mail; open its link.
    token = csrf(browser, f"{site}/accounts/password/reset/")
    browser.post(
        f"{site}/accounts/password/reset/",
        data={"csrfmiddlewaretoken": token, "email": person.email},
        headers={"Referer": f"{site}/accounts/password/reset/"},
        timeout=10,
    )
    reset = wait_for(
        lambda: [m for m in smtp.to(person.email) if "password/reset/key" in smtp.text(m)],
        timeout=30,
    )
    for link in links_in(smtp.text(reset[0]), site):
        if "password/reset/key" in link:
            secrets.add(link.rstrip("/").rsplit("/", 1)[1])
            requests.get(link, timeout=10)
    time.sleep(1)  # the last lines reach the files
    assert settings.CELERY_QUEUE_PREFIX
    return secrets, request_ids
