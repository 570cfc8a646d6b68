"""Log lines: readable text by default, one JSON object per line with LOG_FORMAT=json; each
with the request id of the request (or task) it belongs to and the user id, never the email;
and no secret in any of them.

- The request id comes from an incoming X-Request-ID when it is sane (1 to 128 letters,
  digits, `.`, `_`, `:`, `-`), else it is made here; it is answered in the response's
  X-Request-ID, travels to every Celery task the request publishes (a task header) and is
  restored in the worker, so the task's lines carry it, and the tasks it publishes in turn. A
  task with none (beat's) takes its own task id as its request id.
- `redact` is applied to every formatted line, whatever logger wrote it (ours, Django's
  request and server logs, Celery's, gunicorn's access log through `GunicornLogger`): the
  token in links with one (SECRET_PATHS: `/calendar/<redacted>.ics`), secret query
  parameters, Authorization values, API token secrets and email addresses are replaced.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import threading
import uuid
from typing import Any

from django.core.signals import request_finished
from django.utils.functional import empty
from gunicorn import glogging

# The paths whose next segment is a secret (a token, an allauth key). tests/test_logs.py fails
# for a URL pattern with a `token` or `key` parameter that is not covered here.
SECRET_PATHS = (
    "calendar",  # calendar/<token>.ics
    "invitations",
    "checkin",
    "survey",
    "call-confirm",
    "call-withdraw",
    "join",
    "teams/join",  # a team invitation (old links at join/<token>/ are sent on)
    "unsubscribe",
    "keep",  # a panel member's "keep me" link
    "accounts/confirm-email",
    "accounts/password/reset/key",
)
REDACTED = "<redacted>"

_SEP = r"(?:/|%2[Ff])"
_paths = "|".join(_SEP.join(map(re.escape, p.split("/"))) for p in SECRET_PATHS)
_STOP = r"/\s?#\"'<>\\&"
_PATH_TOKEN = re.compile(
    # What comes before the path: the start, a space, a quote, `=`, or a scheme and host.
    r"(?P<lead>^|[\s\"'=(\[,<]|[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s\"'<>]*)"
    rf"(?P<path>{_SEP}(?:{_paths}){_SEP})"
    rf"[^{_STOP}]+?(?=\.ics(?![\w-])|[{_STOP}]|%2[Ff]|%3[Ff]|$)",
    re.MULTILINE,
)
_QUERY_SECRET = re.compile(
    r"(?P<key>(?<![\w-])(?:token|key|code|secret|signature|sig|password|api_key|access_token)=)"
    r"[^&\s#\"'<>]+",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(r"\b(?P<scheme>(?i:bearer|basic)|Token)\s+[\w.~+/=-]{6,}")
_API_SECRET = re.compile(r"\bfbt_[\w-]+")  # events.services.api_tokens.SECRET_PREFIX
_EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def redact(text: str) -> str:
    """`text` with every secret and email address replaced, and the current request's own
    token wherever it appears (an error message may quote it without its path)."""
    for secret in request_secrets():
        text = text.replace(secret, REDACTED)
    text = _PATH_TOKEN.sub(lambda m: m["lead"] + m["path"] + REDACTED, text)
    text = _QUERY_SECRET.sub(lambda m: m["key"] + REDACTED, text)
    text = _AUTHORIZATION.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    text = _API_SECRET.sub("fbt_" + REDACTED, text)
    return _EMAIL.sub("<email>", text)


# --- the request (or task) a line belongs to ------------------------------------------------

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("request", default=None)
_task: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("task", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


SECRET_PARAMS = ("token", "key")


def request_secrets() -> list[str]:
    """The secrets in the current request's URL (its `token` or `key`), once it is resolved."""
    request = _request.get()
    match = getattr(request, "resolver_match", None) if request is not None else None
    if match is None:
        return []
    found = (match.kwargs.get(name) for name in SECRET_PARAMS)
    return [value for value in found if isinstance(value, str) and len(value) >= 6]


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(value: str | None) -> str:
    """The client's (or the proxy's) X-Request-ID if it is sane, else a new one."""
    if value and _SANE_ID.fullmatch(value) and redact(value) == value:
        return value
    return new_request_id()


def user_id() -> int | None:
    """The id of the request's user, if the request has already looked it up (a log line
    never costs a query): the session's user, or the API token's maker."""
    request = _request.get()
    if request is None:
        return None
    user = request.__dict__.get("_cached_user")
    if user is None:
        found = request.__dict__.get("user")
        # A lazy user (SimpleLazyObject) not looked up yet is left alone; DRF's is not lazy.
        wrapped = getattr(found, "_wrapped", found)
        user = None if wrapped is empty else wrapped
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


class RequestIdMiddleware:
    """First of all middleware: gives the request its id (request.request_id), so that every
    line written while it is handled carries it, and answers it in X-Request-ID."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        request_finished.connect(end_of_request, dispatch_uid="config.logs.end_of_request")

    def __call__(self, request):
        rid = incoming_request_id(request.headers.get("X-Request-ID"))
        request.request_id = rid
        request_id.set(rid)
        _request.set(request)
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


def end_of_request(**kwargs) -> None:
    """request_finished: the lines of what follows in this thread belong to no request.
    (Django's own "Not Found" line and the server's access line come after the middleware
    returned, before this.)"""
    request_id.set("")
    _request.set(None)


# --- Celery: the request id travels in a task header ------------------------------------------

HEADER = "request_id"
USER_HEADER = "request_user_id"
_task_user: contextvars.ContextVar[int | None] = contextvars.ContextVar("task_user", default=None)
_outer = threading.local()  # what a task run inside a request (eagerly) found, to put back


def on_publish(headers: dict[str, Any] | None = None, **kwargs) -> None:
    """before_task_publish: the current request id (and user id) go with the task."""
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(HEADER, rid)
        if (uid := user_id()) is not None:
            headers.setdefault(USER_HEADER, uid)


def on_task_start(task_id: str = "", task: Any = None, **kwargs) -> None:
    """task_prerun: the task's lines carry the request id it came with (or its own id)."""
    stack = _outer.__dict__.setdefault("stack", [])
    stack.append((request_id.get(), _request.get(), _task.get(), _task_user.get()))
    rid = getattr(task.request, HEADER, None) if task is not None else None
    uid = getattr(task.request, USER_HEADER, None) if task is not None else None
    request_id.set(rid if isinstance(rid, str) and _SANE_ID.fullmatch(rid) else task_id)
    _request.set(None)
    _task.set((getattr(task, "name", ""), task_id))
    _task_user.set(uid if isinstance(uid, int) else None)


def on_task_end(**kwargs) -> None:
    stack = _outer.__dict__.get("stack") or [("", None, None, None)]
    rid, request, task, uid = stack.pop()
    request_id.set(rid)
    _request.set(request)
    _task.set(task)
    _task_user.set(uid)


# --- formatters ------------------------------------------------------------------------------


def context() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if rid := request_id.get():
        fields["request_id"] = rid
    if (uid := user_id()) is not None or (uid := _task_user.get()) is not None:
        fields["user_id"] = uid
    if task := _task.get():
        fields["task"], fields["task_id"] = task
    return fields


class TextFormatter(logging.Formatter):
    """`2026-12-06 10:00:00,123 WARNING events.outbox.delivery [request_id=... user_id=5]
    message`, redacted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = context()
        record.context = (
            " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" if fields else ""
        )
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    request id, user id and task when there are; an exception's traceback as `exc_info`.
    Everything redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **context(),
        }
        if record.exc_info:
            line["exc_info"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc_info"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_class(log_format: str) -> type[logging.Formatter]:
    if log_format not in ("text", "json"):
        raise ValueError('LOG_FORMAT is "text" or "json".')
    return JsonFormatter if log_format == "json" else TextFormatter


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """settings.LOGGING: one handler (stderr) with the chosen formatter, which every logger
    reaches, Django's request and server logs included (whose own handlers are replaced)."""
    formatter = formatter_class(log_format)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ours": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "ours"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give these handlers of their own (and django.server a
            # formatter that would print the raw path): theirs go through ours instead.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
        },
    }


class GunicornLogger(glogging.Logger):
    """gunicorn's error and access logs through our formatter (LOG_FORMAT, redaction, the
    request id): `gunicorn -c config/gunicorn.py`. The access line's format is gunicorn's
    (`--access-logformat`); whatever atoms it prints (the request line, the referer, a
    header), the formatter redacts the line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = formatter_class(os.environ.get("LOG_FORMAT", "text"))()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
