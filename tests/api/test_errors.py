"""Every error is an RFC 9457 problem detail: a stable type URI, a title, the status, a
detail, and the fields at fault; bad input writes nothing."""

import pytest

from events.models import Event, Registration, Session

from .conftest import client_with, token_for

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith(f"/api/problems/{slug}")
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def count() -> tuple[int, int, int]:
    return Event.objects.count(), Session.objects.count(), Registration.objects.count()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Two\nlines"}, "title"),
        ({"title": "Ok", "kind": "party"}, "kind"),
        ({"title": "Ok", "reminder_hours": [0]}, "reminder_hours.0"),
        ({"title": "Ok", "offer_hours": -1}, "offer_hours"),
        ({"title": "Ok", "timezone": "Mars/Base"}, "timezone"),
        ({"title": "Ok", "registration_opens_at": "not a date"}, "registration_opens_at"),
    ],
)
def test_an_event_with_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
    full, body, field
):
    before = count()
    response = full.post("/api/v1/events/", body, content_type="application/json")
    problem = problem_of(response, 400, "invalid-input")
    assert field in problem["errors"], problem
    assert count() == before


def test_a_session_ending_before_it_starts_is_a_400_and_nothing_is_written(world, full):
    before = count()
    response = full.post(
        f"/api/v1/events/{world.event.pk}/sessions/",
        {"starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T09:00:00Z", "capacity": 3},
        content_type="application/json",
    )
    assert "ends_at" in problem_of(response, 400, "invalid-input")["errors"]
    assert count() == before


def test_a_service_refusal_is_a_422_problem_with_the_service_s_message(world, full):
    response = full.patch(
        f"/api/v1/sessions/{world.session.pk}/", {"capacity": 0}, content_type="application/json"
    )
    problem = problem_of(response, 422, "refused")
    assert "capacity cannot go below 1" in problem["detail"]
    world.session.refresh_from_db()
    assert world.session.capacity == 10


def test_a_body_that_is_not_json_is_a_400_problem(full):
    response = full.post("/api/v1/events/", "{not json", content_type="application/json")
    problem_of(response, 400, "malformed-request")


def test_a_body_in_another_format_is_a_415_problem(full):
    response = full.post("/api/v1/events/", {"title": "Form"})  # multipart
    problem_of(response, 415, "unsupported-media-type")
    assert not Event.objects.filter(title="Form").exists()


def test_an_unknown_address_and_a_wrong_method_are_problems(full, world):
    problem_of(full.get("/api/v1/nothing-here/"), 404, "not-found")
    problem_of(full.get("/api/v2/events/"), 404, "not-found")
    response = full.delete(f"/api/v1/events/{world.event.pk}/")
    problem_of(response, 405, "method-not-allowed")
    assert "PATCH" in response["Allow"]


def test_a_bad_filter_is_a_400_naming_it(full):
    problem = problem_of(
        full.get("/api/v1/registrations/?status=lost&updated_since=yesterday"),
        400,
        "invalid-input",
    )
    assert {"status", "updated_since"} <= set(problem["errors"])


def test_a_forged_cursor_is_a_400_naming_it(full):
    problem = problem_of(full.get("/api/v1/events/?cursor=forged"), 400, "invalid-input")
    assert "cursor" in problem["errors"]


def test_a_nul_byte_in_an_api_request_is_a_400_problem(full):
    problem_of(full.get("/api/v1/events/?status=%00"), 400, "malformed-request")


def test_a_token_without_the_scope_gets_a_403_naming_the_scope(world):
    client = client_with(token_for(world.team, world.owner, ["events:read"]))
    problem = problem_of(
        client.post("/api/v1/events/", {"title": "No"}, content_type="application/json"),
        403,
        "insufficient-scope",
    )
    assert "events:write" in problem["detail"]
    assert not Event.objects.filter(title="No").exists()


def test_problems_speak_the_reader_s_language_but_keep_their_type(full):
    response = full.get("/api/v1/events/?cursor=forged", HTTP_ACCEPT_LANGUAGE="fr")
    body = response.json()
    assert body["type"].endswith("/invalid-input")
    assert body["title"] == "Une partie des données n’est pas valide"
    assert body["errors"]["cursor"] == ["Ce curseur n’a pas été donné par cette API."]


def test_head_answers_like_get_without_a_body_and_html_is_a_406(world, full):
    url = f"/api/v1/events/{world.event.pk}/"
    head = full.head(url)
    assert head.status_code == 200 and head.content == b""
    problem_of(full.get(url, HTTP_ACCEPT="text/html"), 406, "not-acceptable")
