"""Reading calendar answers (iTIP METHOD:REPLY, RFC 5546) out of an email: a pure module,
message in, replies out, no database.

Calendar programs answer an invite by mail to its ORGANIZER: Gmail, Outlook and Apple
Calendar send a message with the answer as a `text/calendar; method=REPLY` part, often with
the same object again as an `invite.ics` (or `.ics`) attachment. Each VEVENT names its UID,
the SEQUENCE of the invite it answers, and the attendee with their PARTSTAT.
"""

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import formataddr, getaddresses, parseaddr

from icalendar import Calendar

CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar"}
ANSWERS = {"ACCEPTED", "TENTATIVE", "DECLINED"}
# Longer ids are kept as their digest: the column is indexed, and no real one is this long.
MAX_ID = 255


@dataclass(frozen=True)
class Reply:
    uid: str
    sequence: int
    attendee: str  # the address, lower-cased
    partstat: str  # upper-cased: ACCEPTED, TENTATIVE, DECLINED, or what the program said
    organizer: str = ""  # the ORGANIZER the program echoes back, lower-cased


def message_id(message: Message, raw: bytes) -> str:
    """The message's id, the key that makes a reply processed once however often it is
    delivered. A message without one is known by a digest of its bytes."""
    value = " ".join(str(message.get("Message-ID", "")).split())
    if not value:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(value) > MAX_ID:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def sender(message: Message) -> str:
    """The From address, lower-cased ('' if there is none or it is not an address)."""
    address = parseaddr(str(message.get("From", "")))[1].strip().lower()
    return address if "@" in address else ""


def _calendar_parts(message: Message) -> list[bytes]:
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() in CALENDAR_TYPES or filename.endswith(".ics"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data.strip():
                found.append(data)
    return found


def _address(value) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.strip().lower()


def replies_in(message: Message) -> list[Reply]:
    """Every answer in the message's calendar parts, once each (the inline part and the
    attachment are usually the same object). Parts that are not a METHOD:REPLY calendar, or
    do not parse, give nothing."""
    replies: list[Reply] = []
    for data in _calendar_parts(message):
        try:
            calendar = Calendar.from_ical(data)
        except ValueError:
            continue
        if str(calendar.get("METHOD", "")).strip().upper() != "REPLY":
            continue
        for event in calendar.walk("VEVENT"):
            uid = str(event.get("UID", "")).strip()
            try:
                sequence = int(str(event.get("SEQUENCE", 0)))
            except ValueError:
                continue
            organizer = _address(event.get("ORGANIZER", ""))
            attendees = event.get("ATTENDEE")
            if attendees is None:
                continue
            if not isinstance(attendees, list):
                attendees = [attendees]
            for attendee in attendees:
                partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
                reply = Reply(
                    uid, sequence, _address(attendee), partstat or "NEEDS-ACTION", organizer
                )
                if uid and reply not in replies:
                    replies.append(reply)
    return replies


# Per-registration reply addresses (README, "Calendar replies"): the reply address with a
# secret sub-address, rsvp+<secret>@example.com. Secrets are lower-case letters and digits,
# since some servers fold the local part's case.
SECRET = re.compile(r"^[a-z0-9]{16,40}$")
# Headers that name the address a message was delivered to; a catch-all route or a mailbox
# keeps the sub-address in one of them even when To names several people.
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


def with_secret(address: str, secret: str) -> str:
    """`address` ("Name <rsvp@example.com>") as its sub-address rsvp+<secret>@example.com."""
    name, spec = parseaddr(address)
    local, _, domain = spec.rpartition("@")
    return formataddr((name, f"{local}+{secret}@{domain}"))


def _spec(address: str) -> str:
    return parseaddr(address)[1].strip().lower()


def split_secret(address: str, reply_address: str) -> tuple[str, str]:
    """`address` read against the configured reply address: (the reply address, secret)
    when it is exactly its sub-address `<local part>+<secret>@<domain>` (case-insensitive),
    else (its lower-cased addr-spec, ''). Only relative to the configured address: its own
    local part may hold a `+tag` ("rsvp+feedback@"), which is no secret however it looks."""
    spec = _spec(address)
    configured = _spec(reply_address)
    local, _, domain = configured.rpartition("@")
    their_local, _, their_domain = spec.rpartition("@")
    prefix = f"{local}+"
    if local and domain and their_domain == domain and their_local.startswith(prefix):
        tag = their_local[len(prefix) :]
        if SECRET.match(tag):
            return configured, tag
    return spec, ""


def is_reply_address(address: str, reply_address: str) -> bool:
    """Whether `address` is the configured reply address, bare or as one of its secret
    sub-addresses."""
    configured = _spec(reply_address)
    return bool(address and configured) and split_secret(address, reply_address)[0] == configured


def recipients(message: Message, replies: Iterable[Reply], extra: Iterable[str] = ()) -> set[str]:
    """Every address the message says it was sent to: its recipient headers, the ORGANIZER
    its calendar answers echo, and `extra` (the envelope recipient a provider reports)."""
    found: set[str] = set()
    values = [str(v) for name in RECIPIENT_HEADERS for v in (message.get_all(name) or [])]
    for _name, spec in getaddresses(values):
        found.add(spec.strip().lower())
    found.update(r.organizer for r in replies)
    found.update(parseaddr(str(e))[1].strip().lower() for e in extra)
    return {a for a in found if "@" in a}


def carries_secret(addresses: Iterable[str], organizer: str, reply_address: str) -> bool:
    """Whether one of `addresses` is `organizer`'s own sub-address of the reply address,
    secret and all (compared in constant time). False when `organizer` carries no secret."""
    base, secret = split_secret(organizer, reply_address)
    if not secret:
        return False
    matched = False
    for address in addresses:
        their_base, theirs = split_secret(address, reply_address)
        if their_base == base and theirs and hmac.compare_digest(theirs, secret):
            matched = True
    return matched
