"""Tombstones (models.Tombstone): every removal of a row the API shows leaves one, in the
same transaction, so an integration polling `GET /api/v1/deletions/` deletes its copy too.

`bury(rows)` is called just before `rows` go (deleted, or stripped of who they were): two
statements whatever their number (read the ids and teams, one bulk INSERT), so a sweep over
large data stays batched. Why they go is the caller's context: an erasure or the retention
sweep runs its walk under `reason(...)`, and every removal below it (shared helpers such as
`invitations.drop` or `open_calls.withdraw` included) is recorded with that reason;
anything else is an ordinary deletion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from django.db.models import BooleanField, ExpressionWrapper, Model, Q, QuerySet, Value
from django.utils import timezone

from ..models import Invitation, PanelMember, Registration, Response, Segment, Submission, Tombstone

Kind = Tombstone.Kind
Reason = Tombstone.Reason

# Tombstones hold no personal data, but a client must sync within this time to see every
# removal; one that syncs less often does a full resync (README, "Deletions").
KEEP_DAYS = 90

# Ids per DELETE in `remove`: well under SQLite's limit of bound parameters.
CHUNK = 500

# Per model: its kind, the path to its team, and which of its rows the API shows.
KINDS: dict[type[Model], tuple[str, str, dict[str, Any]]] = {
    Registration: (Kind.REGISTRATION, "session__event__team_id", {}),
    Invitation: (Kind.INVITATION, "event__team_id", {}),
    # Only confirmed submissions: the API never shows one still waiting for its address.
    Submission: (Kind.SUBMISSION, "call__team_id", {"confirmed_at__isnull": False}),
    # Only a named survey's responses: an anonymous survey's are never shown one by one, and
    # a tombstone would give their ids and times away.
    Response: (
        Kind.SURVEY_RESPONSE,
        "questionnaire__survey__event__team_id",
        {"questionnaire__survey__anonymous": False},
    ),
    PanelMember: (Kind.PANEL_MEMBER, "team_id", {}),
    Segment: (Kind.SEGMENT, "team_id", {}),
}

_reason: ContextVar[str] = ContextVar("tombstone_reason", default=Reason.DELETED)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def because(why: str) -> Iterator[None]:
    token = _reason.set(why)
    try:
        yield
    finally:
        _reason.reset(token)


def reason(why: str) -> Callable[[F], F]:
    """Decorate a removal walk: the tombstones written under it say `why`."""

    def decorator(function: F) -> F:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with because(why):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def bury(rows: QuerySet, *, why: str | None = None) -> list[int]:
    """A tombstone for each of `rows` (about to be removed) that the API shows, in the
    caller's transaction. Returns the ids of all `rows` read, shown or not: the caller
    removes exactly those (`remove` does both), never `rows` again, which a row written
    meanwhile could join and so go without a tombstone.

    Stamped with the clock as it is written, never a sweep's `now`: a sweep runs for
    minutes, and a client polling meanwhile (from the `next_since` its last poll gave,
    `api.http.next_since`) could miss rows stamped with the time the sweep began."""
    kind, team_path, shown = KINDS[rows.model]
    now = timezone.now()
    why = why or _reason.get()
    found = rows.order_by()
    if shown:
        found = found.annotate(shown=ExpressionWrapper(Q(**shown), output_field=BooleanField()))
    else:
        found = found.annotate(shown=Value(True))
    read = list(found.values_list("pk", team_path, "shown"))
    stones = [
        Tombstone(team_id=team, kind=kind, object_id=pk, reason=why, removed_at=now)
        for pk, team, visible in read
        if team is not None and visible
    ]
    Tombstone.objects.bulk_create(stones, batch_size=1000)
    return [pk for pk, _team, _visible in read]


def remove(rows: QuerySet, *, why: str | None = None) -> tuple[int, dict[str, int]]:
    """Bury `rows` and delete exactly those (what `QuerySet.delete()` returns: how many
    rows went, cascades included, and how many per model). A row that matches `rows` only
    once they were read stays: it was not there to be removed."""
    ids = bury(rows, why=why)
    total, per_model = 0, Counter[str]()
    for start in range(0, len(ids), CHUNK):
        gone, by_model = rows.model._default_manager.filter(
            pk__in=ids[start : start + CHUNK]
        ).delete()
        total += gone
        per_model.update(by_model)
    return total, dict(per_model)


def since(*, team_id: int, after: datetime | None, kinds: list[str]) -> QuerySet[Tombstone]:
    """The team's tombstones of these kinds, at or after `after` (all those kept if None)."""
    found = Tombstone.objects.filter(team_id=team_id, kind__in=kinds)
    if after is not None:
        found = found.filter(removed_at__gte=after)
    return found


def kept_since(now: datetime | None = None) -> datetime:
    """The oldest time from which every removal is still known."""
    return (now or timezone.now()) - timedelta(days=KEEP_DAYS)


def purge(*, now: datetime | None = None) -> int:
    """The retention sweep: tombstones older than KEEP_DAYS go. Returns how many."""
    deleted, _kinds = Tombstone.objects.filter(removed_at__lt=kept_since(now)).delete()
    return deleted
