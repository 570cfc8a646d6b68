"""Settings for bench.webhook_rush: bench.settings (production plus the baseline view) with a
queue and cache prefix of its own, so that its worker takes only its own tasks. Webhooks to
the bench's loopback receiver are allowed by the environment (WEBHOOKS_ALLOW_PRIVATE=true)."""

from bench.settings import *  # noqa: F403
from bench.settings import CACHES

BENCH_QUEUE = "bench.webhook_rush"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
CELERY_TASK_ROUTES = {"*": {"queue": BENCH_QUEUE}}
CACHES["default"]["KEY_PREFIX"] = "bench.webhook_rush"
