"""Sending one webhook: Standard Webhooks signatures, and an HTTP POST that cannot be turned
against us.

- Only http and https URLs, with a host.
- Unless settings.WEBHOOKS_ALLOW_PRIVATE (tests and local development opt in), the host is
  resolved at send time and refused if any of its addresses is loopback, link-local,
  private, multicast, reserved or otherwise not global; the connection then goes to the very
  address that was checked (the Host header and TLS name stay the URL's), so a DNS answer
  that changes between the check and the connection (rebinding) gains nothing.
- TIMEOUT seconds in all, from resolving the host to the last byte read. The resolver runs
  in a thread of its own that the sender waits for only until the deadline (getaddrinfo
  cannot be interrupted: a stalled lookup is left to end by itself, and at most RESOLVERS of
  them at once); then a watchdog shuts the socket at the deadline: a resolver that never
  answers or a receiver that answers a byte a second cannot hold a worker longer.
- At most LIMIT bytes of the answer are read; redirects are never followed (a 3xx is a
  failure that says where it pointed).
"""

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.connection import HTTPConnection, HTTPSConnection

TIMEOUT = 10.0
LIMIT = 64 * 1024
RESOLVERS = 16  # lookups under way at once in a process (stalled ones included)
_resolvers = threading.BoundedSemaphore(RESOLVERS)
SCHEMES = {"http": 80, "https": 443}


class Refused(Exception):
    """Not sent, and sending again would not help: a URL or address we do not post to."""


class Unreachable(Exception):
    """No answer: refused connection, timeout, DNS failure, TLS failure."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most LIMIT bytes
    truncated: bool
    location: str
    ms: int


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
    `id.timestamp.body` under the secret's bytes (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, webhook_id: str, body: bytes, *, now: float | None = None) -> dict:
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
        "Content-Type": "application/json",
    }


def url_problem(url: str) -> str:
    """Why `url` cannot be a webhook endpoint ('' when it can), for the form and the sender."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return _("The address is not a valid URL.")
    if parts.scheme not in SCHEMES:
        return _("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        return _("The address has no host name.")
    if parts.username or parts.password:
        return _("Put no user name or password in the address; use the signing secret.")
    return ""


def _allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_reserved or ip.is_loopback or ip.is_link_local
    )


def _lookup(host: str, port: int, *, within: float) -> list:
    """getaddrinfo, given up after `within` seconds (the lookup itself runs on, in a daemon
    thread, until the resolver's own timeout ends it)."""
    if not _resolvers.acquire(timeout=within):
        raise Unreachable(f"Could not resolve {host} within the timeout (resolver busy).")
    outcome: list = []
    done = threading.Event()

    def look() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as error:  # noqa: BLE001 - handed to the waiting sender
            outcome.append(error)
        finally:
            _resolvers.release()
            done.set()

    threading.Thread(target=look, name="webhook-dns", daemon=True).start()
    if not done.wait(within):
        raise Unreachable(f"Could not resolve {host} within the timeout.")
    [result] = outcome
    if isinstance(result, BaseException):
        raise result
    return result


def resolve(host: str, port: int, *, within: float = TIMEOUT) -> str:
    """The address to connect to: the first the host resolves to, once every one of them has
    been checked (unless private ones are allowed); Unreachable after `within` seconds."""
    try:
        infos = _lookup(host, port, within=within)
    except (socket.gaierror, UnicodeError) as error:
        raise Unreachable(f"Could not resolve {host}: {error}.") from error
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Unreachable(f"Could not resolve {host}.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _allowed(a)]
        if refused:
            raise Refused(
                f"{host} resolves to {refused[0]}, a private, loopback or reserved address: "
                "webhooks go only to public addresses."
            )
    return addresses[0]


def _pinned(base):
    class Pinned(base):  # type: ignore[misc, valid-type]
        """Connects to the checked address; Host header and TLS name stay the URL's."""

        address = ""

        def _new_conn(self) -> socket.socket:
            try:
                return socket.create_connection((self.address, self.port), self.timeout)
            except OSError as error:
                raise Unreachable(f"Could not connect to {self.host}: {error}.") from error

    return Pinned


PinnedHTTP = _pinned(HTTPConnection)
PinnedHTTPS = _pinned(HTTPSConnection)


def post(url: str, body: bytes, extra_headers: dict, *, timeout: float | None = None) -> Answer:
    """POST `body` to `url` under the rules above; the receiver's answer, or Refused /
    Unreachable."""
    timeout = timeout or TIMEOUT
    problem = url_problem(url)
    if problem:
        raise Refused(problem)
    started = time.monotonic()
    deadline = started + timeout
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or SCHEMES[parts.scheme]
    address = resolve(host, port, within=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    remaining = max(deadline - time.monotonic(), 0.01)
    connection = (PinnedHTTPS if parts.scheme == "https" else PinnedHTTP)(
        host, port, timeout=remaining
    )
    connection.address = address
    sock: list[socket.socket] = []

    def cut() -> None:
        for s in sock:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(remaining, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
            sock.append(connection.sock)
            if time.monotonic() >= deadline:
                cut()
            connection.request(
                "POST",
                path,
                body=body,
                headers=extra_headers,
                preload_content=False,  # read below, up to LIMIT
                decode_content=False,  # no gzip bomb: the bytes as they came
            )
            response = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                try:
                    chunk = response.read(min(8192, LIMIT + 1 - size))
                except Exception:  # noqa: BLE001 - cut by the watchdog, or the receiver hung up
                    # The receiver has answered: its status is what counts, not the body.
                    truncated = True
                    break
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > LIMIT:
                    truncated = True
                    break
            data = b"".join(chunks)[:LIMIT]
        except (Refused, Unreachable):
            raise
        except Exception as error:  # any transport failure is "no answer"
            if time.monotonic() >= deadline - 0.05:
                raise Unreachable(f"No complete answer within {timeout:.0f} seconds.") from error
            raise Unreachable(f"The connection failed: {error}.") from error
    finally:
        watchdog.cancel()
        connection.close()
    return Answer(
        status=response.status,
        body=data,
        truncated=truncated,
        location=response.headers.get("Location", ""),
        ms=int((time.monotonic() - started) * 1000),
    )
