"""Retention: personal data leaves when its purpose ends (#20).

The policy is the team's (`Team.retention_*_days`), overridable per event (attendees) and per
open call (submissions):

- an event's attendees' data is anonymised N days after its last session ended: what
  statistics need stays (per session: how many registered, confirmed, attended, no-shows,
  walk-ins, invited, surveyed, answered; survey ratings and choices, under a random key), the
  rest goes (registrations with their answers and history, invitations, terms acceptances,
  survey links, free text unless its question keeps it, outbox rows, webhook payloads);
- an open call's submissions never confirmed, or disqualified, go M days after (their
  answers, reviews, outbox rows and webhook payloads with them);
- a panel member not contacted for K days is removed (their submissions, invitations and
  registrations with the team), unless they renew their consent: those who agreed to be
  contacted are asked 30 days before (`RENEWAL_NOTICE`) with a "keep me" link.

`sweep` (beat, hourly) applies it, a few rows at a time in their own transactions, each
taken with `skip_locked`: two sweeps share the work, a killed one leaves committed batches
done and the rest for the next run, and a second run finds nothing left. Each batch writes
a `RetentionLog` row (counts by kind, the event or call, when): nothing else is kept about
the people removed.

An item that fails (an event, a submission, a panel member: a bad row, a constraint) fails
alone: its work is rolled back to a savepoint, it is logged by id (never a name or an
address), counted under FAILED in the retention log, and the sweep goes on with the others;
the next run tries it again."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import ics, permissions
from ..models import (
    Answer,
    CalendarReply,
    ContactBlock,
    Event,
    Invitation,
    Notification,
    OpenCall,
    PanelMember,
    PanelRenewal,
    Registration,
    RegistrationChange,
    Response,
    RetentionLog,
    Session,
    Submission,
    SurveyRecipient,
    Team,
    TeamHistory,
    TermsAcceptance,
    WebhookMessage,
)
from ..outbox import owe
from . import ServiceError, audit, contact, open_calls, panel, themes, tombstones
from . import invitations as invitation_service
from . import questionnaire as engine

log = logging.getLogger(__name__)

MAX_DAYS = 36500  # a hundred years: anything longer is a typo
RENEWAL_NOTICE = timedelta(days=30)
RENEWAL_SALT = "events.panel_renewal"
RENEWAL_LINK_AGE = 60 * 24 * 3600  # a link works for 60 days, past the removal it announces
BATCH = 50  # events, calls' submissions or panel members per transaction
ANONYMISED = "anonymised:"  # the respondent key of a response nobody can be linked to
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The retention log's count of items a sweep could not process (each is logged with its id
# and retried at the next run): one bad row never stops the sweep for everyone else.
FAILED = "failed"


@dataclass
class Swept:
    """What a sweep did: how many of each, and how many items failed (retried next run)."""

    events: int = 0
    submissions: int = 0
    renewals_asked: int = 0
    panel_members: int = 0
    failed: int = 0
    tombstones: int = 0  # expired tombstones purged


def _failed_line(*, team_id: int, kind: str, items: list[str], **about: Any) -> None:
    """A retention log line saying what failed: counted under FAILED, and the items by
    kind and id (`failed_items`: "event:12", "submission:34"...) so that the metric counts
    an item failing at every hourly run once. Its own savepoint: when the database is what
    fails, the sweep goes on without the line (the failure is logged all the same)."""
    try:
        with transaction.atomic():
            RetentionLog.objects.create(
                team_id=team_id, kind=kind, counts={FAILED: len(items)}, failed_items=items, **about
            )
    except Exception:
        log.exception("Retention: the failure of %s could not be written to the log.", items)


# The policy


def check_days(value: Any, *, optional: bool = False) -> int | None:
    """A number of days the policy may use: a whole number from 1 (None when `optional` and
    empty: the team's). Zero or less would delete data as it arrives."""
    if value in (None, "") and optional:
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ServiceError(_("Give a whole number of days.")) from None
    if days < 1:
        raise ServiceError(
            _("Keep data at least 1 day: %(days)s days would remove it as it arrives.")
            % {"days": days}
        )
    if days > MAX_DAYS:
        raise ServiceError(_("At most %(most)s days.") % {"most": MAX_DAYS})
    return days


def _owner(actor: User, team: Team) -> None:
    if not permissions.may(actor, "team.manage", team):
        raise ServiceError(_("Only the team's owners may change its retention policy."))


@transaction.atomic
def update_policy(
    *,
    team: Team,
    actor: User,
    attendee_days: Any,
    submission_days: Any,
    panel_days: Any,
    audit_days: Any = None,
) -> Team:
    """The team's policy: every value checked before anything is written (`audit_days`
    None: the audit log's retention stays as it is)."""
    _owner(actor, team)
    values = {
        "retention_attendee_days": check_days(attendee_days),
        "retention_submission_days": check_days(submission_days),
        "retention_panel_days": check_days(panel_days),
    }
    if audit_days is not None:
        values["retention_audit_days"] = check_days(audit_days)
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = audit.snapshot(team, values)
    for name, value in values.items():
        setattr(team, name, value)
    team.save(update_fields=list(values))
    TeamHistory.objects.create(team=team, actor=actor, action=TeamHistory.Action.RETENTION_CHANGED)
    if diff := audit.changes(before, audit.snapshot(team, values)):
        audit.record(
            actor=actor,
            action="team.retention_changed",
            team=team,
            target=team,
            summary={"changes": diff},
        )
    return team


def _set_own_days(obj: Event | OpenCall, field: str, action: str, actor: User, days: Any) -> None:
    """An event's or a call's own number of days in `field` (None: the team's), checked by
    the policy's rule, and recorded in the audit log when it changed."""
    _owner(actor, obj.team)
    value = check_days(days, optional=True)
    before = getattr(obj, field)
    type(obj).objects.filter(pk=obj.pk).update(**{field: value})
    setattr(obj, field, value)
    if before != value:
        audit.record(
            actor=actor,
            action=action,
            team=obj.team_id,
            event=obj if isinstance(obj, Event) else None,
            target=obj,
            summary={"changes": {field: [before, value]}},
        )


@transaction.atomic
def set_event_days(*, event: Event, actor: User, days: Any) -> Event:
    """This event's own retention of attendees' data (None: the team's)."""
    _set_own_days(event, "retention_attendee_days", "event.retention_changed", actor, days)
    return event


@transaction.atomic
def set_call_days(*, call: OpenCall, actor: User, days: Any) -> OpenCall:
    """This call's own retention of unconfirmed and disqualified submissions."""
    _set_own_days(call, "retention_submission_days", "call.retention_changed", actor, days)
    return call


def attendee_days(event: Event) -> int:
    return event.retention_attendee_days or event.team.retention_attendee_days


def submission_days(call: OpenCall) -> int:
    return call.retention_submission_days or call.team.retention_submission_days


# What an event holds, and when it goes


@dataclass
class Line:
    kind: str
    count: int


@dataclass
class Inventory:
    lines: list[Line]
    goes_at: datetime | None  # when the sweep removes it (None: not scheduled yet)
    days: int
    last_end: datetime | None = None
    kept: dict[str, int] = field(default_factory=dict)  # what statistics kept so far

    @property
    def total(self) -> int:
        return sum(line.count for line in self.lines)


def _event_rows(event: Event, sessions: Any) -> dict[str, QuerySet]:
    """Every row of personal data about the event's attendees, by kind (`sessions`: the
    sessions whose people are meant: all of the event's, or those that have ended)."""
    registrations = Registration.objects.filter(session__in=sessions)
    survey = getattr(event, "survey", None)
    rows: dict[str, QuerySet] = {
        "registrations": registrations,
        "registration_history": RegistrationChange.objects.filter(
            registration__session__in=sessions
        ),
        "invitations": Invitation.objects.filter(event=event),
        "terms_acceptances": TermsAcceptance.objects.filter(event=event),
        "messages": Notification.objects.filter(
            Q(session__in=sessions)
            | Q(registration__session__in=sessions)
            | Q(invitation__event=event)
            | Q(survey_recipient__survey__event=event)
        ),
        "webhook_payloads": _webhook_rows(event=event),
        "calendar_answers": CalendarReply.objects.filter(
            Q(registration__session__in=sessions)
            | Q(uid__in=[ics.uid_for(s) for s in Session.objects.filter(pk__in=sessions)])
        ),
    }
    if survey is not None:
        responses = Response.objects.filter(questionnaire_id=survey.questionnaire_id).exclude(
            respondent__startswith=ANONYMISED
        )
        rows["survey_recipients"] = SurveyRecipient.objects.filter(survey=survey)
        rows["survey_responses"] = responses
        rows["free_text_answers"] = Answer.objects.filter(
            response__in=responses,
            question__kind__in=list(engine.MAX_TEXT),
            question__keep_text=False,
        )
    return rows


def _webhook_rows(*, event: Event | None = None, submissions: Any = None) -> QuerySet:
    erased = Q(payload__has_key="erased")
    if event is not None:
        about = (
            Q(payload__data__registration__event_id=event.pk)
            | Q(payload__data__invitation__event_id=event.pk)
            | Q(payload__data__response__event_id=event.pk)
        )
        return WebhookMessage.objects.filter(about, endpoint__team_id=event.team_id).exclude(erased)
    return WebhookMessage.objects.filter(payload__data__submission__id__in=submissions).exclude(
        erased
    )


def last_end(event: Event) -> datetime | None:
    return event.sessions.aggregate(last=Max("ends_at"))["last"]


def event_inventory(event: Event) -> Inventory:
    """What personal data the event holds (rows by kind) and when the sweep anonymises it."""
    ended = last_end(event)
    days = attendee_days(event)
    rows = _event_rows(event, event.sessions.all())
    counts = {kind: rows_.count() for kind, rows_ in rows.items()}
    kept: Counter[str] = Counter()
    for counted in event.sessions.values_list("kept_counts", flat=True):
        kept.update(counted or {})
    return Inventory(
        lines=[Line(kind, count) for kind, count in counts.items()],
        goes_at=ended + timedelta(days=days) if ended else None,
        days=days,
        last_end=ended,
        kept=dict(kept),
    )


def _call_due(call: OpenCall, now: datetime) -> QuerySet[Submission]:
    cutoff = now - timedelta(days=submission_days(call))
    return Submission.objects.filter(call=call).filter(
        Q(confirmed_at__isnull=True, created_at__lt=cutoff)
        & (Q(pending_at__isnull=True) | Q(pending_at__lt=cutoff))
        | Q(
            screening=Submission.Screening.DISQUALIFIED,
            confirmed_at__lt=cutoff,
        )
        & (Q(screened_at__isnull=True) | Q(screened_at__lt=cutoff))
    )


def call_inventory(call: OpenCall, *, now: datetime | None = None) -> Inventory:
    """What personal data the call holds and what goes by its policy: confirmed submissions
    stay as long as their people stay on the panel; unconfirmed and disqualified ones go
    M days after."""
    now = now or timezone.now()
    submissions = Submission.objects.filter(call=call)
    counts = submissions.aggregate(
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        unconfirmed=Count("pk", filter=Q(confirmed_at__isnull=True)),
        disqualified=Count("pk", filter=Q(screening=Submission.Screening.DISQUALIFIED)),
    )
    oldest = (
        submissions.filter(
            Q(confirmed_at__isnull=True) | Q(screening=Submission.Screening.DISQUALIFIED)
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    days = submission_days(call)
    return Inventory(
        lines=[
            Line("confirmed", counts["confirmed"]),
            Line("unconfirmed", counts["unconfirmed"]),
            Line("disqualified", counts["disqualified"]),
            Line(
                "messages",
                Notification.objects.filter(submission__call=call).count(),
            ),
        ],
        goes_at=oldest + timedelta(days=days) if oldest else None,
        days=days,
    )


# Anonymising an event


def _tally(registrations: QuerySet[Registration]) -> dict[int, Counter[str]]:
    """Per session: what statistics keep of the registrations about to go."""
    Status = Registration.Status
    per: dict[int, Counter[str]] = {}
    rows = registrations.values("session_id").annotate(
        registrations=Count("pk"),
        confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        waitlisted=Count("pk", filter=Q(waitlisted_at__isnull=False)),
        attended=Count("pk", filter=Q(status=Status.CONFIRMED, checked_in_at__isnull=False)),
        no_shows=Count("pk", filter=Q(no_show=True)),
        walk_ins=Count("pk", filter=Q(walk_in=True)),
    )
    for row in rows:
        values: dict[str, Any] = dict(row)
        session_id = values.pop("session_id")
        per[session_id] = Counter({k: v for k, v in values.items() if v})
    return per


def _keep_counts(per_session: dict[int, Counter[str]], now: datetime) -> None:
    """Add counts to what each session keeps for statistics (its row is locked already)."""
    for session_id, counts in per_session.items():
        if not counts:
            continue
        session = Session.objects.get(pk=session_id)
        kept = Counter(session.kept_counts or {})
        kept.update(counts)
        Session.objects.filter(pk=session_id).update(kept_counts=dict(kept), anonymised_at=now)


def _drop_registrations(registrations: QuerySet[Registration], now: datetime) -> dict[str, int]:
    """Registrations go (their answers, history and outbox rows with them), their counts
    stay on their sessions. Locked first: an organizer's correction either lands before
    (and is counted) or finds the row gone."""
    # The sessions' rows first, in the sign-up's order (a no-op when the caller holds them):
    # their kept counts are read and written back here.
    sessions = registrations.values_list("session_id", flat=True).distinct()
    list(
        Session.objects.select_for_update(no_key=True)
        .filter(pk__in=list(sessions))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(registrations.select_for_update().values_list("pk", flat=True))
    if not ids:
        return {}
    chosen = Registration.objects.filter(pk__in=ids)
    _keep_counts(_tally(chosen), now)
    tombstones.bury(chosen)
    counts = {
        "registration_history": RegistrationChange.objects.filter(registration_id__in=ids).count(),
        "messages": Notification.objects.filter(registration_id__in=ids).count(),
    }
    counts["registrations"] = chosen.delete()[1].get("events.Registration", 0)
    return counts


def _erase_webhooks(rows: QuerySet[WebhookMessage]) -> int:
    return rows.update(payload={"erased": True})


def _anonymise_survey(event: Event, now: datetime) -> dict[str, int]:
    survey = getattr(event, "survey", None)
    if survey is None:
        return {}
    recipients = SurveyRecipient.objects.filter(survey=survey)
    asked = recipients.values("session_id").annotate(
        surveyed=Count("pk", filter=Q(sent_at__isnull=False)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
    )
    _keep_counts(
        {
            row["session_id"]: Counter(
                {k: row[k] for k in ("surveyed", "opened", "answered") if row[k]}
            )
            for row in asked
        },
        now,
    )
    counts = {
        "messages": Notification.objects.filter(survey_recipient__survey=survey).delete()[0],
        "survey_recipients": recipients.delete()[1].get("events.SurveyRecipient", 0),
    }
    responses = Response.objects.filter(questionnaire_id=survey.questionnaire_id).exclude(
        respondent__startswith=ANONYMISED
    )
    free = Answer.objects.filter(
        response__in=responses,
        question__kind__in=list(engine.MAX_TEXT),
        question__keep_text=False,
    )
    erased_questions = set(free.values_list("question_id", flat=True).distinct())
    counts["free_text_answers"] = free.delete()[0]
    response_ids = tombstones.bury(responses)  # the API showed them with their person
    # A new random key each, and one time for all: neither names nor order of answering.
    for pk in response_ids:
        Response.objects.filter(pk=pk).update(
            respondent=f"{ANONYMISED}{secrets.token_urlsafe(18)}",
            created_at=now,
            updated_at=now,
        )
    counts["survey_responses"] = len(response_ids)
    if erased_questions:
        themes.answers_erased(question_ids=erased_questions)
    return counts


def _ready(event: Event, *, cutoff: datetime) -> bool:
    ended = last_end(event)
    return ended is not None and ended <= cutoff


@tombstones.reason(tombstones.Reason.ANONYMISED)
def _anonymise(event: Event, *, now: datetime, actor: User | None) -> dict[str, int]:
    """In the caller's transaction, with the event's row locked: every session's row next
    (the sign-up's lock order: the session, then its registrations), then the rows."""
    sessions = list(
        Session.objects.select_for_update(no_key=True)
        .filter(event=event)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts: Counter[str] = Counter()
    emails = list(
        Registration.objects.filter(session_id__in=sessions)
        .values_list(Lower("user__email"), flat=True)
        .distinct()
    )
    emails += list(Invitation.objects.filter(event=event).values_list(Lower("email"), flat=True))
    counts.update(_anonymise_survey(event, now))
    # The calendar answers about these sessions (they keep the sender's address), matched by
    # registration or, for those that matched none, by the session's calendar UID.
    uids = [ics.uid_for(s) for s in Session.objects.filter(pk__in=sessions).only("uid")]
    counts["calendar_answers"] += CalendarReply.objects.filter(
        Q(registration__session_id__in=sessions) | Q(uid__in=uids)
    ).delete()[0]
    counts.update(_drop_registrations(Registration.objects.filter(session_id__in=sessions), now))
    # The locked sessions' invitations, and event-wide ones made before this sweep began.
    invitations = Invitation.objects.filter(
        Q(session_id__in=sessions) | Q(session__isnull=True, created_at__lte=now), event=event
    )
    if invited := invitations.count():
        by_session = Counter(
            dict(
                invitations.filter(session__isnull=False)
                .values_list("session_id")
                .annotate(n=Count("pk"))
                .values_list("session_id", "n")
            )
        )
        _keep_counts({pk: Counter({"invited": n}) for pk, n in by_session.items()}, now)
        counts["messages"] += Notification.objects.filter(invitation__in=invitations).delete()[0]
        tombstones.remove(invitations)
        counts["invitations"] += invited
    counts["terms_acceptances"] += TermsAcceptance.objects.filter(
        event=event, accepted_at__lte=now
    ).delete()[0]
    counts["messages"] += Notification.objects.filter(session_id__in=sessions).delete()[0]
    counts["webhook_payloads"] += _erase_webhooks(_webhook_rows(event=event))
    result = {k: v for k, v in counts.items() if v}
    if result:
        RetentionLog.objects.create(
            team_id=event.team_id,
            kind=RetentionLog.Kind.EVENT,
            event=event,
            subject=event.title[:200],
            counts=result,
            actor=actor,
        )
        if emails:
            panel.refresh(team=event.team, emails=sorted(set(emails)), now=now)
    return result


@transaction.atomic
def anonymise_event_now(*, event: Event, actor: User, now: datetime | None = None) -> dict:
    """An owner's early anonymisation (after the confirmation step): only once the event's
    last session has ended, since people still coming need their places."""
    _owner(actor, event.team)
    now = now or timezone.now()
    panel.lock(event.team_id)  # before the event's rows, as the sweep (see panel.lock)
    event = Event.objects.select_for_update().select_related("team").get(pk=event.pk)
    ended = last_end(event)
    if ended is None:
        raise ServiceError(_("This event has no sessions: there is nothing to anonymise."))
    if ended > now:
        raise ServiceError(
            _(
                "This event's last session has not ended yet: its attendees' data is still "
                "needed. Anonymise it once the last session is over."
            )
        )
    removed = _anonymise(event, now=now, actor=actor)
    audit.record(
        actor=actor,
        action="event.anonymised",
        team=event.team_id,
        event=event,
        target=event,
        summary={"rows": sum(removed.values())},
    )
    return removed


def _events_due(now: datetime) -> list[int]:
    has_data = (
        Exists(Registration.objects.filter(session__event=OuterRef("pk")))
        | Exists(Invitation.objects.filter(event=OuterRef("pk")))
        | Exists(TermsAcceptance.objects.filter(event=OuterRef("pk")))
        | Exists(SurveyRecipient.objects.filter(survey__event=OuterRef("pk")))
        | Exists(
            Response.objects.filter(questionnaire__survey__event=OuterRef("pk")).exclude(
                respondent__startswith=ANONYMISED
            )
        )
    )
    rows = (
        Event.objects.annotate(last=Max("sessions__ends_at"))
        .filter(has_data, last__lt=now - timedelta(days=1))
        .values_list("pk", "last", "retention_attendee_days", "team__retention_attendee_days")
        .order_by("last", "pk")
    )
    return [pk for pk, last, own, team in rows if last <= now - timedelta(days=own or team)]


def sweep_events(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Anonymise the events whose time came, one transaction each, skipping an event
    another sweep (or an owner's early anonymisation) holds. Returns how many."""
    return _sweep_events(now=now or timezone.now(), batch=batch).events


def _anonymise_due(pk: int, now: datetime) -> bool:
    team_id = Event.objects.filter(pk=pk).values_list("team_id", flat=True).first()
    if team_id is None:
        return False
    with transaction.atomic():
        # The panel's lock first, then the event's rows: forget's order (see panel.lock).
        panel.lock(team_id)
        event = (
            Event.objects.select_for_update(skip_locked=True)
            .select_related("team")
            .filter(pk=pk)
            .first()
        )
        # Read again under the lock: a session added meanwhile moves the date.
        if event is None:
            return False
        if not _ready(event, cutoff=now - timedelta(days=attendee_days(event))):
            return False
        return bool(_anonymise(event, now=now, actor=None))


def _sweep_events(*, now: datetime, batch: int) -> Swept:
    swept = Swept()
    for pk in _events_due(now)[:batch]:
        try:
            swept.events += _anonymise_due(pk, now)
        except Exception:
            # Its transaction rolled back whole; the others go on, and the next run retries.
            log.exception("Retention: event %s could not be anonymised; retried next run.", pk)
            swept.failed += 1
            about = Event.objects.filter(pk=pk).values_list("team_id", "title").first()
            if about is not None:
                _failed_line(
                    team_id=about[0],
                    kind=RetentionLog.Kind.EVENT,
                    items=[f"event:{pk}"],
                    event_id=pk,
                    subject=about[1][:200],
                )
    return swept


# Open calls


@tombstones.reason(tombstones.Reason.ANONYMISED)
def _remove_submissions(ids: list[int]) -> dict[str, int]:
    counts = {
        "messages": Notification.objects.filter(submission_id__in=ids).delete()[0],
        "webhook_payloads": _erase_webhooks(_webhook_rows(submissions=ids)),
    }
    for submission in Submission.objects.filter(pk__in=ids):
        open_calls.withdraw(submission=submission)
    counts["submissions"] = len(ids)
    return counts


def _isolated(
    ids: list[int], remove: Callable[[list[int]], dict[str, int]], what: str
) -> tuple[Counter[str], list[int], list[int]]:
    """`remove(ids)` in a savepoint; if it fails, each id in its own, so that a bad row
    fails alone. Returns (counts, ids done, ids failed), each failure logged by id."""
    try:
        with transaction.atomic():
            return Counter(remove(ids)), ids, []
    except Exception:
        if len(ids) == 1:
            log.exception("Retention: %s %s could not be removed; retried next run.", what, ids[0])
            return Counter(), [], ids
    counts: Counter[str] = Counter()
    done, failed = [], []
    for pk in ids:
        try:
            with transaction.atomic():
                counts.update(remove([pk]))
        except Exception:
            log.exception("Retention: %s %s could not be removed; retried next run.", what, pk)
            failed.append(pk)
        else:
            done.append(pk)
    return counts, done, failed


def sweep_calls(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Unconfirmed and disqualified submissions past their call's time go, `batch` per
    transaction, skipping rows another transaction holds. Returns how many went."""
    return _sweep_calls(now=now or timezone.now(), batch=batch).submissions


def _sweep_calls(*, now: datetime, batch: int) -> Swept:
    swept = Swept()
    for call in OpenCall.objects.select_related("team").order_by("pk"):
        try:
            _sweep_call(call, now=now, batch=batch, swept=swept)
        except Exception:
            # Outside one submission (the panel's lock, the batch's query, the panel's
            # refresh): the batch rolled back, the other calls go on, the next run retries.
            log.exception("Retention: open call %s could not be swept; retried next run.", call.pk)
            swept.failed += 1
            _failed_line(
                team_id=call.team_id,
                kind=RetentionLog.Kind.CALL,
                items=[f"call:{call.pk}"],
                call=call,
                subject=call.title[:200],
            )
    return swept


def _sweep_call(call: OpenCall, *, now: datetime, batch: int, swept: Swept) -> None:
    failed: list[int] = []  # this run's failures: not picked again by the next batch
    while True:
        with transaction.atomic():
            panel.lock(call.team_id)  # before the submissions' rows (see panel.lock)
            ids = list(
                _call_due(call, now)
                .exclude(pk__in=failed)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return
            confirmed = dict(
                Submission.objects.filter(pk__in=ids, confirmed_at__isnull=False).values_list(
                    "pk", Lower("email")
                )
            )
            counts, done, broken = _isolated(ids, _remove_submissions, "submission")
            emails = [confirmed[pk] for pk in done if pk in confirmed]
            if emails:  # the panel forgets them now, not at the next rebuild
                panel.refresh(team=call.team, emails=emails, now=now)
            if broken:
                counts[FAILED] = len(broken)
            RetentionLog.objects.create(
                team_id=call.team_id,
                kind=RetentionLog.Kind.CALL,
                call=call,
                subject=call.title[:200],
                counts={k: v for k, v in counts.items() if v},
                failed_items=[f"submission:{pk}" for pk in broken],
            )
        # Counted once the batch is committed (a failure above rolled it back whole).
        failed += broken
        swept.submissions += len(done)
        swept.failed += len(broken)
        if len(ids) < batch:
            return


# The panel


def _last_contact() -> Any:
    """The latest sign of a panel member's relationship with the team: first seen, invited,
    attended, a confirmed submission or a registration, a renewed consent."""
    floor = Value(EPOCH, output_field=DateTimeField())
    submitted = Subquery(
        Submission.objects.filter(call__team=OuterRef("team"), confirmed_at__isnull=False)
        .annotate(address=Lower("email"))
        .filter(address=OuterRef("email"))
        .order_by("-confirmed_at")
        .values("confirmed_at")[:1]
    )
    registered = Subquery(
        Registration.objects.filter(session__event__team=OuterRef("team"), user=OuterRef("user"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    renewed = Subquery(
        PanelRenewal.objects.filter(team=OuterRef("team"), email=OuterRef("email")).values(
            "renewed_at"
        )[:1]
    )
    parts = [
        "first_seen_at",
        "last_contacted_at",
        "last_attended_at",
        submitted,
        registered,
        renewed,
    ]
    return Greatest(*[Coalesce(p, floor, output_field=DateTimeField()) for p in parts])


def _blocked() -> Exists:
    return Exists(ContactBlock.objects.filter(team=OuterRef("team"), email=OuterRef("email")))


def _asked_at() -> Subquery:
    return Subquery(
        PanelRenewal.objects.filter(team=OuterRef("team"), email=OuterRef("email")).values(
            "asked_at"
        )[:1]
    )


def _members(team: Team, quiet_since: datetime) -> Any:
    """The team's panel with, per person, their last contact, whether they are on the
    do-not-contact list and when they were asked to renew (typed Any: the stubs cannot
    follow annotations out of a function). Only people whose own columns show no contact
    since `quiet_since` are looked at: the subqueries then run for a few rows, not 200,000."""
    quiet = Q()
    for column in ("first_seen_at", "last_contacted_at", "last_attended_at"):
        quiet &= Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__lt": quiet_since})
    return PanelMember.objects.filter(quiet, team=team).annotate(
        last_contact=_last_contact(), blocked=_blocked(), asked_at=_asked_at()
    )


def renewal_token(renewal: PanelRenewal) -> str:
    return signing.dumps({"r": renewal.pk, "n": renewal.nonce}, salt=RENEWAL_SALT)


def from_renewal_token(token: str) -> tuple[PanelRenewal | None, str]:
    """(renewal, nonce) for a "keep me" link, or (None, "") if forged or too old."""
    try:
        data = signing.loads(token, salt=RENEWAL_SALT, max_age=RENEWAL_LINK_AGE)
        pk, nonce = int(data["r"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, ""
    return PanelRenewal.objects.select_related("team").filter(pk=pk).first(), nonce


def why_closed(renewal: PanelRenewal | None, nonce: str) -> str:
    """Why a "keep me" link no longer renews anything ('' while it does)."""
    if renewal is None:
        return _("You are no longer on this team's panel: there is nothing to keep.")
    if renewal.nonce != nonce:
        return _("This link is from an earlier email. Use the link in the latest one.")
    return ""


def ask_renewals(*, team: Team, now: datetime, batch: int = BATCH) -> int:
    """Mail the members who agreed to be contacted, RENEWAL_NOTICE before their removal,
    once per stretch without contact. Returns how many were asked."""
    return _ask_renewals(team=team, now=now, batch=batch, swept=Swept()).renewals_asked


def _ask_renewals(*, team: Team, now: datetime, batch: int, swept: Swept) -> Swept:
    days = team.retention_panel_days
    soon = now - max(timedelta(days=days) - RENEWAL_NOTICE, timedelta(0))
    asked = 0
    broken: list[int] = []
    with transaction.atomic():
        panel.lock(team)  # before the members' rows (see panel.lock)
        due = (
            _members(team, soon)
            .filter(consent=True, blocked=False, last_contact__lt=soon)
            .filter(Q(asked_at__isnull=True) | Q(asked_at__lt=_last_contact()))
            .order_by("pk")
        )
        members = list(due.select_for_update(skip_locked=True, of=("self",))[:batch])
        # Someone erased after asking not to be contacted, on the panel again (a new
        # submission, say): never mailed, but their clock runs as if asked, so they go
        # RENEWAL_NOTICE later like anyone who did not answer.
        silent = contact.suppressed(team.pk, [m.email for m in members])
        for member in members:
            try:
                with transaction.atomic():  # a savepoint: a bad member fails alone
                    asked += _ask(team, member, now, mail=member.email.lower() not in silent)
            except Exception:
                log.exception(
                    "Retention: panel member %s could not be asked to renew; retried next run.",
                    member.pk,
                )
                broken.append(member.pk)
    if broken:
        _failed_line(
            team_id=team.pk,
            kind=RetentionLog.Kind.PANEL,
            items=[f"panel_member:{pk}" for pk in broken],
        )
    swept.renewals_asked += asked
    swept.failed += len(broken)
    return swept


def _ask(team: Team, member: PanelMember, now: datetime, *, mail: bool) -> int:
    renewal, _created = PanelRenewal.objects.get_or_create(team=team, email=member.email)
    renewal.nonce = secrets.token_urlsafe(16)
    renewal.asked_at = now
    renewal.save(update_fields=["nonce", "asked_at"])
    if not mail:
        return 0
    owe.owe(
        kind=Notification.Kind.PANEL_RENEWAL,
        about=(f"renewal{renewal.pk}", renewal.nonce),
        email=member.email,
        payload={"nonce": renewal.nonce},
        recipient_id=member.user_id,
        panel_renewal=renewal,
        fresh=True,
    )
    return 1


@transaction.atomic
def keep_me(*, renewal: PanelRenewal, nonce: str, now: datetime | None = None) -> PanelRenewal:
    """The person's "keep me" (the POST of their link's page): renewed consent counts as
    contact, so the removal waits another K days."""
    renewal_ = PanelRenewal.objects.select_for_update().filter(pk=renewal.pk).first()
    reason = why_closed(renewal_, nonce)
    if reason:
        raise ServiceError(reason)
    assert renewal_ is not None
    renewal_.renewed_at = now or timezone.now()
    renewal_.save(update_fields=["renewed_at"])
    return renewal_


@tombstones.reason(tombstones.Reason.ANONYMISED)
def _remove_member(team: Team, member: PanelMember, now: datetime) -> Counter[str] | None:
    sources = panel.sources_of(team, member.email)
    registrations = Registration.objects.filter(
        pk__in=list(sources.registrations.values_list("pk", flat=True))
    )
    if registrations.filter(session__ends_at__gt=now).exists():
        return None  # still coming to a session: not out of contact
    counts: Counter[str] = Counter({"panel_members": 1})
    submissions = list(sources.submissions.values_list("pk", flat=True))
    counts.update(_remove_submissions(submissions))
    invitations = Invitation.objects.filter(
        pk__in=list(sources.invitations.values_list("pk", flat=True))
    )
    counts["messages"] += Notification.objects.filter(invitation__in=invitations).delete()[0]
    counts["invitations"] += invitation_service.drop(invitations)  # held seats go back first
    counts.update(_drop_registrations(registrations, now))
    PanelRenewal.objects.filter(team=team, email=member.email).delete()
    tombstones.bury(PanelMember.objects.filter(pk=member.pk))
    PanelMember.objects.filter(pk=member.pk).delete()
    return counts


def remove_panel_members(*, team: Team, now: datetime, batch: int = BATCH) -> int:
    """Members out of contact for K days go: those never asked (no consent, or on the
    do-not-contact list) at once, those asked only RENEWAL_NOTICE after the mail."""
    return _remove_panel_members(team=team, now=now, batch=batch, swept=Swept()).panel_members


def _remove_panel_members(*, team: Team, now: datetime, batch: int, swept: Swept) -> Swept:
    cutoff = now - timedelta(days=team.retention_panel_days)
    # Page by id: a member kept this time (still coming to a session) must not be picked
    # again and again by the next batch, which would never end.
    after = 0
    while True:
        with transaction.atomic():
            panel.lock(team)  # before the members' rows, as forget (see panel.lock)
            due = (
                _members(team, cutoff)
                .filter(pk__gt=after)
                .filter(last_contact__lt=cutoff)
                .filter(
                    Q(consent=False)
                    | Q(blocked=True)
                    | Q(asked_at__lte=now - RENEWAL_NOTICE, asked_at__gte=_last_contact())
                )
                .order_by("pk")
            )
            members = list(due.select_for_update(skip_locked=True, of=("self",))[:batch])
            counts: Counter[str] = Counter()
            broken: list[int] = []
            for member in members:
                try:
                    with transaction.atomic():  # a savepoint: a bad member fails alone
                        counts.update(_remove_member(team, member, now) or {})
                except Exception:
                    log.exception(
                        "Retention: panel member %s could not be removed; retried next run.",
                        member.pk,
                    )
                    counts[FAILED] += 1
                    broken.append(member.pk)
            if counts:
                RetentionLog.objects.create(
                    team=team,
                    kind=RetentionLog.Kind.PANEL,
                    counts=dict(counts),
                    failed_items=[f"panel_member:{pk}" for pk in broken],
                )
        # Counted once the batch is committed (a failure above rolled it back whole).
        if members:
            after = members[-1].pk  # a failed member is passed too, until the next run
        swept.panel_members += counts["panel_members"]
        swept.failed += counts[FAILED]
        if len(members) < batch:
            return swept


# The sweep


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> Swept:
    """Beat's retention sweep (hourly): safe to run twice, and at once in two workers; an
    item that fails is counted (`failed`) and retried at the next run."""
    now = now or timezone.now()
    swept = _sweep_events(now=now, batch=batch)
    calls = _sweep_calls(now=now, batch=batch)
    swept.submissions, swept.failed = calls.submissions, swept.failed + calls.failed
    swept.tombstones = tombstones.purge(now=now)
    for team in Team.objects.order_by("pk"):
        for step in (_ask_renewals, _remove_panel_members):
            try:
                step(team=team, now=now, batch=batch, swept=swept)
            except Exception:
                # Outside one member (the panel's lock, the query of who is due): this
                # team's panel waits for the next run, the other teams' go on.
                log.exception(
                    "Retention: the panel of team %s could not be swept; retried next run.",
                    team.pk,
                )
                swept.failed += 1
                _failed_line(
                    team_id=team.pk, kind=RetentionLog.Kind.PANEL, items=[f"panel:{team.pk}"]
                )
    return swept


def log_of(team: Team) -> QuerySet[RetentionLog]:
    return RetentionLog.objects.filter(team=team).select_related("event", "call", "actor")
