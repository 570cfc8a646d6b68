"""A session's format (in_person, online, hybrid) through the API: read on every session,
written on create and change, a bad value a 400 naming the field, an in-person session with a
meeting link a 422; a change of format shows in `updated_since`, and the schema lists it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Session

pytestmark = pytest.mark.django_db
JSON = "application/json"


def times(days: int = 3) -> dict:
    start = timezone.now() + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}


def test_a_session_s_format_is_read_and_written(world, full):
    read = full.get(f"/api/v1/sessions/{world.session.pk}/").json()
    assert read["format"] == "in_person"

    created = full.post(
        f"/api/v1/events/{world.event.pk}/sessions/",
        {**times(), "capacity": 5, "format": "online", "online_url": "https://meet.example.com/x"},
        content_type=JSON,
    )
    assert created.status_code == 201, created.json()
    assert created.json()["format"] == "online"
    assert Session.objects.get(pk=created.json()["id"]).format == "online"

    changed = full.patch(
        f"/api/v1/sessions/{created.json()['id']}/", {"format": "hybrid"}, content_type=JSON
    )
    assert changed.status_code == 200 and changed.json()["format"] == "hybrid"
    listed = full.get(f"/api/v1/events/{world.event.pk}/sessions/").json()["results"]
    assert {s["id"]: s["format"] for s in listed} == {
        world.session.pk: "in_person",
        created.json()["id"]: "hybrid",
    }


def test_a_format_that_is_not_one_is_a_400_naming_the_choices(world, full):
    response = full.patch(
        f"/api/v1/sessions/{world.session.pk}/", {"format": "zoom"}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["errors"]["format"] == [
        "“zoom” is not a session format: use in_person, online or hybrid."
    ]
    created = full.post(
        f"/api/v1/events/{world.event.pk}/sessions/",
        {**times(), "capacity": 5, "format": "ONLINE"},
        content_type=JSON,
    )
    assert created.status_code == 400 and "format" in created.json()["errors"]
    assert Session.objects.filter(event=world.event).count() == 1
    assert Session.objects.get(pk=world.session.pk).format == "in_person"


def test_an_in_person_session_with_a_meeting_link_is_refused_whole(world, full):
    url = f"/api/v1/sessions/{world.session.pk}/"
    online = full.patch(
        url, {"format": "online", "online_url": "https://meet.example.com/y"}, content_type=JSON
    )
    assert online.status_code == 200
    back = full.patch(url, {"format": "in_person"}, content_type=JSON)
    assert back.status_code == 422
    assert "An in-person session has no online link" in back.json()["detail"]
    assert Session.objects.get(pk=world.session.pk).format == "online"


def test_a_change_of_format_is_seen_by_updated_since(world, full):
    Session.objects.filter(pk=world.session.pk).update(
        updated_at=timezone.now() - timedelta(days=2)
    )
    since = (timezone.now() - timedelta(days=1)).isoformat()
    url = f"/api/v1/events/{world.event.pk}/sessions/"
    assert full.get(url, {"updated_since": since}).json()["results"] == []
    full.patch(
        f"/api/v1/sessions/{world.session.pk}/",
        {"format": "hybrid", "online_url": "https://meet.example.com/z"},
        content_type=JSON,
    )
    [changed] = full.get(url, {"updated_since": since}).json()["results"]
    assert (changed["id"], changed["format"]) == (world.session.pk, "hybrid")


def test_the_schema_lists_the_format_and_its_choices(client):
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schemas = document["components"]["schemas"]
    read = schemas["Session"]["properties"]["format"]
    written = schemas["PatchedSessionWriteRequest"]["properties"]["format"]
    for prop in (read, written):
        ref = prop.get("$ref") or prop.get("allOf", [{}])[0].get("$ref", "")
        enum = schemas[ref.rsplit("/", 1)[-1]]["enum"] if ref else prop["enum"]
        assert set(enum) == {"in_person", "online", "hybrid"}
    assert "personal join link" in str(written) + str(schemas)
