"""Log lines (config/logs.py): JSON or text, each with its request id and user id (never an
email), and no token in any of them, whoever wrote the line."""

import io
import json
import logging
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from config import logs
from tests.factories import UserFactory

SECRET_PARAMS = {"token", "key", "uidb36"}


def secret_urls(resolver: URLResolver | None = None, prefix: str = "/") -> list[str]:
    """Every URL of the site whose pattern takes a token (or an allauth key), with a sample
    token in it: walks the URLconf, so a new route with a token is found here."""
    found: list[str] = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = entry.pattern
        route = str(pattern) if isinstance(pattern, RoutePattern) else pattern.regex.pattern
        route = route.lstrip("^").rstrip("$").replace("\\", "")
        if isinstance(entry, URLResolver):
            found += secret_urls(entry, prefix + route)
            continue
        assert isinstance(entry, URLPattern)
        params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", route)
        names = {a or b for a, b in params}
        if names & SECRET_PARAMS:
            path = re.sub(
                r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)",
                lambda m: f"Sekr3t-{m[1] or m[2]}-x9" if (m[1] or m[2]) in SECRET_PARAMS else "7",
                route,
            )
            found.append(prefix + path)
    return found


def test_every_link_with_a_token_is_logged_with_the_token_replaced():
    urls = secret_urls()
    assert "/calendar/Sekr3t-token-x9.ics" in urls
    assert len(urls) >= 10  # feeds, invitations, check-in, surveys, calls, join, unsubscribe...
    for url in urls:
        for line in (
            f'"GET {url} HTTP/1.1" 200 512',
            f"Not Found: {url}",
            f"https://feedback.example.com{url}?lang=fr",
            f'referer="http://127.0.0.1:8000{url}"',
            f"{url[:-1]}" if url.endswith("/") else url,  # before the slash is appended
        ):
            assert "Sekr3t" not in logs.redact(line), line


def test_the_calendar_feed_reads_as_redacted_and_the_rest_of_the_line_stays():
    line = '127.0.0.1 "GET /calendar/AbC_12-xyz.ics?lang=fr HTTP/1.1" 200 "-"'
    assert logs.redact(line) == '127.0.0.1 "GET /calendar/<redacted>.ics?lang=fr HTTP/1.1" 200 "-"'
    assert logs.redact("Not Found: /me/calendar/reset/") == "Not Found: /me/calendar/reset/"
    assert logs.redact("/call/launch-week/") == "/call/launch-week/"


def test_secrets_outside_paths_are_replaced_too():
    assert logs.redact("Authorization: Bearer fbt_AbCdEf1234") == "Authorization: Bearer <redacted>"
    assert logs.redact("secret fbt_AbCdEf123456 revoked") == "secret fbt_<redacted> revoked"
    assert logs.redact("/x/?next=%2Fsurvey%2FAbC%2F&token=z1") == (
        "/x/?next=%2Fsurvey%2F<redacted>%2F&token=<redacted>"
    )
    assert logs.redact("Notification 7 failed: (550, b'no such user: ann@example.org')") == (
        "Notification 7 failed: (550, b'no such user: <email>')"
    )


@pytest.fixture
def json_lines():
    """What our JSON formatter writes for every line logged during the test, as dicts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_line_carries_the_request_id_and_user_id_and_no_email(json_lines, client_for):
    user = UserFactory(email="ann.lee@example.org")
    client = client_for(user)

    response = client.get("/invitations/NotAToken123/", headers={"X-Request-ID": "lb-7f3a.42"})

    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-7f3a.42"
    [line] = [line for line in json_lines() if line["logger"] == "django.request"]
    assert line["level"] == "WARNING"
    assert line["message"] == "Not Found: /invitations/<redacted>/"
    assert (line["request_id"], line["user_id"]) == ("lb-7f3a.42", user.pk)
    assert set(line) >= {"time", "level", "logger", "message", "request_id", "user_id"}
    assert "example.org" not in json.dumps(json_lines())


@pytest.mark.django_db
def test_an_insane_request_id_is_replaced_by_one_of_ours(client):
    for sent in ("two words", "x" * 200, "a\u00e9b", "/calendar/tok.ics", "ann@example.org"):
        response = client.get("/healthz", headers={"X-Request-ID": sent})
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"]), sent
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_text_is_the_default_and_reads_as_a_line():
    record = logging.LogRecord(
        "events.outbox.delivery", logging.WARNING, __file__, 1, "Sent to %s", ("a@b.org",), None
    )
    token = logs.request_id.set("req-1")
    try:
        line = logs.TextFormatter().format(record)
    finally:
        logs.request_id.reset(token)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING events.outbox.delivery "
        r"\[request_id=req-1\] Sent to <email>",
        line,
    )


def test_log_format_is_text_or_json():
    assert logs.formatter_class("json") is logs.JsonFormatter
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.logging_config(log_format="yaml", level="INFO")


def test_django_request_and_server_lines_go_through_our_formatter():
    """runserver's access lines (django.server) and Django's request lines have no handler of
    their own: they reach the root's, whose formatter redacts."""
    for name in ("django", "django.request", "django.server"):
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate, name
    ours = [h for h in logging.getLogger().handlers if isinstance(h.formatter, logs.TextFormatter)]
    assert len(ours) == 1


def test_the_request_id_goes_with_a_task_and_comes_back_after_one_run_in_the_request():
    from config.celery import app

    seen: list[str] = []

    @app.task(name="tests.test_logs.probe")
    def probe() -> None:
        seen.append(logs.request_id.get())

    outer = logs.request_id.set("outer-1")
    try:
        headers: dict = {}
        logs.on_publish(headers=headers)
        assert headers == {"request_id": "outer-1"}
        result = probe.apply()  # eagerly, inside "the request"
        assert seen == [result.id]
        assert logs.request_id.get() == "outer-1"
    finally:
        logs.request_id.reset(outer)
