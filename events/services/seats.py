"""The seat counter. Session.seats_taken is changed only here, by conditional UPDATEs that
are atomic on PostgreSQL and SQLite alike (select_for_update is a no-op on SQLite); the
CHECK constraint session_never_overbooked is the backstop.

The statements are written out as SQL: they are the rule itself (DESIGN.md, invariant 1), and
taking a seat is on the hot path of a rush, where building an ORM UPDATE cost more than
running it. Each sets `updated_at` too (seats taken and left are part of a session as the API
shows it: a sync by `updated_since` must see them move)."""

from django.db import connection
from django.utils import timezone

from ..models import Session
from ..speed.prepared import cursor

SCHEDULED = Session.Status.SCHEDULED.value


def _now():
    # As the ORM would store it (naive UTC on SQLite).
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _update(sql: str, params: list) -> int:
    with cursor() as db:
        db.execute(sql.format(table=connection.ops.quote_name(Session._meta.db_table)), params)
        return db.rowcount


def take_seat(session_id: int) -> bool:
    """Take one seat if one is free; True when taken."""
    return take_seats(session_id, 1)


def take_seats(session_id: int, count: int) -> bool:
    """Take `count` seats at once, all or none (seats held by a batch of invitations)."""
    if count <= 0:
        return True
    taken = _update(
        "UPDATE {table} SET seats_taken = seats_taken + %s, updated_at = %s"
        " WHERE id = %s AND status = %s AND seats_taken + %s <= capacity",
        [count, _now(), session_id, SCHEDULED, count],
    )
    return taken == 1


def release_seat(session_id: int) -> None:
    _update(
        "UPDATE {table} SET seats_taken = seats_taken - 1, updated_at = %s"
        " WHERE id = %s AND seats_taken > 0",
        [_now(), session_id],
    )


def lock_session(pk, *, skip_locked: bool = False) -> bool:
    """Lock a session's row before anything of the session: the one lock order (the session,
    then its registrations or invitations) of every path that changes them, which keeps two
    such paths meeting on a session from deadlocking. FOR NO KEY UPDATE, as the UPDATEs above
    take: sign-ups inserting a registration (a foreign-key share lock) are not held up. `pk`:
    a value or a Subquery. False when there is no such row (or, with `skip_locked`, someone
    else holds it)."""
    rows = Session.objects.select_for_update(no_key=True, skip_locked=skip_locked).filter(pk=pk)
    return bool(list(rows.values_list("pk", flat=True)))
