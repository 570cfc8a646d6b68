"""Settings for bench.scale_out: production as it is. Unlike the other benches, the Celery
routing stays the application's own (mail, hooks, sweeps, default): the bench's processes get
CELERY_QUEUE_PREFIX=bench.scale_out. from the environment, so its four queues are its own on
the shared Redis, and its cache keys (rate-limit counters included) a prefix of their own."""

from config.settings.production import *  # noqa: F403
from config.settings.production import CACHES

CACHES["default"]["KEY_PREFIX"] = "bench.scale_out"
