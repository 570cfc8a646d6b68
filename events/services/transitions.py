"""Moving a registration from one status to another, race-safely, with its history."""

from collections.abc import Iterable

from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Registration, RegistrationChange
from ..outbox.webhooks import emit as emit_webhook
from ..speed.prepared import insert
from . import ServiceError, notices
from .reminders import next_reminder_at
from .seats import lock_session

Status = Registration.Status
# The webhook event that announces a registration reaching each status.
WEBHOOK_EVENTS = {
    Status.CONFIRMED: "registration.confirmed",
    Status.WAITLISTED: "registration.waitlisted",
    Status.OFFERED: "registration.offered",
    Status.CANCELLED: "registration.cancelled",
    # Turned down by the team (or not drawn in a lottery without a waitlist).
    Status.REJECTED: "registration.rejected",
    # A waitlist offer left unanswered past its deadline.
    Status.EXPIRED: "registration.offer_expired",
}


def lock(registration: Registration) -> Registration:
    """The registration as it is now, locked for this transaction (PostgreSQL row lock; on
    SQLite the IMMEDIATE transaction already serializes writers). Decide on this, not on a
    copy loaded earlier.

    The session row is locked first, then the registration: the order of cancel_session()
    and of the seat counter (whose UPDATE locks the session before a registration is
    written). Locking the registration first, as one statement over the join used to, let an
    attendee and an organizer cancelling the session each hold what the other waited for: a
    deadlock."""
    lock_session(Subquery(Registration.objects.filter(pk=registration.pk).values("session_id")))
    return (
        # `of`: the registration row only; the user row needs no lock.
        Registration.objects.select_for_update(of=("self",))
        .select_related("user", "session")
        .get(pk=registration.pk)
    )


def transition(
    registration: Registration,
    to: str,
    *,
    allowed_from: Iterable[str],
    actor: User | None = None,
    note: str = "",
    notify: str | None = None,
    **fields,
) -> Registration:
    """Change the status only if it is still one of `allowed_from` (a conditional UPDATE, so two
    concurrent requests cannot both act on the same registration), record who did it, and owe
    the person a notification in the same transaction."""
    now = timezone.now()
    if to == Status.CONFIRMED:
        fields["remind_at"] = next_reminder_at(registration.session, after=now)
    elif to != registration.status:
        fields.setdefault("remind_at", None)
    updated = Registration.objects.filter(pk=registration.pk, status__in=list(allowed_from)).update(
        status=to, updated_at=now, **fields
    )
    if updated != 1:
        raise ServiceError(_("This registration has changed in the meantime; reload the page."))
    from_status = registration.status
    registration.status = to
    for name, value in fields.items():
        setattr(registration, name, value)
    change = insert(
        RegistrationChange(
            registration=registration, from_status=from_status, to_status=to, actor=actor, note=note
        )
    )
    if notify:
        notices.owe_news(
            kind=notify,
            user=registration.user,
            registration=registration,
            version=change.pk,
            fresh=True,
        )
    if to in WEBHOOK_EVENTS and to != from_status:
        emit_webhook(WEBHOOK_EVENTS[Status(to)], about=registration)
    return registration


def record_creation(
    registration: Registration,
    *,
    actor: User | None = None,
    note: str = "",
    notify: str | None = None,
) -> None:
    """History and notification of a registration just created (remind_at and the first
    calendar sequence were written with the row)."""
    change = insert(
        RegistrationChange(
            registration=registration,
            from_status="",
            to_status=registration.status,
            actor=actor,
            note=note,
        )
    )
    if notify:
        notices.owe_news(
            kind=notify,
            user=registration.user,
            registration=registration,
            version=change.pk,
            fresh=True,
            calendar_preset=True,
        )
    status = (
        [WEBHOOK_EVENTS[Status(registration.status)]]
        if registration.status in WEBHOOK_EVENTS
        else []
    )
    emit_webhook("registration.created", *status, about=registration)
