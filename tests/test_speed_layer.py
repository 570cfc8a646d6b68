"""The speed layer's fences (events/speed): switched off, or meeting Django, psycopg or
Django's Redis cache without the internals it relies on (as after an upgrade), sign-up and
the counters keep working through Django's public API, and the log says so once."""

import logging
import types

import psycopg
import pytest
from django.core.cache import caches
from django.db import connection
from django.db.models import query
from django.test import Client
from django.urls import reverse

from events import speed
from events.models import Registration, TermsAcceptance
from events.services import registration as registration_service
from events.speed import fastcache, prepared
from tests.factories import PASSWORD, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def first_use(caplog):
    """As in a process just started: nothing compiled yet, no part fallen back; and so after."""

    def forget() -> None:
        speed.repair()
        registration_service.SIGN_UP_STATE._local.__dict__.clear()
        prepared._inserts.__dict__.clear()
        prepared._preparing_cursor_class.cache_clear()
        for backend in caches.all(initialized_only=True):
            backend.__dict__.pop("kept_client", None)
            backend.__dict__.pop("hit_script", None)

    forget()
    caplog.set_level(logging.WARNING, logger="events.speed")
    yield
    forget()


def sign_up(session, **data) -> tuple[Registration, int]:
    user = UserFactory()
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    response = client.post(reverse("events:register", args=[session.pk]), data)
    registration = Registration.objects.filter(user=user, session=session).first()
    return registration, response.status_code


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "events.speed"]


def renamed_in_django(monkeypatch, module, old: str, new: str, callers) -> None:
    """As a Django release that renames one of its internals, its own callers updated with
    it: Django works on, code that uses the old name meets an ImportError."""
    original = getattr(module, old)
    monkeypatch.setattr(module, new, original, raising=False)
    monkeypatch.delattr(module, old)
    for owner, name in callers:
        function = getattr(owner, name)
        updated = types.FunctionType(
            function.__code__,
            {**function.__globals__, old: original},
            function.__name__,
            function.__defaults__,
            function.__closure__,
        )
        monkeypatch.setattr(owner, name, updated)


def test_sign_up_falls_back_by_itself_when_djangos_compiler_internals_are_renamed(
    monkeypatch, caplog
):
    renamed_in_django(
        monkeypatch,
        query,
        "get_related_populators",
        "related_populators",
        [(query.ModelIterable, "__iter__"), (query.RelatedPopulator, "__init__")],
    )
    session = SessionFactory(capacity=1)

    first, status = sign_up(session)
    second, again = sign_up(session)

    assert (status, again) == (302, 302)
    assert (first.status, second.status) == ("confirmed", "waitlisted")
    assert set(speed.broken()) == {speed.COMPILED}
    [warning] = fallback_warnings(caplog)
    assert "compiled querysets" in warning and "get_related_populators" in warning


def test_sign_up_falls_back_by_itself_when_djangos_insert_query_is_gone(monkeypatch, caplog):
    monkeypatch.delattr("django.db.models.sql.subqueries.InsertQuery")
    session = SessionFactory(event__terms_text="Do not share.", event__terms_version=1)

    registration, status = sign_up(session, terms_version=1, accept_terms="on")
    _, again = sign_up(session, terms_version=1, accept_terms="on")

    assert (status, again) == (302, 302)
    assert registration.status == "confirmed" and registration.changes.count() == 1
    assert TermsAcceptance.objects.filter(event=session.event).count() == 2
    assert set(speed.broken()) == {speed.INSERTS}
    assert len(fallback_warnings(caplog)) == 1


def test_a_changed_insert_interface_is_noticed_before_any_row_is_written(monkeypatch, caplog):
    ops = type(connection.ops)
    fetch = ops.fetch_returned_insert_columns

    def changed(self, cursor, returning_fields, returning_params=()):  # a later signature
        return fetch(self, cursor, returning_params)

    monkeypatch.setattr(ops, "fetch_returned_insert_columns", changed)
    session = SessionFactory()

    registration, status = sign_up(session)

    assert status == 302 and registration.status == "confirmed"
    assert Registration.objects.filter(session=session).count() == 1
    assert set(speed.broken()) == {speed.INSERTS}


@pytest.mark.postgres
def test_sign_up_falls_back_by_itself_when_psycopgs_cursor_no_longer_prepares_on_demand(
    monkeypatch, caplog
):
    execute = psycopg.Cursor.execute

    def without_prepare(self, query, params=None, *, binary=None):  # a later psycopg
        return execute(self, query, params, binary=binary)

    monkeypatch.setattr(psycopg.Cursor, "execute", without_prepare)
    session = SessionFactory()

    results = [sign_up(session) for _ in range(2)]

    assert [status for _, status in results] == [302, 302]
    assert set(speed.broken()) == {speed.PREPARED}
    assert len(fallback_warnings(caplog)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_the_speed_layer_off_sign_up_prepares_nothing_on_postgresql(settings):
    def prepared_statements() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    session = SessionFactory(capacity=5)
    settings.SPEED_LAYER = False
    connection.close()  # a new connection: none prepared yet

    assert [sign_up(session)[1] for _ in range(2)] == [302, 302]
    assert prepared_statements() == []

    # The same sign-ups with the layer on do prepare theirs: the check above can see them.
    settings.SPEED_LAYER = True
    connection.close()
    assert [sign_up(session)[1] for _ in range(2)] == [302, 302]
    assert any('AS "clashes"' in sql for sql in prepared_statements())
    assert speed.broken() == {}


class MovedClient:
    """Django's Redis cache client, as if a release had renamed get_client()."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        if name == "get_client":
            raise AttributeError(name)
        return getattr(self.inner, name)


@pytest.mark.redis
def test_counters_fall_back_to_the_cache_api_when_djangos_redis_client_moved(monkeypatch, caplog):
    backend = caches["default"]
    monkeypatch.setitem(backend.__dict__, "_cache", MovedClient(backend._cache))

    assert [fastcache.hit("moved:hits", timeout=60) for _ in range(3)] == [1, 2, 3]
    assert fastcache.add("moved:flag", timeout=60) is True
    assert fastcache.add("moved:flag", timeout=60) is False
    fastcache.delete("moved:flag")
    assert fastcache.add("moved:flag", timeout=60) is True
    assert backend.get("moved:hits") == 3
    assert set(speed.broken()) == {speed.REDIS}
    assert len(fallback_warnings(caplog)) == 1
