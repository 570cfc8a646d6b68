"""The audit log of organizer and staff actions (models.AuditEntry): `record` writes one entry,
and every service that takes an `actor` calls it inside its own transaction, so an entry exists
exactly when the change committed. `entries` is the one reader (the pages and the CSV),
`purge_expired` the retention (beat, hourly).

What an entry may hold is a data protection question, so it is checked here rather than left
to each caller: the summary names fields of organizer data with their old and new values, and
people by id only. A key that would carry a person's address or words (`SENSITIVE`) is a
programming error, raised before anything is written; an address typed into the team's own
text (a description) is masked; long texts are cut to SHOWN_CHARS."""

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from ..models import AuditEntry, Event, Membership, OpenCall, Survey, Team

# Keys a summary never holds (ids of people are fine: `user`, `registration`).
SENSITIVE = frozenset(
    {
        "email",
        "emails",
        "display_name",
        "first_name",
        "last_name",
        "note",
        "notes",
        "answers",
        "text",
        "address",
        "phone",
        "secret",
        "token",
    }
)
STAFF, SYSTEM, NO_ROLE = "staff", "system", "none"
PURGE_BATCH = 1000
SHOWN_CHARS = 120


EMAIL = re.compile(r"[^@\s<>()\[\],;:\"']+@[^@\s<>()\[\],;:\"']+\.[A-Za-z]{2,}")
HIDDEN_EMAIL = "[email]"


def _plain(value: Any) -> Any:
    """A value as JSON keeps it: dates as ISO text, objects as their id, and any email
    address written into a text (a description, a note the team typed) masked."""
    if isinstance(value, str):
        return EMAIL.sub(HIDDEN_EMAIL, value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, int | float | bool):
        return value
    return str(value)


def _check(summary: Mapping[str, Any]) -> None:
    for key, value in summary.items():
        if key.lower() in SENSITIVE:
            raise ValueError(f"An audit summary never holds {key!r}: name people by id.")
        if isinstance(value, Mapping):
            _check(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` (attribute names; a foreign key as its id) as JSON keeps them."""
    return {field: _plain(getattr(obj, field)) for field in sorted(fields)}


def _short(value: Any) -> Any:
    # A description or terms text is the team's own words, but an entry is a summary.
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return value[: SHOWN_CHARS - 1] + "…"
    return value


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field whose value differs (long texts cut short)."""
    return {
        field: [_short(before.get(field)), _short(value)]
        for field, value in after.items()
        if before.get(field) != value
    }


def role_of(actor: User | None, team_id: int) -> str:
    """The role the actor acts in: their role in the team, else staff, else none (one query,
    read afresh for every entry: the same statements whatever came before)."""
    if actor is None:
        return SYSTEM
    role = (
        Membership.objects.filter(team_id=team_id, user_id=actor.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role:
        return str(role)
    return STAFF if actor.is_staff else NO_ROLE


def record(
    *,
    actor: User | None,
    action: str,
    team: Team | int,
    event: Event | int | None = None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: int | None = None,
    summary: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """One entry: `actor` did `action` (a dotted code, "session.cancelled") to `target` (or
    `object_type` and `object_id`) of `team`, about `event` if any. Must run inside the
    change's transaction: an entry outside one could outlive a change that rolled back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record runs inside the change's transaction.atomic().")
    clean = _plain(dict(summary or {}))
    _check(clean)
    team_id = team if isinstance(team, int) else team.pk
    event_id = event if isinstance(event, int) or event is None else event.pk
    if target is not None:
        object_type = object_type or target._meta.model_name or ""
        object_id = target.pk if object_id is None else object_id
    return AuditEntry.objects.create(
        team_id=team_id,
        event_id=event_id,
        actor=actor if actor is not None and actor.pk else None,
        actor_role=role_of(actor, team_id),
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=clean,
    )


def record_for_registration(
    *,
    actor: User | None,
    action: str,
    registration: Any,
    summary: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An entry about one registration: its person by id only (`user`), with the session."""
    session = registration.session
    return record(
        actor=actor,
        action=action,
        team=session.event.team_id,
        event=session.event_id,
        target=registration,
        summary={"user": registration.user_id, "session": session.pk, **(summary or {})},
    )


def record_question(
    *,
    actor: User | None,
    action: str,
    question: Any,
    fields: Iterable[str] = (),
    changes: Mapping[str, list[Any]] | None = None,
) -> AuditEntry | None:
    """An entry about a question of a survey or an open call (the question editor's changes:
    the engine itself knows no owner), under the survey's event or the call's team, with
    `fields` as they are now, or `changes` ({field: [old, new]})."""
    survey = (
        Survey.objects.filter(questionnaire_id=question.questionnaire_id)
        .values_list("event_id", "event__team_id")
        .first()
    )
    event_id: int | None = None
    team_id: int | None
    if survey is not None:
        event_id, team_id = survey
    else:
        team_id = (
            OpenCall.objects.filter(questionnaire_id=question.questionnaire_id)
            .values_list("team_id", flat=True)
            .first()
        )
    if team_id is None:
        return None  # an event's screening question: services.screening records those
    summary: dict[str, Any] = {"fields": snapshot(question, fields)} if fields else {}
    if changes:
        summary["changes"] = dict(changes)
    return record(
        actor=actor,
        action=action,
        team=team_id,
        event=event_id,
        target=question,
        summary=summary,
    )


def entries(
    *,
    team: Team,
    event: Event | None = None,
    action: str = "",
    actor_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """A team's entries (an event's, if given), newest first, narrowed by an action code (or
    its first part: "session" matches "session.cancelled"), an actor and dates (inclusive,
    in UTC), with the actor loaded in the same query."""
    rows = AuditEntry.objects.filter(team=team).select_related("actor")
    if event is not None:
        rows = rows.filter(event=event)
    if action:
        rows = rows.filter(models.Q(action=action) | models.Q(action__startswith=f"{action}."))
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if since is not None:
        rows = rows.filter(created_at__date__gte=since)
    if until is not None:
        rows = rows.filter(created_at__date__lte=until)
    return rows.order_by("-created_at", "-pk")


def retention_days(team: Team) -> int:
    """How long `team` keeps its audit log: its retention policy (two years by default)."""
    return team.retention_audit_days


def purge_expired(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the entries older than their team's audit retention, `batch` rows per
    transaction (a short lock each, oldest first); safe to run twice and to stop midway.
    Returns how many."""
    now = now or timezone.now()
    deleted = 0
    for team_id, days in Team.objects.order_by("pk").values_list("pk", "retention_audit_days"):
        cutoff = now - timedelta(days=days)
        while True:
            with transaction.atomic():
                ids = list(
                    AuditEntry.objects.filter(team_id=team_id, created_at__lt=cutoff)
                    .order_by("created_at", "pk")
                    .values_list("pk", flat=True)[:batch]
                )
                if not ids:
                    break
                count, _ = AuditEntry.objects.filter(pk__in=ids).delete()
                deleted += count
    return deleted
