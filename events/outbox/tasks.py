"""The outbox's Celery tasks: thin, take ids, safe to run twice (every row is claimed before
it is sent). Beat runs `sweep_outbox` (config/settings, CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import delivery, doorbell, webhooks


@shared_task(bind=True, acks_late=True)
def deliver_notification(self, notification_id: int) -> bool:
    """Send one outbox row. Safe to run twice: the row is claimed before sending. A short
    retry is scheduled here; longer ones are left to the sweep (no long ETAs in the broker)."""
    outcome = delivery.deliver(notification_id=notification_id)
    if outcome.retry_in is not None and outcome.retry_in <= 300:
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.sent


@shared_task(acks_late=True)
def deliver_batch(notification_ids: list[int]) -> int:
    """Send a batch of outbox rows (a fan-out): same guarantees as deliver_notification, with
    far fewer queries and tasks per message. Short retries are scheduled one by one."""
    return retry_soon(delivery.deliver_many(ids=notification_ids))


@shared_task(acks_late=True)
def deliver_pending() -> int:
    """The outbox's doorbell rang: send the due rows, a batch at a time, until none is left
    (or a thousand are done: then ring again, for a fresh task). Safe to run twice, or in
    several workers at once: every batch is claimed before it is sent."""
    doorbell.answer_doorbell()
    outcomes, more = delivery.drain()
    if more:
        doorbell.ring(force=True)
    return retry_soon(outcomes)


def retry_soon(outcomes) -> int:
    """Schedule the short retries (one task each); longer ones are left to the sweep. The
    number sent."""
    for pk, outcome in outcomes.items():
        if outcome.retry_in is not None and outcome.retry_in <= 300:
            deliver_notification.apply_async((pk,), countdown=outcome.retry_in)
    return sum(outcome.sent for outcome in outcomes.values())


@shared_task
def sweep_outbox() -> int:
    """Every 30 seconds: enqueue rows a lost task or a dead worker left pending."""
    ids = delivery.requeue_due()
    doorbell.enqueue(ids, force=True)
    return len(ids)


@shared_task(acks_late=True)
def deliver_webhooks() -> int:
    """The webhook bell rang: send the due webhook messages one by one (each claimed first, so
    safe in several workers at once); schedule the next drain for the earliest short retry.
    The number delivered."""
    doorbell.answer_doorbell(webhooks.BELL)
    outcomes, more = webhooks.drain()
    if more:
        webhooks.ring(force=True)
    # The earliest retry owed, whichever drain failed it (this one's own retries are not
    # enough: a row another drain failed may be due between them). Later ones: the sweep.
    due_in = webhooks.next_retry_in()
    if due_in is not None and due_in <= 300:
        deliver_webhooks.apply_async(countdown=due_in)
    return sum(outcome.sent for outcome in outcomes)


@shared_task
def sweep_webhooks() -> int:
    """Every 30 seconds: take back lapsed leases and ring for due webhook messages."""
    return webhooks.sweep()


# --- old names, for rolling deploys ---------------------------------------------------------
# Until the outbox became a package (commit 836b379) these four tasks were events.tasks.*.
# During a rolling deploy an old web process, worker or beat still publishes under those
# names (and a retry an old worker scheduled arrives under one), and a new worker would
# refuse the message as an unregistered task: the sweep would find the row a minute later,
# but nothing should have to wait for it. Each alias hands the work to its task under the
# new name, on the same queue. Remove them once no process older than 836b379 runs and no
# message published by one is left (a retry is at most 300 s away).


@shared_task(name="events.tasks.deliver_notification", acks_late=True)
def deliver_notification_by_old_name(notification_id: int) -> None:
    deliver_notification.delay(notification_id)


@shared_task(name="events.tasks.deliver_batch", acks_late=True)
def deliver_batch_by_old_name(notification_ids: list[int]) -> None:
    deliver_batch.delay(notification_ids)


@shared_task(name="events.tasks.deliver_pending", acks_late=True)
def deliver_pending_by_old_name() -> None:
    deliver_pending.delay()


@shared_task(name="events.tasks.sweep_outbox")
def sweep_outbox_by_old_name() -> None:
    sweep_outbox.delay()
