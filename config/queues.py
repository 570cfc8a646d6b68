"""Which Celery queue each task goes to, so that one slow part cannot hold up the others.

- `mail`: outbox email delivery. A slow or failing SMTP server fills this queue and keeps its
  workers busy, and nothing else waits for them.
- `hooks`: webhook delivery (a receiver that answers slowly holds a worker up to 10 s).
- `sweeps`: beat's periodic work, every task of CELERY_BEAT_SCHEDULE.
- `default`: the rest, short work that a request causes (refilling a session's seats,
  re-scoring a call, themes).

`make run` has one worker consume all four; production runs a worker (or several) per
queue (README, "Production"). Every task is named here: tests/test_queues.py fails for a task
that is not, so a new task's queue is a decision, not an accident. Pure: imports no Django.
"""

from kombu import Queue

QUEUES = ("default", "mail", "hooks", "sweeps")

QUEUE_OF = {
    # mail: the outbox's email channel
    "events.outbox.tasks.deliver_notification": "mail",
    "events.outbox.tasks.deliver_batch": "mail",
    "events.outbox.tasks.deliver_pending": "mail",
    # ... and their names before the outbox was a package (events/outbox/tasks.py: aliases
    # for rolling deploys, each handing its work to the task above)
    "events.tasks.deliver_notification": "mail",
    "events.tasks.deliver_batch": "mail",
    "events.tasks.deliver_pending": "mail",
    # hooks: the outbox's webhook channel
    "events.outbox.tasks.deliver_webhooks": "hooks",
    # sweeps: what beat runs
    "events.tasks.heartbeat": "sweeps",
    "events.tasks.expire_offers": "sweeps",
    "events.tasks.fill_open_seats": "sweeps",
    "events.tasks.draw_due_lotteries": "sweeps",
    "events.outbox.tasks.sweep_outbox": "sweeps",
    "events.tasks.sweep_outbox": "sweeps",  # its old name (an alias, see above)
    "events.outbox.tasks.sweep_webhooks": "sweeps",
    "events.tasks.queue_reminders": "sweeps",
    "events.tasks.expire_invitations": "sweeps",
    "events.tasks.remind_invitations": "sweeps",
    "events.tasks.mark_no_shows": "sweeps",
    "events.tasks.queue_surveys": "sweeps",
    "events.tasks.remind_surveys": "sweeps",
    "events.tasks.purge_open_call_submissions": "sweeps",
    "accounts.tasks.purge_farewells": "sweeps",
    "accounts.tasks.purge_account_mail": "sweeps",
    "events.tasks.refresh_panels": "sweeps",
    "events.tasks.rescore_calls_behind": "sweeps",
    "events.tasks.rebuild_panels": "sweeps",
    "events.tasks.forget_old_api_responses": "sweeps",
    "events.tasks.poll_calendar_replies": "sweeps",
    "events.tasks.retention_sweep": "sweeps",
    "events.tasks.purge_audit_log": "sweeps",
    # default: work a request causes
    "events.tasks.fill_session": "default",
    "events.tasks.rescore_call": "default",
    "events.tasks.compute_themes": "default",
    "events.tasks.place_theme_answers": "default",
}


def declared(prefix: str = "") -> list[Queue]:
    """The queues, under the deployment's prefix (CELERY_QUEUE_PREFIX: tests give each run its
    own). A worker started without -Q consumes all of them."""
    return [Queue(f"{prefix}{name}", routing_key=f"{prefix}{name}") for name in QUEUES]


def routes(prefix: str = "") -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES: each task's queue, under the prefix."""
    return {
        task: {"queue": f"{prefix}{queue}", "routing_key": f"{prefix}{queue}"}
        for task, queue in QUEUE_OF.items()
    }
