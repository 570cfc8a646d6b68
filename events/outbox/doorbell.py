"""Handing owed rows to the workers, once their transaction has committed.

A single row (a sign-up, a cancellation: the common case, and it comes in bursts) rings the
outbox's doorbell instead of publishing a task of its own: a drain task is published unless
one is already on its way, and it sends every due row, a batch at a time. A rush of a
thousand sign-ups then costs the broker a few messages, not a thousand. A fan-out (thousands
of rows known at once) goes out in batches of 50, one task each, so that workers share it.

The tasks are looked up by name in the Celery app rather than imported: tasks.py imports
delivery, which hands rows held back in order to this module, and an import back would close
a cycle.
"""

import contextlib
import logging
from collections.abc import Sequence

from celery import current_app
from django.db import transaction

from ..speed import fastcache

log = logging.getLogger(__name__)

BATCH = 50
DOORBELL = "outbox:doorbell"
# How long a published drain task holds the bell. If that message is lost, rows committed in
# the meantime wait this long for the next ring (or the sweep's), never longer.
DOORBELL_TTL = 30
DELIVER_BATCH = "events.outbox.tasks.deliver_batch"
DELIVER_PENDING = "events.outbox.tasks.deliver_pending"


def _task(name: str):
    return current_app.tasks[name]


def enqueue_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: enqueue(ids))


def enqueue(ids: list[int], *, force: bool = False) -> None:
    """Hand rows to the workers: the doorbell for one row, batches of 50 for a fan-out. A
    broker (or cache) outage is logged, not raised: the change has committed and the sweep
    will enqueue the rows again (`force`: the sweep rings even if the bell is set)."""
    if len(ids) == 1:
        ring(ids, force=force)
        return
    for chunk in [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]:
        try:
            _task(DELIVER_BATCH).delay(chunk)
        except Exception:  # noqa: BLE001 - any broker failure; the sweep recovers the rows
            # The broker is down: the rest would fail too. The sweep enqueues them all later.
            log.warning("Could not enqueue notifications %s...; the sweep will retry", chunk[0])
            return


def ring(
    ids: Sequence[int] = (),
    *,
    force: bool = False,
    bell: str = DOORBELL,
    task: str = DELIVER_PENDING,
) -> None:
    """Make sure a drain task is on its way for rows just committed (`ids`, for the log):
    publish one unless the bell is already set, that is, unless a drain task has been
    published and has not started yet. A drain answers (clears) the bell before it claims
    anything, so a row committed after that rings again: none is left without a drain."""
    try:
        if not fastcache.add(bell, timeout=DOORBELL_TTL) and not force:
            return
        _task(task).delay()
    except Exception:  # noqa: BLE001 - any broker or cache failure; the sweep recovers the rows
        log.warning("Could not ring %s for %s; the sweep will retry", bell, list(ids))
        # So that the next commit tries again (if the cache is down too, the bell expires).
        with contextlib.suppress(Exception):
            fastcache.delete(bell)


def answer_doorbell(bell: str = DOORBELL) -> None:
    """A drain starts: rows committed from now on must ring again."""
    fastcache.delete(bell)
