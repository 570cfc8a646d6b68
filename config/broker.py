"""What the metrics and the readiness check ask of the Celery broker: whether it answers,
and how long each queue is and how old its oldest message.

With kombu's Redis transport a queue is a Redis list named after it (plus one list per
priority step, `<queue>\\x06\\x16<step>`); messages are LPUSHed and workers BRPOP, so the
oldest is the last element. Celery's messages do not say when they were published, so every
process stamps `published_at` into the headers of what it publishes (`stamp`, connected in
config/celery.py); a message published before that has no age we can tell.
"""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from celery import current_app

# The queues watched whatever the routes say (ops: mail, hooks, sweeps, default).
KNOWN_QUEUES = ("mail", "hooks", "sweeps", "default")
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)  # kombu's default steps above 0 (0 is the queue's own list)
HEADER = "published_at"


def stamp(headers: dict | None = None, **kwargs: Any) -> None:
    """before_task_publish: when the message left, for the age of a queue's oldest message."""
    if headers is not None and HEADER not in headers:
        headers[HEADER] = time.time()


def queue_names() -> list[str]:
    """The queues the configuration routes tasks to, and the known ones."""
    conf = current_app.conf
    names = {conf.task_default_queue, *KNOWN_QUEUES}
    queues = conf.task_queues or ()
    names.update(queues if isinstance(queues, dict) else (_name(q) for q in queues))
    # task_routes: a mapping, or a sequence of mappings and routers (functions: not read).
    routes = conf.task_routes or ()
    for table in [routes] if isinstance(routes, dict) else routes:
        for route in table.values() if isinstance(table, dict) else ():
            if isinstance(route, dict) and route.get("queue"):
                names.add(_name(route["queue"]))
    return sorted(name for name in names if name)


def _name(queue: Any) -> str:
    return queue if isinstance(queue, str) else getattr(queue, "name", "")


_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis | None:
    """A kept client on the broker when it is Redis (short timeouts: a dead broker must not
    hold a scrape or a health check); None for any other transport."""
    url = current_app.conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
            _clients[url] = client
    return client


def ping() -> None:
    """Raise unless the broker answers."""
    client = redis_client()
    if client is not None:
        client.ping()
        return
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)


@dataclass(frozen=True)
class QueueState:
    name: str
    messages: int
    oldest_age: float | None  # seconds; None when empty or unstamped


def queues(now: float | None = None) -> list[QueueState]:
    """Every watched queue's length and the age of its oldest message, in one round trip;
    [] when the broker is not Redis."""
    client = redis_client()
    if client is None:
        return []
    names = queue_names()
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            for key in _lists(name):
                pipe.llen(key)
                pipe.lindex(key, -1)
        replies = pipe.execute()
    now = time.time() if now is None else now
    states, at = [], 0
    for name in names:
        messages, oldest = 0, None
        for _key in _lists(name):
            length, last = replies[at], replies[at + 1]
            at += 2
            messages += int(length or 0)
            published = _published_at(last)
            if published is not None and (oldest is None or published < oldest):
                oldest = published
        age = max(0.0, now - oldest) if oldest is not None else None
        states.append(QueueState(name, messages, age))
    return states


def _lists(name: str) -> list[str]:
    return [name, *(f"{name}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


def _published_at(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)["headers"][HEADER]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None
