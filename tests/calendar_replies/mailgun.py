"""Mailgun's inbound route as it posts to a forward() URL: the "fully parsed" form (fields,
message-headers as JSON, each attachment a file part) or, for a URL with "mime" in it, the
raw message in body-mime; signed with the webhook signing key (HMAC-SHA256 of timestamp and
token), as Mailgun's documentation describes."""

import email
import email.policy
import hashlib
import hmac
import json
import secrets
import time

from django.core.files.uploadedfile import SimpleUploadedFile


def signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def signed(fields: dict, key: str, *, forged: bool = False) -> dict:
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    sign = signature("not-the-key" if forged else key, timestamp, token)
    return {**fields, "timestamp": timestamp, "token": token, "signature": sign}


def parsed_form(raw: bytes, key: str, *, forged: bool = False) -> dict:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    files = [
        part
        for part in message.walk()
        if not part.is_multipart() and part.get_content_type() not in {"text/plain", "text/html"}
    ]
    fields = {
        "recipient": str(message["To"]),
        "sender": str(message["From"]),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "body-plain": text.get_content() if text else "",
        "stripped-text": text.get_content() if text else "",
        "message-headers": json.dumps([[name, str(value)] for name, value in message.items()]),
        "attachment-count": str(len(files)),
    }
    for n, part in enumerate(files, start=1):
        fields[f"attachment-{n}"] = SimpleUploadedFile(
            part.get_filename() or "invite.ics",
            part.get_payload(decode=True),
            content_type=part.get_content_type(),
        )
    return signed(fields, key, forged=forged)


def mime_form(raw: bytes, key: str) -> dict:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    fields = {
        "recipient": str(message["To"]),
        "sender": str(message["From"]),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "body-mime": raw.decode(),
    }
    return signed(fields, key)
