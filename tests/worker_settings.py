"""Settings of the worker (and web) processes a test starts (tests/workers.py): the local
settings as configured by the environment, sharing the test's cache namespace, so that the
outbox's doorbells set by the test process are answered by the workers."""

import os

from config.settings.local import *  # noqa: F403
from config.settings.local import CACHES

CACHES["default"]["KEY_PREFIX"] = os.environ.get("TEST_CACHE_PREFIX", "fs")
