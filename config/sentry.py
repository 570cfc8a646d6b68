"""Errors to Sentry when SENTRY_DSN is set (settings call `init`): the web's and the workers'
(sentry-sdk's Django and Celery integrations, and error lines of the log), with no personal
data. sentry-sdk sends no cookies, no client address, no user's email
(send_default_pii=False) and no local variables of a frame (a view's `token` argument would
be one); `scrub` then passes every string of the event, breadcrumbs included, through the
logs' redaction (tokens in links and parameters, Authorization values, API secrets, email
addresses), and names the user by id only, with the request id as a tag to find the log lines.
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from config import logs


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return logs.redact(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send (and before_send_transaction): the event with every secret and email
    replaced, its user reduced to an id."""
    event = _scrubbed(event)
    context = logs.context()  # the request's, or in a worker the task's and its request's
    user_id = context.get("user_id")
    event["user"] = {"id": str(user_id)} if user_id is not None else {}
    if request_id := context.get("request_id"):
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0, **options: Any) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,  # type: ignore[arg-type]
        before_send_transaction=scrub,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
        **options,
    )
