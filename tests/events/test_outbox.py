"""The outbox: every change that owes someone an email writes exactly one Notification row, in
the same transaction as the change (events.outbox.owe and the services that call it)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from events.models import Notification, Registration, Session
from events.services import ServiceError, notices
from events.services.lottery import draw
from events.services.registration import cancel, register
from events.services.review import approve, move_in, reject
from events.services.scheduling import cancel_session, update_session
from events.services.waitlist import accept_offer, decline_offer, expire_offers
from tests.factories import SessionFactory, UserFactory, organizer_of

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Registration.Status


@contextmanager
def owed():
    """Collects the rows the block adds to the outbox, as (kind, recipient, email)."""
    mark = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
    rows: list[tuple] = []
    yield rows
    for row in Notification.objects.filter(pk__gt=mark).order_by("pk"):
        rows.append((row.kind, row.recipient, row.email))
        assert row.status == Notification.Status.PENDING
        assert row.session_id is not None


def row(kind: str, registration: Registration) -> tuple:
    user = registration.user
    return (kind, user, user.email)


def full_session(waiting: int = 1):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    queue = [register(user=UserFactory(), session=session) for _ in range(waiting)]
    return session, seated, queue


def test_a_confirmed_sign_up_owes_one_confirmation():
    session = SessionFactory()
    user = UserFactory()

    with owed() as rows:
        registration = register(user=user, session=session)

    assert rows == [(Kind.CONFIRMED, user, user.email)]
    notification = Notification.objects.get(kind=Kind.CONFIRMED)
    assert (notification.registration, notification.session) == (registration, session)


def test_an_application_owes_one_acknowledgement():
    session = SessionFactory(event__registration_mode="approval")
    user = UserFactory()

    with owed() as rows:
        register(user=user, session=session)

    assert rows == [(Kind.APPLIED, user, user.email)]


def test_an_approval_owes_one_approved_email():
    session = SessionFactory(event__registration_mode="approval")
    applicant = register(user=UserFactory(), session=session)

    with owed() as rows:
        approve(registration=applicant, actor=organizer_of(session.event))

    assert rows == [row(Kind.APPROVED, applicant)]


def test_a_rejection_owes_one_rejected_email():
    session = SessionFactory(event__registration_mode="approval")
    applicant = register(user=UserFactory(), session=session)

    with owed() as rows:
        reject(registration=applicant, actor=organizer_of(session.event))

    assert rows == [row(Kind.REJECTED, applicant)]


def test_joining_the_waitlist_owes_one_waitlisted_email():
    session, _, _ = full_session(waiting=0)
    user = UserFactory()

    with owed() as rows:
        register(user=user, session=session)

    assert rows == [(Kind.WAITLISTED, user, user.email)]


def test_a_cancellation_owes_the_canceller_one_email_and_the_next_person_one_offer():
    _, seated, [waiting] = full_session()

    with owed() as rows:
        cancel(registration=seated, actor=seated.user)

    assert rows == [row(Kind.CANCELLED, seated), row(Kind.OFFERED, waiting)]


def test_a_cancellation_by_an_organizer_owes_one_email_saying_so():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)

    with owed() as rows:
        cancel(registration=registration, actor=organizer_of(session.event), by_organizer=True)

    assert rows == [row(Kind.CANCELLED_BY_ORGANIZER, registration)]


def test_an_accepted_offer_owes_one_confirmation():
    _, seated, [waiting] = full_session()
    cancel(registration=seated, actor=seated.user)

    with owed() as rows:
        accept_offer(registration=waiting, user=waiting.user)

    assert rows == [row(Kind.CONFIRMED, waiting)]


def test_a_declined_offer_owes_the_next_person_an_offer_and_the_decliner_nothing():
    _, seated, [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)

    with owed() as rows:
        decline_offer(registration=first, user=first.user)

    assert rows == [row(Kind.OFFERED, second)]


def test_an_expired_offer_owes_one_expiry_email_and_passes_the_offer_on():
    _, seated, [first, second] = full_session(waiting=2)
    cancel(registration=seated, actor=seated.user)
    Registration.objects.filter(pk=first.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )

    with owed() as rows:
        expire_offers()
        expire_offers()

    assert rows == [row(Kind.OFFER_EXPIRED, first), row(Kind.OFFERED, second)]


def test_a_changed_session_owes_one_update_to_each_seated_person():
    session = SessionFactory(capacity=2)
    first = register(user=UserFactory(), session=session)
    second = register(user=UserFactory(), session=session)
    register(user=UserFactory(), session=session)  # waitlisted: not told

    with owed() as rows:
        update_session(
            session=session, actor=organizer_of(session.event), location="Room 7, Example HQ"
        )

    assert sorted(rows, key=lambda r: r[1].pk) == [
        row(Kind.SESSION_CHANGED, first),
        row(Kind.SESSION_CHANGED, second),
    ]


def test_a_cancelled_session_owes_one_email_to_each_person_still_in_it():
    session, seated, [waiting] = full_session()
    gone = register(user=UserFactory(), session=session)
    cancel(registration=gone, actor=gone.user)

    with owed() as rows:
        cancel_session(session=session, actor=organizer_of(session.event))

    assert sorted(rows, key=lambda r: r[1].pk) == [
        row(Kind.SESSION_CANCELLED, seated),
        row(Kind.SESSION_CANCELLED, waiting),
    ]


def test_a_lottery_draw_owes_winners_an_approval_and_the_rest_a_waitlist_email():
    session = SessionFactory(event__registration_mode="lottery", capacity=1)
    applied = [register(user=UserFactory(), session=session) for _ in range(3)]

    with owed() as rows:
        draw(session=session, seed="fixed")

    by_rank = sorted(applied, key=lambda r: Registration.objects.get(pk=r.pk).lottery_rank)
    assert rows == [
        row(Kind.APPROVED, by_rank[0]),
        row(Kind.WAITLISTED, by_rank[1]),
        row(Kind.WAITLISTED, by_rank[2]),
    ]


def test_moving_someone_in_from_the_waitlist_owes_one_confirmation():
    session, _seated, [waiting] = full_session()
    Session.objects.filter(pk=session.pk).update(capacity=2)

    with owed() as rows:
        move_in(registration=waiting, actor=organizer_of(session.event))

    assert rows == [row(Kind.CONFIRMED, waiting)]


def test_a_lottery_applicant_skipped_for_a_clash_owes_one_waitlist_email():
    session = SessionFactory(event__registration_mode="lottery", capacity=1)
    clasher = register(user=UserFactory(), session=session)
    register(user=clasher.user, session=SessionFactory(starts_at=session.starts_at))

    with owed() as rows:
        draw(session=session, seed="fixed")

    assert rows == [row(Kind.WAITLISTED, clasher)]


def test_signing_up_again_after_cancelling_owes_a_new_confirmation():
    session = SessionFactory()
    user = UserFactory()
    registration = register(user=user, session=session)
    cancel(registration=registration, actor=user)

    with owed() as rows:
        register(user=user, session=session)

    assert rows == [(Kind.CONFIRMED, user, user.email)]
    assert Notification.objects.filter(kind=Kind.CONFIRMED, recipient=user).count() == 2


def test_a_refused_change_owes_nothing():
    session, seated, [waiting] = full_session()

    with owed() as rows:
        for attempt in (
            lambda: register(user=seated.user, session=session),
            lambda: accept_offer(registration=waiting, user=waiting.user),
            lambda: cancel(registration=seated, actor=waiting.user),
            lambda: update_session(session=session, actor=seated.user, capacity=0),
        ):
            with pytest.raises(ServiceError):
                attempt()

    assert rows == []


def test_queueing_the_same_key_twice_keeps_one_row():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)

    with transaction.atomic():
        first = notices.owe_news(
            kind=Kind.SESSION_CHANGED, user=registration.user, registration=registration, version=9
        )
        again = notices.owe_news(
            kind=Kind.SESSION_CHANGED, user=registration.user, registration=registration, version=9
        )
        other_version = notices.owe_news(
            kind=Kind.SESSION_CHANGED, user=registration.user, registration=registration, version=10
        )

    assert first.pk == again.pk
    assert other_version.pk != first.pk
    assert Notification.objects.filter(kind=Kind.SESSION_CHANGED).count() == 2
    assert first.key == f"session_changed:reg{registration.pk}:user{registration.user_id}:9"


def test_a_session_wide_notification_is_keyed_by_the_session():
    session = SessionFactory()
    user = UserFactory()

    with transaction.atomic():
        notification = notices.owe_news(
            kind=Kind.SESSION_CHANGED, user=user, session=session, version="seq1"
        )
        notices.owe_news(kind=Kind.SESSION_CHANGED, user=user, session=session, version="seq1")

    assert notification.key == f"session_changed:session{session.pk}:user{user.pk}:seq1"
    assert (notification.session, notification.registration) == (session, None)
    assert Notification.objects.count() == 1


class Boom(Exception):
    pass


def test_the_row_is_rolled_back_with_the_change_when_the_transaction_fails():
    session = SessionFactory()
    user = UserFactory()

    with pytest.raises(Boom), transaction.atomic():
        register(user=user, session=session)
        assert Notification.objects.filter(recipient=user).exists()
        raise Boom

    assert not Notification.objects.exists()
    assert not Registration.objects.filter(user=user).exists()
    session.refresh_from_db()
    assert session.seats_taken == 0


def test_a_cancelled_session_and_its_emails_are_rolled_back_together():
    session, seated, [waiting] = full_session()

    with pytest.raises(Boom), transaction.atomic():
        cancel_session(session=session, actor=organizer_of(session.event))
        raise Boom

    assert not Notification.objects.filter(kind=Kind.SESSION_CANCELLED).exists()
    assert Session.objects.get(pk=session.pk).status == Session.Status.SCHEDULED
    assert Registration.objects.get(pk=seated.pk).status == Status.CONFIRMED
    assert Registration.objects.get(pk=waiting.pk).status == Status.WAITLISTED


@pytest.mark.django_db(transaction=True)
def test_a_row_is_committed_or_rolled_back_with_its_change_on_a_real_transaction():
    session = SessionFactory()
    kept, lost = UserFactory(), UserFactory()

    register(user=kept, session=session)
    with pytest.raises(Boom), transaction.atomic():
        register(user=lost, session=session)
        raise Boom

    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [kept.pk]
    assert list(Registration.objects.values_list("user_id", flat=True)) == [kept.pk]
    session.refresh_from_db()
    assert session.seats_taken == 1


@pytest.mark.django_db(transaction=True)
def test_queueing_outside_a_transaction_is_refused():
    registration = register(user=UserFactory(), session=SessionFactory())

    with pytest.raises(AssertionError, match="inside the change's transaction"):
        notices.owe_news(
            kind=Kind.CONFIRMED, user=registration.user, registration=registration, version="x"
        )

    assert Notification.objects.count() == 1
