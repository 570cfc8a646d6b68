"""Settings for bench.survey_results: production as it is, the bench's URLs (a baseline page),
and cache keys of its own.

Configured, like production, entirely by environment variables; bench.survey_results sets them
for its own PostgreSQL database and the shared Redis. The pages it measures enqueue no task,
but the queue and the cache prefix are the bench's own all the same, so that nothing it might
leave behind can reach a developer's worker or be confused with another bench's keys.
"""

from bench.settings import *  # noqa: F403
from bench.settings import CACHES

BENCH_QUEUE = "bench.survey_results"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
CELERY_TASK_ROUTES = {"*": {"queue": BENCH_QUEUE}}
CACHES["default"]["KEY_PREFIX"] = "bench.survey_results"
