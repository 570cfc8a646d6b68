"""Celery tasks: thin, take ids, call services, safe to run twice."""

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
def draw_due_lotteries() -> int:
    """Draw the lotteries whose registration has closed (every minute)."""
    from .services import lottery

    return lottery.draw_due_lotteries()
