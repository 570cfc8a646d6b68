"""Comparing the statements of a bulk operation at two sizes: their kinds, and how many
INSERTs the backend needs for a number of rows."""

import math
from collections import Counter

from django.db import connection


def insert_batches(model, count: int) -> int:
    """How many INSERTs the backend needs for `count` rows: one on PostgreSQL; SQLite binds
    at most 999 parameters per statement (Django 5.2), so rows go in chunks there."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return math.ceil(count / connection.ops.bulk_batch_size(fields, [None] * count))


def shape(queries: list[str]) -> Counter:
    """The queries by kind of statement and first table (parameters and savepoint names,
    which differ from run to run, left out)."""
    return Counter(
        "SAVEPOINT" if "SAVEPOINT" in sql else " ".join(sql.split()[:3]) for sql in queries
    )
