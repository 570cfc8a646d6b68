"""Calendar answers from any mailbox: the IMAP folder of CALENDAR_REPLIES_IMAP_URL, polled
by beat every minute (events.tasks.poll_calendar_replies).

Each unseen message is read without marking it (BODY.PEEK), handed to
`calendar_replies.take`, and only then flagged: a calendar answer \\Seen; any other mail (a
reply typed by hand, a bounce, something for a person) keeps its unread mark, so a person
still sees it, and gets the keyword `NotACalendarReply` instead, so the next poll skips it.
(A server that takes no keywords, which few are, gets \\Seen on those too, or they would be
read again at every poll: a warning says so.) A worker killed in between leaves the message
unflagged: the next poll reads it again and `take` knows it by its Message-ID, so it is still
processed once. Messages stay in the folder; a message `take` failed on stays unflagged and
is tried again.

The password is never sent in clear: imaps:// is TLS from the start, imap:// must offer
STARTTLS, or the URL must say `?insecure=1` (a server on the same host or a private network
only). A slow or stalled server cannot hold a worker of the sweeps queue: every connect,
read and write gives up after CALENDAR_REPLIES_IMAP_TIMEOUT seconds, a poll starts no new
message after CALENDAR_REPLIES_POLL_SECONDS, and the task has a hard time limit
(events.tasks.poll_calendar_replies).
"""

import contextlib
import email
import email.policy
import imaplib
import logging
import re
import ssl
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

from .. import itip
from .calendar_replies import take

logger = logging.getLogger(__name__)
# Marks mail that is not a calendar answer (left unread for a person), so polls skip it.
KEYWORD = "NotACalendarReply"
TRUE = {"1", "true", "yes", "on"}


class MailboxError(Exception):
    """The mailbox cannot be read as configured (the message says why and what to change)."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    secure: bool  # imaps:// (TLS from the start); imap:// must use STARTTLS...
    user: str
    password: str
    folder: str
    insecure: bool = False  # ... unless the URL says ?insecure=1

    @classmethod
    def from_url(cls, url: str) -> "Mailbox":
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise ValueError("CALENDAR_REPLIES_IMAP_URL must be imap://... or imaps://...")
        secure = parts.scheme == "imaps"
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if secure else 143),
            secure=secure,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            insecure=any(v.lower() in TRUE for v in query.get("insecure", [])),
        )

    @property
    def where(self) -> str:
        return f"imap{'s' if self.secure else ''}://{self.host}:{self.port}"


def _connect(box: Mailbox, timeout: float) -> imaplib.IMAP4:
    try:
        if box.secure:
            context = ssl.create_default_context()
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=context, timeout=timeout
            )
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
    except TimeoutError as stalled:
        raise MailboxError(
            f"Calendar replies: {box.where} did not answer within {timeout:g} s"
        ) from stalled
    if not box.secure:
        if "STARTTLS" in conn.capabilities:
            conn.starttls(ssl.create_default_context())  # a failure raises: no login
        elif not box.insecure:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.shutdown()
            raise MailboxError(
                f"Calendar replies: {box.where} offers no STARTTLS; refusing to send the "
                "password in clear. Use imaps://, or add ?insecure=1 to "
                "CALENDAR_REPLIES_IMAP_URL for a server on this host or a private network."
            )
    conn.login(box.user, box.password)
    return conn


def _quoted(folder: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", folder) + '"'


def _takes_keywords(conn: imaplib.IMAP4) -> bool:
    """Whether the selected folder keeps keywords of our own (PERMANENTFLAGS holds \\*)."""
    _name, data = conn.response("PERMANENTFLAGS")
    return any(isinstance(d, bytes) and b"\\*" in d for d in data or [])


def poll(url: str | None = None, *, batch: int | None = None) -> int:
    """Take up to `batch` unseen messages of the folder; return how many were taken (acted
    on, ignored or found already processed). Does nothing when no mailbox is configured.
    Raises MailboxError (or imaplib's error) when the mailbox cannot be read."""
    url = url or settings.CALENDAR_REPLIES_IMAP_URL
    if not url:
        return 0
    box = Mailbox.from_url(url)
    batch = batch or settings.CALENDAR_REPLIES_POLL_BATCH
    timeout = settings.CALENDAR_REPLIES_IMAP_TIMEOUT
    deadline = time.monotonic() + settings.CALENDAR_REPLIES_POLL_SECONDS
    conn = _connect(box, timeout)
    taken = 0
    try:
        status, _ = conn.select(_quoted(box.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open the folder {box.folder!r}")
        keywords = _takes_keywords(conn)
        if not keywords:
            logger.warning(
                "Calendar replies: %s keeps no keywords; mail that is not a calendar answer "
                "is marked read",
                box.where,
            )
        criteria = ("UNSEEN", "UNKEYWORD", KEYWORD) if keywords else ("UNSEEN",)
        status, data = conn.uid("SEARCH", *criteria)
        uids = data[0].split()[:batch] if status == "OK" and data and data[0] else []
        for uid in uids:
            if time.monotonic() > deadline:
                logger.info("Calendar replies: the poll's time is up; the rest waits")
                break
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next(
                (item[1] for item in fetched if isinstance(item, tuple) and len(item) > 1),
                None,
            )
            if status != "OK" or not isinstance(raw, bytes):
                logger.warning("Calendar replies: could not fetch message %s", uid.decode())
                continue
            message = email.message_from_bytes(raw, policy=email.policy.compat32)
            try:
                take(message=message, raw=raw, source="imap")
            except Exception:
                # Left unflagged, so the next poll tries it again; the others go on.
                logger.exception("Calendar replies: message %s failed", uid.decode())
                continue
            if itip.replies_in(message) or not keywords:
                conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            else:
                conn.uid("STORE", uid, "+FLAGS", f"({KEYWORD})")
            taken += 1
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return taken
