"""The speed layer: the sign-up path's shortcuts past Django's public API, fenced.

A rush of sign-ups spends most of its time in the framework, not in the rules: building and
compiling querysets, planning the same statements again, a new Redis client per cache call.
Two modules take those costs away (bench/registration_rush: the sign-up ratio went from 0.25
to 0.52 with them):

- `prepared`: querysets compiled once and re-run with new values, prepared on PostgreSQL,
  and INSERTs compiled once (private Django compiler internals, private psycopg cursor parts);
- `fastcache`: counters and flags in one round trip on a kept Redis client (a private part
  of Django's Redis cache), with config/cache.py's fallback to memory during an outage.

Nothing here knows a rule, and every shortcut has a plain twin that gives the same results
through Django's public API: querysets, `Model.save()`, the cache API. The plain twin runs

- everywhere, when `settings.SPEED_LAYER` is off (env SPEED_LAYER=false);
- for one part, from the moment its private internals are missing or no longer have the
  shape it relies on (a Django, psycopg or redis-py upgrade): that part falls back by itself
  for the rest of the process and the log says so once, instead of sign-up breaking.

The registration tests run both ways (tests/conftest.py, `speed_layer`).
"""

import logging
import threading

from django.conf import settings

log = logging.getLogger(__name__)

# The parts that can fall back on their own.
COMPILED = "compiled querysets"
INSERTS = "compiled inserts"
PREPARED = "server-side prepared statements"
REDIS = "kept Redis client"

# What a changed internal raises (a name gone, a signature or a structure changed). Database
# errors are not among them: those are the data's, and the plain twin would meet them too.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ImportError, ValueError)

_broken: dict[str, str] = {}
_lock = threading.Lock()


def active(part: str) -> bool:
    """Whether `part` of the speed layer is to be used now."""
    return settings.SPEED_LAYER and part not in _broken


def fall_back(part: str, error: BaseException) -> None:
    """`part` met internals it does not recognise: use its plain twin from now on in this
    process, and say so once (a warning: the site works, slower, until the layer is fixed)."""
    with _lock:
        if part in _broken:
            return
        _broken[part] = f"{error.__class__.__name__}: {error}"
    log.warning(
        "Speed layer: %s fall back to Django's public API for the rest of this process "
        "(the internals it relies on changed: %s). Sign-up works, more slowly; see events/speed.",
        part,
        _broken[part],
    )


def broken() -> dict[str, str]:
    """The parts that fell back in this process, and why (for tests and the curious)."""
    return dict(_broken)


def repair() -> None:
    """Forget every fallback (tests: each starts with the whole layer on)."""
    with _lock:
        _broken.clear()
