"""Calendar answers through the mail provider's inbound webhook (django-anymail), with
Mailgun's real formats and signature, and Postmark's JSON behind basic auth: a "No" cancels,
a retry changes nothing more, a bad signature or secret or an unconfigured provider is
refused with nothing read."""

import base64
import json

import pytest
from django.urls import reverse

from events.models import CalendarReply, Registration
from events.services.registration import register
from tests.calendar_replies import providers
from tests.calendar_replies.conftest import MAILGUN_KEY
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db

Status = Registration.Status


def setup_full_session(smtp):
    session = SessionFactory(capacity=1, waitlist_enabled=True)
    ada, bob = UserFactory(), UserFactory()
    register(user=ada, session=session)
    register(user=bob, session=session)
    deliver_pending()
    [invite] = invites(smtp.to(ada.email))
    return session, ada, bob, invite


def post(client, provider: str, form: dict):
    return client.post(reverse("events:inbound_webhook", args=[provider]), form)


def test_a_no_posted_by_mailgun_frees_the_seat_once_however_often_it_is_retried(
    replies_by_webhook, smtp, client
):
    _session, ada, bob, invite = setup_full_session(smtp)
    raw = reply_mail(invite, partstat="DECLINED", sender=ada.email, message_id="<mg@gmail>")

    for _ in range(3):  # Mailgun retries until it hears a 200; each retry is signed anew
        assert post(client, "mailgun", providers.parsed_form(raw, MAILGUN_KEY)).status_code == 200

    assert Registration.objects.get(user=ada).status == Status.CANCELLED
    assert Registration.objects.get(user=bob).status == Status.OFFERED
    reply = CalendarReply.objects.get()
    assert (reply.source, reply.outcome, reply.partstat) == ("mailgun", "applied", "DECLINED")
    deliver_pending()
    assert [i.method for i in invites(smtp.to(ada.email))] == ["REQUEST", "CANCEL"]


def test_mailguns_raw_mime_form_is_read_too(replies_by_webhook, smtp, client):
    _session, ada, _bob, invite = setup_full_session(smtp)
    raw = reply_mail(invite, partstat="ACCEPTED", sender=ada.email)

    assert post(client, "mailgun_mime", providers.mime_form(raw, MAILGUN_KEY)).status_code == 200

    assert Registration.objects.get(user=ada).current_calendar_answer == "accepted"


def test_a_bad_signature_is_refused_and_nothing_is_read(replies_by_webhook, smtp, client):
    _session, ada, _bob, invite = setup_full_session(smtp)
    raw = reply_mail(invite, partstat="DECLINED", sender=ada.email)

    response = post(client, "mailgun", providers.parsed_form(raw, MAILGUN_KEY, forged=True))

    assert response.status_code == 400
    assert Registration.objects.get(user=ada).status == Status.CONFIRMED
    assert not CalendarReply.objects.exists()


def test_a_forged_sender_is_recorded_and_changes_nothing(replies_by_webhook, smtp, client):
    _session, ada, _bob, invite = setup_full_session(smtp)
    raw = reply_mail(invite, partstat="DECLINED", sender="mallory@example.net", attendee=ada.email)

    assert post(client, "mailgun", providers.parsed_form(raw, MAILGUN_KEY)).status_code == 200

    assert Registration.objects.get(user=ada).status == Status.CONFIRMED
    assert CalendarReply.objects.get().reason == "the sender is not the attendee who answered"


def test_only_the_configured_provider_answers(replies_by_webhook, smtp, client, settings):
    _session, ada, _bob, invite = setup_full_session(smtp)
    raw = reply_mail(invite, partstat="DECLINED", sender=ada.email)

    assert post(client, "postmark", providers.parsed_form(raw, MAILGUN_KEY)).status_code == 404
    settings.CALENDAR_REPLIES_WEBHOOK = ""
    assert post(client, "mailgun", providers.parsed_form(raw, MAILGUN_KEY)).status_code == 404
    assert Registration.objects.get(user=ada).status == Status.CONFIRMED


def test_postmark_posts_json_behind_basic_auth(replies_by_webhook, smtp, client, settings):
    settings.CALENDAR_REPLIES_WEBHOOK = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark:a-long-shared-secret"}
    _session, ada, bob, invite = setup_full_session(smtp)
    payload = providers.postmark_json(reply_mail(invite, partstat="DECLINED", sender=ada.email))
    url = reverse("events:inbound_webhook", args=["postmark"])

    def post_as(secret: str):
        token = base64.b64encode(secret.encode()).decode()
        return client.post(
            url, json.dumps(payload), "application/json", HTTP_AUTHORIZATION=f"Basic {token}"
        )

    assert post_as("postmark:a-wrong-secret").status_code == 400
    assert Registration.objects.get(user=ada).status == Status.CONFIRMED
    assert post_as("postmark:a-long-shared-secret").status_code == 200
    assert Registration.objects.get(user=ada).status == Status.CANCELLED
    assert Registration.objects.get(user=bob).status == Status.OFFERED
    assert CalendarReply.objects.get().source == "postmark"


def test_a_provider_without_a_secret_is_refused_rather_than_open(
    replies_by_webhook, smtp, client, settings
):
    """Postmark does not sign its posts: without the shared secret, anyone could post a "No"
    in an attendee's name, so the webhook answers nothing (anymail alone would only warn)."""
    settings.CALENDAR_REPLIES_WEBHOOK = "postmark"
    settings.ANYMAIL = {}
    _session, ada, _bob, invite = setup_full_session(smtp)
    payload = providers.postmark_json(reply_mail(invite, partstat="DECLINED", sender=ada.email))
    url = reverse("events:inbound_webhook", args=["postmark"])
    assert client.post(url, json.dumps(payload), "application/json").status_code == 404
    assert Registration.objects.get(user=ada).status == Status.CONFIRMED
    assert not CalendarReply.objects.exists()
