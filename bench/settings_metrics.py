"""Settings for bench.metrics_scrape: production as it is, with a queue and cache keys of its
own (the scrape reads its queue's length; nothing the bench leaves behind may reach a
developer's worker or be confused with another bench's keys)."""

from bench.settings import *  # noqa: F403
from bench.settings import CACHES

BENCH_QUEUE = "bench.metrics_scrape"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
CELERY_TASK_ROUTES = {"*": {"queue": BENCH_QUEUE}}
CACHES["default"]["KEY_PREFIX"] = "bench.metrics_scrape"
