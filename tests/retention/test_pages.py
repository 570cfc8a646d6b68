"""The owners' retention pages and the panel member's "keep me" link, as people use them:
the mail over real SMTP, the link's page (a GET renews nothing), the POST that renews; bad
input refused with its message and nothing written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Notification, PanelRenewal, Registration, RetentionLog
from events.outbox import delivery
from events.services import retention
from tests.factories import UserFactory, add_to_team

from .conftest import make_past_event
from .test_calls_and_panel import a_call, panel_of

pytestmark = pytest.mark.django_db


def asked(email="keep@example.com"):
    _owner, call = a_call()
    panel_of(call, email, days_ago=710)
    retention.ask_renewals(team=call.team, now=timezone.now())
    return call.team, PanelRenewal.objects.get(email=email)


def test_the_renewal_mail_arrives_with_the_team_the_date_and_a_working_link(smtp, client):
    team, renewal = asked()
    row = Notification.objects.get(panel_renewal=renewal)
    assert delivery.deliver(notification_id=row.pk).sent
    [message] = smtp.to("keep@example.com")
    assert team.name in message["Subject"]
    body = smtp.text(message)
    assert "removed on" in body
    # The mail's own link (a signed token carries the second it was made, so it is read
    # back rather than rebuilt: the mail may have been rendered a second earlier).
    prefix = reverse("events:panel_keep", args=["TOKEN"]).removesuffix("TOKEN/")
    [path] = ["/" + link.split("/", 3)[3] for link in smtp.links(message) if prefix in link]
    token = path.removeprefix(prefix).rstrip("/")
    assert retention.from_renewal_token(token) == (renewal, renewal.nonce)
    # A mail scanner opening the link renews nothing.
    page = client.get(path)
    assert page.status_code == 200
    assert b"Keep me on the panel" in page.content
    renewal.refresh_from_db()
    assert renewal.renewed_at is None
    # The person's click does.
    done = client.post(path)
    assert done.status_code == 200
    assert b"You stay on the panel" in done.content
    renewal.refresh_from_db()
    assert renewal.renewed_at is not None


def test_a_forged_link_is_a_400_and_renews_nothing(client):
    _team, renewal = asked()
    token = retention.renewal_token(renewal)
    response = client.post(reverse("events:panel_keep", args=[token[:-3] + "abc"]))
    assert response.status_code == 400
    renewal.refresh_from_db()
    assert renewal.renewed_at is None


def test_the_link_of_someone_already_removed_says_so(client):
    _team, renewal = asked()
    token = retention.renewal_token(renewal)
    PanelRenewal.objects.filter(pk=renewal.pk).delete()
    response = client.get(reverse("events:panel_keep", args=[token]))
    assert response.status_code == 410
    assert b"no longer on this team" in response.content


def test_a_mail_already_answered_is_skipped(smtp):
    _team, renewal = asked()
    retention.keep_me(renewal=renewal, nonce=renewal.nonce)
    row = Notification.objects.get(panel_renewal=renewal)
    assert not delivery.deliver(notification_id=row.pk).sent
    assert smtp.messages == []


def test_the_owner_edits_the_policy_and_zero_is_refused_with_a_clear_message(client_for):
    past = make_past_event()
    client = client_for(past.owner)
    url = reverse("manage:team_retention", args=[past.team.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert b"365" in page.content
    refused = client.post(url, {"attendee_days": "0", "submission_days": "90", "panel_days": "730"})
    assert refused.status_code == 400
    assert "at least 1 day" in refused.content.decode()
    past.team.refresh_from_db()
    assert past.team.retention_attendee_days == 365
    saved = client.post(url, {"attendee_days": "30", "submission_days": "60", "panel_days": "400"})
    assert saved.status_code == 302
    past.team.refresh_from_db()
    assert (past.team.retention_attendee_days, past.team.retention_panel_days) == (30, 400)


def test_the_log_page_shows_what_went_for_which_event(client_for):
    past = make_past_event()
    retention.sweep()
    page = client_for(past.owner).get(reverse("manage:team_retention", args=[past.team.slug]))
    text = page.content.decode()
    assert "Prototype demo" in text
    assert "Registrations: who signed up" in text
    assert past.ada.email not in text


def test_the_event_inventory_counts_and_says_when(client_for):
    past = make_past_event(ended_days_ago=2)
    client = client_for(past.owner)
    page = client.get(reverse("manage:event_data", args=[past.event.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Registrations: who signed up" in text
    assert "365 days after the last session" in text
    refused = client.post(reverse("manage:event_data", args=[past.event.pk]), {"days": "-5"})
    assert refused.status_code == 400
    assert "at least 1 day" in refused.content.decode()


def test_anonymise_now_asks_first_then_acts_on_the_post(client_for):
    past = make_past_event(ended_days_ago=2)
    client = client_for(past.owner)
    url = reverse("manage:event_anonymise", args=[past.event.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert Registration.objects.filter(session=past.session).count() == 2  # nothing yet
    done = client.post(url)
    assert done.status_code == 302
    assert not Registration.objects.filter(session=past.session).exists()
    assert RetentionLog.objects.get().actor == past.owner


def test_anonymise_now_of_an_event_still_to_come_is_refused_and_writes_nothing(client_for):
    coming = make_past_event(ended_days_ago=-1)
    client = client_for(coming.owner)
    url = reverse("manage:event_anonymise", args=[coming.event.pk])
    page = client.get(url)
    assert "has not ended yet" in page.content.decode()
    assert b"Anonymise the attendees" not in page.content  # no button to press
    refused = client.post(url)
    assert refused.status_code == 400
    assert "has not ended yet" in refused.content.decode()
    assert Registration.objects.filter(session=coming.session).count() == 2
    assert not RetentionLog.objects.exists()


def test_an_organizer_gets_a_404_on_the_data_pages(client_for):
    past = make_past_event(ended_days_ago=2)
    organizer = UserFactory()
    add_to_team(past.team, organizer, role="organizer")
    client = client_for(organizer)
    for name, args in (
        ("manage:event_data", [past.event.pk]),
        ("manage:event_anonymise", [past.event.pk]),
        ("manage:team_retention", [past.team.slug]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404
        assert client.post(reverse(name, args=args)).status_code == 404
    assert Registration.objects.filter(session=past.session).count() == 2


def test_the_call_inventory_and_its_own_days(client_for):
    owner, call = a_call()
    client = client_for(owner)
    url = reverse("manage:call_data", args=[call.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"days": "0"}).status_code == 400
    assert client.post(url, {"days": "14"}).status_code == 302
    call.refresh_from_db()
    assert call.retention_submission_days == 14
    assert client.post(url, {"days": ""}).status_code == 302
    call.refresh_from_db()
    assert call.retention_submission_days is None


def test_the_question_editor_keeps_the_words_of_a_text_question_when_asked(client_for):
    past = make_past_event(ended_days_ago=2)
    client = client_for(past.owner)
    questionnaire = past.event.survey.questionnaire
    response = client.post(
        reverse("manage:question_new", args=[questionnaire.pk]),
        {"label": "Anything else?", "kind": "long_text", "keep_text": "on"},
    )
    assert response.status_code == 302
    assert questionnaire.questions.get(label="Anything else?").keep_text


def test_the_inventory_date_moves_with_the_days(db):
    past = make_past_event(ended_days_ago=2)
    retention.set_event_days(event=past.event, actor=past.owner, days=10)
    inventory = retention.event_inventory(past.event)
    assert inventory.goes_at == past.session.ends_at + timedelta(days=10)


def test_the_keep_page_and_the_mail_read_in_french(client, smtp):
    team, renewal = asked()
    team.language = "fr"
    team.save(update_fields=["language"])
    path = reverse("events:panel_keep", args=[retention.renewal_token(renewal)])
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Me garder dans le panel" in page.content.decode()
    row = Notification.objects.get(panel_renewal=renewal)
    assert delivery.deliver(notification_id=row.pk).sent
    [message] = smtp.to("keep@example.com")
    assert "Rester dans le panel de" in message["Subject"]
    assert "Me garder dans le panel" in smtp.text(message)


def test_an_erased_webhook_delivery_cannot_be_sent_again(past_event):
    from events.models import WebhookMessage
    from events.services import webhooks

    retention.sweep()
    message = WebhookMessage.objects.get(webhook_id="msg_1")
    with pytest.raises(retention.ServiceError, match="retention policy"):
        webhooks.send_again(message=message, actor=past_event.owner)
    message.refresh_from_db()
    assert message.payload == {"erased": True}


def test_the_log_page_s_queries_do_not_grow_with_its_lines(client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    past = make_past_event()
    client = client_for(past.owner)
    url = reverse("manage:team_retention", args=[past.team.slug])

    def lines(n):
        RetentionLog.objects.bulk_create(
            RetentionLog(team=past.team, kind="event", event=past.event, counts={"messages": 1})
            for _ in range(n)
        )

    lines(5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    lines(195)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
