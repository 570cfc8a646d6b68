"""Follow-up surveys: building one for an event, sending it after each session through the
outbox, the one-click link, answering, reminders, and results with anonymity kept.

The questions, answers and figures are the question engine's (services.questionnaire); this
module decides who is asked, when, and who may see what."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User

from ..models import (
    Answer,
    Event,
    Notification,
    Question,
    Registration,
    Response,
    Session,
    Survey,
    SurveyRecipient,
    SurveySending,
    Team,
)
from ..ordering import BY_NAME
from ..outbox import owe
from ..outbox.webhooks import emit as emit_webhook
from ..timefmt import deadline_text
from . import ServiceError, audit, themes, tombstones
from . import questionnaire as engine

TOKEN_SALT = "events.survey"  # noqa: S105 - a signing namespace, not a secret
ANONYMITY_THRESHOLD = 3
MAX_SEND_AFTER_HOURS = 24 * 30
MAX_REMINDER_DAYS = 60
# A survey, and every link it sent, stays open at most this long after the event's last
# session ends: the latest mail the settings allow (30 days after) and its latest reminder
# (60 days later) both fall within it, and no link need live on after that.
MAX_OPEN_DAYS = MAX_SEND_AFTER_HOURS // 24 + MAX_REMINDER_DAYS
Kind = Question.Kind

# Written in the team's language when the survey is made; the organizers' text from then on.
STARTER_QUESTIONS = [
    (Kind.RATING, gettext_lazy("Overall, how would you rate this session?"), True),
    (Kind.NPS, gettext_lazy("How likely are you to recommend it to a fellow developer?"), False),
    (Kind.LONG_TEXT, gettext_lazy("What was most useful?"), False),
    (Kind.LONG_TEXT, gettext_lazy("What should we change or improve?"), False),
]


# Building and settings


@transaction.atomic
def create_survey(*, event: Event, actor: User) -> Survey:
    """Give an event its survey (one per event), with a few starter questions the organizers
    can reword or remove. It is not sent until they turn sending on."""
    Event.objects.select_for_update().get(pk=event.pk)
    existing = Survey.objects.filter(event=event).first()
    if existing:
        return existing
    last_end = event.sessions.aggregate(last=Max("ends_at"))["last"]
    closes_at = max(last_end or timezone.now(), timezone.now()) + timedelta(days=30)
    survey = Survey.objects.create(
        event=event, questionnaire=engine.create_questionnaire(), closes_at=closes_at
    )
    with translation.override(event.team.language or None):
        for kind, label, required in STARTER_QUESTIONS:
            engine.add_question(
                questionnaire=survey.questionnaire, label=str(label), kind=kind, required=required
            )
    _schedule(survey)
    _audit(actor, "survey.created", survey, event_id=event.pk)
    return survey


def _audit(actor: User, action: str, survey: Survey, *, event_id: int, **summary: Any) -> None:
    team_id = Event.objects.values_list("team_id", flat=True).get(pk=event_id)
    audit.record(
        actor=actor, action=action, team=team_id, event=event_id, target=survey, summary=summary
    )


SETTINGS = {
    "intro",
    "send_after_hours",
    "audience",
    "reminder_after_days",
    "closes_at",
    "anonymous",
}


@transaction.atomic
def update_settings(*, survey: Survey, actor: User, **changes: Any) -> Survey:
    """Change when and to whom the survey goes. Sessions not yet sent follow the new delay.
    Anonymity cannot be turned off once someone has answered under it."""
    unknown = set(changes) - SETTINGS
    if unknown:
        raise ServiceError(
            _("Unknown settings: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    hours = changes.get("send_after_hours", survey.send_after_hours)
    days = changes.get("reminder_after_days", survey.reminder_after_days)
    if not 0 <= hours <= MAX_SEND_AFTER_HOURS:
        raise ServiceError(
            _("Send between 0 and %(most)s hours after a session.") % {"most": MAX_SEND_AFTER_HOURS}
        )
    if not 0 <= days <= MAX_REMINDER_DAYS:
        raise ServiceError(
            _("Remind within %(most)s days (0: no reminder).") % {"most": MAX_REMINDER_DAYS}
        )
    if changes.get("audience", survey.audience) not in Survey.Audience.values:
        raise ServiceError(_("Unknown audience."))
    if (
        survey.anonymous
        and changes.get("anonymous") is False
        and survey.questionnaire.responses.exists()
    ):
        raise ServiceError(
            _("People answered this survey on the promise of anonymity: it stays anonymous.")
        )
    closes_at = changes.get("closes_at", survey.closes_at)
    if closes_at != survey.closes_at:
        # Only a new date is checked: one set before (or left past the bound by sessions
        # moved earlier) does not block saving the other settings.
        _check_closing(survey, closes_at)
    reminder_changed = days != survey.reminder_after_days
    before = audit.snapshot(survey, set(changes))
    for name, value in changes.items():
        setattr(survey, name, value)
    survey.save()
    if diff := audit.changes(before, audit.snapshot(survey, before)):
        _audit(actor, "survey.settings_changed", survey, event_id=survey.event_id, changes=diff)
    _schedule(survey)
    if reminder_changed:
        _replan_reminders(survey)
    return survey


def _check_closing(survey: Survey, closes_at: datetime) -> None:
    """Links live until the survey closes, so its closing date is bounded: at most
    MAX_OPEN_DAYS after the last session that takes place (from now, while it has none)."""
    sessions = survey.event.sessions.exclude(status=Session.Status.CANCELLED)
    last_end = sessions.aggregate(last=Max("ends_at"))["last"] or timezone.now()
    latest = last_end + timedelta(days=MAX_OPEN_DAYS)
    if closes_at > latest:
        raise ServiceError(
            _(
                "A survey closes at most %(days)s days after the event's last session ends: "
                "%(latest)s at the latest."
            )
            % {"days": MAX_OPEN_DAYS, "latest": deadline_text(latest, survey.event.timezone)}
        )


def _replan_reminders(survey: Survey) -> None:
    """Reminders not yet sent follow a changed delay (or stop, when turned off): each is due
    that long after the person was asked, never at or after closing."""
    planned = SurveyRecipient.objects.filter(
        survey=survey, reminded_at__isnull=True, answered_at__isnull=True
    )
    days = survey.reminder_after_days
    planned.update(remind_at=F("created_at") + timedelta(days=days) if days else None)
    planned.filter(remind_at__gte=survey.closes_at).update(remind_at=None)


@transaction.atomic
def start_sending(*, survey: Survey, actor: User) -> Survey:
    """Turn sending on: each session's attendees get it `send_after_hours` after it ends
    (at once for sessions that ended long enough ago)."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if not survey.questionnaire.questions.exists():
        raise ServiceError(_("Add at least one question before sending the survey."))
    if survey.closes_at <= timezone.now():
        raise ServiceError(_("The survey has closed: move its closing date first."))
    survey.is_active = True
    survey.save(update_fields=["is_active", "updated_at"])
    _schedule(survey)
    _audit(actor, "survey.sending_started", survey, event_id=survey.event_id)
    return survey


@transaction.atomic
def stop_sending(*, survey: Survey, actor: User) -> Survey:
    """Turn sending off: nothing more goes out; links already sent keep working until the
    survey closes."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    survey.is_active = False
    survey.save(update_fields=["is_active", "updated_at"])
    SurveySending.objects.filter(survey=survey, sent_at__isnull=True).update(due_at=None)
    _audit(actor, "survey.sending_stopped", survey, event_id=survey.event_id)
    return survey


def _due_at(survey: Survey, session: Session) -> datetime | None:
    if not survey.is_active or session.is_cancelled:
        return None
    return session.ends_at + timedelta(hours=survey.send_after_hours)


def _schedule(survey: Survey) -> None:
    """Set each unsent session's due time from the survey's settings (a few sessions per
    event: one small write each)."""
    sent = set(
        SurveySending.objects.filter(survey=survey, sent_at__isnull=False).values_list(
            "session_id", flat=True
        )
    )
    for session in survey.event.sessions.exclude(pk__in=sent):
        SurveySending.objects.update_or_create(
            session=session, defaults={"survey": survey, "due_at": _due_at(survey, session)}
        )


def session_changed(session: Session) -> None:
    """A session moved or was cancelled (or was just created): its survey follows, unless it
    already went out. Called by the scheduling service inside its transaction."""
    survey = Survey.objects.filter(event_id=session.event_id).first()
    if survey is None:
        return
    if SurveySending.objects.filter(session=session, sent_at__isnull=False).exists():
        return
    SurveySending.objects.update_or_create(
        session=session, defaults={"survey": survey, "due_at": _due_at(survey, session)}
    )


# Sending


def _attendees(survey: Survey, session: Session) -> QuerySet:
    people = Registration.objects.filter(session=session, status=Registration.Status.CONFIRMED)
    if survey.audience == Survey.Audience.AUTO and survey.event.checkin_enabled:
        people = people.filter(checked_in_at__isnull=False)
    return people


def _invite(survey: Survey, registrations: list[Registration], now: datetime) -> list[int]:
    """Create the recipients (one per person per survey: those already asked are skipped)
    and owe each the survey email, in bulk."""
    asked = set(
        SurveyRecipient.objects.filter(
            survey=survey, user_id__in=[r.user_id for r in registrations]
        ).values_list("user_id", flat=True)
    )
    remind_at = None
    if survey.reminder_after_days:
        remind_at = now + timedelta(days=survey.reminder_after_days)
        if remind_at >= survey.closes_at:
            remind_at = None
    fresh = {}
    for registration in registrations:
        if registration.user_id not in asked and registration.user_id not in fresh:
            fresh[registration.user_id] = SurveyRecipient(
                survey=survey,
                user_id=registration.user_id,
                session_id=registration.session_id,
                remind_at=remind_at,
            )
    recipients = SurveyRecipient.objects.bulk_create(list(fresh.values()))
    emails = dict(
        Registration.objects.filter(pk__in=[r.pk for r in registrations]).values_list(
            "user_id", "user__email"
        )
    )
    return owe.owe_many(
        kind=Notification.Kind.SURVEY,
        rows=[
            owe.Owed(
                about=(f"svr{r.pk}",),
                email=emails[r.user_id],
                recipient_id=r.user_id,
                session_id=r.session_id,
                survey_recipient_id=r.pk,
            )
            for r in recipients
        ],
    )


def _lock_due(queryset: QuerySet) -> QuerySet:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def queue_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """The beat sweep: each session whose survey is due gets it sent to its attendees, once.
    Returns how many emails were owed."""
    now = now or timezone.now()
    owed = 0
    ids = list(
        SurveySending.objects.filter(due_at__lte=now, sent_at__isnull=True).values_list(
            "pk", flat=True
        )[:limit]
    )
    for pk in ids:
        owed += _send_for_session(pk, now)
    return owed


@transaction.atomic
def _send_for_session(sending_id: int, now: datetime) -> int:
    sending = (
        _lock_due(SurveySending.objects.filter(pk=sending_id, sent_at__isnull=True))
        .select_related("session__event")
        .first()
    )
    if sending is None or sending.due_at is None or sending.due_at > now:
        return 0  # another sweep took it, or it moved
    # One survey at a time: two sessions of the same event never ask one person twice.
    survey = Survey.objects.select_for_update().get(pk=sending.survey_id)
    session = sending.session
    if not survey.is_active or session.is_cancelled or survey.closes_at <= now:
        sending.due_at = None
        sending.save(update_fields=["due_at"])
        return 0
    survey.event = session.event
    ids = _invite(survey, list(_attendees(survey, session)), now)
    sending.due_at, sending.sent_at = None, now
    sending.save(update_fields=["due_at", "sent_at"])
    return len(ids)


def include_late_attendee(registration: Registration) -> None:
    """Someone was checked in (or corrected to attended) after their session's survey went
    out: they are owed it too. Called by the attendance service in its transaction."""
    sending = (
        SurveySending.objects.filter(session_id=registration.session_id, sent_at__isnull=False)
        .select_related("survey")
        .first()
    )
    if sending is None:
        return
    survey = Survey.objects.select_for_update().get(pk=sending.survey_id)
    if survey.is_active and survey.closes_at > timezone.now():
        _invite(survey, [registration], timezone.now())


@transaction.atomic
def queue_reminders(*, now: datetime | None = None) -> int:
    """The beat sweep: one reminder to each person who has not answered when it is due."""
    now = now or timezone.now()
    due = list(
        _lock_due(
            SurveyRecipient.objects.filter(
                remind_at__lte=now,
                answered_at__isnull=True,
                survey__closes_at__gt=now,
                survey__is_active=True,
            )
        )
        .select_related("user")
        .order_by("pk")[:500]
    )
    if not due:
        return 0
    # Rows already owed (a sweep that ran twice) are left as they are.
    owe.owe_many(
        kind=Notification.Kind.SURVEY_REMINDER,
        rows=[
            owe.Owed(
                about=(f"svr{r.pk}",),
                email=r.user.email,
                recipient_id=r.user_id,
                session_id=r.session_id,
                survey_recipient_id=r.pk,
            )
            for r in due
        ],
        ignore_conflicts=True,
    )
    SurveyRecipient.objects.filter(pk__in=[r.pk for r in due]).update(
        remind_at=None, reminded_at=now
    )
    return len(due)


@transaction.atomic
def resend(*, recipient: SurveyRecipient, actor: User) -> Notification:
    """Send the survey again to someone who has not answered (they lost the email). The
    link stays the same: both mails go to the same person, so a new one would protect
    nothing, and the first mail, found again in a spam folder, must still work."""
    recipient = (
        SurveyRecipient.objects.select_for_update()
        .select_related("survey", "user")
        .get(pk=recipient.pk)
    )
    survey = recipient.survey
    if survey.anonymous:
        raise ServiceError(_("The survey is anonymous: who has answered is not shown or used."))
    if recipient.answered_at:
        raise ServiceError(_("%(name)s has already answered.") % {"name": recipient.user.name})
    if survey.closes_at <= timezone.now():
        raise ServiceError(_("The survey has closed."))
    recipient.resent += 1
    recipient.save(update_fields=["resent"])
    _audit(
        actor,
        "survey.resent",
        survey,
        event_id=survey.event_id,
        recipient=recipient.pk,
        user=recipient.user_id,
    )
    return owe.owe(
        kind=Notification.Kind.SURVEY,
        about=(f"svr{recipient.pk}", f"resend{recipient.resent}"),
        email=recipient.user.email,
        recipient=recipient.user,
        session_id=recipient.session_id,
        survey_recipient=recipient,
        fresh=True,  # `resent` was just raised
    )


def still_relevant(recipient: SurveyRecipient, kind: str) -> str:
    """Why a survey email no longer makes sense ('' when it does)."""
    if recipient.survey.closes_at <= timezone.now():
        return "The survey closed before the mail went out."
    if kind == Notification.Kind.SURVEY_REMINDER and recipient.answered_at:
        return "They answered before the reminder went out."
    return ""


# The one-click link
#
# A link expires when its survey closes, not at a fixed age: it works for as long as the
# survey takes answers (`is_open`, checked on every use), so moving the closing date moves
# every link with it, either way. The signature keeps the link to one person (recipient id
# and nonce) and one survey, and refuses it once altered; the timestamp signing.dumps puts
# in it is left unchecked (links already mailed carry one, so the format stays).
#
# A survey without a closing date cannot exist: `closes_at` is required, create_survey
# sets it 30 days after the last session, and update_settings keeps a new one within
# MAX_OPEN_DAYS of the last session's end, so no link lives forever. Were the closing ever
# made optional, "no closing date" must not become "a link that never expires": such a
# survey should get a closing computed from its last session rather than unbounded links.
# To kill one person's link before closing, change their nonce.


def token_for(recipient: SurveyRecipient) -> str:
    return signing.dumps(
        {"r": recipient.pk, "s": recipient.survey_id, "n": recipient.nonce}, salt=TOKEN_SALT
    )


def from_token(token: str) -> SurveyRecipient | None:
    """The person and survey a link is for, or None for a forged or altered link, or one
    whose nonce was changed. However old, it is valid while the survey is open: callers
    check `is_open` (the answer page shows a closed survey's link the closed page)."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
        pk, survey_id, nonce = int(data["r"]), int(data["s"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    recipient = (
        SurveyRecipient.objects.select_related("survey__event", "survey__questionnaire", "user")
        .filter(pk=pk, survey_id=survey_id, nonce=nonce)
        .first()
    )
    return recipient


def open_for(*, user: User, now: datetime | None = None) -> dict[int, SurveyRecipient]:
    """The surveys `user` was sent and can still answer, by the session each was sent for
    (so "My sessions" can link to them beside that session)."""
    now = now or timezone.now()
    recipients = SurveyRecipient.objects.filter(user=user, survey__closes_at__gt=now)
    return {recipient.session_id: recipient for recipient in recipients}


def is_open(survey: Survey, now: datetime | None = None) -> bool:
    return survey.closes_at > (now or timezone.now())


def mark_opened(recipient: SurveyRecipient) -> None:
    if recipient.opened_at is None:
        recipient.opened_at = timezone.now()
        SurveyRecipient.objects.filter(pk=recipient.pk, opened_at__isnull=True).update(
            opened_at=recipient.opened_at
        )


def respondent_key(recipient: SurveyRecipient) -> str:
    return f"user{recipient.user_id}"


def saved_answers(recipient: SurveyRecipient) -> dict:
    return engine.answers_of(recipient.response)


@transaction.atomic
def answer(*, recipient: SurveyRecipient, answers: dict[int, Any]) -> Response:
    """Keep a person's answers from their link (as the answers form cleaned them): their
    single response is created or updated. Refused once the survey has closed; answers to
    questions it does not ask raise engine.AnswerErrors."""
    recipient = (
        SurveyRecipient.objects.select_for_update().select_related("survey").get(pk=recipient.pk)
    )
    survey = recipient.survey
    if not is_open(survey):
        raise ServiceError(_("This survey has closed; thank you all the same."))
    response, _created = engine.save_response(
        questionnaire=survey.questionnaire, respondent=respondent_key(recipient), answers=answers
    )
    now = timezone.now()
    SurveyRecipient.objects.filter(pk=recipient.pk).update(
        response=response,
        answered_at=now,
        remind_at=None,
        opened_at=recipient.opened_at or now,
    )
    themes.answers_changed(survey.questionnaire_id)
    recipient.response, recipient.answered_at = response, now
    emit_webhook("survey.response", about=recipient)
    return response


@transaction.atomic
def forget_respondent(*, user: User, team: Team | None = None) -> int:
    """The person deleted their account (or asked `team` to forget them): what they answered
    (in the team's surveys) is theirs to take with them. Returns how many responses went or
    were anonymised.

    A named survey's response goes whole: organizers saw it beside the name. An anonymous
    survey's response loses its free text (words can name their writer) and keeps its
    ratings and choices, under a new random respondent key: organizers never saw them
    beside anyone, figures already read stay true, and nothing left links them to anyone.
    Called before the person's rows go (their survey recipients go with the user row; the
    response would otherwise stay behind, detached but whole)."""
    recipients = SurveyRecipient.objects.filter(user=user, response__isnull=False)
    if team is not None:
        recipients = recipients.filter(survey__event__team=team)
    # A named survey's response goes, an anonymous one was never shown with its person.
    tombstones.bury(Response.objects.filter(pk__in=recipients.values("response_id")))
    erased: set[int] = set()
    count = 0
    for recipient in recipients.select_related("survey"):
        erased.add(recipient.survey.questionnaire_id)
        response_id = recipient.response_id
        assert response_id is not None  # only recipients with a response are selected
        if recipient.survey.anonymous:
            Answer.objects.filter(
                response_id=response_id, question__kind__in=list(engine.MAX_TEXT)
            ).delete()
            Response.objects.filter(pk=response_id).update(
                respondent=f"forgotten:{secrets.token_urlsafe(16)}"
            )
        else:
            Response.objects.filter(pk=response_id).delete()
        count += 1
    # Their free text leaves the surveys' themes too (at once on the page, fully once
    # recomputed).
    themes.answers_erased(questionnaire_ids=erased)
    if team is not None:
        # The team's record that they were asked goes too (with an account, it goes with
        # the user row).
        count += SurveyRecipient.objects.filter(user=user, survey__event__team=team).delete()[0]
    return count


# Reading results


@dataclass(frozen=True)
class Rate:
    sent: int
    opened: int
    answered: int

    def share(self, part: int) -> int:
        return round(100 * part / self.sent) if self.sent else 0


@dataclass(frozen=True)
class SurveyResults:
    rate: Rate
    results: engine.Results | None
    hidden_reason: str = ""


def _recipient_filter(
    survey: Survey, *, session_id: int | None, role: str | None, through: str = ""
) -> Q:
    """The survey's recipients, or one session's or role's share; `through` is the path to
    the recipient from the model filtered (e.g. from a Response)."""
    condition = Q(**{f"{through}survey": survey})
    if session_id:
        condition &= Q(**{f"{through}session_id": session_id})
    if role:
        condition &= Q(**{f"{through}user__role": role})
    return condition


def _recipients(survey: Survey, *, session_id: int | None, role: str | None) -> QuerySet:
    return SurveyRecipient.objects.filter(
        _recipient_filter(survey, session_id=session_id, role=role)
    )


def rate(*, survey: Survey, session_id: int | None = None, role: str | None = None) -> Rate:
    """How many people the survey (or one session's or role's share of it) was sent to,
    how many opened the link and how many answered: one query."""
    counts = _recipients(survey, session_id=session_id, role=role).aggregate(
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
    )
    if role is None:
        # Sessions whose people were anonymised (services.retention) keep these as counts.
        sessions = Session.objects.filter(event_id=survey.event_id, anonymised_at__isnull=False)
        if session_id:
            sessions = sessions.filter(pk=session_id)
        for kept in sessions.values_list("kept_counts", flat=True):
            counts["sent"] += (kept or {}).get("surveyed", 0)
            counts["opened"] += (kept or {}).get("opened", 0)
            counts["answered"] += (kept or {}).get("answered", 0)
    return Rate(**counts)


def withheld(
    *,
    survey: Survey,
    session_id: int | None = None,
    role: str | None = None,
    answered: int | None = None,
) -> str:
    """Why a breakdown's answers may not be shown ('' when they may). In an anonymous survey
    a breakdown with fewer than ANONYMITY_THRESHOLD respondents is withheld: with so few, the
    answers would say who gave them."""
    if not survey.anonymous or not (session_id or role):
        return ""
    if answered is None:
        answered = rate(survey=survey, session_id=session_id, role=role).answered
    if answered >= ANONYMITY_THRESHOLD:
        return ""
    return _(
        "Fewer than %(n)s people answered in this group. The survey is anonymous, so their "
        "answers are not shown on their own."
    ) % {"n": ANONYMITY_THRESHOLD}


def results(
    *, survey: Survey, session_id: int | None = None, role: str | None = None
) -> SurveyResults:
    """The figures for the survey, or for one session or role (see `withheld`)."""
    counts = rate(survey=survey, session_id=session_id, role=role)
    reason = withheld(survey=survey, session_id=session_id, role=role, answered=counts.answered)
    if reason:
        return SurveyResults(counts, None, reason)
    responses = None
    if session_id or role:
        recipients = _recipients(survey, session_id=session_id, role=role)
        responses = Response.objects.filter(
            survey_recipient__in=recipients.filter(response__isnull=False)
        )
    figures = engine.results(
        questionnaire=survey.questionnaire, responses=responses, anonymous=survey.anonymous
    )
    return SurveyResults(counts, figures)


def non_responders(*, survey: Survey) -> QuerySet:
    if survey.anonymous:
        return SurveyRecipient.objects.none()
    return (
        SurveyRecipient.objects.filter(survey=survey, answered_at__isnull=True)
        .select_related("user", "session")
        .order_by(BY_NAME, "pk")
    )


def csv_rows(*, survey: Survey, session_id: int | None = None, role: str | None = None):
    """All answers, one row per response. Anonymous surveys carry no name, email, session or
    role: a column of those beside the answers would undo the anonymity. Nor the time of
    answering: set beside who left a session when, or who was seen at the form, it names
    people too, and even a coarse day points to the session when sessions fall on
    different days. Nor a response id or any order: ids and their order are the order of
    answering, so an anonymous export is shuffled (the engine's `anonymous`). Named surveys
    keep all of it."""
    # Joined to the recipients directly (no `IN (SELECT ...)` of them) and bounded on
    # their response_id as well as on the response's id: each chunk then starts in both
    # indexes where the last one stopped, and the export grows linearly.
    responses = Response.objects.filter(
        _recipient_filter(survey, session_id=session_id, role=role, through="survey_recipient__"),
        questionnaire=survey.questionnaire,
    )
    columns = []
    if not survey.anonymous:
        columns = [
            ("Name", "survey_recipient__user__display_name"),
            ("Email", "survey_recipient__user__email"),
            ("Role", "survey_recipient__user__role"),
            ("Session starts (UTC)", "survey_recipient__session__starts_at"),
        ]
    return engine.csv_rows(
        questionnaire=survey.questionnaire,
        responses=responses,
        columns=columns,
        same_id=("survey_recipient__response_id",),
        anonymous=survey.anonymous,
    )
