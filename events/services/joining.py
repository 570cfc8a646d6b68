"""Personal join links of online and hybrid sessions (/join/<token>/).

Every registration has its own unguessable token; the link is given to a confirmed attendee
of an online or hybrid session in place of the meeting's address, which is never written in a
message or a calendar entry. So the organizer may change the meeting's address at any time:
nobody is owed a message, and every link opens the new one.

Opening the link finds one of the `Door` states below. Only a confirmed attendee of a
scheduled online session who has accepted the event's current terms, inside the join window
(by default from 15 minutes before the start to the end), is let through: the join is recorded
(first and last time) and, for an event that checks people in, counts as their check-in
through the attendance service, so no-shows, late check-ins and surveys follow as for people
checked in at a door. Anyone else learns nothing of the meeting."""

import enum
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Registration, Session, TermsAcceptance
from . import ServiceError, attendance
from .registration import accept_terms, has_accepted_terms

Status = Registration.Status
# What the attendance history says of a check-in made by joining.
JOINED_NOTE = "Checked in: joined online"


class Door(enum.StrEnum):
    OPEN = "open"
    EARLY = "early"  # before the window: come back at `opens`
    OVER = "over"  # after the window
    NO_LINK_YET = "no_link_yet"  # in the window, but the organizer has not set the address
    TERMS = "terms"  # the event's current terms are not accepted yet
    IN_PERSON = "in_person"  # the session is no longer online
    CANCELLED = "cancelled"  # the session is cancelled
    NOT_SEATED = "not_seated"  # the person does not hold a confirmed seat


@dataclass(frozen=True)
class Look:
    door: Door
    registration: Registration
    opens: datetime
    closes: datetime


def path_for(registration: Registration) -> str:
    return reverse("events:join", args=[registration.join_token])


def gives_link(registration: Registration) -> bool:
    """Whether this person is given a join link (in mail, invites and their pages)."""
    return registration.status == Status.CONFIRMED and registration.session.is_online


def find(token: str) -> Registration | None:
    """The registration a join token belongs to; None for anything else."""
    if not token or len(token) > 64:
        return None
    return (
        Registration.objects.select_related("session__event__team", "user")
        .filter(join_token=token)
        .first()
    )


def look(registration: Registration, *, now: datetime | None = None) -> Look:
    """What the link's owner may see now. The checks go from what hides the most: someone
    without a seat, or before the terms are accepted, is told nothing of the session's
    meeting, not even whether it is open."""
    now = now or timezone.now()
    session = registration.session
    opens, closes = session.join_window
    if registration.status != Status.CONFIRMED:
        door = Door.NOT_SEATED
    elif session.status == Session.Status.CANCELLED:
        door = Door.CANCELLED
    elif session.event.is_confidential and not has_accepted_terms(
        user=registration.user, event=session.event
    ):
        door = Door.TERMS
    elif not session.is_online:
        door = Door.IN_PERSON
    elif now < opens:
        door = Door.EARLY
    elif now > closes:
        door = Door.OVER
    elif not session.online_url:
        door = Door.NO_LINK_YET
    else:
        door = Door.OPEN
    return Look(door, registration, opens, closes)


@transaction.atomic
def join(*, registration: Registration, now: datetime | None = None) -> str:
    """Let the link's owner into the meeting: record the join and return the meeting's
    address as it is now. Refused (ServiceError) unless the door is open. Joining again
    moves `last_joined_at` only. For an event that checks people in, the first join checks
    the person in (the attendance service's check-in, by themselves), which also clears a
    no-show and owes them the survey if it already went out; an organizer can still correct
    it on the attendance page."""
    now = now or timezone.now()
    fresh = find(registration.join_token)
    if fresh is None:
        raise ServiceError(_("This join link is not valid."))
    seen = look(fresh, now=now)
    if seen.door != Door.OPEN:
        raise ServiceError(_("The meeting cannot be joined through this link now."))
    updated = Registration.objects.filter(pk=fresh.pk, status=Status.CONFIRMED).update(
        first_joined_at=Coalesce(F("first_joined_at"), now), last_joined_at=now
    )
    if not updated:
        raise ServiceError(_("The meeting cannot be joined through this link now."))
    event = fresh.session.event
    if event.checkin_enabled and fresh.checked_in_at is None:
        # Their own act, not an organizer's: no actor, so the audit log (and the door's
        # "checked in by") never names the attendee.
        attendance.check_in(registration=fresh, actor=None, note=JOINED_NOTE)
    return fresh.session.online_url


def accept_terms_by_link(*, registration: Registration, version: int) -> None:
    """The link's owner accepts the event's current terms from the join page, by pressing its
    button (a POST: opening the link accepts nothing). No login: the token is theirs alone, as
    a survey link is, and asking people to sign in at the minute the meeting starts, often on
    a phone opened from their calendar, would keep them out. The acceptance says so
    (TermsAcceptance.Via.JOIN_LINK), for an organizer who needs to know how it was given."""
    accept_terms(
        user=registration.user,
        event=registration.session.event,
        version=version,
        via=TermsAcceptance.Via.JOIN_LINK,
    )
