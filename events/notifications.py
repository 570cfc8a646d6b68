"""The outbox: what the system owes to whom.

Rows are written inside the caller's transaction, so an email is owed exactly when the change
that causes it commits. Delivery is enqueued on commit; if the broker is down then, the
beat sweep finds the row still pending and enqueues it again, so mail is delayed, never lost.

A single row (a sign-up, a cancellation: the common case, and it comes in bursts) rings the
outbox's doorbell instead of publishing a task of its own: a drain task is published unless
one is already on its way, and it sends every due row, a batch at a time. A rush of a
thousand sign-ups then costs the broker a few messages, not a thousand. A fan-out (thousands
of rows known at once) goes out in batches of 50, one task each, so that workers share it.
"""

import contextlib
import logging

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from . import ics
from .models import Notification, Registration, Session
from .speed import fastcache
from .speed.prepared import insert

log = logging.getLogger(__name__)
Kind = Notification.Kind

# Which messages carry a calendar object, and which kind.
CALENDAR_METHOD = {
    Kind.CONFIRMED: ics.REQUEST,
    Kind.APPROVED: ics.REQUEST,
    Kind.SESSION_CHANGED: ics.REQUEST,
    Kind.CANCELLED: ics.CANCEL,
    Kind.CANCELLED_BY_ORGANIZER: ics.CANCEL,
    Kind.SESSION_CANCELLED: ics.CANCEL,
    Kind.REJECTED: ics.CANCEL,
    Kind.OFFER_EXPIRED: ics.CANCEL,
}


def _calendar_payload(kind: str, registration: Registration | None, preset: bool) -> dict:
    """Decide the iTIP method and this attendee's SEQUENCE for the message.

    A REQUEST goes to someone holding a confirmed seat; a CANCEL only to someone who was
    sent an invite before (nobody else has an entry to remove). The sequence per attendee
    never goes down: the session's sequence, or one more than the last one they were sent.
    """
    method = CALENDAR_METHOD.get(kind)
    if method is None or registration is None:
        return {}
    if method == ics.REQUEST and registration.status != Registration.Status.CONFIRMED:
        return {}
    last = registration.calendar_sequence
    if preset and method == ics.REQUEST and last is not None:
        return {"calendar": method, "sequence": last}  # written with the new row
    if method == ics.CANCEL and last is None:
        return {}
    if Registration.session.is_cached(registration):
        session = registration.session
    else:
        session = Session.objects.only("sequence").get(pk=registration.session_id)
    sequence = session.sequence if last is None else max(session.sequence, last + 1)
    Registration.objects.filter(pk=registration.pk).update(calendar_sequence=sequence)
    registration.calendar_sequence = sequence
    return {"calendar": method, "sequence": sequence}


def queue(
    *,
    kind: str,
    user,
    version: str | int,
    registration: Registration | None = None,
    session: Session | None = None,
    payload: dict | None = None,
    fresh: bool = False,
    calendar_preset: bool = False,
    defer: bool = False,
) -> Notification:
    """Owe one email. The key makes it owed once: queueing the same thing again is a no-op.
    `fresh` says the version is new (a history row just written), so no such row can exist
    yet; `calendar_preset` that the registration was created with its first SEQUENCE."""
    assert transaction.get_connection().in_atomic_block, "queue inside the change's transaction"
    session = session or (registration.session if registration else None)
    subject = f"reg{registration.pk}" if registration else f"session{session.pk}"
    key = f"{kind}:{subject}:user{user.pk}:{version}"
    if not fresh:
        existing = Notification.objects.filter(key=key).first()
        if existing:
            return existing
    notification = insert(
        Notification(
            key=key,
            kind=kind,
            recipient=user,
            email=user.email,
            registration=registration,
            session=session,
            payload={**(payload or {}), **_calendar_payload(kind, registration, calendar_preset)},
        )
    )
    if not defer:  # `defer`: the caller enqueues a whole fan-out at once
        enqueue_on_commit([notification.pk])
    return notification


def queue_session_changed(session: Session) -> list[int]:
    """Owe every seated person of a session that just changed (time, place) an update, in
    bulk: a few statements for thousands of attendees. Confirmed attendees get a REQUEST with
    their next SEQUENCE (never lower than the session's, always above their last one);
    offered people get the news without a calendar entry. Same rules as `queue`."""
    assert transaction.get_connection().in_atomic_block, "queue inside the change's transaction"
    confirmed = Registration.objects.filter(session=session, status=Registration.Status.CONFIRMED)
    # Those invited before: one above their last, at least the session's. Then the others.
    confirmed.filter(calendar_sequence__isnull=False).update(
        calendar_sequence=Greatest(Value(session.sequence), F("calendar_sequence") + 1)
    )
    confirmed.filter(calendar_sequence__isnull=True).update(calendar_sequence=session.sequence)
    seated = Registration.objects.filter(
        session=session, status__in=Registration.SEATED
    ).values_list("pk", "status", "calendar_sequence", "user_id", "user__email")
    return queue_for_registrations(
        session=session,
        kind=Kind.SESSION_CHANGED,
        people=(
            (
                pk,
                user_id,
                email,
                f"seq{session.sequence}",
                {"calendar": ics.REQUEST, "sequence": sequence}
                if status == Registration.Status.CONFIRMED
                else {},
            )
            for pk, status, sequence, user_id, email in seated
        ),
    )


def queue_for_registrations(*, session: Session, kind: str, people) -> list[int]:
    """Owe `kind` to many registrations of `session` in one INSERT, enqueued on commit:
    `people` yields (registration pk, user id, email, version, payload), the key's parts as
    in `queue`. For fan-outs whose payloads the caller has worked out in bulk."""
    assert transaction.get_connection().in_atomic_block, "queue inside the change's transaction"
    rows = Notification.objects.bulk_create(
        Notification(
            key=f"{kind}:reg{pk}:user{user_id}:{version}",
            kind=kind,
            recipient_id=user_id,
            email=email,
            registration_id=pk,
            session=session,
            payload=payload,
        )
        for pk, user_id, email, version, payload in people
    )
    ids = [n.pk for n in rows]
    enqueue_on_commit(ids)
    return ids


def enqueue_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: enqueue(ids))


BATCH = 50
DOORBELL = "outbox:doorbell"
# How long a published drain task holds the bell. If that message is lost, rows committed in
# the meantime wait this long for the next ring (or the sweep's), never longer.
DOORBELL_TTL = 30


def enqueue(ids: list[int], *, force: bool = False) -> None:
    """Hand rows to the workers: the doorbell for one row, batches of 50 for a fan-out. A
    broker (or cache) outage is logged, not raised: the change has committed and the sweep
    will enqueue the rows again (`force`: the sweep rings even if the bell is set)."""
    from .tasks import deliver_batch

    if len(ids) == 1:
        ring(ids, force=force)
        return
    for chunk in [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]:
        try:
            deliver_batch.delay(chunk)
        except Exception:  # noqa: BLE001 - any broker failure; the sweep recovers the rows
            # The broker is down: the rest would fail too. The sweep enqueues them all later.
            log.warning("Could not enqueue notifications %s...; the sweep will retry", chunk[0])
            return


def ring(ids: list[int] = (), *, force: bool = False) -> None:
    """Make sure a drain task is on its way for rows just committed (`ids`, for the log):
    publish one unless the bell is already set, that is, unless a drain task has been
    published and has not started yet. A drain answers (clears) the bell before it claims
    anything, so a row committed after that rings again: none is left without a drain."""
    from .tasks import deliver_pending

    try:
        if not fastcache.add(DOORBELL, timeout=DOORBELL_TTL) and not force:
            return
        deliver_pending.delay()
    except Exception:  # noqa: BLE001 - any broker or cache failure; the sweep recovers the rows
        log.warning("Could not ring the outbox for %s; the sweep will retry", list(ids))
        # So that the next commit tries again (if the cache is down too, the bell expires).
        with contextlib.suppress(Exception):
            fastcache.delete(DOORBELL)


def answer_doorbell() -> None:
    """A drain starts: rows committed from now on must ring again."""
    fastcache.delete(DOORBELL)


def queue_for_invitations(invitations, *, kind: str) -> list[Notification]:
    """Owe an invitation (or its reminder) to each invitee, in bulk: a fixed number of
    queries for a batch of thousands. The link's nonce is recorded, so a re-sent invitation's
    old message can never carry the new link."""
    assert transaction.get_connection().in_atomic_block, "queue inside the change's transaction"
    if not invitations:
        return []
    from accounts.models import User

    def key(i) -> str:
        # A reminder is owed once per link and expiry: extending the link owes a new one.
        return f"{kind}:inv{i.pk}:{i.nonce}:{i.expires_at:%Y%m%dT%H%M%S}"

    owed = set(
        Notification.objects.filter(key__in=[key(i) for i in invitations]).values_list(
            "key", flat=True
        )
    )
    invitations = [i for i in invitations if key(i) not in owed]
    emails = [i.email for i in invitations]
    users = {u.email.lower(): u for u in User.objects.filter(email__in=emails)}
    rows = Notification.objects.bulk_create(
        [
            Notification(
                key=key(i),
                kind=kind,
                recipient=users.get(i.email.lower()),
                email=i.email,
                invitation=i,
                session=i.session,
                payload={"nonce": i.nonce},
            )
            for i in invitations
        ]
    )
    enqueue_on_commit([n.pk for n in rows])
    return rows
