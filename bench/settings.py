"""Settings for benchmarks: production as it is, plus the bench's own URLs (a baseline view).

Configured, like production, entirely by environment variables; bench.registration_rush sets
them for its own PostgreSQL database and Redis.
"""

from config.settings.production import *  # noqa: F403
from config.settings.production import CACHES

ROOT_URLCONF = "bench.urls"

# The bench shares the machine's Redis with whatever else runs here. Its Celery tasks go to a
# queue of their own, which no worker consumes and the bench deletes afterwards (a developer's
# worker must never pick up a task for a row of the bench's throwaway database), and its cache
# keys get a prefix of their own.
BENCH_QUEUE = "bench.registration_rush"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
CELERY_TASK_ROUTES = {"*": {"queue": BENCH_QUEUE}}
CACHES["default"]["KEY_PREFIX"] = "bench.registration_rush"
