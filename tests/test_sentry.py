"""Errors reach Sentry with no personal data: a real sentry-sdk client (in a process of its
own, configured by SENTRY_DSN as production is) sends to an HTTP endpoint this test runs,
and what arrives is read back."""

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import ROOT


class Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


SCRIPT = textwrap.dedent(
    """
    import logging
    import django

    django.setup()
    # A view and a task that fail with secrets in what they say.
    from events.views import calendar

    def failing_feed(request, token):
        raise ValueError(f"feed {token} of ann.lee@example.org broke")

    calendar.user_feed = failing_feed
    # Served as production serves it: through Django's WSGI handler (which sentry-sdk wraps).
    import threading
    import urllib.error
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_port}/calendar/FeedT0ken-abcdef123.ics?key=QueryK3y",
        headers={
            "Authorization": "Bearer fbt_ApiS3cret99",
            "X-Request-ID": "req-sentry-1",
            "Referer": "http://127.0.0.1/join/JoinT0ken55/",
        },
    )
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        assert error.code == 500, error.code
    server.shutdown()

    from config.celery import app

    @app.task(name="probe.fails")
    def fails():
        raise RuntimeError("could not send /survey/SurveyT0ken77/ to bob@example.com")

    fails.apply()
    logging.getLogger("events.outbox.delivery").error(
        "Notification 5 failed: refused carol@example.net for /join/JoinT0ken55/"
    )
    import sentry_sdk

    sentry_sdk.flush(timeout=10)
    """
)

SECRETS = [
    "FeedT0ken-abcdef123",
    "QueryK3y",
    "fbt_ApiS3cret99",
    "ApiS3cret99",
    "SurveyT0ken77",
    "JoinT0ken55",
    "ann.lee@example.org",
    "bob@example.com",
    "carol@example.net",
]


def test_errors_reach_sentry_without_tokens_or_email_addresses():
    Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            SENTRY_DSN=f"http://publickey@127.0.0.1:{server.server_port}/1",
            SENTRY_ENVIRONMENT="test",
            ALLOWED_HOSTS="127.0.0.1",
        )
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr

    body = b"\n".join(Ingest.received).decode()
    events = []
    for envelope in Ingest.received:
        for line in envelope.decode().splitlines():
            item = json.loads(line) if line.startswith("{") else None
            if (item and "exception" in item) or (item and "logentry" in item):
                events.append(item)
    messages = json.dumps(events)
    assert "feed" in messages and "could not send" in messages and "Notification 5" in messages
    assert [s for s in SECRETS if s in body] == []
    assert "/calendar/<redacted>.ics" in body
    assert "<email>" in body
    view_error = next(e for e in events if "feed" in json.dumps(e.get("exception")))
    assert view_error["tags"]["request_id"] == "req-sentry-1"
    request = view_error["request"]
    assert request["url"].endswith("/calendar/<redacted>.ics")
    assert request["query_string"] == "key=<redacted>"
    assert request["headers"]["Referer"] == "http://127.0.0.1/join/<redacted>/"
    assert "Authorization" not in request["headers"] or "ApiS3cret" not in str(request["headers"])
    assert "vars" not in json.dumps(view_error["exception"])  # no local variables sent
