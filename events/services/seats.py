"""The seat counter. Session.seats_taken is changed only here, by conditional UPDATEs that
are atomic on PostgreSQL and SQLite alike (select_for_update is a no-op on SQLite); the
CHECK constraint session_never_overbooked is the backstop.

The statements are written out as SQL: they are the rule itself (DESIGN.md, invariant 1), and
taking a seat is on the hot path of a rush, where building an ORM UPDATE cost more than
running it."""

from django.db import connection

from ..models import Session
from ..prepared import cursor

SCHEDULED = Session.Status.SCHEDULED.value


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
        "UPDATE {table} SET seats_taken = seats_taken + %s"
        " WHERE id = %s AND status = %s AND seats_taken + %s <= capacity",
        [count, session_id, SCHEDULED, count],
    )
    return taken == 1


def release_seat(session_id: int) -> None:
    _update(
        "UPDATE {table} SET seats_taken = seats_taken - 1 WHERE id = %s AND seats_taken > 0",
        [session_id],
    )
