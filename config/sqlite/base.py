"""Django's SQLite backend plus the `natural_sort` collation, which PostgreSQL gets from ICU
(events migration 0004): names ordered as people read them, "Person 2" before "Person 10".

SQLite has no such collation, and a collation is registered per connection, so every
connection Django opens gets it here."""

import re

from django.db.backends.sqlite3 import base

NATURAL = "natural_sort"
_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Case-insensitive text, with each run of digits compared as a number; ties broken by
    the plain text, so that only equal strings compare equal."""
    parts = _RUNS.split(text.casefold())
    # Alternating (text, number, text, ...): a digit run always sits at an odd index, so a
    # number is never compared with text.
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text)


def natural_compare(a: str, b: str) -> int:
    ka, kb = natural_key(a), natural_key(b)
    return (ka > kb) - (ka < kb)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.create_collation(NATURAL, natural_compare)
        return connection
