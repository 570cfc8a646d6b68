"""Django's Redis cache, degraded instead of failing while Redis is unreachable.

The cache holds rate-limit counters (ours and allauth's) and the outbox's doorbell, nothing
that the database does not also know. So when Redis cannot be reached, a request must not
fail with it: each call falls back to this process's own memory (counters then count per
process, so the limits loosen but still hold), the log says so once a minute, and Redis is
tried again a few seconds later. healthz still reports the outage (`ping`).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError)
# After a failure, calls go straight to memory for this long instead of each waiting on a
# dead server (a blackholed address costs the connect timeout per call).
RETRY_AFTER = 5.0
WARN_EVERY = 60.0


class Outages:
    """Per process and server: until when to leave Redis alone after a failure, and when the
    log last said so. Shared by the cache objects of every thread (Django makes one each)."""

    def __init__(self) -> None:
        self.clock = time.monotonic
        self.lock = threading.Lock()
        self.retry_at: dict[str, float] = {}
        self.warned_at: dict[str, float] = {}

    def skip(self, server: str) -> bool:
        return self.clock() < self.retry_at.get(server, 0.0)

    def failed(self, server: str, error: Exception) -> None:
        now = self.clock()
        with self.lock:
            self.retry_at[server] = now + RETRY_AFTER
            warn = now - self.warned_at.get(server, -WARN_EVERY) >= WARN_EVERY
            if warn:
                self.warned_at[server] = now
        if warn:
            log.warning(
                "Redis cache unreachable (%s: %s); rate limits count in each process "
                "until it answers again",
                error.__class__.__name__,
                error,
            )

    def answered(self, server: str) -> None:
        if server in self.retry_at:
            with self.lock:
                was_down = self.retry_at.pop(server, None) is not None
                self.warned_at.pop(server, None)
            if was_down:
                log.info("Redis cache answers again; rate limits are shared again")


outages = Outages()


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.server = server if isinstance(server, str) else ",".join(server)
        # Same prefix, version and key function: the memory holds what Redis would have.
        local = {
            k: v
            for k, v in params.items()
            if k in {"TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION"}
        }
        # Room for a counter per client address through a long outage (the default, 300,
        # would cull counters and loosen the limits further).
        local["OPTIONS"] = {"MAX_ENTRIES": 100_000}
        self.memory = LocMemCache(f"redis-fallback:{self.server}", local)

    def attempt(self, on_redis: Callable[[], Any], on_memory: Callable[[LocMemCache], Any]):
        """`on_redis()`, or `on_memory(memory)` while Redis is unreachable."""
        if outages.skip(self.server):
            return on_memory(self.memory)
        try:
            result = on_redis()
        except OUTAGE as error:
            outages.failed(self.server, error)
            return on_memory(self.memory)
        outages.answered(self.server)
        return result

    def ping(self) -> None:
        """Raise unless Redis answers (for healthz: the fallback must not hide an outage)."""
        self._cache.get_client().ping()

    def both(self, name: str, *args: Any) -> Any:
        """Django's `name(*args)` on Redis, or the same call on memory as its fallback."""
        return self.attempt(
            lambda: getattr(super(RedisCache, self), name)(*args),
            lambda memory: getattr(memory, name)(*args),
        )

    # Each call of Django's cache API (what Django's RedisCache defines; the rest of BaseCache,
    # such as get_or_set and decr, is built on these).

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.both("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self.both("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.both("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.both("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self.both("delete", key, version)

    def get_many(self, keys, version=None):
        return self.both("get_many", keys, version)

    def has_key(self, key, version=None):
        return self.both("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self.both("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.both("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self.both("delete_many", keys, version)

    def clear(self):
        return self.both("clear")
