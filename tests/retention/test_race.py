"""The retention sweep racing people on PostgreSQL, with real threads: a session added and
signed up for while the sweep anonymises the event, an organizer correcting attendance while
the sweep counts it. Whatever the order, nothing that must stay is lost (the new sign-up,
the corrected attendance in the figures kept) and nothing that must go stays (no old
registration, no half-anonymised event)."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from events.models import Event, Registration, RetentionLog, Session, TermsAcceptance
from events.services import ServiceError, attendance, retention, scheduling
from events.services.registration import accept_terms, register
from tests.factories import UserFactory

from .conftest import make_past_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 4


def race(*actions) -> list[object]:
    """Run the actions at the same instant, one thread (and connection) each."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index: int, action) -> None:
        try:
            barrier.wait()
            outcomes[index] = action()
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to judge
            outcomes[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_a_session_added_and_signed_up_for_during_the_sweep_is_never_swept():
    for _round in range(ROUNDS):
        past = make_past_event()
        newcomer = UserFactory()
        start = timezone.now() + timedelta(days=3)

        def organizer_adds_a_session_and_someone_signs_up(
            past=past, newcomer=newcomer, start=start
        ):
            event = Event.objects.get(pk=past.event.pk)
            session = scheduling.create_session(
                event=event,
                actor=past.owner,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                capacity=5,
            )
            accept_terms(user=newcomer, event=event, version=event.terms_version)
            return register(user=newcomer, session=session).status

        sweep, signed_up = race(
            retention.sweep_events, organizer_adds_a_session_and_someone_signs_up
        )

        assert not isinstance(sweep, Exception), sweep
        assert signed_up == "confirmed", signed_up
        # Nothing that must stay is lost: the newcomer's place and their terms acceptance.
        new = Registration.objects.get(user=newcomer)
        assert new.session.event_id == past.event.pk
        assert TermsAcceptance.objects.filter(event=past.event, user=newcomer).exists()
        old = Registration.objects.filter(session=past.session)
        if sweep == 1:
            # The sweep came first: the old session is anonymised whole.
            assert not old.exists()
            assert Session.objects.get(pk=past.session.pk).kept_counts["registrations"] == 2
            assert RetentionLog.objects.filter(event=past.event).count() == 1
        else:
            # The new session came first: the event is not due, nothing was touched.
            assert old.count() == 2
            assert not RetentionLog.objects.filter(event=past.event).exists()


def test_an_attendance_correction_during_the_sweep_is_counted_or_finds_the_row_gone():
    for _round in range(ROUNDS):
        past = make_past_event()

        def organizer_corrects(past=past):
            registration = Registration.objects.get(pk=past.missed.pk)
            return attendance.correct_attendance(
                registration=registration, actor=past.owner, attended=True
            )

        sweep, corrected = race(retention.sweep_events, organizer_corrects)

        assert sweep == 1, sweep
        kept = Session.objects.get(pk=past.session.pk).kept_counts
        # Nothing that must go stays.
        assert not Registration.objects.filter(session=past.session).exists()
        if isinstance(corrected, attendance.Outcome) and corrected.changed:
            assert kept["attended"] == 2  # the correction landed first and is counted
        else:
            # The sweep came first: the correction found nothing to change.
            assert isinstance(
                corrected, Registration.DoesNotExist | ServiceError | attendance.Outcome
            )
            assert kept["attended"] == 1


def test_two_sweeps_at_once_anonymise_each_event_once():
    events = [make_past_event() for _ in range(3)]
    first, second = race(retention.sweep_events, retention.sweep_events)
    assert first + second == 3, (first, second)
    for past in events:
        assert not Registration.objects.filter(session=past.session).exists()
        assert RetentionLog.objects.filter(event=past.event).count() == 1
        assert Session.objects.get(pk=past.session.pk).kept_counts["registrations"] == 2
