"""A local inbox for `make run`: every email is kept as a file and summed up in one terminal line.

Django's console backend printed each message whole (about 150 lines with base64 attachments),
so a newcomer's links drowned in MIME. This backend writes each message as an `.eml` file under
DEV_MAIL_DIR and prints who it is for, its subject and its main link; `/dev/mail/` lists the
files, newest first, and shows each one. The pages exist only with DEBUG on.
"""

import email
import email.parser
import email.policy
import os
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage as ParsedMessage
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin

# A name we wrote ourselves: a timestamp and a random suffix, nothing that could walk a path.
NAME = re.compile(r"^[0-9]{8}T[0-9]{12}-[0-9a-f]{8}$")
URL = re.compile(r"https?://[^\s<>\"')\]]+")
LIST_LIMIT = 200


def mail_dir() -> Path:
    return Path(settings.DEV_MAIL_DIR)


class _ButtonLinks(HTMLParser):
    """The hrefs of the links drawn as buttons (our emails' calls to action), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and "inline-block" in (values.get("style") or "") and values.get("href"):
            self.buttons.append(values["href"] or "")


def _worth_following(link: str) -> bool:
    # A confirmation's one button is "Can't make it? Cancel", and its first links are the
    # .ics download: neither is what someone trying the site wants to open next.
    path = link.split("?")[0]
    return not path.endswith(("/cancel/", ".ics"))


def main_link(message: ParsedMessage) -> str:
    """The link the reader is meant to follow: the button of the HTML part, else the first
    of the site's links in the text (allauth's verification and reset mails are text only),
    leaving out cancel pages and calendar downloads."""
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        parser = _ButtonLinks()
        parser.feed(html.get_content())
        for link in parser.buttons:
            if _worth_following(link):
                return link
    text = message.get_body(preferencelist=("plain",))
    links = URL.findall(text.get_content()) if text is not None else []
    ours = [link for link in links if link.startswith(settings.SITE_URL)]
    for link in ours:
        if _worth_following(link):
            return link
    return (ours or links or [""])[0]


class InboxBackend(BaseEmailBackend):
    """Writes each message to DEV_MAIL_DIR and prints one line for it."""

    def __init__(self, *args, stream=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout

    def send_messages(self, email_messages) -> int:
        folder = mail_dir()
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            raw = message.message().as_bytes(linesep="\n")
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
            # Written aside and renamed, so the inbox page never reads half a message.
            partial = folder / f".{name}.tmp"
            partial.write_bytes(raw)
            os.replace(partial, folder / f"{name}.eml")
            parsed = parse(raw)
            link = main_link(parsed) or "(no link)"
            page = settings.SITE_URL + reverse("dev_mail_message", args=[name])
            self.stream.write(
                f"mail to {', '.join(message.recipients())}: {message.subject!r} -> {link}"
                f"   (whole message: {page})\n"
            )
            self.stream.flush()
            sent += 1
        return sent


def parse(raw: bytes) -> ParsedMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


@dataclass
class Summary:
    name: str
    sent_at: datetime
    to: str
    subject: str


def stored(name: str) -> ParsedMessage:
    path = mail_dir() / f"{name}.eml"
    if not NAME.match(name) or not path.is_file():
        raise Http404("No such message")
    return parse(path.read_bytes())


def summaries() -> list[Summary]:
    folder = mail_dir()
    if not folder.is_dir():
        return []
    names = sorted((p.stem for p in folder.glob("*.eml") if NAME.match(p.stem)), reverse=True)
    rows = []
    for name in names[:LIST_LIMIT]:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
            (folder / f"{name}.eml").read_bytes()
        )
        rows.append(
            Summary(
                name=name,
                sent_at=datetime.strptime(name[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC),
                to=str(headers.get("To", "")),
                subject=str(headers.get("Subject", "")),
            )
        )
    return rows


def _debug_only() -> None:
    # A development tool: with DEBUG off (production, the test settings) there is no inbox.
    if not settings.DEBUG:
        raise Http404("No such page")


def inbox(request: HttpRequest) -> HttpResponse:
    _debug_only()
    return render(
        request, "dev/mail_inbox.html", {"messages_kept": summaries(), "mail_dir": mail_dir()}
    )


def message_page(request: HttpRequest, name: str) -> HttpResponse:
    _debug_only()
    message = stored(name)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = [
        part.get_filename() or part.get_content_type() for part in message.iter_attachments()
    ]
    headers = [
        (field, str(message[field]))
        for field in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
        if message[field]
    ]
    return render(
        request,
        "dev/mail_message.html",
        {
            "name": name,
            "headers": headers,
            "subject": str(message.get("Subject", "")),
            "main_link": main_link(message),
            "text": text.get_content() if text is not None else "",
            "has_html": html is not None,
            "attachments": attachments,
        },
    )


# The HTML part is the sender's markup, which may carry anything a user typed (an event title,
# a personal message): it is served alone, under a policy that runs no script and loads nothing
# but inline styles and embedded images, sandboxed even when opened outside its frame.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)


@xframe_options_sameorigin
def message_html(request: HttpRequest, name: str) -> HttpResponse:
    _debug_only()
    html = stored(name).get_body(preferencelist=("html",))
    if html is None:
        raise Http404("This message has no HTML part")
    # Links open in a tab of their own: inside the frame our pages would refuse to be framed.
    page = '<base target="_blank">' + html.get_content()
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_POLICY
    return response
