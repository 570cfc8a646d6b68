"""Organizers' changes to events and sessions. A change of a session's time, place, title or
status (or of its event's title) raises its calendar SEQUENCE and owes every attendee an
update, in the same transaction."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User

from .. import ics
from ..languages import language_name, version_languages
from ..models import (
    Event,
    Invitation,
    Notification,
    Registration,
    RegistrationChange,
    Session,
    Team,
)
from ..models.event import NOT_ONE_LINE
from ..outbox.webhooks import emit as emit_webhook
from ..permissions import may
from ..timefmt import deadline_text
from . import ServiceError, audit, notices, questionnaire, reminders, surveys
from .waitlist import fill_vacancies, refill_soon

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
    "translations",
    "join_opens_before",
    "join_closes_after",
}
SESSION_FIELDS = {
    "title",
    "starts_at",
    "ends_at",
    "capacity",
    "waitlist_enabled",
    "location",
    "format",
    "online_url",
    "join_opens_before",
    "join_closes_after",
}
# What a calendar entry shows: a change of any of these is an update (SUMMARY is the event's
# title and the session's). Not the meeting's address: invites carry each attendee's
# personal join link instead (services.joining), which leads to the address as it is when
# they join, so changing it owes nobody a message.
CALENDAR_FIELDS = {"title", "starts_at", "ends_at", "location", "format"}


def _validated(instance, changes: dict, allowed: set[str]):
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=["team"])
    except ValidationError as error:
        raise ServiceError("; ".join(error.messages)) from error
    return instance


def _check_shares(shares: dict) -> None:
    roles = set(User.Role.values)
    if not isinstance(shares, dict) or any(
        r not in roles or not isinstance(v, int) or not 0 <= v <= 100 for r, v in shares.items()
    ):
        raise ServiceError(_("Reserved shares are whole percentages (0-100) for known roles."))
    if sum(shares.values()) > 100:
        raise ServiceError(_("Reserved shares add up to more than 100%."))


NO_DRAW_WITHOUT_CLOSING = gettext_lazy(
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
        raise ServiceError(str(NO_DRAW_WITHOUT_CLOSING))


def _check_lottery_draws_before_start(event: Event, sessions) -> None:
    """A lottery is drawn when registration closes, and a draw after a session has started
    gives seats nobody can use (the sweep skips started sessions): registration closes before
    every session still to be drawn starts. `sessions`: those to check, saved or about to be."""
    closes = event.registration_closes_at
    if event.registration_mode != Event.Mode.LOTTERY or closes is None:
        return
    first = min(
        (
            s.starts_at
            for s in sessions
            if s.status == Session.Status.SCHEDULED and s.lottery_drawn_at is None
        ),
        default=None,
    )
    if first is not None and first <= closes:
        raise ServiceError(
            _(
                "A lottery is drawn when registration closes, so registration must close "
                "before its first session starts (%(starts)s)."
            )
            % {"starts": deadline_text(first, event.timezone)}
        )


def _check_lottery_timing(event: Event, *, published: bool) -> None:
    """Both rules above for a whole event. Sessions under way or over are left out: the
    sweep draws none of them anyway."""
    _check_lottery_closes(event, published=published)
    _check_lottery_draws_before_start(event, event.sessions.filter(starts_at__gt=timezone.now()))


def _undo_empty_draws(event: Event, *, closed_before: bool) -> None:
    """Registration of a lottery reopens (it had closed, and now closes later than now): its
    sessions still to come that were drawn with nobody to draw are drawn again when it closes,
    so those signing up meanwhile apply for the draw instead of being served first come,
    first served. A draw that had applicants ranked them (each gets a rank, winner or not):
    it is final, and stays."""
    now = timezone.now()
    closes = event.registration_closes_at
    if event.registration_mode != Event.Mode.LOTTERY or not closed_before:
        return
    if closes is not None and closes <= now:
        return
    ranked = Registration.objects.filter(session=OuterRef("pk"), lottery_rank__isnull=False)
    event.sessions.filter(
        lottery_drawn_at__isnull=False, status=Session.Status.SCHEDULED, starts_at__gt=now
    ).exclude(Exists(ranked)).update(lottery_drawn_at=None, lottery_seed="")


def _clean_translations(translations) -> dict[str, dict[str, str]]:
    """The event's versions in the site's other languages, {"fr": {"title", "description"}},
    as kept: texts trimmed, empty ones dropped, and a language with nothing left dropped too.
    A title in another language follows the title's own rules: one line, as long at most."""
    if not isinstance(translations, dict):
        raise ServiceError(_("Translations are a mapping of language codes."))
    title_max = Event._meta.get_field("title").max_length or 200
    kept: dict[str, dict[str, str]] = {}
    for code, version in translations.items():
        if (
            code not in version_languages()
            or not isinstance(version, dict)
            or set(version) - {"title", "description"}
            or not all(isinstance(text, str) for text in version.values())
        ):
            raise ServiceError(
                _("An event can have its own title and description only in {languages}.").format(
                    languages=", ".join(language_name(c) for c in version_languages())
                    or settings.LANGUAGE_CODE
                )
            )
        title = version.get("title", "").strip()
        description = version.get("description", "").strip()
        if NOT_ONE_LINE.search(title):
            raise ServiceError(
                _(
                    "The title in {language}: use one line of plain text (line breaks, tabs "
                    "and other control characters are not allowed)."
                ).format(language=language_name(code))
            )
        if len(title) > title_max:
            raise ServiceError(
                ngettext(
                    "The title in {language} is longer than {limit} character.",
                    "The title in {language} is longer than {limit} characters.",
                    title_max,
                ).format(language=language_name(code), limit=title_max)
            )
        texts = {"title": title, "description": description}
        if any(texts.values()):
            kept[code] = {name: text for name, text in texts.items() if text}
    return kept


def _titles(translations: dict) -> dict[str, str]:
    given = translations or {}
    return {code: version["title"] for code, version in given.items() if version.get("title")}


def _check_format(session: Session) -> None:
    """An in-person session has no meeting address: nobody would ever be led to it."""
    if session.format == Session.Format.IN_PERSON and session.online_url:
        raise ServiceError(
            _(
                "An in-person session has no online link: clear the link, or make the session "
                "online or hybrid."
            )
        )


def _check_capacity(session: Session) -> None:
    """A session has at least one seat (the database field would take 0: a session nobody can
    ever get into). Seats already given are checked apart, by update_session."""
    if session.capacity < 1:
        raise ServiceError(_("A session needs at least one seat: set its capacity to 1 or more."))


def _check_reminders(hours) -> None:
    if (
        not isinstance(hours, list)
        or len(hours) > 5
        or any(not isinstance(h, int) or not 1 <= h <= 24 * 14 for h in hours)
    ):
        raise ServiceError(_("Reminders are up to 5 whole numbers of hours, from 1 to 336."))


@transaction.atomic
def create_event(*, team: Team, actor: User, **fields) -> Event:
    if not may(actor, "event.create", team):
        raise ServiceError(_("Only the team's owners and organizers can create events."))
    _check_shares(fields.get("lottery_reserved_shares", {}))
    _check_reminders(fields.get("reminder_hours", [24, 1]))
    if fields.get("terms_text") and not fields.get("terms_version"):
        fields["terms_version"] = 1
    fields["translations"] = _clean_translations(fields.get("translations", {}))
    event = _validated(Event(team=team), fields, EVENT_FIELDS)
    # Its screening questions' questionnaire, empty until the organizer adds to it in the
    # question editor (asked only while the event takes applications).
    event.screening = questionnaire.create_questionnaire()
    event.save()
    audit.record(
        actor=actor,
        action="event.created",
        team=team,
        event=event,
        target=event,
        summary={"fields": audit.snapshot(event, ["title", "kind", "registration_mode"])},
    )
    return event


@transaction.atomic
def update_event(*, event: Event, actor: User, **changes) -> Event:
    """Edit an event. New terms text without a new version number gets the next version, so
    everyone is asked to accept the terms they have not seen."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    mode = changes.get("registration_mode", event.registration_mode)
    if mode != event.registration_mode:
        # A sign-up under way is invisible to the count until it commits. Locking the
        # sessions first waits for those already holding their session row (a seat taken:
        # its UPDATE; a lottery application: FOR SHARE; any new registration once its
        # commit has checked the deferred foreign key: FOR KEY SHARE); they then show in the
        # count. Not covered, as the sign-up reads the mode before touching the row: one
        # that has read it and not reached its session row yet (a waitlisted sign-up gets
        # there only at commit, its conditional UPDATE taking no lock), or an approval
        # application between its INSERT and its commit. It waits for this transaction,
        # then lands under the old mode. A window of milliseconds, open only while the event
        # has no registration at all; closing it would cost every sign-up a statement.
        list(event.sessions.select_for_update().order_by("pk").values_list("pk", flat=True))
    if (
        mode != event.registration_mode
        and Registration.objects.filter(session__event=event).exists()
    ):
        raise ServiceError(
            _(
                "The registration mode cannot change once people have signed up: their "
                "applications and places were made under the current mode."
            )
        )
    _check_shares(changes.get("lottery_reserved_shares", event.lottery_reserved_shares))
    version = changes.get("terms_version", event.terms_version)
    if version < event.terms_version:
        # A lower number would let an old acceptance count for terms its holder never saw.
        raise ServiceError(_("The terms version cannot go down."))
    new_text = changes.get("terms_text", event.terms_text)
    if new_text and new_text != event.terms_text and version == event.terms_version:
        changes["terms_version"] = event.terms_version + 1
    _check_reminders(changes.get("reminder_hours", event.reminder_hours))
    if "translations" in changes:
        changes["translations"] = _clean_translations(changes["translations"])
    hours_changed = changes.get("reminder_hours", event.reminder_hours) != event.reminder_hours
    # A title in another language is the calendar SUMMARY of that language's readers.
    retitled = changes.get("title", event.title) != event.title or _titles(
        changes.get("translations", event.translations)
    ) != _titles(event.translations)
    was_closing = event.registration_closes_at
    closed_before = was_closing is not None and was_closing <= timezone.now()
    before = audit.snapshot(event, set(changes) & EVENT_FIELDS)
    _validated(event, changes, EVENT_FIELDS)
    # Before the check below: a session drawn again must start after the new closing time.
    # A refusal there rolls this back with the rest.
    _undo_empty_draws(event, closed_before=closed_before)
    _check_lottery_timing(event, published=event.status == Event.Status.PUBLISHED)
    event.save()
    if diff := audit.changes(before, audit.snapshot(event, before)):  # a save that changed
        audit.record(
            actor=actor,
            action="event.updated",
            team=event.team_id,
            event=event,
            target=event,
            summary={"changes": diff},
        )
    if retitled:
        _retitle_sessions(event)
    if hours_changed:
        for session in event.sessions.filter(status=Session.Status.SCHEDULED):
            session.event = event
            reminders.schedule(list(session.registrations.filter(status=Status.CONFIRMED)), session)
    return event


def _retitle_sessions(event: Event) -> None:
    """The event's title is every session's calendar SUMMARY: each session still to come gets
    the update a change of its own time or place gives (SEQUENCE up, attendees told). Sessions
    over already are left alone: an update about a past meeting is noise."""
    sessions = event.sessions.filter(status=Session.Status.SCHEDULED, ends_at__gt=timezone.now())
    # Locked in pk order after the event row, as the other event-wide changes do.
    for session in sessions.select_for_update().order_by("pk"):
        session.event = event
        session.sequence += 1
        session.save(update_fields=["sequence"])
        notices.owe_session_changed(session)


def _feed_status_changed(event: Event, *, since) -> None:
    """Withdrawn, an event's public feed shows its sessions to come (those ending after
    `since`, when it was withdrawn) as cancelled, and published again as scheduled
    (views.calendar.event_feed). To a subscribed calendar each is a change of status: SEQUENCE
    rises, or a client that honours it could keep the cancelled version as the newer one."""
    event.sessions.filter(status=Session.Status.SCHEDULED, ends_at__gt=since).update(
        sequence=F("sequence") + 1
    )


@transaction.atomic
def publish_event(*, event: Event, actor: User) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ServiceError(_("A cancelled event cannot be published again."))
    if not event.sessions.filter(status=Session.Status.SCHEDULED).exists():
        raise ServiceError(_("Add at least one session before publishing."))
    _check_lottery_timing(event, published=True)
    if event.withdrawn_at is not None:
        _feed_status_changed(event, since=event.withdrawn_at)
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.PUBLISHED, withdrawn_at=None, updated_at=timezone.now()
    )
    event.status, event.withdrawn_at = Event.Status.PUBLISHED, None
    audit.record(
        actor=actor, action="event.published", team=event.team_id, event=event, target=event
    )
    return event


@transaction.atomic
def unpublish_event(*, event: Event, actor: User) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status != Event.Status.PUBLISHED:
        raise ServiceError(_("Only a published event can be unpublished."))
    now = timezone.now()
    # From now its public feed shows subscribers its sessions as cancelled (for a while).
    _feed_status_changed(event, since=now)
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.DRAFT, withdrawn_at=now, updated_at=now
    )
    event.status, event.withdrawn_at = Event.Status.DRAFT, now
    audit.record(
        actor=actor, action="event.unpublished", team=event.team_id, event=event, target=event
    )
    return event


@transaction.atomic
def cancel_event(*, event: Event, actor: User) -> Event:
    """Cancel an event and its sessions still to come; sessions that already took place stay
    as they were (their attendees are owed no cancellation)."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ServiceError(_("This event is already cancelled."))
    closed: dict[int, int] = {}
    for session in event.sessions.filter(
        status=Session.Status.SCHEDULED, ends_at__gt=timezone.now()
    ):
        # One entry for the whole event (below), naming its sessions.
        closed[session.pk] = _cancel_session(session, actor=actor, logged=False)[1]
    Invitation.objects.filter(
        event=event, session__isnull=True, status=Invitation.Status.PENDING
    ).update(status=Invitation.Status.REVOKED, remind_at=None)
    now = timezone.now()
    # A draft was never in a public feed: nothing to tell its (non-existent) subscribers.
    withdrawn = now if event.status == Event.Status.PUBLISHED else event.withdrawn_at
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.CANCELLED, withdrawn_at=withdrawn, updated_at=now
    )
    event.status, event.withdrawn_at = Event.Status.CANCELLED, withdrawn
    audit.record(
        actor=actor,
        action="event.cancelled",
        team=event.team_id,
        event=event,
        target=event,
        summary={
            "sessions_cancelled": sorted(closed),
            "registrations_closed": sum(closed.values()),
        },
    )
    return event


class StartsInThePast(ServiceError):
    """A new session would start before now, and the organizer has not said they mean it."""


@transaction.atomic
def create_session(*, event: Event, actor: User, past_confirmed: bool = False, **fields) -> Session:
    """Add a session. One that starts in the past is created only when `past_confirmed`: it
    is at once offered in invitations and, once ended, owed its survey, so a mistyped year
    must not slip through silently."""
    # The event's row first: the retention sweep anonymises an event under this lock, so a
    # session (and the people who sign up for it) never arrives half-way through.
    Event.objects.select_for_update().filter(pk=event.pk).first()
    if event.status == Event.Status.CANCELLED:
        raise ServiceError(_("This event is cancelled: it takes no new sessions."))
    starts_at = fields.get("starts_at")
    if starts_at is not None and starts_at < timezone.now() and not past_confirmed:
        raise StartsInThePast(
            _(
                "This session starts in the past. If you mean it (to record a session that "
                "took place), tick “Yes, create this session in the past”: its attendees can "
                "then be invited and, once it has ended, sent the survey at once."
            )
        )
    session = _validated(Session(event=event), fields, SESSION_FIELDS)
    _check_capacity(session)
    _check_format(session)
    _check_lottery_draws_before_start(event, [session])
    session.save()
    audit.record(
        actor=actor,
        action="session.created",
        team=event.team_id,
        event=event,
        target=session,
        summary={"fields": audit.snapshot(session, ["title", "starts_at", "ends_at", "capacity"])},
    )
    surveys.session_changed(session)
    return session


@transaction.atomic
def update_session(
    *, session: Session, actor: User, past_confirmed: bool = False, **changes
) -> Session:
    """Edit a session. Capacity cannot drop below the seats already given; raising it offers
    the new seats to the waitlist. Time, place or title changes raise the calendar sequence
    and owe every confirmed or offered person an update. A new start in the past needs
    `past_confirmed`, as a new session's does: everyone seated would be told of the change
    and, once it has ended, sent the survey at once."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.is_cancelled:
        raise ServiceError(_("A cancelled session cannot be edited."))
    old_start = session.starts_at
    changed = {k for k, v in changes.items() if getattr(session, k) != v}
    if "starts_at" in changed and changes["starts_at"] < timezone.now() and not past_confirmed:
        raise StartsInThePast(
            _(
                "This change moves the session into the past. If you mean it, tick “Yes, move "
                "this session into the past”: everyone with a seat is told of the change and, "
                "once it has ended, sent the survey at once."
            )
        )
    if "capacity" in changed and changes["capacity"] < session.seats_taken:
        raise ServiceError(
            ngettext(
                "%(n)s seat is already given (confirmed or offered): the capacity cannot go "
                "below %(n)s.",
                "%(n)s seats are already given (confirmed or offered): the capacity cannot go "
                "below %(n)s.",
                session.seats_taken,
            )
            % {"n": session.seats_taken}
        )
    before = audit.snapshot(session, set(changes) & SESSION_FIELDS)
    _validated(session, changes, SESSION_FIELDS)
    _check_capacity(session)
    _check_format(session)
    if "starts_at" in changed:
        _check_lottery_draws_before_start(session.event, [session])
    calendar_change = bool(changed & CALENDAR_FIELDS)
    if calendar_change:
        session.sequence += 1
    # seats_taken is left out: only the seat counter's conditional UPDATEs change it.
    session.save(update_fields=[*changes, "sequence"])
    if diff := audit.changes(before, audit.snapshot(session, before)):
        audit.record(
            actor=actor,
            action="session.updated",
            team=session.event.team_id,
            event=session.event_id,
            target=session,
            summary={"changes": diff},
        )
    if changed:
        emit_webhook("session.changed", about=session)
    if "starts_at" in changed:
        _follow_the_start(session, old_start=old_start)
        # A running offer never outlasts the session's start.
        session.registrations.filter(
            status=Status.OFFERED, offer_expires_at__gt=session.starts_at
        ).update(offer_expires_at=session.starts_at)
    if "starts_at" in changed:
        reminders.schedule(list(session.registrations.filter(status=Status.CONFIRMED)), session)
    if calendar_change:
        notices.owe_session_changed(session)
    if changed & {"starts_at", "ends_at"}:
        surveys.session_changed(session)
    if "capacity" in changed:
        fill_vacancies(session.pk)
        refill_soon(session.pk)
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
def cancel_session(*, session: Session, actor: User) -> Session:
    """Cancel a session: everyone in it is told; their registrations close; seats go to zero.

    In bulk, a fixed number of statements whatever the number of people (a demo can have
    thousands; on SQLite the two INSERTs go in chunks, Django binding at most 999 parameters
    per statement there): the same rows as moving each registration through `transition()`
    would write (status, history, outbox), without a round trip per person."""
    return _cancel_session(session, actor=actor, logged=True)[0]


def _cancel_session(session: Session, *, actor: User, logged: bool) -> tuple[Session, int]:
    """Cancel it (see cancel_session): the session as it is now, and how many registrations
    it closed. `logged`: its own audit entry (cancel_event writes one for all of them)."""
    # The session's row alone is locked; its event comes along for the audit entry's team.
    session = (
        Session.objects.select_for_update(of=("self",)).select_related("event").get(pk=session.pk)
    )
    if session.is_cancelled:
        raise ServiceError(_("This session is already cancelled."))
    sequence = session.sequence + 1
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.CANCELLED, sequence=sequence, seats_taken=0
    )
    # Its pending invitations die with it (their held seats went with seats_taken above).
    Invitation.objects.filter(session=session, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.REVOKED, seat_held=False, remind_at=None
    )
    session.status, session.sequence, session.seats_taken = Session.Status.CANCELLED, sequence, 0
    closed = _close_registrations(session, actor=actor)
    if logged:
        audit.record(
            actor=actor,
            action="session.cancelled",
            team=session.event.team_id,
            event=session.event_id,
            target=session,
            summary={"registrations_closed": closed},
        )
    surveys.session_changed(session)
    emit_webhook("session.cancelled", about=session)
    return session, closed


def _close_registrations(session: Session, *, actor: User) -> int:
    """Every active registration of a session just cancelled becomes cancelled, with its
    history row and a SESSION_CANCELLED message: a calendar CANCEL for whoever was sent an
    invite (one SEQUENCE above the last they got, at least the session's), the news alone for
    the others (applied, waitlisted, offered without an invite), as `notices.owe_news`
    decides for one person."""
    active = Registration.objects.filter(session=session, status__in=Registration.ACTIVE)
    # Locked, so none of them changes status under us (a person cancelling at the same time
    # waits, then finds the registration closed). Nobody can join the session meanwhile: a new
    # registration's foreign key needs the session row we hold. On SQLite the IMMEDIATE
    # transaction already serializes writers.
    people = list(
        active.select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", "status", "calendar_sequence", "user_id", "user__email")
    )
    if not people:
        return 0
    now = timezone.now()
    closed = active.update(
        status=Status.CANCELLED,
        updated_at=now,
        cancelled_at=now,
        offer_expires_at=None,
        remind_at=None,
        calendar_sequence=Case(
            When(
                calendar_sequence__isnull=False,
                then=Greatest(Value(session.sequence), F("calendar_sequence") + 1),
            ),
            default=None,
        ),
    )
    if closed != len(people):
        # Someone signed up again (a cancelled row made active) between the read and the
        # update: roll back rather than close a registration without its history and message.
        raise ServiceError(_("Registrations changed in the meantime; try again."))
    note = "The session was cancelled"
    changes = RegistrationChange.objects.bulk_create(
        RegistrationChange(
            registration_id=pk,
            from_status=status,
            to_status=Status.CANCELLED,
            actor=actor,
            note=note,
        )
        for pk, status, *_ in people
    )
    notices.owe_for_registrations(
        session=session,
        kind=Notification.Kind.SESSION_CANCELLED,
        people=(
            (
                pk,
                user_id,
                email,
                change.pk,
                {}
                if last is None
                else {"calendar": ics.CANCEL, "sequence": max(session.sequence, last + 1)},
            )
            for (pk, _status, last, user_id, email), change in zip(people, changes, strict=True)
        ),
    )
    return closed
