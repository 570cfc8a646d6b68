"""Screening: the questions an approval or lottery event asks its applicants (the organizer's
list of them, on the question engine as the event's `screening` questionnaire) and the check
of an applicant's answers against them.

The answers live on the registration (`Registration.answers`, written with it in one
statement on the sign-up's hot path), keyed by question id: a text as typed, a choice by its
id (so rewording a choice keeps the answers that picked it). This module is the only reader
of both."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User

from ..models import Event, Question, Questionnaire, Registration
from . import ServiceError, audit
from . import questionnaire as engine

Kind = Question.Kind
MAX_QUESTIONS = 20
# What an applicant can be asked: a scale would be a survey's question.
KINDS = [Kind.SHORT_TEXT, Kind.LONG_TEXT, Kind.SINGLE, Kind.MULTIPLE]
CHOICE_KINDS: set[str] = {Kind.SINGLE, Kind.MULTIPLE}
MAX_LENGTH: dict[str, int] = {str(kind): limit for kind, limit in engine.MAX_TEXT.items()}


def asked(*, event: Event) -> list[Question]:
    """The questions the event asks its applicants, in order, with their choices."""
    return list(event.questions)


def _number(value: Any) -> int | None:
    """A posted choice id, or None. isdecimal and a length bound: "²" is a digit int()
    refuses, and no question has a 6-digit choice id."""
    text = str(value).strip()
    return int(text) if text.isdecimal() and len(text) < 6 else None


def clean_answers(
    *, event: Event, raw: dict[str, Any], questions: list[Question] | None = None
) -> dict[str, Any]:
    """Return answers keyed by question id (as text), or raise ValidationError with a message
    per question (keyed `q<id>`). Answers to questions of another event are refused. A
    choice is named by its id (as posted, text or number). `questions`: the event's, as
    asked() gave them, when the caller has them already (not read again)."""
    if questions is None:
        questions = asked(event=event)
    known = {str(q.pk) for q in questions}
    forged = set(map(str, raw)) - known
    if forged:
        raise ValidationError(_("Some answers are for questions this event does not ask."))
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for question in questions:
        value = raw.get(str(question.pk))
        key = f"q{question.pk}"
        offered = set(question.choice_ids)
        if question.kind in MAX_LENGTH:
            value = value.strip() if isinstance(value, str) else ""
            if len(value) > MAX_LENGTH[question.kind]:
                errors[key] = [
                    _("At most %(most)s characters, please.") % {"most": MAX_LENGTH[question.kind]}
                ]
                continue
            empty = not value
        elif question.kind == Kind.SINGLE:
            if value in (None, ""):
                value = ""
            else:
                value = _number(value)
                if value not in offered:
                    errors[key] = [_("Pick one of the choices offered.")]
                    continue
            empty = value == ""
        else:
            numbers = [_number(v) for v in (value or [])]
            if any(n not in offered for n in numbers):
                errors[key] = [_("Pick among the choices offered.")]
                continue
            value = list(dict.fromkeys(numbers))
            empty = not value
        if empty and question.required:
            errors[key] = [_("This question needs an answer.")]
            continue
        cleaned[str(question.pk)] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def answer_words(*, answers: dict[str, Any], question: Question) -> list[str]:
    """What an applicant answered to a question, in words (nothing when they left it blank or
    it was added after they applied); a choice no longer offered is marked "(removed)". The
    one reading of stored answers that the registrations table, their CSV and a
    registration's page show."""
    value = answers.get(str(question.pk))
    if value in (None, "", []):
        return []
    values = value if isinstance(value, list) else [value]
    if question.kind not in CHOICE_KINDS:
        return [str(v) for v in values]
    names = question.choice_names()
    return [names.get(v, str(v)) if isinstance(v, int) else str(v) for v in values]


def answered(*, answers: dict[str, Any], questions: list[Question]) -> list[tuple[str, str]]:
    """(question, answer in words) for each of these questions the applicant answered."""
    pairs = []
    for question in questions:
        words = answer_words(answers=answers, question=question)
        if words:
            pairs.append((question.label, ", ".join(words)))
    return pairs


# The organizer's list, edited in the question editor every questionnaire shares (through
# events/questionnaire_pages.ScreeningEditor): these functions add the screening rules to the
# engine's (which kinds an applicant may be asked, MAX_QUESTIONS, only events that take
# applications), and keep the answers on registrations true.

ONLY_APPLICATIONS = gettext_lazy(
    "Only events with approval or lottery registration ask screening questions."
)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ServiceError(
            _("Unknown kind of question: applicants are asked a text or a choice question.")
        )


@transaction.atomic
def add_question(
    *,
    event: Event,
    actor: User,
    label: str,
    kind: str,
    choices: list[str] | None = None,
    required: bool = True,
    help_text: str = "",
) -> Question:
    """Add a question at the end of the event's list. Only events that take applications ask
    questions; at most MAX_QUESTIONS per event; a choice question offers at least two distinct
    choices (a text question none)."""
    # Lock the event so two organizers adding at once cannot pass the limit together.
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not event.uses_applications:
        raise ServiceError(str(ONLY_APPLICATIONS))
    if len(asked(event=event)) >= MAX_QUESTIONS:
        raise ServiceError(_("An event asks at most %(most)s questions.") % {"most": MAX_QUESTIONS})
    _check_kind(kind)
    screening = event.screening
    if screening is None:
        event.screening = screening = Questionnaire.objects.create()
        event.save(update_fields=["screening"])
    question = engine.add_question(
        questionnaire=screening,
        label=label,
        kind=kind,
        choices=engine.clean_choices(choices) if kind in CHOICE_KINDS else [],
        required=required,
        help_text=help_text,
    )
    _audit(actor, "screening.question_added", event, question, fields=QUESTION_SNAPSHOT)
    return question


QUESTION_SNAPSHOT = ("label", "kind", "required")


def _audit(
    actor: User,
    action: str,
    event: Event,
    question: Question,
    *,
    fields: tuple[str, ...] = (),
    before: dict[str, Any] | None = None,
) -> None:
    summary: dict[str, Any] = {}
    if before is not None:
        summary["changes"] = audit.changes(before, audit.snapshot(question, before))
    elif fields:
        summary["fields"] = audit.snapshot(question, fields)
    audit.record(
        actor=actor,
        action=action,
        team=event.team_id,
        event=event,
        target=question,
        summary=summary,
    )


def answered_ids(*, event: Event, questions: list[Question]) -> set[int]:
    """Which of the event's questions some applicant has answered (one query, whatever the
    number of questions or registrations): their kind stays."""
    if not questions:
        return set()
    counts = Registration.objects.filter(session__event=event).aggregate(
        **{f"q{q.pk}": Count("pk", filter=Q(answers__has_key=str(q.pk))) for q in questions}
    )
    return {q.pk for q in questions if counts[f"q{q.pk}"]}


@transaction.atomic
def edit_question(
    *,
    question: Question,
    actor: User,
    label: str,
    kind: str,
    choices: Iterable[engine.ChoiceInput] | None = None,
    required: bool = True,
    help_text: str = "",
) -> Question:
    """Change a question, as the engine does (choices keep their ids, so the answers that
    picked one follow it when it is reworded, and keep its words when it is removed), with
    the screening rules: a kind applicants may be asked, an event that takes applications,
    and the kind of a question some applicant answered stays (their answers would no longer
    fit; the engine cannot see them: they are on the registrations)."""
    event = Event.objects.select_for_update().get(screening_id=question.questionnaire_id)
    if not event.uses_applications:
        raise ServiceError(str(ONLY_APPLICATIONS))
    _check_kind(kind)
    if kind != question.kind and answered_ids(event=event, questions=[question]):
        raise ServiceError(
            _(
                "People have answered this question, so its kind cannot change "
                "(their answers would no longer fit). Add a new question instead."
            )
        )
    before = audit.snapshot(question, QUESTION_SNAPSHOT)
    edited = engine.edit_question(
        question=question,
        label=label,
        kind=kind,
        choices=choices,
        required=required,
        help_text=help_text,
    )
    _audit(actor, "screening.question_edited", event, edited, before=before)
    return edited


@transaction.atomic
def move_question(*, question: Question, actor: User, offset: int) -> None:
    engine.move_question(question=question, offset=offset)
    event = Event.objects.get(screening_id=question.questionnaire_id)
    _audit(actor, "screening.question_moved", event, question)


@transaction.atomic
def remove_question(*, question: Question, actor: User) -> None:
    """Remove a question, answered or not. Answers already given stay on the registrations
    (they are what the person said, and their data export shows them), but the question is
    no longer asked or shown."""
    event = Event.objects.filter(screening_id=question.questionnaire_id).first()
    if event is not None:
        _audit(actor, "screening.question_removed", event, question, fields=QUESTION_SNAPSHOT)
    Question.objects.filter(pk=question.pk).delete()


def as_written(*, answers: dict[str, Any], questions: list[Question]) -> dict[str, Any]:
    """The answers as the applicant gave them, keyed by question id: a choice as its words
    (a removed one's too), texts as typed, answers to removed questions as kept. What a
    person's data export shows."""
    words: dict[str, Any] = {}
    kinds = {str(q.pk): q for q in questions}
    for key, value in answers.items():
        question = kinds.get(key)
        if question is not None and question.kind in CHOICE_KINDS:
            labels = dict(question.offered_choices)
            labels.update(question.removed_choices)
            if isinstance(value, list):
                value = [labels.get(v, v) for v in value]
            elif value not in (None, ""):
                value = labels.get(value, value)
        words[key] = value
    return words
