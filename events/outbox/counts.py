"""The delivery's running totals (emails sent, failed, retried, skipped) for the metrics
endpoint: rows of `DeliveryCount` in the database, so every worker process on every machine
adds to the same totals and any web process reads them.

A batch of deliveries adds its outcomes once, when it ends (`Tally`): one UPDATE per batch
rather than one more statement per message. A worker killed mid-batch leaves the rows it had
marked uncounted (at most a batch, 50); the sweep's bulk changes are counted in the same
transaction as the rows."""

import os
from collections import Counter

from django.db.models import F, Sum

from ..models.notification import DeliveryCount, Notification

Outcome = DeliveryCount.Outcome
Status = Notification.Status
SHARDS = 8
# The outcome a row's new status records (pending again after a claim: a retry).
BY_STATUS = {
    Status.SENT: Outcome.SENT,
    Status.FAILED: Outcome.FAILED,
    Status.SKIPPED: Outcome.SKIPPED,
    Status.PENDING: Outcome.RETRIED,
}


def add(outcome: str, n: int = 1) -> None:
    """Add `n` to `outcome`'s total, in the caller's transaction. Each process adds to its own
    shard (by process id), so concurrent workers rarely wait on one another's row lock."""
    if n <= 0:
        return
    shard = os.getpid() % SHARDS
    rows = DeliveryCount.objects.filter(outcome=outcome, shard=shard)
    if not rows.update(count=F("count") + n):
        DeliveryCount.objects.bulk_create(
            [DeliveryCount(outcome=outcome, shard=shard)], ignore_conflicts=True
        )
        rows.update(count=F("count") + n)


def totals() -> dict[str, int]:
    """Every outcome's total (0 for those never counted), in one query."""
    found = dict(
        DeliveryCount.objects.values("outcome")
        .annotate(total=Sum("count"))
        .values_list("outcome", "total")
    )
    return {outcome: int(found.get(outcome) or 0) for outcome in Outcome.values}


class Tally:
    """The outcomes of a batch, by the rows' new status, added to the totals when the batch
    ends (however it ends: what was marked is counted)."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def add(self, status: str) -> None:
        self.seen[BY_STATUS[Status(status)]] += 1

    def __enter__(self) -> "Tally":
        return self

    def __exit__(self, *exc: object) -> None:
        for outcome, n in sorted(self.seen.items()):
            add(outcome, n)  # one UPDATE each (usually one: sent)
        self.seen.clear()
