"""Statements compiled once (events/speed/prepared.py): they must give exactly what the ORM gives,
with the values of each call, and sign-up must stay a handful of statements."""

import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Notification, Registration, RegistrationChange, Session
from events.services import registration as registration_service
from events.services.registration import _sign_up_state
from events.speed import prepared
from events.speed.prepared import Prepared, insert
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def concrete_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_sign_up_state_is_what_the_queryset_reads():
    session = SessionFactory(capacity=3)
    overlapping = SessionFactory(starts_at=session.starts_at, ends_at=session.ends_at)
    later = SessionFactory(starts_at=session.starts_at + timedelta(days=3))
    busy, returning, fresh = UserFactory(), UserFactory(), UserFactory(verified=False)
    registration_service.register(user=busy, session=overlapping)
    registration_service.register(user=returning, session=session)
    registration_service.register(user=returning, session=later)

    for target in (session, overlapping, later):
        for user in (busy, returning, fresh):
            state = registration_service.sign_up_state(pk=target.pk, user=user)
            expected = _sign_up_state(target.pk, user.pk).get()
            assert concrete_values(state) == concrete_values(expected)
            assert concrete_values(state.event) == concrete_values(expected.event)
            for name in ("user_verified", "mine", "clashes"):
                assert getattr(state, name) == getattr(expected, name), (target, user, name)

    # What the annotations mean, so that the comparison above compares something.
    assert registration_service.sign_up_state(pk=session.pk, user=busy).clashes is True
    assert registration_service.sign_up_state(pk=later.pk, user=busy).clashes is False
    mine = registration_service.sign_up_state(pk=session.pk, user=returning).mine
    assert mine == Registration.objects.get(user=returning, session=session).pk
    assert registration_service.sign_up_state(pk=session.pk, user=fresh).user_verified is False


def test_a_missing_session_reads_as_none():
    assert registration_service.sign_up_state(pk=987654, user=UserFactory()) is None
    assert registration_service.session_with_event(987654) is None


def test_each_call_runs_with_its_own_values():
    a, b = SessionFactory(title="A"), SessionFactory(title="B")
    by_pk = Prepared(lambda pk: Session.objects.filter(pk=pk))
    assert [s.title for s in by_pk.rows(pk=a.pk)] == ["A"]
    assert [s.title for s in by_pk.rows(pk=b.pk)] == ["B"]
    assert by_pk.first(pk=a.pk).title == "A"


def test_parameters_in_subqueries_are_bound_too():
    session = SessionFactory()
    verified, unverified = UserFactory(), UserFactory(verified=False)
    statement = Prepared(
        lambda pk, user: Session.objects.filter(pk=pk).annotate(
            ok=Exists(EmailAddress.objects.filter(user_id=user, verified=True))
        )
    )
    assert statement.first(pk=session.pk, user=verified.pk).ok is True
    assert statement.first(pk=session.pk, user=unverified.pk).ok is False


def test_it_compiles_once_per_thread(monkeypatch):
    session = SessionFactory()
    compiled = []
    original = prepared._Compiled.__init__

    def counting(self, *args, **kwargs):
        compiled.append(threading.get_ident())
        original(self, *args, **kwargs)

    monkeypatch.setattr(prepared._Compiled, "__init__", counting)
    statement = Prepared(lambda pk: Session.objects.filter(pk=pk))
    for _ in range(3):
        assert statement.first(pk=session.pk) is not None
    assert len(compiled) == 1
    with CaptureQueriesContext(connection) as ctx:
        statement.first(pk=session.pk)
    assert len(ctx.captured_queries) == 1


def test_a_parameter_that_does_not_reach_the_sql_is_refused():
    ignores_pk = Prepared(lambda pk: Session.objects.all())
    with pytest.raises(ValueError, match="pk"):
        ignores_pk.rows(pk=1)
    with pytest.raises(TypeError):
        Prepared(lambda pk: Session.objects.filter(pk=pk)).rows(id=1)


def test_insert_writes_the_row_that_save_writes():
    session = SessionFactory()
    one, two = UserFactory(), UserFactory()
    answers = {"3": ["a", "b"], "4": "text with 'quotes'"}
    fields = {"session": session, "status": "applied", "answers": answers}
    inserted = insert(Registration(user=one, **fields))
    saved = Registration.objects.create(user=two, **fields)

    assert inserted.pk is not None and not inserted._state.adding
    assert inserted._state.db == "default"
    from_db = Registration.objects.get(pk=inserted.pk)
    assert concrete_values(from_db) == concrete_values(inserted)
    differ = {"id", "user_id", "checkin_token", "join_token", "created_at", "updated_at"}
    mine, theirs = concrete_values(from_db), concrete_values(Registration.objects.get(pk=saved.pk))
    assert {k: v for k, v in mine.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
    # Defaults and auto_now_add were applied as save() applies them.
    assert len(from_db.checkin_token) >= 32 and from_db.checkin_token != saved.checkin_token
    assert len(from_db.join_token) >= 32 and from_db.join_token != saved.join_token
    assert from_db.created_at is not None and from_db.answers == answers


def test_insert_handles_json_and_nullable_keys():
    user = UserFactory()
    payload = {"calendar": "REQUEST", "sequence": 2, "nested": {"ok": True}}
    row = insert(
        Notification(key="k:1", kind="confirmed", recipient=user, email=user.email, payload=payload)
    )
    stored = Notification.objects.get(pk=row.pk)
    assert stored.payload == payload
    assert stored.registration_id is None and stored.status == Notification.Status.PENDING


def test_insert_fails_like_save_on_a_broken_constraint():
    session, user = SessionFactory(), UserFactory()
    insert(Registration(session=session, user=user, status="confirmed"))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(Registration(session=session, user=user, status="confirmed"))
    assert Registration.objects.filter(session=session, user=user).count() == 1


def test_insert_refuses_a_row_that_already_has_a_key():
    change = RegistrationChange(pk=5, from_status="", to_status="confirmed")
    with pytest.raises(ValueError):
        insert(change)


@pytest.mark.parametrize("full", [False, True], ids=["seat", "waitlist"])
def test_signing_up_is_one_read_and_five_writes(full, client):
    """The sign-up POST, beyond the session and user lookups every page pays for: one read
    of the session and the person's standing, the seat, the registration, its history, its
    outbox row, and one read of the team's webhook endpoints (none here, so no webhook row),
    in one transaction."""
    session = SessionFactory(capacity=0 if full else 5)
    user = UserFactory()
    client.force_login(user)
    executed: list[str] = []

    def record(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        # A browser names its language; one that names none we have costs a read of the
        # team's default language, for the message after the sign-up.
        response = client.post(
            reverse("events:register", args=[session.pk]), HTTP_ACCEPT_LANGUAGE="en-GB,en"
        )
    assert response.status_code == 302
    statements = [
        sql.split()[0].upper()
        for sql in executed
        if not sql.upper().startswith(("SAVEPOINT", "RELEASE"))
        and "cache_table" not in sql  # the rate limit, when the cache is the database
    ]
    # The session row and the user (what every logged-in page reads) come first.
    assert statements[2:] == ["SELECT", "UPDATE", "INSERT", "INSERT", "INSERT", "SELECT"]
    registration = Registration.objects.get(user=user, session=session)
    assert registration.status == ("waitlisted" if full else "confirmed")
    assert registration.changes.count() == 1
    assert Notification.objects.filter(registration=registration).count() == 1


@pytest.mark.postgres
def test_on_postgresql_the_sign_up_statements_are_prepared_and_djangos_own_are_not(client):
    """Prepared on the server, the sign-up's read costs PostgreSQL a fifth of the CPU."""
    session = SessionFactory(capacity=5)
    for user in (UserFactory(), UserFactory()):
        client.force_login(user)
        assert client.post(reverse("events:register", args=[session.pk])).status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared_sql = [row[0] for row in cursor.fetchall()]
    assert any('AS "clashes"' in sql for sql in prepared_sql), prepared_sql
    for table in ("events_registration", "events_registrationchange", "events_notification"):
        assert any(sql.startswith(f'INSERT INTO "{table}"') for sql in prepared_sql), table
    assert any(sql.startswith('UPDATE "events_session"') for sql in prepared_sql)
    assert not any("django_session" in sql or "accounts_user" in sql for sql in prepared_sql)
