"""Screening: the questions an approval or lottery event asks its applicants (the organizer's
list of them) and the check of an applicant's answers against them.

An older, separate model from the question engine (services.questionnaire): its answers live
on the registration and name a choice by its words."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from accounts.models import User

from ..models import Event, ScreeningQuestion
from . import ServiceError
from .questionnaire import clean_choices

Kind = ScreeningQuestion.Kind
MAX_QUESTIONS = 20
CHOICE_KINDS: set[str] = {Kind.SINGLE, Kind.MULTIPLE}
# Keyed by the kind as stored (text), which is how a question's `kind` reads back.
MAX_LENGTH: dict[str, int] = {Kind.SHORT_TEXT: 300, Kind.LONG_TEXT: 5000}


def asked(*, event: Event) -> list[ScreeningQuestion]:
    """The questions the event asks its applicants, in order: the one place that says where
    they are kept."""
    return list(event.questions.all())


def clean_answers(*, event: Event, raw: dict[str, Any]) -> dict[str, Any]:
    """Return answers keyed by question id (as text), or raise ValidationError with a message
    per question (keyed `q<id>`). Answers to questions of another event are refused."""
    questions = asked(event=event)
    known = {str(q.pk) for q in questions}
    forged = set(map(str, raw)) - known
    if forged:
        raise ValidationError("Some answers are for questions this event does not ask.")
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for question in questions:
        value = raw.get(str(question.pk))
        key = f"q{question.pk}"
        if question.kind in MAX_LENGTH:
            value = (value or "").strip() if isinstance(value, str) else ""
            if len(value) > MAX_LENGTH[question.kind]:
                errors[key] = [f"At most {MAX_LENGTH[question.kind]} characters, please."]
                continue
            empty = not value
        elif question.kind == Kind.SINGLE:
            value = value or ""
            if value and value not in question.choices:
                errors[key] = ["Pick one of the choices offered."]
                continue
            empty = not value
        else:
            value = list(value or [])
            if any(v not in question.choices for v in value):
                errors[key] = ["Pick among the choices offered."]
                continue
            empty = not value
        if empty and question.required:
            errors[key] = ["This question needs an answer."]
            continue
        cleaned[str(question.pk)] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def answer_words(*, answers: dict[str, Any], question: ScreeningQuestion) -> list[str]:
    """What an applicant answered to a question, in words (nothing when they left it blank or
    it was added after they applied): the one reading of stored answers that the
    registrations table, their CSV and a registration's page show."""
    value = answers.get(str(question.pk))
    if value in (None, "", []):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def answered(
    *, answers: dict[str, Any], questions: list[ScreeningQuestion]
) -> list[tuple[str, str]]:
    """(question, answer in words) for each of these questions the applicant answered."""
    pairs = []
    for question in questions:
        words = answer_words(answers=answers, question=question)
        if words:
            pairs.append((question.label, ", ".join(words)))
    return pairs


# The organizer's list


@transaction.atomic
def add_question(
    *,
    event: Event,
    actor: User,
    label: str,
    kind: str,
    choices: list[str] | None = None,
    required: bool = True,
) -> ScreeningQuestion:
    """Add a question at the end of the event's list. Only events that take applications ask
    questions; at most MAX_QUESTIONS per event; a choice question offers at least two distinct
    choices (a text question none)."""
    # Lock the event so two organizers adding at once cannot pass the limit together.
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not event.uses_applications:
        raise ServiceError(
            "Only events with approval or lottery registration ask screening questions."
        )
    if event.questions.count() >= MAX_QUESTIONS:
        raise ServiceError(f"An event asks at most {MAX_QUESTIONS} questions.")
    label = (label or "").strip()
    if not label:
        raise ServiceError("A question needs a label.")
    if kind not in Kind.values:
        raise ServiceError("Unknown kind of question.")
    cleaned = clean_choices(choices) if kind in CHOICE_KINDS else []
    last = event.questions.aggregate(last=Max("position"))["last"]
    question = ScreeningQuestion(
        event=event,
        position=0 if last is None else last + 1,
        label=label,
        kind=kind,
        choices=cleaned,
        required=required,
    )
    try:
        question.full_clean()
    except ValidationError as error:
        raise ServiceError("; ".join(error.messages)) from error
    question.save()
    return question


@transaction.atomic
def remove_question(*, question: ScreeningQuestion, actor: User) -> None:
    """Remove a question. Answers already given stay on the registrations (they are what the
    person said), but the question is no longer asked or shown."""
    ScreeningQuestion.objects.filter(pk=question.pk).delete()
