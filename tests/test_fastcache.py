"""Counters and flags in the shared cache (events/speed/fastcache.py): the rate limits and the
outbox's doorbell depend on them, on Redis in production and the database cache without it."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from events.speed import fastcache

pytestmark = pytest.mark.django_db


def test_a_counter_counts_each_hit():
    assert [fastcache.hit("hits:a", timeout=60) for _ in range(3)] == [1, 2, 3]
    assert fastcache.hit("hits:b", timeout=60) == 1


def test_a_flag_is_set_once_until_it_is_deleted():
    assert fastcache.add("flag", timeout=60) is True
    assert fastcache.add("flag", timeout=60) is False
    fastcache.delete("flag")
    assert fastcache.add("flag", timeout=60) is True


@pytest.mark.redis
def test_on_redis_counters_and_flags_expire_with_their_timeout():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    client = backend._cache.get_client()
    fastcache.hit("hits:ttl", timeout=90)
    fastcache.hit("hits:ttl", timeout=90)  # a later hit does not extend the window
    assert 0 < client.ttl(backend.make_and_validate_key("hits:ttl")) <= 90
    fastcache.add("flag:ttl", timeout=30)
    assert 0 < client.ttl(backend.make_and_validate_key("flag:ttl")) <= 30
    # The values are the cache's own: the cache API reads them back.
    assert backend.get("hits:ttl") == 2
