"""The owners' webhook pages: adding an endpoint (its secret shown once), refusing bad input
with a clear message and nothing saved, the delivery log, "send again" and "send a test
event"."""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import TeamHistory, WebhookEndpoint, WebhookMessage
from events.services.registration import register
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(display_name="Olive Owner")


@pytest.fixture
def team(owner):
    return TeamFactory(owner=owner)


@pytest.fixture
def client(owner, client_for):
    return client_for(owner)


def endpoint_of(team, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        team=team,
        url=fields.pop("url", "https://hooks.example.com/in"),
        event_types=fields.pop("event_types", ["registration.created"]),
        **fields,
    )


def page(response) -> str:
    return html.unescape(response.content.decode())


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(team, client):
    response = client.post(
        reverse("manage:webhooks", args=[team.slug]),
        {
            "url": "https://hooks.example.com/in",
            "description": "CRM",
            "event_types": ["registration.created", "survey.response"],
        },
    )

    endpoint = WebhookEndpoint.objects.get(team=team)
    assert response.status_code == 302
    assert endpoint.event_types == ["registration.created", "survey.response"]
    assert endpoint.secret.startswith("whsec_")
    first = page(client.get(response["Location"]))
    assert endpoint.secret in first
    assert "Copy it now" in first
    assert endpoint.secret not in page(client.get(response["Location"]))
    assert TeamHistory.objects.filter(
        team=team, action=TeamHistory.Action.WEBHOOKS_CHANGED
    ).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"url": "ftp://example.com/in", "event_types": ["session.changed"]},
            "Only http:// and https:// addresses can receive webhooks.",
        ),
        ({"url": "https://", "event_types": ["session.changed"]}, "The address has no host name."),
        (
            {"url": "https://hooks.example.com/", "event_types": ["registration.exploded"]},
            "Unknown event type: registration.exploded.",
        ),
        ({"url": "https://hooks.example.com/", "event_types": []}, "Choose at least one event"),
        ({"url": "", "event_types": ["session.changed"]}, "Enter the address"),
    ],
)
def test_bad_input_on_the_endpoint_form_is_a_400_with_a_clear_message_and_nothing_saved(
    team, client, data, message
):
    response = client.post(reverse("manage:webhooks", args=[team.slug]), data)

    assert response.status_code == 400
    assert message in page(response)
    assert not WebhookEndpoint.objects.exists()


def test_editing_an_endpoint_with_bad_input_changes_nothing(team, client):
    endpoint = endpoint_of(team)

    response = client.post(
        reverse("manage:webhook", args=[team.slug, endpoint.pk]),
        {"url": "gopher://hooks.example.com/", "event_types": ["session.changed"]},
    )

    assert response.status_code == 400
    assert "Only http:// and https://" in page(response)
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == (
        "https://hooks.example.com/in",
        ["registration.created"],
    )


def test_rotating_the_secret_shows_the_new_one_once(team, client):
    endpoint = endpoint_of(team)
    old = endpoint.secret

    response = client.post(reverse("manage:webhook_rotate", args=[team.slug, endpoint.pk]))

    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in page(client.get(response["Location"]))


def test_send_a_test_event_owes_a_signed_test_message_to_the_endpoint(team, client):
    endpoint = endpoint_of(team)

    client.post(reverse("manage:webhook_test", args=[team.slug, endpoint.pk]))

    message = WebhookMessage.objects.get(endpoint=endpoint)
    assert message.type == "webhook.test"
    assert message.payload["data"] == {"endpoint_id": endpoint.pk, "team_id": team.pk}
    assert "webhook.test" in page(
        client.get(reverse("manage:webhook", args=[team.slug, endpoint.pk]))
    )


def test_send_again_owes_a_failed_message_again_under_the_same_webhook_id(team, client):
    endpoint = endpoint_of(team)
    message = WebhookMessage.objects.create(
        endpoint=endpoint,
        webhook_id="msg_same",
        type="registration.created",
        payload={},
        status=WebhookMessage.Status.FAILED,
        attempts=3,
        last_error="Answered 404.",
        give_up_at=timezone.now(),
    )

    response = client.post(
        reverse("manage:webhook_resend", args=[team.slug, endpoint.pk, message.pk])
    )

    message.refresh_from_db()
    assert response.status_code == 302
    assert (message.status, message.attempts, message.webhook_id) == ("pending", 0, "msg_same")
    again = client.post(reverse("manage:webhook_resend", args=[team.slug, endpoint.pk, message.pk]))
    assert again.status_code == 400
    assert "still on its way" in page(again)


def test_a_sign_up_owes_one_message_per_listening_endpoint_of_the_team_only(team, owner):
    listening = endpoint_of(team, event_types=["registration.created", "registration.confirmed"])
    endpoint_of(team, event_types=["session.changed"])  # not listening
    endpoint_of(team, disabled_at=timezone.now())  # disabled
    endpoint_of(TeamFactory())  # another team's
    session = SessionFactory(event=EventFactory(team=team))

    register(user=UserFactory(email="ada@example.com"), session=session)

    rows = WebhookMessage.objects.order_by("pk")
    assert [(m.endpoint_id, m.type) for m in rows] == [
        (listening.pk, "registration.created"),
        (listening.pk, "registration.confirmed"),
    ]
    created = rows[0].payload
    assert created["data"]["attendee"] == {
        "id": created["data"]["attendee"]["id"],
        "email": "ada@example.com",
    }
    assert created["data"]["registration"]["session_id"] == session.pk


def test_the_delivery_log_query_count_does_not_grow_with_messages(team, client):
    endpoint = endpoint_of(team)
    url = reverse("manage:webhook", args=[team.slug, endpoint.pk])

    def add(n):
        WebhookMessage.objects.bulk_create(
            WebhookMessage(
                endpoint=endpoint,
                webhook_id=f"msg_{WebhookMessage.objects.count()}_{i}",
                type="registration.created",
                payload={},
                status=WebhookMessage.Status.SENT,
                response_code=204,
                give_up_at=timezone.now(),
            )
            for i in range(n)
        )

    add(5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(195)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_team_page_links_to_the_webhooks(team, client):
    response = client.get(reverse("manage:team", args=[team.slug]))

    assert reverse("manage:webhooks", args=[team.slug]) in response.content.decode()


def test_the_webhooks_page_reads_in_french(team, client):
    response = client.get(reverse("manage:webhooks", args=[team.slug]) + "?lang=fr")

    text = page(response)
    assert "Ajouter un point de terminaison" in text
    assert "Quelqu’un s’est inscrit, a candidaté ou a rejoint la liste d’attente." in text
