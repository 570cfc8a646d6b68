"""What a registration's people are owed by mail, and an organizer's "send again".

The outbox (events/outbox) writes and sends the rows; this module decides what the
registration domain's messages carry: the calendar object of a confirmation, an update or a
cancellation, with each attendee's SEQUENCE, and the key's parts (the registration, or the
session when there is none, the person, the version).
"""

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from accounts.models import User

from .. import ics
from ..models import Invitation, Notification, Registration, Session, TeamInvitation
from ..models.registration import first_invite_organizer
from ..outbox import delivery, owe
from ..outbox.registry import kinds
from . import ServiceError, audit

Kind = Notification.Kind


def _calendar_payload(kind: str, registration: Registration | None, preset: bool) -> dict:
    """Decide the iTIP method and this attendee's SEQUENCE for the message.

    A REQUEST goes to someone holding a confirmed seat; a CANCEL only to someone who was
    sent an invite before (nobody else has an entry to remove). The sequence per attendee
    never goes down: the session's sequence, or one more than the last one they were sent.
    """
    method = kinds.get(kind).calendar
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
    fields: dict = {"calendar_sequence": sequence}
    if last is None:
        # Their first invite fixes the entry's ORGANIZER for good (Registration).
        fields["calendar_organizer"] = first_invite_organizer(registration.calendar_organizer)
    Registration.objects.filter(pk=registration.pk).update(**fields)
    for name, value in fields.items():
        setattr(registration, name, value)
    return {"calendar": method, "sequence": sequence}


def _about(*, registration_id: int | None, session_id: int | None, user_id: int, version):
    subject = f"reg{registration_id}" if registration_id else f"session{session_id}"
    return (subject, f"user{user_id}", version)


def owe_news(
    *,
    kind: str,
    user: User,
    version: str | int,
    registration: Registration | None = None,
    session: Session | None = None,
    payload: dict | None = None,
    fresh: bool = False,
    calendar_preset: bool = False,
) -> Notification:
    """Owe one email about a registration (or a session) to its person, once per version.
    `fresh` says the version is new (a history row just written), so no such row can exist
    yet; `calendar_preset` that the registration was created with its first SEQUENCE."""
    session = session or (registration.session if registration else None)
    if session is None:
        raise ValueError("owe_news is about a registration or a session: give one")
    about = _about(
        registration_id=registration.pk if registration else None,
        session_id=session.pk,
        user_id=user.pk,
        version=version,
    )
    if not fresh:
        # Before the calendar payload: owing it again must not move anyone's SEQUENCE.
        existing = owe.already_owed(kind, about)
        if existing:
            return existing
    return owe.owe(
        kind=kind,
        about=about,
        email=user.email,
        recipient=user,
        registration=registration,
        session=session,
        payload={**(payload or {}), **_calendar_payload(kind, registration, calendar_preset)},
        fresh=True,
    )


def owe_session_changed(session: Session) -> list[int]:
    """Owe every seated person of a session that just changed (time, place) an update, in
    bulk: a few statements for thousands of attendees. Confirmed attendees get a REQUEST with
    their next SEQUENCE (never lower than the session's, always above their last one);
    offered people get the news without a calendar entry. Same rules as `owe_news`."""
    assert transaction.get_connection().in_atomic_block, "owe inside the change's transaction"
    confirmed = Registration.objects.filter(session=session, status=Registration.Status.CONFIRMED)
    # Those invited before: one above their last, at least the session's. Then the others.
    confirmed.filter(calendar_sequence__isnull=False).update(
        calendar_sequence=Greatest(Value(session.sequence), F("calendar_sequence") + 1)
    )
    # Those invited now for the first time (few: a confirmed seat is invited at once) each
    # get their own organizer, since each carries its own secret.
    first = confirmed.filter(calendar_sequence__isnull=True)
    for pk, current in first.values_list("pk", "calendar_organizer"):
        Registration.objects.filter(pk=pk).update(
            calendar_sequence=session.sequence,
            calendar_organizer=first_invite_organizer(current),
        )
    seated = Registration.objects.filter(
        session=session, status__in=Registration.SEATED
    ).values_list("pk", "status", "calendar_sequence", "user_id", "user__email")
    return owe_for_registrations(
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


def owe_for_registrations(*, session: Session, kind: str, people) -> list[int]:
    """Owe `kind` to many registrations of `session` in one INSERT, enqueued on commit:
    `people` yields (registration pk, user id, email, version, payload), the key's parts as
    in `owe_news`. For fan-outs whose payloads the caller has worked out in bulk."""
    return owe.owe_many(
        kind=kind,
        rows=(
            owe.Owed(
                about=_about(registration_id=pk, session_id=None, user_id=user_id, version=version),
                email=email,
                recipient_id=user_id,
                registration_id=pk,
                session_id=session.pk,
                payload=payload,
            )
            for pk, user_id, email, version, payload in people
        ),
    )


@transaction.atomic
def resend(*, notification: Notification, actor: User) -> Notification:
    """An organizer's 'send again' for a failed (or skipped) message."""
    if not delivery.send_again(notification.pk):
        raise ServiceError(_("Only a failed message can be sent again."))
    notification.refresh_from_db()
    owner = _owner_of(notification)
    if owner is not None:
        audit.record(
            actor=actor,
            action="message.resent",
            team=owner[1],
            event=owner[0],
            target=notification,
            summary={
                "kind": notification.kind,
                "registration": notification.registration_id,
                "user": notification.recipient_id,
            },
        )
    return notification


def _owner_of(notification: Notification) -> tuple[int | None, int] | None:
    """(event id, team id) of a message: its session's, or its invitation's event's, or (a
    team invitation) its team's."""
    if notification.session_id is not None:
        return (
            Session.objects.filter(pk=notification.session_id)
            .values_list("event_id", "event__team_id")
            .get()
        )
    if notification.invitation_id is not None:
        return (
            Invitation.objects.filter(pk=notification.invitation_id)
            .values_list("event_id", "event__team_id")
            .get()
        )
    if notification.team_invitation_id is not None:
        team_id = (
            TeamInvitation.objects.filter(pk=notification.team_invitation_id)
            .values_list("team_id", flat=True)
            .get()
        )
        return None, team_id
    return None
