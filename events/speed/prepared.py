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

The fences (see events/speed/__init__.py): with SPEED_LAYER off, `rows()` runs the queryset,
`insert()` calls `save()` and `cursor()` is Django's. The private internals used here (the SQL
compiler's select/klass_info, get_related_populators, InsertQuery, the backend's
_prepare_cursor, psycopg's Cursor._convert_query) are checked where they are first used;
when one is missing or has changed shape, that part falls back by itself, logging once.

Nothing here knows a rule: the querysets and the models do.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, models

from . import COMPILED, INSERTS, PREPARED, SHAPE_ERRORS, active, fall_back

# Far from any primary key, and distinct from each other: a parameter equal to one of these
# after compiling is that stand-in's slot.
STAND_IN = -7_340_987_651_000


class Unsupported(ValueError):
    """The caller asked for what this module does not do (not a changed internal)."""


M = TypeVar("M", bound=models.Model)


class Prepared(Generic[M]):
    """A queryset compiled once and run many times with new integer parameters."""

    def __init__(self, build: Callable[..., models.QuerySet[M]]) -> None:
        self.build = build
        self.names = tuple(inspect.signature(build).parameters)
        self._local = threading.local()  # compilers hold their thread's connection

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: int) -> list[M]:
        if set(values) != set(self.names):
            raise TypeError(f"expected {self.names}, got {tuple(values)}")
        compiled = self._compiled(using) if active(COMPILED) else None
        if compiled is None:
            return self._plain(using, values)
        params = [values[slot] if isinstance(slot, str) else slot.value for slot in compiled.slots]
        with cursor(using) as db:
            db.execute(compiled.sql, params)
            fetched = db.fetchall()
        try:
            rows = compiled.compiler.results_iter([fetched])
            return [cast(M, compiled.instance(row, using)) for row in rows]
        except SHAPE_ERRORS as error:
            # Read, but not understood: read again as the queryset reads (nothing was written).
            fall_back(COMPILED, error)
            return self._plain(using, values)

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: int) -> M | None:
        found = self.rows(using=using, **values)
        return found[0] if found else None

    def _plain(self, using: str, values: dict[str, int]) -> list[M]:
        return list(self.build(**values).using(using))

    def _compiled(self, using: str) -> _Compiled | None:
        cache = self._local.__dict__.setdefault("compiled", {})
        connection = connections[using]
        compiled = cache.get(using)
        if compiled is None or compiled.connection is not connection:
            try:
                compiled = cache[using] = _Compiled(self.build, self.names, connection)
            except Unsupported:
                raise
            except SHAPE_ERRORS as error:
                fall_back(COMPILED, error)
                return None
        return compiled


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Compiled:
    def __init__(self, build: Callable[..., models.QuerySet], names: tuple[str, ...], connection):
        from django.db.models.query import ModelIterable, get_related_populators

        stand_ins = {STAND_IN - i: name for i, name in enumerate(names)}
        queryset = build(**{name: value for value, name in stand_ins.items()})
        # Private queryset API: this module is the fence around it (see events/speed).
        prefetch = queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        if queryset._iterable_class is not ModelIterable or prefetch:
            raise Unsupported("Prepared supports plain querysets of model instances only")
        self.connection = connection
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        self.slots = [
            stand_ins[p] if type(p) is int and p in stand_ins else _Constant(p) for p in params
        ]
        missing = set(names) - {s for s in self.slots if isinstance(s, str)}
        if missing:
            sql = str(queryset.query)
            if any(str(v) in sql for v, name in stand_ins.items() if name in missing):
                # The value is in the SQL, but not as a parameter we can find: the compiler
                # changed how it passes parameters.
                raise ValueError(f"parameters {sorted(missing)} are not found among the SQL's")
            raise Unsupported(f"parameters {sorted(missing)} do not reach the SQL as such")
        # What ModelIterable works out from the compiler after running the query.
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        # Django 5.2's signature (the stubs follow a later one); private, fenced here.
        self.related = get_related_populators(klass_info, select, connection.alias)  # type: ignore[call-arg]
        self.annotations = list(self.compiler.annotation_col_map.items())

    def instance(self, row, using: str) -> models.Model:
        obj = self.model.from_db(using, self.init_list, row[self.start : self.end])
        for populator in self.related:
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj


_inserts = threading.local()


def insert(obj: M, *, using: str = DEFAULT_DB_ALIAS) -> M:
    """Insert a new `obj` as `obj.save()` would (no signals are sent: we use none)."""
    meta = obj._meta
    if obj.pk is not None or meta.auto_field is None:
        raise Unsupported("insert() is for new rows with an automatic primary key")
    connection = connections[using]
    statement = None
    if active(INSERTS) and connection.features.can_return_columns_from_insert:
        try:
            statement = _insert_statement(obj, connection)
        except Unsupported:
            raise
        except SHAPE_ERRORS as error:
            fall_back(INSERTS, error)
    if statement is None:
        obj.save(force_insert=True, using=using)
        return obj
    sql, fields, returning_params = statement
    params = []
    for field in fields:
        value = field.pre_save(obj, add=True)
        if hasattr(value, "resolve_expression"):
            raise Unsupported(f"insert() takes values, not expressions ({field.name})")
        params.append(field.get_db_prep_save(value, connection=connection))
    with cursor(using) as db:
        db.execute(sql, params + returning_params)
        # A backend operation the stubs do not list (PostgreSQL's and SQLite's have it).
        ops = connection.ops
        returned = ops.fetch_returned_insert_columns(db, returning_params)  # type: ignore[attr-defined]
    for field, value in zip(meta.db_returning_fields, returned, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using
    return obj


def _insert_statement(obj: models.Model, connection) -> tuple[str, list, list]:
    """`obj`'s model's INSERT ... RETURNING as Django compiles it, once per thread and connection.
    Everything it relies on is checked here, before any row is written: after the INSERT has
    run, falling back would write the row twice."""
    model = type(obj)
    cache = _inserts.__dict__.setdefault("statements", {})
    key = (model, connection.alias)
    cached = cache.get(key)
    if cached is not None and cached[0] is connection:
        return cached[1:]
    from django.db.models.sql.subqueries import InsertQuery

    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    if any(f.generated or hasattr(f, "get_placeholder") for f in fields):
        raise Unsupported(f"{meta.label} has fields insert() does not handle")
    query = InsertQuery(model)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = meta.db_returning_fields
    [(sql, _)] = compiler.as_sql()
    returning_params = list(compiler.returning_params)
    fetch = inspect.signature(connection.ops.fetch_returned_insert_columns).parameters
    if "RETURNING" not in sql or list(fetch) != ["cursor", "returning_params"]:
        raise TypeError("Django's INSERT ... RETURNING is not built as it was")
    cache[key] = (connection, sql, fields, returning_params)
    return sql, fields, returning_params


def cursor(using: str = DEFAULT_DB_ALIAS):
    """A cursor whose statements PostgreSQL prepares, when the connection allows it (Django
    turns prepared statements off unless OPTIONS["prepare_threshold"] is set: see settings);
    otherwise the usual cursor. Either way Django wraps it (errors, query logging)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not active(PREPARED):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if getattr(connection.connection, "prepare_threshold", None) is None:
        return connection.cursor()
    try:
        preparing = _preparing_cursor_class()(connection.connection)
        with connection.wrap_database_errors:
            return connection._prepare_cursor(preparing)  # type: ignore[attr-defined]  # fenced
    except SHAPE_ERRORS as error:
        fall_back(PREPARED, error)
        return connection.cursor()


@functools.cache
def _preparing_cursor_class():
    import psycopg

    # What the class below overrides or calls must still be there, as it was.
    if "prepare" not in inspect.signature(psycopg.Cursor.execute).parameters or not hasattr(
        psycopg.Cursor, "_convert_query"
    ):
        raise TypeError("psycopg's Cursor no longer has execute(prepare=) and _convert_query")

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
