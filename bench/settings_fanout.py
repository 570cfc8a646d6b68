"""Settings for bench.invite_fanout: production as it is, with a Celery queue of the bench's own.

Configured, like production, entirely by environment variables (DATABASE_URL, REDIS_URL,
EMAIL_URL, ...); bench.invite_fanout sets them for its own PostgreSQL database, the shared
Redis and its SMTP sink. The bench process (which changes the session) and the Celery worker
it starts both use this module, so the tasks it enqueues reach that worker and no other.
"""

from config.settings.production import *  # noqa: F403
from config.settings.production import CACHES

# The bench shares the machine's Redis with whatever else runs here. Its tasks go to a queue of
# their own, consumed only by the worker the bench starts (which is told to read that queue
# alone) and deleted afterwards: a developer's worker must never pick up a task for a row of
# the bench's throwaway database, nor the bench's worker one of theirs. Its cache keys get a
# prefix of their own.
BENCH_QUEUE = "bench.invite_fanout"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
CELERY_TASK_ROUTES = {"*": {"queue": BENCH_QUEUE}}
CACHES["default"]["KEY_PREFIX"] = "bench.invite_fanout"
