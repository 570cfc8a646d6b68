"""Celery tasks of the domains: thin, take ids, call services, safe to run twice. (The
outbox's own tasks, delivery and its sweep, are in events/outbox/tasks.py.)"""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "worker:heartbeat"


@shared_task
def heartbeat() -> str:
    """Beat runs this every minute; /healthz shows when a worker last ran it."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task
def expire_offers() -> int:
    """Pass every waitlist offer past its deadline to the next person (every minute)."""
    from .services import waitlist

    return waitlist.expire_offers()


@shared_task
def fill_open_seats() -> int:
    """Every minute: offer the seats left free while someone waits for one."""
    from .services import waitlist

    return waitlist.fill_open_seats()


@shared_task
def fill_session(session_id: int) -> int:
    """Shortly after a seat was released: offer the session's free seats to its waitlist."""
    from .services import waitlist

    return len(waitlist.fill_session(session_id))


@shared_task
def draw_due_lotteries() -> int:
    """Draw the lotteries whose registration has closed (every minute)."""
    from .services import lottery

    return lottery.draw_due_lotteries()


@shared_task
def queue_reminders() -> int:
    """Every minute: owe the reminders that are due."""
    from .services import reminders

    return reminders.queue_due()


@shared_task
def expire_invitations() -> int:
    """Every minute: pending invitations past their expiry lapse; held seats are released."""
    from .services import invitations

    return invitations.expire_due()


@shared_task
def remind_invitations() -> int:
    """Every five minutes: remind pending invitees before their link expires."""
    from .services import invitations

    return invitations.remind_due()


@shared_task
def mark_no_shows() -> int:
    """Every five minutes: close the attendance of sessions that have ended (no-shows)."""
    from .services import attendance

    return attendance.mark_no_shows()


@shared_task
def queue_surveys() -> int:
    """Every minute: owe the survey to the attendees of each session whose survey is due."""
    from .services import surveys

    return surveys.queue_due()


@shared_task
def remind_surveys() -> int:
    """Every few minutes: one reminder to each person who has not answered, when due."""
    from .services import surveys

    return surveys.queue_reminders()


@shared_task
def purge_open_call_submissions() -> int:
    """Hourly: submissions never confirmed are deleted after a week."""
    from .services import open_calls

    return open_calls.purge_unconfirmed()


@shared_task
def refresh_panels() -> int:
    """Every minute: each team's panel takes in the people whose source rows changed."""
    from .services import panel

    return panel.refresh_changed()


@shared_task
def rebuild_panels() -> int:
    """Hourly: every panel rebuilt whole (what leaves no timestamp: withdrawals, deletions)."""
    from .services import panel

    return panel.rebuild_all()


@shared_task
def forget_old_api_responses() -> int:
    """Hourly: responses kept for API idempotency keys, once too old to answer a retry."""
    from .services import api_tokens

    return api_tokens.forget_old_responses()


@shared_task
def rescore_call(call_id: int) -> int:
    """After a change to a large call's screening rules: score its submissions under the
    new rules (stops early if they change again; the newer run takes over)."""
    from .services import call_screening

    return call_screening.rescore(call_id=call_id)


@shared_task
def rescore_calls_behind() -> int:
    """Every five minutes: re-score what a lost rescore_call left behind."""
    from .services import call_screening

    return call_screening.rescore_behind()


@shared_task
def compute_themes(theme_set_id: int) -> int:
    """Soon after themes were asked for: group a question's answers (a full computation)."""
    from .services import themes

    return themes.compute(theme_set_id)


@shared_task
def place_theme_answers(theme_set_id: int) -> int:
    """Soon after new answers came to a question whose themes were computed: place them in
    those themes (no recomputation). Safe to run twice: placed answers are not placed again."""
    from .services import themes

    return themes.place_new(theme_set_id)


# The poll's hard limit: a worker process (prefork) still in it then is killed and replaced,
# so a server that trickles its answers cannot hold a sweeps worker (services.mailbox bounds
# each socket operation and the poll's own time well below it).
POLL_TIME_LIMIT = 150


@shared_task(time_limit=POLL_TIME_LIMIT)
def poll_calendar_replies() -> int:
    """Every minute: calendar answers from the IMAP folder, if one is configured (README,
    "Calendar replies"). Safe to run twice: each message is processed once by its id."""
    from .services import mailbox

    return mailbox.poll()


@shared_task
def retention_sweep() -> dict:
    """Hourly: apply every team's retention policy (services.retention.sweep; batches under
    skip-locked, safe to run twice and resumable after a kill)."""
    from dataclasses import asdict

    from .services import retention

    return asdict(retention.sweep())


@shared_task
def purge_audit_log() -> int:
    """Hourly: audit entries older than their team's audit retention (its policy)."""
    from .services import audit

    return audit.purge_expired()
