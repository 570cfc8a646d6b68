"""Organizers' changes to events and sessions. A change of a session's time, place or status
raises its calendar SEQUENCE and owes every attendee an update, in the same transaction."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import notifications
from ..models import Event, Invitation, Notification, Registration, Session
from . import ServiceError, reminders, surveys
from .transitions import transition
from .waitlist import fill_vacancies

Status = Registration.Status
EVENT_FIELDS = {
    "title",
    "kind",
    "description",
    "visibility",
    "registration_mode",
    "registration_opens_at",
    "registration_closes_at",
    "timezone",
    "terms_text",
    "terms_version",
    "offer_hours",
    "lottery_reserved_shares",
    "reminder_hours",
    "checkin_enabled",
    "invitation_reminder_hours",
}
SESSION_FIELDS = {
    "title",
    "starts_at",
    "ends_at",
    "capacity",
    "waitlist_enabled",
    "location",
    "online_url",
}
CALENDAR_FIELDS = {"starts_at", "ends_at", "location", "online_url"}


def can_organize(user) -> bool:
    """May create events: the organizer flag, or staff."""
    return user.is_authenticated and (user.is_organizer or user.is_staff)


def can_open_organizer_pages(user) -> bool:
    """Organizers, staff, and co-organizers added to an event without the flag."""
    return can_organize(user) or (user.is_authenticated and user.organized_events.exists())


def _validated(instance, changes: dict, allowed: set[str]):
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=["organizers"])
    except ValidationError as error:
        raise ServiceError("; ".join(error.messages)) from error
    return instance


def _check_shares(shares: dict) -> None:
    roles = set(User.Role.values)
    if not isinstance(shares, dict) or any(
        r not in roles or not isinstance(v, int) or not 0 <= v <= 100 for r, v in shares.items()
    ):
        raise ServiceError("Reserved shares are whole percentages (0-100) for known roles.")
    if sum(shares.values()) > 100:
        raise ServiceError("Reserved shares add up to more than 100%.")


NO_DRAW_WITHOUT_CLOSING = (
    "A lottery is drawn when registration closes: set the time registration closes."
)


def _check_lottery_closes(event: Event, *, published: bool) -> None:
    """A published lottery has a closing time: the sweep draws it then, and without one its
    applicants would wait for a draw that never comes."""
    if (
        published
        and event.registration_mode == Event.Mode.LOTTERY
        and event.registration_closes_at is None
    ):
        raise ServiceError(NO_DRAW_WITHOUT_CLOSING)


def _check_reminders(hours) -> None:
    if (
        not isinstance(hours, list)
        or len(hours) > 5
        or any(not isinstance(h, int) or not 1 <= h <= 24 * 14 for h in hours)
    ):
        raise ServiceError("Reminders are up to 5 whole numbers of hours, from 1 to 336.")


@transaction.atomic
def create_event(*, organizer, **fields) -> Event:
    if not can_organize(organizer):
        raise ServiceError("Only organizers can create events.")
    _check_shares(fields.get("lottery_reserved_shares", {}))
    _check_reminders(fields.get("reminder_hours", [24, 1]))
    if fields.get("terms_text") and not fields.get("terms_version"):
        fields["terms_version"] = 1
    event = _validated(Event(), fields, EVENT_FIELDS)
    event.save()
    event.organizers.add(organizer)
    return event


@transaction.atomic
def update_event(*, event: Event, actor, **changes) -> Event:
    """Edit an event. New terms text without a new version number gets the next version, so
    everyone is asked to accept the terms they have not seen."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    mode = changes.get("registration_mode", event.registration_mode)
    if (
        mode != event.registration_mode
        and Registration.objects.filter(session__event=event).exists()
    ):
        raise ServiceError(
            "The registration mode cannot change once people have signed up: their "
            "applications and places were made under the current mode."
        )
    _check_shares(changes.get("lottery_reserved_shares", event.lottery_reserved_shares))
    version = changes.get("terms_version", event.terms_version)
    if version < event.terms_version:
        # A lower number would let an old acceptance count for terms its holder never saw.
        raise ServiceError("The terms version cannot go down.")
    new_text = changes.get("terms_text", event.terms_text)
    if new_text and new_text != event.terms_text and version == event.terms_version:
        changes["terms_version"] = event.terms_version + 1
    _check_reminders(changes.get("reminder_hours", event.reminder_hours))
    hours_changed = changes.get("reminder_hours", event.reminder_hours) != event.reminder_hours
    _validated(event, changes, EVENT_FIELDS)
    _check_lottery_closes(event, published=event.status == Event.Status.PUBLISHED)
    event.save()
    if hours_changed:
        for session in event.sessions.filter(status=Session.Status.SCHEDULED):
            session.event = event
            reminders.schedule(list(session.registrations.filter(status=Status.CONFIRMED)), session)
    return event


@transaction.atomic
def publish_event(*, event: Event, actor) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ServiceError("A cancelled event cannot be published again.")
    if not event.sessions.filter(status=Session.Status.SCHEDULED).exists():
        raise ServiceError("Add at least one session before publishing.")
    _check_lottery_closes(event, published=True)
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.PUBLISHED, updated_at=timezone.now()
    )
    event.status = Event.Status.PUBLISHED
    return event


@transaction.atomic
def unpublish_event(*, event: Event, actor) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status != Event.Status.PUBLISHED:
        raise ServiceError("Only a published event can be unpublished.")
    Event.objects.filter(pk=event.pk).update(status=Event.Status.DRAFT, updated_at=timezone.now())
    event.status = Event.Status.DRAFT
    return event


@transaction.atomic
def cancel_event(*, event: Event, actor) -> Event:
    """Cancel an event and its sessions still to come; sessions that already took place stay
    as they were (their attendees are owed no cancellation)."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ServiceError("This event is already cancelled.")
    for session in event.sessions.filter(
        status=Session.Status.SCHEDULED, ends_at__gt=timezone.now()
    ):
        cancel_session(session=session, actor=actor)
    Invitation.objects.filter(
        event=event, session__isnull=True, status=Invitation.Status.PENDING
    ).update(status=Invitation.Status.REVOKED, remind_at=None)
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.CANCELLED, updated_at=timezone.now()
    )
    event.status = Event.Status.CANCELLED
    return event


@transaction.atomic
def add_organizer(*, event: Event, actor, email: str) -> User:
    try:
        user = User.objects.get(email__iexact=email.strip())
    except User.DoesNotExist:
        raise ServiceError(f"Nobody has an account with the email {email}.") from None
    event.organizers.add(user)
    return user


@transaction.atomic
def remove_organizer(*, event: Event, actor, user) -> None:
    """An event keeps at least one organizer. The event row is locked first: two organizers
    removing each other at once would otherwise both count two and leave none."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.organizers.count() <= 1:
        raise ServiceError("An event needs at least one organizer.")
    event.organizers.remove(user)


@transaction.atomic
def create_session(*, event: Event, actor, **fields) -> Session:
    if event.status == Event.Status.CANCELLED:
        raise ServiceError("This event is cancelled: it takes no new sessions.")
    session = _validated(Session(event=event), fields, SESSION_FIELDS)
    session.save()
    surveys.session_changed(session)
    return session


@transaction.atomic
def update_session(*, session: Session, actor, **changes) -> Session:
    """Edit a session. Capacity cannot drop below the seats already given; raising it offers
    the new seats to the waitlist. Time or place changes raise the calendar sequence and owe
    every confirmed or offered person an update."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.is_cancelled:
        raise ServiceError("A cancelled session cannot be edited.")
    old_start = session.starts_at
    changed = {k for k, v in changes.items() if getattr(session, k) != v}
    if "capacity" in changed and changes["capacity"] < session.seats_taken:
        raise ServiceError(
            f"{session.seats_taken} seats are already given (confirmed or offered): the capacity "
            f"cannot go below {session.seats_taken}."
        )
    _validated(session, changes, SESSION_FIELDS)
    calendar_change = bool(changed & CALENDAR_FIELDS)
    if calendar_change:
        session.sequence += 1
    # seats_taken is left out: only the seat counter's conditional UPDATEs change it.
    session.save(update_fields=[*changes, "sequence"])
    if "starts_at" in changed:
        _follow_the_start(session, old_start=old_start)
        # A running offer never outlasts the session's start.
        session.registrations.filter(
            status=Status.OFFERED, offer_expires_at__gt=session.starts_at
        ).update(offer_expires_at=session.starts_at)
    if "starts_at" in changed:
        reminders.schedule(list(session.registrations.filter(status=Status.CONFIRMED)), session)
    if calendar_change:
        notifications.queue_session_changed(session)
    if changed & {"starts_at", "ends_at"}:
        surveys.session_changed(session)
    if "capacity" in changed:
        fill_vacancies(session.pk)
    return session


def _follow_the_start(session: Session, *, old_start) -> None:
    """Pending invitations of a moved session: a link never outlives the start, and one that
    was cut short by the old start runs until the new one."""
    hours = session.event.invitation_reminder_hours
    now = timezone.now()
    pending = Invitation.objects.filter(session=session, status=Invitation.Status.PENDING)
    for invitation in pending.only("pk", "expires_at"):
        expires = invitation.expires_at
        if expires > session.starts_at or expires == old_start:
            expires = session.starts_at
            remind = expires - timedelta(hours=hours)
            Invitation.objects.filter(pk=invitation.pk).update(
                expires_at=expires, remind_at=remind if remind > now else None
            )


@transaction.atomic
def cancel_session(*, session: Session, actor) -> Session:
    """Cancel a session: everyone in it is told; their registrations close; seats go to zero."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.is_cancelled:
        raise ServiceError("This session is already cancelled.")
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.CANCELLED, sequence=session.sequence + 1, seats_taken=0
    )
    # Its pending invitations die with it (their held seats went with seats_taken above).
    Invitation.objects.filter(session=session, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.REVOKED, seat_held=False, remind_at=None
    )
    session.status, session.sequence, session.seats_taken = (
        Session.Status.CANCELLED,
        session.sequence + 1,
        0,
    )
    for registration in session.registrations.filter(status__in=Registration.ACTIVE).select_related(
        "user"
    ):
        transition(
            registration,
            Status.CANCELLED,
            allowed_from=Registration.ACTIVE,
            actor=actor,
            note="The session was cancelled",
            notify=Notification.Kind.SESSION_CANCELLED,
            cancelled_at=timezone.now(),
            offer_expires_at=None,
        )
    surveys.session_changed(session)
    return session
