"""Owing a message: the one way a row gets into the outbox.

Rows are written inside the caller's transaction, so an email is owed exactly when the change
that causes it commits, and handed to the workers on commit (doorbell.py). If the broker is
down then, the beat sweep finds the row still pending and enqueues it again, so mail is
delayed, never lost.

The key makes a message owed once: the kind, then what it is about, most specific last (the
object, the person, the version), joined by colons: `confirmed:reg12:user5:40`,
`invitation:inv7:<nonce>:20300715T140000`, `survey:svr3`. Receivers see it too, as the
Message-ID (rendering.message_id).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction

from ..models.notification import Notification
from ..speed.prepared import insert
from .doorbell import enqueue_on_commit

T = TypeVar("T")


def key(kind: str, *about: object) -> str:
    """The outbox key of a message of `kind` about `about` (see the module's docstring)."""
    return ":".join([str(kind), *(str(part) for part in about)])


def _in_transaction() -> None:
    assert transaction.get_connection().in_atomic_block, "owe inside the change's transaction"


def already_owed(kind: str, about: Sequence[object]) -> Notification | None:
    return Notification.objects.filter(key=key(kind, *about)).first()


def owe(
    *,
    kind: str,
    about: Sequence[object],
    email: str,
    payload: dict | None = None,
    fresh: bool = False,
    defer: bool = False,
    **related: Any,
) -> Notification:
    """Owe one email of `kind` about `about` (the key's parts after the kind) to `email`;
    `related`: the rows it concerns, by instance or id (`recipient=`, `registration=`,
    `session_id=`, `invitation=`, `survey_recipient=`, `submission=`). Owing the same thing
    again is a no-op that returns the row owed first. `fresh` says the key cannot exist yet
    (its version was just written, or carries a new nonce), which saves a query; `defer`,
    that the caller enqueues the row itself."""
    _in_transaction()
    row_key = key(kind, *about)
    if not fresh:
        existing = Notification.objects.filter(key=row_key).first()
        if existing:
            return existing
    notification = Notification(
        key=row_key,
        kind=kind,
        email=email,
        payload=payload or {},
        **related,
    )
    insert(notification)
    if not defer:
        enqueue_on_commit([notification.pk])
    return notification


@dataclass(frozen=True)
class Owed:
    """One message of a fan-out: what `owe` takes, by ids (the caller has them in bulk)."""

    about: Sequence[object]
    email: str
    recipient_id: int | None = None
    registration_id: int | None = None
    session_id: int | None = None
    invitation_id: int | None = None
    survey_recipient_id: int | None = None
    submission_id: int | None = None
    payload: dict = field(default_factory=dict)


def owe_many(*, kind: str, rows: Iterable[Owed], ignore_conflicts: bool = False) -> list[int]:
    """Owe `kind` for every row of a fan-out in one INSERT, enqueued on commit; the ids.
    The caller knows the keys are new (see `unowed`), or passes `ignore_conflicts`: then the
    rows already owed are left as they are, and those still pending are enqueued again."""
    _in_transaction()
    notifications = [
        Notification(
            key=key(kind, *row.about),
            kind=kind,
            recipient_id=row.recipient_id,
            email=row.email,
            registration_id=row.registration_id,
            session_id=row.session_id,
            invitation_id=row.invitation_id,
            survey_recipient_id=row.survey_recipient_id,
            submission_id=row.submission_id,
            payload=row.payload,
        )
        for row in rows
    ]
    if not notifications:
        return []
    created = Notification.objects.bulk_create(notifications, ignore_conflicts=ignore_conflicts)
    if ignore_conflicts:
        # PostgreSQL returns no ids for an INSERT ... ON CONFLICT DO NOTHING.
        ids = list(
            Notification.objects.filter(
                key__in=[n.key for n in created], status=Notification.Status.PENDING
            ).values_list("pk", flat=True)
        )
    else:
        ids = [n.pk for n in created]
    enqueue_on_commit(ids)
    return ids


def unowed(kind: str, items: list[T], *, about: Callable[[T], Sequence[object]]) -> list[T]:
    """The items among `items` for which no message of `kind` is owed yet, in one query."""
    if not items:
        return []
    keys = {id(item): key(kind, *about(item)) for item in items}
    owed = set(
        Notification.objects.filter(key__in=list(keys.values())).values_list("key", flat=True)
    )
    return [item for item in items if keys[id(item)] not in owed]
