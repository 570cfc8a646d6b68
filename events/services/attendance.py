"""Attendance: checking people in at the door, walk-ins, the no-show sweep after a session, the
organizer's corrections, and the selectors that add it all up.

Who may act is decided by the views (an organizer of the event, or staff); these functions
enforce the rules about the registration and the session. Every change is a conditional UPDATE,
so two phones at the door checking in the same person record one check-in, and each change
leaves a RegistrationChange row (same status before and after, a note saying what happened)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts.models import User

from ..models import Event, Registration, RegistrationChange, Session, Team
from ..outbox.webhooks import emit as emit_webhook
from . import ServiceError, audit, surveys
from .seats import take_seat
from .transitions import lock, record_creation, transition

Status = Registration.Status

# Check-in opens this long before the start: early arrivals, and a test scan the day before.
CHECKIN_OPENS_BEFORE = timedelta(hours=24)
# A seat given up closer to the start than this counts against the person.
LATE_CANCELLATION = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """What an attendance action did: `changed` is False when it had already been done (a
    second scan, a double tap), which is harmless and said so in `message`."""

    registration: Registration
    changed: bool
    message: str


def _fresh(registration: Registration) -> Registration:
    # Decide on the row as it is now, not on a copy a page loaded a minute ago.
    return Registration.objects.select_related("user", "session__event").get(pk=registration.pk)


def clock(moment: datetime) -> str:
    """A check-in time as the door reads it: the hour today, the day too otherwise."""
    local = timezone.localtime(moment)
    # The formats are timefmt's (one catalogue entry each): "15:00", "Tue 8 Dec, 15:00".
    time = dateformat.format(local, pgettext("time format", "H:i"))
    if local.date() == timezone.localdate():
        return time
    day = dateformat.format(local, pgettext("date format", "D j M"))
    return _("{day}, {time}").format(day=day, time=time)


def _record(registration: Registration, *, actor: User | None, note: str) -> None:
    RegistrationChange.objects.create(
        registration=registration,
        from_status=registration.status,
        to_status=registration.status,
        actor=actor,
        note=note,
    )


def _checkin_off() -> str:
    return _("Check-in is turned off for this event: everyone confirmed counts as attending.")


def check_door_open(session: Session, *, now: datetime | None = None) -> None:
    """Check-in (and letting walk-ins in) needs a scheduled session of an event that checks
    people in, from CHECKIN_OPENS_BEFORE the start on. There is no closing time: an organizer
    may enter a late arrival after the end too."""
    now = now or timezone.now()
    if session.is_cancelled:
        raise ServiceError(_("This session is cancelled."))
    if not session.event.checkin_enabled:
        raise ServiceError(_checkin_off())
    opens = session.starts_at - CHECKIN_OPENS_BEFORE
    if now < opens:
        hours = round(CHECKIN_OPENS_BEFORE.total_seconds() / 3600)
        local = timezone.localtime(opens)
        raise ServiceError(
            ngettext(
                "Check-in opens %(hours)s hour before the session starts, on %(day)s at "
                "%(time)s %(zone)s.",
                "Check-in opens %(hours)s hours before the session starts, on %(day)s at "
                "%(time)s %(zone)s.",
                hours,
            )
            % {
                "hours": hours,
                "day": dateformat.format(local, pgettext("date format", "D j M")),
                "time": dateformat.format(local, pgettext("time format", "H:i")),
                "zone": local.tzname(),
            }
        )


@transaction.atomic
def check_in(
    *, registration: Registration, actor: User | None, note: str = "Checked in"
) -> Outcome:
    """Mark a confirmed attendee as present. Idempotent: checking in someone already in
    changes nothing and says when (and by whom) they were checked in. A check-in after the
    no-show sweep clears the no-show."""
    registration = _fresh(registration)
    name = registration.user.name
    if registration.status != Status.CONFIRMED:
        raise ServiceError(
            _(
                "%(name)s is %(status)s, not confirmed: only confirmed attendees can be checked "
                "in. Let them in as a walk-in if a seat is free."
            )
            % {"name": name, "status": registration.get_status_display().lower()}
        )
    if registration.checked_in_at:
        return _already_in(registration, registration.checked_in_at)
    check_door_open(registration.session)
    now = timezone.now()
    updated = Registration.objects.filter(
        pk=registration.pk, status=Status.CONFIRMED, checked_in_at__isnull=True
    ).update(checked_in_at=now, checked_in_by=actor, no_show=False, updated_at=now)
    if not updated:
        # Another phone was quicker, or the person cancelled a moment ago.
        return check_in(registration=registration, actor=actor, note=note)
    registration.checked_in_at, registration.checked_in_by = now, actor
    registration.no_show = False
    _record(registration, actor=actor, note=note)
    audit.record_for_registration(
        actor=actor, action="attendance.checked_in", registration=registration
    )
    surveys.include_late_attendee(registration)
    emit_webhook("attendance.checked_in", about=registration)
    return Outcome(registration, True, _("%(name)s is checked in.") % {"name": name})


def _already_in(registration: Registration, checked_in_at: datetime) -> Outcome:
    by = registration.checked_in_by  # one query, only on a repeat
    words = {"name": registration.user.name, "time": clock(checked_in_at)}
    if by:
        # Translators: %(time)s is "15:00" today, "Tue 8 Dec, 15:00" on another day.
        message = _("%(name)s was already checked in at %(time)s by %(by)s.")
        words["by"] = by.name
    else:
        message = _("%(name)s was already checked in at %(time)s.")
    return Outcome(registration, False, message % words)


@transaction.atomic
def undo_check_in(*, registration: Registration, actor: User) -> Outcome:
    """Take back a check-in (the wrong person tapped). Once the session's attendance is
    closed, someone not checked in is a no-show, so the undo makes them one."""
    registration = _fresh(registration)
    name = registration.user.name
    if not registration.checked_in_at:
        return Outcome(registration, False, _not_checked_in(name))
    closed = registration.session.attendance_closed_at is not None
    now = timezone.now()
    updated = Registration.objects.filter(pk=registration.pk, checked_in_at__isnull=False).update(
        checked_in_at=None, checked_in_by=None, no_show=closed, updated_at=now
    )
    if not updated:
        return Outcome(registration, False, _not_checked_in(name))
    registration.checked_in_at, registration.checked_in_by = None, None
    registration.no_show = closed
    _record(registration, actor=actor, note="Check-in undone")
    audit.record_for_registration(
        actor=actor, action="attendance.check_in_undone", registration=registration
    )
    return Outcome(registration, True, _("Check-in of %(name)s undone.") % {"name": name})


def _not_checked_in(name: str) -> str:
    return _("%(name)s was not checked in: nothing to undo.") % {"name": name}


@transaction.atomic
def correct_attendance(*, registration: Registration, actor: User, attended: bool) -> Outcome:
    """The organizer's fix after the fact: someone came but was not scanned, or was checked
    in by mistake. Only for confirmed attendees of a session that has started."""
    registration = _fresh(registration)
    session, name = registration.session, registration.user.name
    if registration.status != Status.CONFIRMED:
        raise ServiceError(
            _("%(name)s is %(status)s: attendance is kept for confirmed attendees only.")
            % {"name": name, "status": registration.get_status_display().lower()}
        )
    if not session.event.checkin_enabled:
        raise ServiceError(_checkin_off())
    if not session.has_started:
        raise ServiceError(_("The session has not started yet: use the check-in page at the door."))
    now = timezone.now()
    current = Registration.objects.filter(pk=registration.pk, status=Status.CONFIRMED)
    if attended:
        updated = current.filter(checked_in_at__isnull=True).update(
            checked_in_at=now, checked_in_by=actor, no_show=False, updated_at=now
        )
        if not updated:
            return Outcome(
                registration, False, _("%(name)s already counts as attended.") % {"name": name}
            )
        registration.checked_in_at, registration.checked_in_by = now, actor
        registration.no_show = False
        note = "Attendance corrected: attended"
        message = _("%(name)s now counts as attended.") % {"name": name}
        surveys.include_late_attendee(registration)
    else:
        updated = current.filter(Q(checked_in_at__isnull=False) | Q(no_show=False)).update(
            checked_in_at=None, checked_in_by=None, no_show=True, updated_at=now
        )
        if not updated:
            return Outcome(
                registration, False, _("%(name)s is already a no-show.") % {"name": name}
            )
        registration.checked_in_at, registration.checked_in_by = None, None
        registration.no_show = True
        note = "Attendance corrected: no-show"
        message = _("%(name)s is now a no-show.") % {"name": name}
    _record(registration, actor=actor, note=note)
    audit.record_for_registration(
        actor=actor,
        action="attendance.corrected",
        registration=registration,
        summary={"attended": attended},
    )
    return Outcome(registration, True, message)


def add_walk_in(*, session: Session, actor: User, email: str, name: str = "") -> Outcome:
    """Let in someone at the door, if a seat is free (the seat counter decides, so a walk-in
    never overbooks), and check them in. Someone already confirmed is simply checked in;
    someone on the list in another state (waitlisted, applied, cancelled...) gets the seat.
    A person without an account gets one with this email, unverified and without a password:
    they can claim it later by resetting the password. Walk-ins are owed no email: they are
    at the door."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address for the walk-in.")) from None
    name = (name or "").strip()[:100]
    try:
        return _add_walk_in(session=session, actor=actor, email=email, name=name)
    except IntegrityError:
        # Two phones added the same person at once; the unique constraints let one through,
        # and the second attempt finds them.
        return _add_walk_in(session=session, actor=actor, email=email, name=name)


@transaction.atomic
def _add_walk_in(*, session: Session, actor: User, email: str, name: str) -> Outcome:
    session = Session.objects.select_related("event").get(pk=session.pk)
    check_door_open(session)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, password=None, display_name=name)
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    existing = Registration.objects.filter(session=session, user=user).first()
    if existing:
        # Decide on the row as it is now: a sweep may have expired an offer meanwhile.
        existing = lock(existing)
    if existing and existing.status == Status.CONFIRMED:
        outcome = check_in(registration=existing, actor=actor)
        return Outcome(
            outcome.registration,
            outcome.changed,
            # Translators: %(message)s is what the check-in did ("Ada is checked in.").
            _("%(name)s already had a seat. %(message)s")
            % {"name": user.name, "message": outcome.message},
        )
    # An offered seat is already counted; everyone else needs a free one.
    holds_seat = existing is not None and existing.status == Status.OFFERED
    if not holds_seat and not take_seat(session.pk):
        raise ServiceError(
            ngettext(
                "The session is full (%(capacity)s of %(capacity)s seat given): a walk-in "
                "needs a free seat. Seats free up when someone cancels.",
                "The session is full (%(capacity)s of %(capacity)s seats given): a walk-in "
                "needs a free seat. Seats free up when someone cancels.",
                session.capacity,
            )
            % {"capacity": session.capacity}
        )
    now = timezone.now()
    door: dict[str, Any] = {
        "checked_in_at": now,
        "checked_in_by": actor,
        "walk_in": True,
        "no_show": False,
    }
    was_status = existing.status if existing else None
    # No overlap check here, unlike other confirmations: the person is standing at this door.
    if existing:
        was = existing.get_status_display().lower()
        registration = transition(
            existing,
            Status.CONFIRMED,
            allowed_from=[existing.status],
            actor=actor,
            note=f"Walk-in: let in at the door (was {was})",
            confirmed_at=now,
            cancelled_at=None,
            offer_expires_at=None,
            **door,
        )
    else:
        registration = Registration.objects.create(
            session=session, user=user, status=Status.CONFIRMED, confirmed_at=now, **door
        )
        record_creation(registration, actor=actor, note="Walk-in: added at the door")
    registration.session = session
    audit.record_for_registration(
        actor=actor,
        action="attendance.walk_in",
        registration=registration,
        summary={"was": was_status},
    )
    # Reminders are for people still to come.
    Registration.objects.filter(pk=registration.pk).update(remind_at=None)
    registration.remind_at = None
    surveys.include_late_attendee(registration)
    left = Session.objects.filter(pk=session.pk).values_list("capacity", "seats_taken").get()
    seats = left[0] - left[1]
    return Outcome(
        registration,
        True,
        ngettext(
            "%(name)s is in as a walk-in and checked in. %(seats)s seat left.",
            "%(name)s is in as a walk-in and checked in. %(seats)s seats left.",
            seats,
        )
        % {"name": user.name, "seats": seats},
    )


def mark_no_shows(*, now: datetime | None = None) -> int:
    """The sweep after sessions end: in each ended session not swept yet, confirmed attendees
    who were not checked in become no-shows, and the session's attendance is closed. Returns
    how many people were marked. Safe to run twice (a session is claimed once).

    A session where nobody at all was checked in is closed without marking anyone: attendance
    was evidently not taken there (an online session, a door without a phone), and a no-show
    is held against a person when they apply again. So is an event with check-in turned off,
    where everyone confirmed counts as attending. The organizer can still mark no-shows by
    hand on the attendance page."""
    now = now or timezone.now()
    due = Session.objects.filter(
        ends_at__lte=now, attendance_closed_at__isnull=True, status=Session.Status.SCHEDULED
    ).values_list("pk", flat=True)
    marked = 0
    for session_id in list(due):
        with transaction.atomic():
            marked += _close_attendance(session_id, now=now)
    return marked


def _close_attendance(session_id: int, *, now: datetime) -> int:
    claimed = Session.objects.filter(pk=session_id, attendance_closed_at__isnull=True).update(
        attendance_closed_at=now
    )
    if not claimed:
        return 0  # another sweep got there first
    confirmed = Registration.objects.filter(session_id=session_id, status=Status.CONFIRMED)
    checkin_enabled = Event.objects.filter(sessions=session_id, checkin_enabled=True).exists()
    if not checkin_enabled or not confirmed.filter(checked_in_at__isnull=False).exists():
        return 0
    absent = list(
        confirmed.filter(checked_in_at__isnull=True, no_show=False).values_list("pk", flat=True)
    )
    Registration.objects.filter(pk__in=absent, checked_in_at__isnull=True).update(
        no_show=True, updated_at=now
    )
    RegistrationChange.objects.bulk_create(
        RegistrationChange(
            registration_id=pk,
            from_status=Status.CONFIRMED,
            to_status=Status.CONFIRMED,
            note="No-show: not checked in by the end of the session",
        )
        for pk in absent
    )
    return len(absent)


# Selectors ---------------------------------------------------------------------------------


def _attended(now: datetime, prefix: str = "") -> Q:
    """Confirmed and checked in; with check-in turned off, confirmed in a session that ended."""
    p = prefix
    return Q(**{f"{p}status": Status.CONFIRMED}) & (
        Q(**{f"{p}checked_in_at__isnull": False})
        | Q(**{f"{p}session__event__checkin_enabled": False, f"{p}session__ends_at__lte": now})
    )


def attended_q(now: datetime, prefix: str = "") -> Q:
    """Registrations that count as attended (for the contact rules of services.contact)."""
    return _attended(now, prefix)


def _cancelled_by_themselves() -> Exists:
    # An organizer's cancellation (or a cancelled session) is not held against the person.
    return Exists(
        RegistrationChange.objects.filter(
            registration=OuterRef("pk"),
            to_status=Status.CANCELLED,
            from_status=Status.CONFIRMED,
            actor=OuterRef("user_id"),
        )
    )


def _late_cancellation() -> Q:
    """A confirmed seat the person gave up less than LATE_CANCELLATION before the start (or
    after it)."""
    deadline = ExpressionWrapper(
        F("session__starts_at") - LATE_CANCELLATION, output_field=DateTimeField()
    )
    return Q(
        _cancelled_by_themselves(),
        status=Status.CANCELLED,
        session__status=Session.Status.SCHEDULED,
        confirmed_at__isnull=False,
        cancelled_at__gte=deadline,
    )


@dataclass(frozen=True)
class History:
    """One person's record: sessions attended, no-shows, late cancellations."""

    attended: int = 0
    no_shows: int = 0
    late_cancellations: int = 0

    def __bool__(self) -> bool:
        return bool(self.attended or self.no_shows or self.late_cancellations)


def attended(now: datetime) -> Q:
    """Registrations that count as attended at `now` (filter of a registration query)."""
    return _attended(now)


def history_counts(now: datetime) -> dict[str, Count]:
    """The aggregates of a person's record over a query of their registrations: attended,
    no_shows, late_cancellations. Every count of these (an organizer's listing, the panel)
    uses these, so "attended" means the same everywhere."""
    return {
        "attended": Count("pk", filter=_attended(now)),
        "no_shows": Count("pk", filter=Q(status=Status.CONFIRMED, no_show=True)),
        "late_cancellations": Count("pk", filter=_late_cancellation()),
    }


def histories(
    *, users: QuerySet | list[int], team: Team | None = None, now: datetime | None = None
) -> dict[int, History]:
    """The attendance history of several people in one query, keyed by user id. With an
    `team`, only that team's events count (what its members are allowed to see)."""
    now = now or timezone.now()
    rows = Registration.objects.filter(user_id__in=users)
    if team is not None:
        rows = rows.filter(session__event__team=team)
    counts = history_counts(now)
    counted = (
        rows.order_by()
        .values("user_id")
        .annotate(
            attended=counts["attended"],
            no_shows=counts["no_shows"],
            late_cancellations=counts["late_cancellations"],
        )
    )
    return {
        row["user_id"]: History(row["attended"], row["no_shows"], row["late_cancellations"])
        for row in counted
    }


def history(*, user: User, team: Team | None = None, now: datetime | None = None) -> History:
    return histories(users=[user.pk], team=team, now=now).get(user.pk, History())


@dataclass(frozen=True)
class Summary:
    """Attendance of a session (or several). Everyone who held a confirmed seat is
    `registered`, and is exactly one of: attended, no-show, not checked in (yet), cancelled.
    Walk-ins are among the attended; late cancellations among the cancelled."""

    registered: int = 0
    attended: int = 0
    no_shows: int = 0
    not_checked_in: int = 0
    cancelled: int = 0
    late_cancellations: int = 0
    walk_ins: int = 0

    def __add__(self, other: "Summary") -> "Summary":
        return Summary(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    @property
    def attendance_rate(self) -> int | None:
        """Attended out of those who kept their seat, in percent (None before anyone)."""
        kept = self.attended + self.no_shows + self.not_checked_in
        return round(100 * self.attended / kept) if kept else None


def summaries(*, sessions: QuerySet | list[int], now: datetime | None = None) -> dict:
    """Attendance per session, in one query, keyed by session id."""
    now = now or timezone.now()
    attended = _attended(now)
    confirmed = Q(status=Status.CONFIRMED)
    counted = (
        Registration.objects.filter(session_id__in=sessions, confirmed_at__isnull=False)
        .order_by()
        .values("session_id")
        .annotate(
            registered=Count("pk"),
            attended=Count("pk", filter=attended),
            no_shows=Count("pk", filter=confirmed & Q(no_show=True) & ~attended),
            not_checked_in=Count("pk", filter=confirmed & Q(no_show=False) & ~attended),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            late_cancellations=Count("pk", filter=_late_cancellation()),
            walk_ins=Count("pk", filter=confirmed & Q(walk_in=True)),
        )
    )
    return {
        row["session_id"]: Summary(
            registered=row["registered"],
            attended=row["attended"],
            no_shows=row["no_shows"],
            not_checked_in=row["not_checked_in"],
            cancelled=row["cancelled"],
            late_cancellations=row["late_cancellations"],
            walk_ins=row["walk_ins"],
        )
        for row in counted
    }


def summary(*, session: Session, now: datetime | None = None) -> Summary:
    return summaries(sessions=[session.pk], now=now).get(session.pk, Summary())


@dataclass(frozen=True)
class DoorCounts:
    """The live numbers at the door."""

    expected: int
    checked_in: int
    walk_ins: int
    seats_left: int

    @property
    def remaining(self) -> int:
        return max(self.expected - self.checked_in, 0)


def door_counts(*, session: Session) -> DoorCounts:
    """Confirmed (expected), checked in, walk-ins, free seats: one query."""
    confirmed = Q(status=Status.CONFIRMED)
    counts = Registration.objects.filter(session_id=session.pk).aggregate(
        expected=Count("pk", filter=confirmed),
        checked_in=Count("pk", filter=confirmed & Q(checked_in_at__isnull=False)),
        walk_ins=Count("pk", filter=confirmed & Q(walk_in=True)),
    )
    return DoorCounts(**counts, seats_left=session.seats_left)


def with_attendance(registrations: QuerySet) -> QuerySet:
    """Registrations annotated with `is_late_cancellation`, for per-person listings."""
    return registrations.annotate(
        is_late_cancellation=ExpressionWrapper(_late_cancellation(), output_field=BooleanField())
    )


def state(registration: Registration, *, now: datetime | None = None) -> tuple[str, str]:
    """(label, tone) of one person's attendance, as listings and the CSV show it. Needs the
    `is_late_cancellation` annotation of `with_attendance` for cancelled registrations."""
    late = getattr(registration, "is_late_cancellation", False)
    return _state(registration, late_cancellation=late, now=now)


def _state(
    registration: Registration, *, late_cancellation: bool, now: datetime | None
) -> tuple[str, str]:
    now = now or timezone.now()
    session = registration.session
    if registration.status == Status.CANCELLED:
        if late_cancellation:
            return pgettext("attendance", "Cancelled late"), "danger"
        return pgettext("attendance", "Cancelled"), "muted"
    if registration.status != Status.CONFIRMED:
        return str(registration.get_status_display()), "muted"
    if registration.checked_in_at:
        if registration.walk_in:
            return pgettext("attendance", "Attended (walk-in)"), "ok"
        return pgettext("attendance", "Attended"), "ok"
    if not session.event.checkin_enabled:
        if session.ends_at <= now:
            return pgettext("attendance", "Attended"), "ok"
        return pgettext("attendance", "Confirmed"), "ok"
    if registration.no_show:
        return pgettext("attendance", "No-show"), "danger"
    return pgettext("attendance", "Not checked in"), "warn"


def describe(*, registration: Registration, now: datetime | None = None) -> tuple[str, str]:
    """`state` of one registration loaded without the listing's annotation."""
    late = False
    if registration.status == Status.CANCELLED:
        rows = with_attendance(Registration.objects.filter(pk=registration.pk))
        late = bool(rows.values_list("is_late_cancellation", flat=True).first())
    return _state(registration, late_cancellation=late, now=now)
