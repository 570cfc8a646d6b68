"""Providers' inbound posts as they send them. Mailgun's inbound route to a forward() URL:
the "fully parsed" form (fields, message-headers as JSON, each attachment a file part) or,
for a URL with "mime" in it, the raw message in body-mime; signed with the webhook signing
key (HMAC-SHA256 of timestamp and token), as Mailgun's documentation describes. Postmark's
inbound JSON, which is not signed: anymail's basic-auth secret guards it."""

import base64
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


def parsed_form(
    raw: bytes, key: str, *, forged: bool = False, recipient: str | None = None
) -> dict:
    """`recipient`: the envelope recipient Mailgun reports (the message's To by default)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    files = [
        part
        for part in message.walk()
        if not part.is_multipart() and part.get_content_type() not in {"text/plain", "text/html"}
    ]
    fields = {
        "recipient": recipient or str(message["To"]),
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


def postmark_json(raw: bytes) -> dict:
    """Postmark's inbound webhook JSON (without the raw email option): the parsed fields,
    Headers as name/value pairs, attachments base64 in Attachments."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    sender = message["From"].addresses[0]
    files = [
        part
        for part in message.walk()
        if not part.is_multipart() and part.get_content_type() not in {"text/plain", "text/html"}
    ]
    skip = {"from", "to", "subject", "date", "content-type", "mime-version"}
    return {
        "FromName": sender.display_name,
        "MessageStream": "inbound",
        "From": sender.addr_spec,
        "FromFull": {"Email": sender.addr_spec, "Name": sender.display_name},
        "To": str(message["To"]),
        "ToFull": [{"Email": str(message["To"]), "Name": "", "MailboxHash": ""}],
        "OriginalRecipient": str(message["To"]),
        "Subject": str(message["Subject"]),
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": str(message["Date"]),
        "TextBody": text.get_content() if text else "",
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [{"Name": "Return-Path", "Value": f"<{sender.addr_spec}>"}]
        + [{"Name": k, "Value": str(v)} for k, v in message.items() if k.lower() not in skip],
        "Attachments": [
            {
                "Name": part.get_filename() or "invite.ics",
                "Content": base64.b64encode(part.get_payload(decode=True)).decode(),
                "ContentType": part.get_content_type(),
                "ContentLength": len(part.get_payload(decode=True)),
            }
            for part in files
        ],
    }
