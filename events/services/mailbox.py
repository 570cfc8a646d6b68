"""Calendar answers from any mailbox: the IMAP folder of CALENDAR_REPLIES_IMAP_URL, polled
by beat every minute (events.tasks.poll_calendar_replies).

Each unseen message is read without marking it (BODY.PEEK), handed to
`calendar_replies.take`, and only then flagged \\Seen. A worker killed in between leaves it
unseen: the next poll reads it again and `take` knows it by its Message-ID, so it is still
processed once. Messages stay in the folder (answers people typed by hand are there for a
person to read); a message `take` failed on stays unseen and is tried again.
"""

import contextlib
import email
import email.policy
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

from .calendar_replies import take

logger = logging.getLogger(__name__)
TIMEOUT = 30  # seconds, for the connection and each command


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    secure: bool  # imaps:// (TLS from the start); imap:// uses STARTTLS when offered
    user: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> "Mailbox":
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise ValueError("CALENDAR_REPLIES_IMAP_URL must be imap://... or imaps://...")
        secure = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if secure else 143),
            secure=secure,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )


def _connect(box: Mailbox) -> imaplib.IMAP4:
    if box.secure:
        context = ssl.create_default_context()
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=context, timeout=TIMEOUT
        )
    else:
        conn = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
        if "STARTTLS" in conn.capabilities:
            conn.starttls(ssl.create_default_context())
    conn.login(box.user, box.password)
    return conn


def _quoted(folder: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", folder) + '"'


def poll(url: str | None = None, *, batch: int | None = None) -> int:
    """Take up to `batch` unseen messages of the folder; return how many were taken (acted
    on, ignored or found already processed). Does nothing when no mailbox is configured."""
    url = url or settings.CALENDAR_REPLIES_IMAP_URL
    if not url:
        return 0
    box = Mailbox.from_url(url)
    batch = batch or settings.CALENDAR_REPLIES_POLL_BATCH
    conn = _connect(box)
    taken = 0
    try:
        status, _ = conn.select(_quoted(box.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open the folder {box.folder!r}")
        status, data = conn.uid("SEARCH", "UNSEEN")
        uids = data[0].split()[:batch] if status == "OK" and data and data[0] else []
        for uid in uids:
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
                # Left unseen, so the next poll tries it again; the others go on.
                logger.exception("Calendar replies: message %s failed", uid.decode())
                continue
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            taken += 1
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return taken
