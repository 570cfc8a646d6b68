"""Open calls: a public form (the question engine's questions plus standard profile fields)
whose confirmed submissions become the pool organizers review, tag and invite from.

Rules kept here: a submission joins the pool only once its email is confirmed (double
opt-in), and a new submission from an address changes nothing until that address confirms it;
one submission per email per call; withdrawing deletes it; unconfirmed ones are purged after
PURGE_AFTER; confirmation emails per address are limited."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import User

from ..models import (
    Answer,
    Invitation,
    Notification,
    OpenCall,
    PoolTag,
    Question,
    Registration,
    Response,
    Review,
    Submission,
    Team,
    ThemeAnswer,
)
from ..models.open_call import new_nonce
from ..outbox import owe
from ..outbox.webhooks import emit as emit_webhook
from ..permissions import may
from . import ServiceError, audit, themes, tombstones
from . import call_screening as screening
from . import questionnaire as engine

PURGE_AFTER = timedelta(days=7)
CONFIRM_MAX_AGE = timedelta(days=7)
WITHDRAW_MAX_AGE = timedelta(days=730)
CONFIRMATIONS_PER_HOUR = 3
MAX_TAGS = 10
PROFILE_FIELDS = (
    "name",
    "role",
    "affiliation",
    "github_handle",
    "location",
    "join_feedback",
    "join_demo",
    "consent",
)
Kind = Notification.Kind


class TooMany(ServiceError):
    """Refused for volume (the view answers 429)."""


# Organizers: the call itself


CALL_FIELDS = {"title", "slug", "intro", "opens_at", "closes_at", "ask_join", "consent_text"}


def _check_window(opens_at, closes_at) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise ServiceError(_("The call must close after it opens."))


@transaction.atomic
def create_call(*, team: Team, actor: User, **fields: Any) -> OpenCall:
    if not may(actor, "call.create", team):
        raise ServiceError(_("Only the team's owners and organizers can create open calls."))
    if set(fields) - CALL_FIELDS:
        raise ServiceError(_("Unknown fields."))
    _check_window(fields.get("opens_at"), fields.get("closes_at"))
    if OpenCall.objects.filter(slug=fields.get("slug")).exists():
        raise ServiceError(_("Another call already uses this short name."))
    call = OpenCall.objects.create(team=team, questionnaire=engine.create_questionnaire(), **fields)
    audit.record(
        actor=actor,
        action="call.created",
        team=team,
        target=call,
        summary={"fields": audit.snapshot(call, ["title", "slug"])},
    )
    return call


@transaction.atomic
def update_call(*, call: OpenCall, actor: User, **fields: Any) -> OpenCall:
    if set(fields) - CALL_FIELDS:
        raise ServiceError(_("Unknown fields."))
    call = OpenCall.objects.select_for_update().get(pk=call.pk)
    _check_window(fields.get("opens_at", call.opens_at), fields.get("closes_at", call.closes_at))
    if "slug" in fields and OpenCall.objects.filter(slug=fields["slug"]).exclude(pk=call.pk):
        raise ServiceError(_("Another call already uses this short name."))
    before = audit.snapshot(call, set(fields))
    for name, value in fields.items():
        setattr(call, name, value)
    call.save()
    if diff := audit.changes(before, audit.snapshot(call, before)):
        audit.record(
            actor=actor,
            action="call.updated",
            team=call.team_id,
            target=call,
            summary={"changes": diff},
        )
    return call


@transaction.atomic
def set_status(*, call: OpenCall, actor: User, published: bool) -> OpenCall:
    if published and not may(actor, "call.publish", call):
        raise ServiceError(_("Only the team's owners and organizers can publish an open call."))
    call = OpenCall.objects.select_for_update().get(pk=call.pk)
    if published and not call.questionnaire.questions.exists() and not call.ask_join:
        raise ServiceError(_("Add at least one question before publishing the call."))
    was = call.status
    call.status = OpenCall.Status.PUBLISHED if published else OpenCall.Status.DRAFT
    call.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor,
        action="call.published" if published else "call.unpublished",
        team=call.team_id,
        target=call,
        summary={"changes": audit.changes({"status": was}, {"status": call.status})},
    )
    return call


# Respondents


def refusal(call: OpenCall, now: datetime | None = None) -> str:
    """Why the call takes no submissions now ('' when it does)."""
    now = now or timezone.now()
    if call.status != OpenCall.Status.PUBLISHED:
        return _("This call is not open.")
    if call.opens_at and now < call.opens_at:
        # Translators: a Django date format for the day a call opens: "05 Dec 2026".
        day = dateformat.format(call.opens_at, pgettext("date format", "d M Y"))
        return _("This call opens on %(day)s.") % {"day": day}
    if call.closes_at and now >= call.closes_at:
        return _("This call has closed. Thank you for your interest.")
    return ""


@dataclass(frozen=True)
class Submitted:
    submission: Submission
    confirmed: bool  # True: no email round trip was needed (a verified account's address)


def _verified(user: User | None, email: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


@transaction.atomic
def submit(
    *,
    call: OpenCall,
    email: str,
    profile: dict[str, Any],
    answers: dict[int, Any],
    user: User | None = None,
    language: str = "",
) -> Submitted:
    """Take a submission (profile fields as the form cleaned them, answers as the engine
    cleaned them). It waits for its email to be confirmed, unless the person is logged in
    with that address verified. Submitting again replaces what was submitted. `language`
    is the one the form was filled in: the call's mails to this person are written in it."""
    call = OpenCall.objects.select_for_update().get(pk=call.pk)
    reason = refusal(call)
    if reason:
        raise ServiceError(reason)
    email = (email or "").strip().lower()
    if not email or set(profile) - set(PROFILE_FIELDS):
        raise ServiceError(_("The submission is incomplete."))
    asked = set(call.questionnaire.questions.values_list("pk", flat=True))
    if set(answers) - asked:
        raise engine.AnswerErrors({None: _("The answers do not belong to this form.")})
    now = timezone.now()
    pending = {"profile": profile, "answers": {str(k): v for k, v in answers.items()}}
    submission = Submission.objects.filter(call=call, email=email).first()
    if submission is None:
        submission = Submission.objects.create(
            call=call,
            email=email,
            pending=pending,
            pending_at=now,
            submitted_at=now,
            language=language,
        )
    else:
        # Anyone may type this address: what is in the pool, its date included, stays as
        # it is until the mailbox confirms (_apply dates it then).
        submission.pending = pending
        submission.pending_at = now
        submission.nonce = _new_nonce()
        fields = ["pending", "pending_at", "nonce"]
        if language:
            submission.language = language
            fields.append("language")
        submission.save(update_fields=fields)
    if _verified(user, email):
        _apply(submission, user=user)
        return Submitted(submission, True)
    recent = Notification.objects.filter(
        kind=Kind.CALL_CONFIRM, email=email, created_at__gte=now - timedelta(hours=1)
    ).count()
    if recent >= CONFIRMATIONS_PER_HOUR:
        raise TooMany(
            _(
                "We have sent several confirmation emails to this address in the last hour. "
                "Use the link in the latest one, or try again later."
            )
        )
    owe.owe(
        kind=Kind.CALL_CONFIRM,
        about=(f"sub{submission.pk}", submission.nonce),
        email=email,
        submission=submission,
        payload={"nonce": submission.nonce},
        fresh=True,  # a new nonce, or a new submission
    )
    return Submitted(submission, False)


def _new_nonce() -> str:
    return new_nonce()


def _apply(submission: Submission, *, user: User | None = None) -> None:
    """Make the pending submission the one in the pool: profile, answers (those that still
    fit the form, which may have changed while the email was unconfirmed: an answer names its
    choice by id, so it keeps naming the choice the person picked, even a removed one),
    confirmation time; then tell the person what was received."""
    pending = submission.pending or {}
    for name, value in pending.get("profile", {}).items():
        setattr(submission, name, value)
    questionnaire = submission.call.questionnaire
    answers = engine.fitting_answers(
        list(questionnaire.questions.all()),
        {int(k): v for k, v in pending.get("answers", {}).items()},
    )
    response, _created = engine.save_response(
        questionnaire=questionnaire, respondent=f"submission{submission.pk}", answers=answers
    )
    now = timezone.now()
    submission.response = response
    submission.user = user or submission.user
    if submission.user is None:
        submission.user = User.objects.filter(email__iexact=submission.email).first()
    submission.confirmed_at = submission.confirmed_at or now
    submission.submitted_at = submission.pending_at or now
    submission.pending = None
    submission.pending_at = None
    submission.nonce = _new_nonce()
    # Scored at once under the call's rules as they are (the caller holds the call's row
    # lock, so no rule change slips between the verdict and its version).
    call = submission.call
    submission.screening, submission.screening_reason = screening.score_response(
        call=call, response_id=response.pk
    )
    submission.screened_version = call.rules_version
    submission.save()
    themes.answers_changed(questionnaire.pk)
    owe.owe(
        kind=Kind.CALL_RECEIVED,
        about=(f"sub{submission.pk}", submission.nonce),
        email=submission.email,
        recipient=submission.user,
        submission=submission,
        fresh=True,  # the nonce was just renewed
    )
    emit_webhook("submission.confirmed", about=submission)


CONFIRM_SALT = "events.call.confirm"
WITHDRAW_SALT = "events.call.withdraw"


def confirm_token(submission: Submission, nonce: str | None = None) -> str:
    return signing.dumps({"s": submission.pk, "n": nonce or submission.nonce}, salt=CONFIRM_SALT)


def withdraw_token(submission: Submission) -> str:
    return signing.dumps({"s": submission.pk, "e": submission.email}, salt=WITHDRAW_SALT)


def from_confirm_token(token: str) -> tuple[Submission | None, str]:
    """(submission, nonce) for a confirmation link, or (None, '') if forged or too old."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        pk, nonce = int(data["s"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, ""
    return Submission.objects.select_related("call").filter(pk=pk).first(), nonce


def from_withdraw_token(token: str) -> Submission | None:
    try:
        data = signing.loads(token, salt=WITHDRAW_SALT, max_age=WITHDRAW_MAX_AGE)
        pk, email = int(data["s"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return Submission.objects.select_related("call").filter(pk=pk, email=email).first()


@transaction.atomic
def confirm(*, submission: Submission, nonce: str) -> Submission:
    """The person clicked their confirmation link (and then the button: links never act on
    GET). Only the latest link works; a used one says so."""
    # The call's row first (the order of every path that scores: call_screening.rescore),
    # then the submission's.
    call = OpenCall.objects.select_for_update().get(pk=submission.call_id)
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.call = call
    if submission.pending is None:
        if submission.confirmed_at:
            raise ServiceError(_("This submission is already confirmed: nothing more to do."))
        raise ServiceError(_("There is nothing to confirm."))
    if submission.nonce != nonce:
        raise ServiceError(
            _("This link is from an earlier submission. Use the link in the latest email.")
        )
    _apply(submission)
    return submission


@transaction.atomic
def withdraw(*, submission: Submission) -> None:
    """Remove the person from the pool: their submission, answers, tags and reviews go."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    response = submission.response
    tombstones.bury(Submission.objects.filter(pk=submission.pk))
    submission.delete()
    if response is not None:
        response.delete()
        # Their words leave the call's themes too (at once on the page, fully once recomputed).
        themes.answers_erased(questionnaire_ids=[response.questionnaire_id])


def submissions_of(*, user: User, emails: list[str]) -> QuerySet[Submission]:
    """A person's submissions: made while logged in, or from one of their addresses."""
    query = Q(user=user)
    for email in emails:
        query |= Q(email__iexact=email)
    return Submission.objects.filter(query)


def forget_submitter(*, user: User | None, emails: list[str], team: Team | None = None) -> int:
    """The person deleted their account (or asked `team` to forget them): their submissions
    leave every pool (the team's), as if they had withdrawn them (answers, tags and reviews
    with them), those made from their address before they had an account too. Returns how
    many went."""
    query = Q(email__in=[])
    for email in emails:
        query |= Q(email__iexact=email)
    if user is not None:
        query |= Q(user=user)
    found = Submission.objects.filter(query)
    if team is not None:
        found = found.filter(call__team=team)
    ids = list(found.values_list("pk", flat=True))
    for submission in Submission.objects.filter(pk__in=ids):
        withdraw(submission=submission)
    return len(ids)


def purge_unconfirmed(*, now: datetime | None = None) -> int:
    """The sweep: submissions never confirmed are deleted PURGE_AFTER their last sending; an
    unconfirmed change to a confirmed one is dropped as long after it was sent (the
    confirmed answers stay)."""
    now = now or timezone.now()
    cutoff = now - PURGE_AFTER
    deleted, _kinds = Submission.objects.filter(
        confirmed_at__isnull=True, pending_at__lt=cutoff
    ).delete()
    Submission.objects.filter(
        confirmed_at__isnull=False, pending__isnull=False, pending_at__lt=cutoff
    ).update(pending=None, pending_at=None)
    return deleted


# Organizers: the pool


@transaction.atomic
def set_tags(*, submission: Submission, actor: User, names: list[str]) -> list[PoolTag]:
    cleaned = list(dict.fromkeys(n.strip().lower()[:40] for n in names if n.strip()))
    if len(cleaned) > MAX_TAGS:
        raise ServiceError(_("At most %(most)s tags per person.") % {"most": MAX_TAGS})
    tags = [PoolTag.objects.get_or_create(call_id=submission.call_id, name=n)[0] for n in cleaned]
    submission.tags.set(tags)
    _tags_changed([submission.pk])
    audit.record(
        actor=actor,
        action="submission.tagged",
        team=OpenCall.objects.values_list("team_id", flat=True).get(pk=submission.call_id),
        target=submission,
        summary={"call": submission.call_id, "tags": cleaned},
    )
    return tags


def _tags_changed(ids: list[int]) -> None:
    """A many-to-many change leaves no time of its own: stamp it, so that the panel's
    minute refresh (services.panel) takes the new tags in."""
    Submission.objects.filter(pk__in=ids).update(tags_changed_at=timezone.now())


@transaction.atomic
def tag_many(*, call: OpenCall, actor: User, submissions: QuerySet[Submission], name: str) -> int:
    name = (name or "").strip().lower()[:40]
    if not name:
        raise ServiceError(_("Type a tag."))
    tag, _created = PoolTag.objects.get_or_create(call=call, name=name)
    ids = list(submissions.filter(call=call).values_list("pk", flat=True))
    through = Submission.tags.through
    existing = set(
        through.objects.filter(pooltag=tag, submission_id__in=ids).values_list(
            "submission_id", flat=True
        )
    )
    added = [pk for pk in ids if pk not in existing]
    through.objects.bulk_create([through(submission_id=pk, pooltag=tag) for pk in added])
    _tags_changed(added)
    audit.record(
        actor=actor,
        action="call.tagged_many",
        team=call.team_id,
        target=call,
        summary={"tag": name, "submissions": len(ids), "added": len(added)},
    )
    return len(ids)


@transaction.atomic
def review(*, submission: Submission, reviewer: User, score: int, note: str = "") -> Review:
    """An organizer's score (1-5) and private note; scoring again replaces their own."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError(_("Score from 1 to 5."))
    if len(note or "") > 5000:
        raise ServiceError(_("A note is at most 5,000 characters."))
    if not may(reviewer, "call.review", submission.call):
        raise ServiceError(_("Only organizers of this call review its submissions."))
    item, _created = Review.objects.update_or_create(
        submission=submission, reviewer=reviewer, defaults={"score": score, "note": note or ""}
    )
    # The score, not the note: a reviewer's words about a person stay with the review.
    audit.record(
        actor=reviewer,
        action="submission.reviewed",
        team=submission.call.team_id,
        target=submission,
        summary={"call": submission.call_id, "score": score},
    )
    return item


@dataclass
class PoolFilter:
    role: str = ""
    affiliation: str = ""
    join: str = ""  # "feedback" | "demo"
    history: str = ""  # "invited" | "accepted" | "attended" | "no_show" | "new"
    tag: str = ""
    text: str = ""
    choice: tuple[int, int] | None = None  # (question id, choice id)
    sort: str = "recent"  # "recent" | "score"
    screening: str = ""  # "" (all) | "qualified" | "disqualified"
    # A theme of one of the call's text questions (the one it is listed as: services.themes
    # moves a merged theme's answers to it): only those whose answer is placed in it.
    theme: int | None = None
    theme_name: str = ""  # shown beside the filter


def _history_scope(call: OpenCall) -> tuple[dict, dict]:
    """Which invitations and registrations a pool's history counts: those of the call's own
    team's events. One team's pool must not tell another team's invitations or attendance."""
    return {"event__team_id": call.team_id}, {"session__event__team_id": call.team_id}


def pool(
    *, call: OpenCall, viewer: User, filters: PoolFilter | None = None
) -> QuerySet[Submission]:
    """The confirmed submissions matching `filters`, each annotated with what the pool table
    shows (mean score and count, and from the events `viewer` organizes: invited /
    accepted / attended / no-shows), all in one query however many rows."""
    f = filters or PoolFilter()
    rows = Submission.objects.filter(call=call, confirmed_at__isnull=False)
    if f.role:
        rows = rows.filter(role=f.role)
    if f.affiliation:
        rows = rows.filter(affiliation__icontains=f.affiliation)
    if f.join == "feedback":
        rows = rows.filter(join_feedback=True)
    elif f.join == "demo":
        rows = rows.filter(join_demo=True)
    if f.screening in Submission.Screening.values:
        rows = rows.filter(screening=f.screening)
    if f.tag:
        rows = rows.filter(tags__call=call, tags__name=f.tag)
    if f.text:
        rows = rows.filter(
            Exists(
                Answer.objects.filter(
                    response_id=OuterRef("response_id"),
                    question__kind__in=list(engine.MAX_TEXT),
                    text__icontains=f.text,
                )
            )
        )
    if f.choice:
        question_id, index = f.choice
        rows = rows.filter(
            Exists(
                Answer.objects.filter(
                    response_id=OuterRef("response_id"), question_id=question_id, number=index
                )
            )
        )
    if f.theme:
        rows = rows.filter(
            Exists(
                ThemeAnswer.objects.filter(
                    theme_id=f.theme, answer__response_id=OuterRef("response_id")
                )
            )
        )
    their_invitations, their_registrations = _history_scope(call)
    invitations = Invitation.objects.filter(email__iexact=OuterRef("email"), **their_invitations)
    registrations = Registration.objects.filter(
        user__email__iexact=OuterRef("email"), **their_registrations
    )
    rows = rows.annotate(
        invited=Exists(invitations),
        accepted=Exists(invitations.filter(status=Invitation.Status.ACCEPTED)),
        attended=Exists(registrations.filter(checked_in_at__isnull=False)),
        no_shows=Subquery(
            registrations.filter(no_show=True)
            .order_by()
            .values("user_id")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        mean_score=Avg("reviews__score"),
        review_count=Count("reviews", distinct=True),
    )
    if f.history == "invited":
        rows = rows.filter(invited=True)
    elif f.history == "accepted":
        rows = rows.filter(accepted=True)
    elif f.history == "attended":
        rows = rows.filter(attended=True)
    elif f.history == "no_show":
        rows = rows.filter(no_shows__gt=0)
    elif f.history == "new":
        rows = rows.filter(invited=False, attended=False)
    if f.sort == "score":
        return rows.order_by(F("mean_score").desc(nulls_last=True), "-submitted_at", "pk")
    return rows.order_by("-submitted_at", "pk")


def pool_results(
    *, call: OpenCall, viewer: User, filters: PoolFilter | None = None
) -> engine.Results:
    """The pool's answers as charts (the engine's figures), for the filtered pool."""
    ids = pool(call=call, viewer=viewer, filters=filters).values("response_id")

    return engine.results(
        questionnaire=call.questionnaire, responses=Response.objects.filter(pk__in=ids)
    )


@dataclass(frozen=True)
class Invitable:
    rows: list[tuple[str, str]]  # (email, name) for the invitations flow
    left_out: int  # disqualified by the call's screening rules


def invite_rows(*, call: OpenCall, submissions: QuerySet) -> Invitable:
    """(email, name) of the chosen people, for the invitations flow, leaving out those the
    call's screening rules disqualified (not invitable from this call), and how many."""
    chosen = submissions.filter(call=call, confirmed_at__isnull=False)
    disqualified = Submission.Screening.DISQUALIFIED
    rows = list(chosen.exclude(screening=disqualified).order_by("pk").values_list("email", "name"))
    return Invitable(rows, chosen.filter(screening=disqualified).count())


def screening_counts(*, call: OpenCall) -> dict[str, int]:
    """How many confirmed submissions qualify and how many do not (one query)."""
    counts = Submission.objects.filter(call=call, confirmed_at__isnull=False).aggregate(
        all=Count("pk"),
        qualified=Count("pk", filter=~Q(screening=Submission.Screening.DISQUALIFIED)),
        disqualified=Count("pk", filter=Q(screening=Submission.Screening.DISQUALIFIED)),
    )
    return counts


def choice_questions(call: OpenCall) -> list[Question]:
    return list(call.questionnaire.questions.filter(kind__in=list(engine.CHOICE_KINDS)))


def csv_rows(
    *, call: OpenCall, viewer: User, filters: PoolFilter | None = None
) -> Iterator[list[Any]]:
    """The pool as CSV: profile columns, then each answer (the engine's CSV)."""
    ids = pool(call=call, viewer=viewer, filters=filters).values("response_id")
    columns = [
        ("Email", "submission__email"),
        ("Name", "submission__name"),
        ("Role", "submission__role"),
        ("Affiliation", "submission__affiliation"),
        ("GitHub", "submission__github_handle"),
        ("Country or time zone", "submission__location"),
        ("Would join a feedback session", "submission__join_feedback"),
        ("Would join a prototype demo", "submission__join_demo"),
        ("Consents to contact", "submission__consent"),
        ("Screening", "submission__screening"),
        ("Screening reason", "submission__screening_reason"),
    ]
    return engine.csv_rows(
        questionnaire=call.questionnaire,
        responses=Response.objects.filter(pk__in=ids),
        columns=columns,
    )


def summary(submission: Submission) -> list[tuple[str, str]]:
    """What the person sent, as (label, answer) lines: for their confirmation email and the
    organizers' detail page."""
    lines = [
        (_("Name"), submission.name),
        (_("Role"), str(submission.get_role_display()) if submission.role else ""),
        (_("Affiliation"), submission.affiliation),
        ("GitHub", submission.github_handle),
        (_("Country or time zone"), submission.location),
    ]
    if submission.call.ask_join:
        if submission.join_feedback and submission.join_demo:
            join = _("a feedback session and a prototype demo")
        elif submission.join_feedback:
            join = _("a feedback session")
        elif submission.join_demo:
            join = _("a prototype demo")
        else:
            join = _("neither for now")
        lines.append((_("Would join"), join))
    lines += engine.labelled_answers(submission.call.questionnaire, submission.response)
    return [(label, value) for label, value in lines if value]
