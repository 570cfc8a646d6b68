"""What organizers do with people: approve, reject, move someone in from the waitlist."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Notification, Registration
from . import ServiceError, audit
from .registration import check_no_overlap
from .seats import take_seat
from .transitions import lock, transition
from .waitlist import release_and_refill

Status = Registration.Status
Kind = Notification.Kind


def check_no_clash(registration: Registration) -> None:
    """Nobody holds two confirmed seats at the same time, whoever confirms them."""
    try:
        check_no_overlap(
            user=registration.user, session=registration.session, exclude=registration.pk
        )
    except ServiceError:
        raise ServiceError(
            _("%(name)s already has a confirmed seat at that time.")
            % {"name": registration.user.name}
        ) from None


@transaction.atomic
def approve(*, registration: Registration, actor: User, when_full: str = "refuse") -> Registration:
    """Give an applicant a seat. When none is free, refuse (the default) or, if the organizer
    chose so, put them on the waitlist: approving never overbooks."""
    registration = lock(registration)
    if registration.status != Status.APPLIED:
        raise ServiceError(
            # Translators: %(status)s is a registration's status ("Waitlisted", "Confirmed").
            _("%(name)s is %(status)s, not applied.")
            % {"name": registration.user.name, "status": registration.get_status_display()}
        )
    check_no_clash(registration)
    if take_seat(registration.session_id):
        return _logged(
            actor,
            "registration.approved",
            transition(
                registration,
                Status.CONFIRMED,
                allowed_from=[Status.APPLIED],
                actor=actor,
                note="Approved",
                notify=Kind.APPROVED,
                confirmed_at=timezone.now(),
            ),
        )
    if when_full == "waitlist":
        return _logged(
            actor,
            "registration.approved_to_waitlist",
            transition(
                registration,
                Status.WAITLISTED,
                allowed_from=[Status.APPLIED],
                actor=actor,
                note="Approved onto the waitlist: the session is full",
                notify=Kind.WAITLISTED,
                waitlisted_at=timezone.now(),
            ),
        )
    raise ServiceError(
        _("The session is full: approving %(name)s would overbook it.")
        % {"name": registration.user.name}
    )


@transaction.atomic
def reject(*, registration: Registration, actor: User) -> Registration:
    registration = lock(registration)
    if registration.status not in (Status.APPLIED, Status.WAITLISTED, Status.OFFERED):
        raise ServiceError(
            _("%(name)s is %(status)s; only applicants and people waiting can be turned down.")
            % {"name": registration.user.name, "status": registration.get_status_display()}
        )
    was_offered = registration.status == Status.OFFERED
    transition(
        registration,
        Status.REJECTED,
        allowed_from=[Status.APPLIED, Status.WAITLISTED, Status.OFFERED],
        actor=actor,
        note="Not selected",
        notify=Kind.REJECTED,
        offer_expires_at=None,
    )
    _logged(actor, "registration.rejected", registration)
    if was_offered:
        release_and_refill(registration.session_id)
    return registration


@transaction.atomic
def move_in(*, registration: Registration, actor: User) -> Registration:
    """Confirm a waitlisted person directly, ahead of the queue, if a seat is free."""
    registration = lock(registration)
    if registration.status != Status.WAITLISTED:
        raise ServiceError(_("%(name)s is not on the waitlist.") % {"name": registration.user.name})
    check_no_clash(registration)
    if not take_seat(registration.session_id):
        raise ServiceError(_("The session is full: there is no free seat to move anyone into."))
    return _logged(
        actor,
        "registration.moved_in",
        transition(
            registration,
            Status.CONFIRMED,
            allowed_from=[Status.WAITLISTED],
            actor=actor,
            note="Moved in from the waitlist by an organizer",
            notify=Kind.CONFIRMED,
            confirmed_at=timezone.now(),
        ),
    )


def _logged(actor: User, action: str, registration: Registration) -> Registration:
    audit.record_for_registration(actor=actor, action=action, registration=registration)
    return registration


def apply_to_many(action, registrations, **kwargs) -> tuple[int, list[str]]:
    """Run an action on several registrations; each in its own transaction, so one refusal
    (say, the session filled up) stops nobody else. Returns (done, messages of refusals)."""
    done, refusals = 0, []
    for registration in registrations:
        try:
            action(registration=registration, **kwargs)
            done += 1
        except ServiceError as error:
            refusals.append(error.message)
    return done, refusals
