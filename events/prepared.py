"""Statements the sign-up path runs hundreds of times a second, compiled by the ORM once.

Building a queryset and compiling it to SQL costs 0.3-0.6 ms of CPU per statement; running the
compiled SQL costs about 0.05 ms. On the sign-up path, in a rush, building and compiling was
most of the request (bench/registration_rush). So the queries stay written once, as ORM
querysets, and this module keeps what the ORM compiled and runs it again with new values:

- `Prepared(build)`: `build(**params)` returns a queryset whose only varying values are
  integers (primary keys). It is compiled once, per thread and database, with stand-in
  integers whose positions among the SQL's parameters are remembered; `rows(**params)` then
  runs that SQL with the real values and returns model instances, select_related objects and
  annotations included, as the queryset would.
- `insert(obj)`: what `obj.save()` does for a new row with an automatic primary key (field
  defaults, auto_now_add, the key read back with RETURNING), with the INSERT compiled once.
- `cursor()`: where these statements run. On PostgreSQL, with prepared statements enabled
  (settings: DATABASE_PREPARED_STATEMENTS), they are also prepared on the server, once per
  connection: planning was most of their cost there (0.24 ms of PostgreSQL CPU for the
  sign-up's read, 0.05 ms prepared). Django's own queries are never prepared.

Nothing here knows a rule: the querysets and the models do.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.subqueries import InsertQuery

# Far from any primary key, and distinct from each other: a parameter equal to one of these
# after compiling is that stand-in's slot.
STAND_IN = -7_340_987_651_000


class Prepared:
    """A queryset compiled once and run many times with new integer parameters."""

    def __init__(self, build: Callable[..., models.QuerySet]) -> None:
        self.build = build
        self.names = tuple(inspect.signature(build).parameters)
        self._local = threading.local()  # compilers hold their thread's connection

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: int) -> list[models.Model]:
        if set(values) != set(self.names):
            raise TypeError(f"expected {self.names}, got {tuple(values)}")
        compiled = self._compiled(using)
        params = [values[slot] if isinstance(slot, str) else slot.value for slot in compiled.slots]
        with cursor(using) as db:
            db.execute(compiled.sql, params)
            fetched = db.fetchall()
        return [compiled.instance(row, using) for row in compiled.compiler.results_iter([fetched])]

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: int) -> models.Model | None:
        found = self.rows(using=using, **values)
        return found[0] if found else None

    def _compiled(self, using: str) -> _Compiled:
        cache = self._local.__dict__.setdefault("compiled", {})
        connection = connections[using]
        compiled = cache.get(using)
        if compiled is None or compiled.connection is not connection:
            compiled = cache[using] = _Compiled(self.build, self.names, connection)
        return compiled


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Compiled:
    def __init__(self, build: Callable[..., models.QuerySet], names: tuple[str, ...], connection):
        stand_ins = {STAND_IN - i: name for i, name in enumerate(names)}
        queryset = build(**{name: value for value, name in stand_ins.items()})
        if queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups:
            raise ValueError("Prepared supports plain querysets of model instances only")
        self.connection = connection
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        self.slots = [
            stand_ins[p] if type(p) is int and p in stand_ins else _Constant(p) for p in params
        ]
        missing = set(names) - {s for s in self.slots if isinstance(s, str)}
        if missing:
            raise ValueError(f"parameters {sorted(missing)} do not reach the SQL as such")
        # What ModelIterable works out from the compiler after running the query.
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.related = get_related_populators(klass_info, select, connection.alias)
        self.annotations = list(self.compiler.annotation_col_map.items())

    def instance(self, row, using: str) -> models.Model:
        obj = self.model.from_db(using, self.init_list, row[self.start : self.end])
        for populator in self.related:
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj


_inserts = threading.local()


def insert(obj: models.Model, *, using: str = DEFAULT_DB_ALIAS) -> models.Model:
    """Insert a new `obj` as `obj.save()` would (no signals are sent: we use none)."""
    meta = obj._meta
    if obj.pk is not None or meta.auto_field is None:
        raise ValueError("insert() is for new rows with an automatic primary key")
    connection = connections[using]
    if not connection.features.can_return_columns_from_insert:
        obj.save(force_insert=True, using=using)
        return obj
    cache = _inserts.__dict__.setdefault("statements", {})
    key = (type(obj), using)
    statement = cache.get(key)
    if statement is None or statement[0] is not connection:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        if any(f.generated or hasattr(f, "get_placeholder") for f in fields):
            raise ValueError(f"{meta.label} has fields insert() does not handle")
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = meta.db_returning_fields
        [(sql, _)] = compiler.as_sql()
        statement = cache[key] = (connection, sql, fields, list(compiler.returning_params))
    _, sql, fields, returning_params = statement
    params = []
    for field in fields:
        value = field.pre_save(obj, add=True)
        if hasattr(value, "resolve_expression"):
            raise ValueError(f"insert() takes values, not expressions ({field.name})")
        params.append(field.get_db_prep_save(value, connection=connection))
    with cursor(using) as db:
        db.execute(sql, params + returning_params)
        returned = connection.ops.fetch_returned_insert_columns(db, returning_params)
    for field, value in zip(meta.db_returning_fields, returned, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using
    return obj


def cursor(using: str = DEFAULT_DB_ALIAS):
    """A cursor whose statements PostgreSQL prepares, when the connection allows it (Django
    turns prepared statements off unless OPTIONS["prepare_threshold"] is set: see settings);
    otherwise the usual cursor. Either way Django wraps it (errors, query logging)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        return connection.cursor()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_preparing_cursor_class()(connection.connection))


@functools.cache
def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        """Parameters bound on the server, and every statement prepared there (psycopg keeps
        the prepared statements of each connection, up to its `prepared_max`)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary)
            self.__dict__["statement"] = (query, params)
            return self

        # psycopg leaves `_query` unset when it runs a prepared statement; Django's query log
        # (DEBUG, CaptureQueriesContext) reads it. Worked out only when someone asks.
        @property
        def _query(self):
            if self.__dict__.get("query") is None and self.__dict__.get("statement"):
                self.__dict__["query"] = self._convert_query(*self.__dict__["statement"])
            return self.__dict__.get("query")

        @_query.setter
        def _query(self, value):
            self.__dict__["query"] = value
            self.__dict__["statement"] = None

    return PreparingCursor
