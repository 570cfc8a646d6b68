"""Screening answers: what an applicant must answer, checked against the event's questions."""

from typing import Any

from django.core.exceptions import ValidationError

from ..models import Event, ScreeningQuestion

Kind = ScreeningQuestion.Kind
MAX_LENGTH = {Kind.SHORT_TEXT: 300, Kind.LONG_TEXT: 5000}


def clean_answers(*, event: Event, raw: dict[str, Any]) -> dict[str, Any]:
    """Return answers keyed by question id (as text), or raise ValidationError with a message
    per question (keyed `q<id>`). Answers to questions of another event are refused."""
    questions = list(event.questions.all())
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
