"""The sender on its own, against a real receiver: signatures an off-the-shelf verifier
accepts, and the safety rules (addresses, time, size, redirects)."""

import json
import time

import pytest
from standardwebhooks import Webhook

from events.models.webhook import new_secret
from events.outbox import http


def test_a_signed_post_verifies_with_the_standardwebhooks_package(loopback, receiver):
    secret = new_secret()
    body = json.dumps({"type": "webhook.test", "timestamp": "now", "data": {}}).encode()

    answer = http.post(receiver.url, body, http.headers(secret, "msg_1", body))

    assert answer.status == 204
    [(headers, received)] = receiver.requests
    assert received == body
    assert Webhook(secret).verify(received, headers)["type"] == "webhook.test"
    assert headers["webhook-id"] == "msg_1"


def test_a_signature_made_with_another_secret_is_rejected_by_the_verifier(loopback, receiver):
    body = b'{"type":"x"}'
    http.post(receiver.url, body, http.headers(new_secret(), "msg_2", body))

    with pytest.raises(Exception, match="signature"):
        receiver.verified(new_secret())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
    ],
)
def test_private_loopback_link_local_and_multicast_addresses_are_refused_in_production(
    settings, url
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    with pytest.raises(http.Refused, match="public addresses"):
        http.post(url, b"{}", {})


def test_a_receiver_on_loopback_gets_nothing_in_production_settings(settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    with pytest.raises(http.Refused):
        http.post(receiver.url, b"{}", {})

    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "no user name or password"),
        ("http://example.com:port/", "not a valid URL"),
    ],
)
def test_urls_other_than_http_and_https_with_a_host_are_refused(url, problem):
    assert problem in http.url_problem(url)
    with pytest.raises(http.Refused):
        http.post(url, b"{}", {})


def test_a_huge_answer_is_read_only_up_to_the_limit(loopback, receiver):
    receiver.status, receiver.huge = 200, 20 * 1024 * 1024

    answer = http.post(receiver.url, b"{}", {})

    assert answer.status == 200
    assert len(answer.body) == http.LIMIT
    assert answer.truncated


def test_a_receiver_that_drips_its_answer_is_cut_at_the_timeout(loopback, receiver):
    receiver.status, receiver.drip = 200, True
    started = time.monotonic()

    answer = http.post(receiver.url, b"{}", {}, timeout=2)

    assert time.monotonic() - started < 3
    assert answer.status == 200
    assert len(answer.body) < 10


def test_a_receiver_that_never_answers_is_given_up_at_the_timeout(loopback, receiver):
    receiver.delay = 5
    started = time.monotonic()

    with pytest.raises(http.Unreachable, match="within 1 seconds"):
        http.post(receiver.url, b"{}", {}, timeout=1)

    assert time.monotonic() - started < 2


def test_a_redirect_is_not_followed(loopback, receiver):
    receiver.status = 302
    receiver.body = b""

    answer = http.post(receiver.url, b"{}", {})

    assert answer.status == 302
    assert len(receiver.requests) == 1


def test_a_closed_port_is_unreachable_not_an_error(loopback, receiver):
    receiver.stop()

    with pytest.raises(http.Unreachable, match="Could not connect"):
        http.post(receiver.url, b"{}", {})


@pytest.fixture
def stalling_resolver(monkeypatch):
    """A DNS server that never answers for `stalls.example`. No real resolver can be made to
    stall from a test (we cannot start a DNS server the system resolver would ask), so the
    stall is put at the socket.getaddrinfo boundary, the call a real stall would block in:
    it sleeps (up to 30 s) instead of answering. Every other name resolves as usual."""
    import socket
    import threading

    real = socket.getaddrinfo
    never = threading.Event()

    def getaddrinfo(host, *args, **kwargs):
        if host == "stalls.example":
            never.wait(30)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    never.set()  # let the stalled lookups end


def test_a_resolver_that_never_answers_is_given_up_at_the_timeout(stalling_resolver):
    started = time.monotonic()

    with pytest.raises(http.Unreachable, match=r"Could not resolve stalls\.example within"):
        http.post("https://stalls.example/hook", b"{}", {}, timeout=1)

    assert time.monotonic() - started < 1.5


def test_stalled_lookups_do_not_stop_the_next_delivery(stalling_resolver, loopback, receiver):
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(http.Unreachable):
            http.post("https://stalls.example/hook", b"{}", {}, timeout=0.2)
    assert time.monotonic() - started < 1.5

    assert http.post(receiver.url, b"{}", {}, timeout=2).status == 204


def test_resolving_and_sending_share_one_deadline(stalling_resolver, monkeypatch, loopback):
    """A slow answer (0.8 s of a 1 s timeout) leaves the rest of the time to the POST."""
    import socket

    stalled = socket.getaddrinfo

    def slow_but_answers(host, *args, **kwargs):
        if host == "slow-dns.example":
            time.sleep(0.8)
            host = "127.0.0.1"
        return stalled(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_but_answers)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(http.Unreachable):
            http.post(f"http://slow-dns.example:{port}/", b"{}", {}, timeout=1)
        assert time.monotonic() - started < 1.5
