"""Screening questions: what an approval or lottery event asks its applicants."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from ..models import Event, ScreeningQuestion
from . import ServiceError
from .questionnaire import clean_choices

Kind = ScreeningQuestion.Kind
MAX_QUESTIONS = 20
CHOICE_KINDS = {Kind.SINGLE, Kind.MULTIPLE}


@transaction.atomic
def add_question(
    *,
    event: Event,
    actor,
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
def remove_question(*, question: ScreeningQuestion, actor) -> None:
    """Remove a question. Answers already given stay on the registrations (they are what the
    person said), but the question is no longer asked or shown."""
    ScreeningQuestion.objects.filter(pk=question.pk).delete()
