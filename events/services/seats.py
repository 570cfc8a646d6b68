"""The seat counter. Session.seats_taken is changed only here, by conditional UPDATEs that
are atomic on PostgreSQL and SQLite alike (select_for_update is a no-op on SQLite); the
CHECK constraint session_never_overbooked is the backstop."""

from django.db.models import F

from ..models import Session


def take_seat(session_id: int) -> bool:
    """Take one seat if one is free; True when taken."""
    updated = Session.objects.filter(
        pk=session_id, seats_taken__lt=F("capacity"), status=Session.Status.SCHEDULED
    ).update(seats_taken=F("seats_taken") + 1)
    return updated == 1


def release_seat(session_id: int) -> None:
    Session.objects.filter(pk=session_id, seats_taken__gt=0).update(
        seats_taken=F("seats_taken") - 1
    )


def take_seats(session_id: int, count: int) -> bool:
    """Take `count` seats at once, all or none (seats held by a batch of invitations)."""
    if count <= 0:
        return True
    updated = Session.objects.filter(
        pk=session_id,
        status=Session.Status.SCHEDULED,
        seats_taken__lte=F("capacity") - count,
    ).update(seats_taken=F("seats_taken") + count)
    return updated == 1
