"""Counters and flags in the shared cache, one round trip each.

Django's Redis cache builds a new Redis client for every call, which showed on the sign-up
path (a rate-limit counter and the outbox's doorbell on every sign-up): here each cache
backend keeps one client (reached through the backend's private `_cache`) and counts with
one Lua script. Without Redis (the embedded set-up, a database cache), with SPEED_LAYER off,
or once Django's Redis cache no longer has the shape relied on (events/speed/__init__.py),
the cache API does the same job. While Redis is unreachable, the cache backend's own fallback
(its `attempt`, config/cache.py) answers from the process's memory instead of raising, on
either path.
"""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from . import REDIS, SHAPE_ERRORS, active, fall_back


def _redis(backend):
    """The backend's kept Redis client, or None to use the cache API."""
    if not isinstance(backend, RedisCache) or not active(REDIS):
        return None
    client = backend.__dict__.get("kept_client")
    if client is None:
        try:
            client = backend._cache.get_client(write=True)
            for used in ("register_script", "set", "delete"):  # redis-py's, as used below
                getattr(client, used)
        except SHAPE_ERRORS as error:
            fall_back(REDIS, error)
            return None
        backend.__dict__["kept_client"] = client
    return client


# One command, atomic: a counter never outlives its window, even if the caller dies.
HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _on_redis(backend, command, on_cache_api):
    """`command()` on Redis, through the backend's fallback when it has one (an outage then
    gives `on_cache_api(memory)`, the same operation on the process's memory)."""
    attempt = getattr(backend, "attempt", None)
    return command() if attempt is None else attempt(command, on_cache_api)


def hit(counter: str, *, timeout: int) -> int:
    """Count one in `counter` (created with `timeout` seconds to live); the count so far."""
    backend = caches["default"]
    client = _redis(backend)
    if client is None:
        return _hit(backend, counter, timeout)
    script = backend.__dict__.get("hit_script")
    if script is None:
        script = backend.__dict__["hit_script"] = client.register_script(HIT)
    return _on_redis(
        backend,
        lambda: script(keys=[backend.make_and_validate_key(counter)], args=[timeout]),
        lambda memory: _hit(memory, counter, timeout),
    )


def _hit(cache, counter: str, timeout: int) -> int:
    cache.add(counter, 0, timeout=timeout)
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add and incr
        return 1


def add(flag: str, *, timeout: int) -> bool:
    """Set `flag` for `timeout` seconds unless it is set; True when this call set it."""
    backend = caches["default"]
    client = _redis(backend)
    if client is None:
        return backend.add(flag, 1, timeout=timeout)
    return _on_redis(
        backend,
        lambda: bool(client.set(backend.make_and_validate_key(flag), 1, ex=timeout, nx=True)),
        lambda memory: memory.add(flag, 1, timeout=timeout),
    )


def delete(flag: str) -> None:
    backend = caches["default"]
    client = _redis(backend)
    if client is None:
        backend.delete(flag)
        return
    _on_redis(
        backend,
        lambda: client.delete(backend.make_and_validate_key(flag)),
        lambda memory: memory.delete(flag),
    )
