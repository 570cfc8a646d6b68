"""The question engine: typed questions, validation of answers, one response per respondent,
results counted by the database, and a streamed CSV. Nothing here knows about events; a survey
and an open call each own a questionnaire and decide who may answer it.

The rules that keep results true once people have answered live here too: an answered
question keeps its kind and its choices (they may be reworded, or added to, never removed),
and cannot be removed."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, QuerySet, Window
from django.db.models.functions import RowNumber

from .. import charts
from ..models import Answer, Question, Questionnaire, Response
from . import ServiceError

Kind = Question.Kind
MAX_QUESTIONS = 50
MAX_CHOICES = 30
MAX_CHOICE_LENGTH = 200
MAX_LABEL = 300
MAX_HELP = 500
MAX_TEXT = {Kind.SHORT_TEXT: 300, Kind.LONG_TEXT: 5000}
CHOICE_KINDS = {Kind.SINGLE, Kind.MULTIPLE}
SCALES = {Kind.RATING: range(1, 6), Kind.NPS: range(0, 11)}


# Building a questionnaire


def create_questionnaire() -> Questionnaire:
    return Questionnaire.objects.create()


def is_answered(question: Question) -> bool:
    return Answer.objects.filter(question=question).exists()


def _clean_definition(
    *, label: str, kind: str, choices: Iterable[str] | None, help_text: str
) -> tuple[str, list[str], str]:
    label = (label or "").strip()
    help_text = (help_text or "").strip()
    if not label:
        raise ServiceError("A question needs a label.")
    if len(label) > MAX_LABEL:
        raise ServiceError(f"A question's label is at most {MAX_LABEL} characters.")
    if len(help_text) > MAX_HELP:
        raise ServiceError(f"A question's help text is at most {MAX_HELP} characters.")
    if kind not in Kind.values:
        raise ServiceError("Unknown kind of question.")
    if kind not in CHOICE_KINDS:
        return label, [], help_text
    return label, clean_choices(choices), help_text


def clean_choices(choices: Iterable[str] | None) -> list[str]:
    """A choice question's choices: trimmed, distinct, in order; two to MAX_CHOICES of them,
    each at most MAX_CHOICE_LENGTH characters. (Screening questions follow the same rule.)"""
    cleaned = list(dict.fromkeys(c.strip() for c in choices or [] if c and c.strip()))
    if len(cleaned) < 2:
        raise ServiceError("A choice question needs at least two different choices.")
    if len(cleaned) > MAX_CHOICES:
        raise ServiceError(f"A question offers at most {MAX_CHOICES} choices.")
    if any(len(c) > MAX_CHOICE_LENGTH for c in cleaned):
        raise ServiceError(f"A choice is at most {MAX_CHOICE_LENGTH} characters.")
    return cleaned


@transaction.atomic
def add_question(
    *,
    questionnaire: Questionnaire,
    label: str,
    kind: str,
    choices: Iterable[str] | None = None,
    required: bool = False,
    help_text: str = "",
) -> Question:
    """Add a question at the end. At most MAX_QUESTIONS; a choice question offers at least
    two distinct choices, a scale or text question none."""
    # Lock the questionnaire so two organizers adding at once cannot pass the limit together.
    questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    if questionnaire.questions.count() >= MAX_QUESTIONS:
        raise ServiceError(f"A form asks at most {MAX_QUESTIONS} questions.")
    label, cleaned, help_text = _clean_definition(
        label=label, kind=kind, choices=choices, help_text=help_text
    )
    last = questionnaire.questions.aggregate(last=Max("position"))["last"]
    return Question.objects.create(
        questionnaire=questionnaire,
        position=0 if last is None else last + 1,
        kind=kind,
        label=label,
        help_text=help_text,
        choices=cleaned,
        required=required,
    )


@transaction.atomic
def edit_question(
    *,
    question: Question,
    label: str,
    kind: str,
    choices: Iterable[str] | None = None,
    required: bool = False,
    help_text: str = "",
) -> Question:
    """Change a question. Once answered, its kind stays and its choices can be reworded or
    added to but not removed: answers point at a choice by its place in the list."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    label, cleaned, help_text = _clean_definition(
        label=label, kind=kind, choices=choices, help_text=help_text
    )
    if is_answered(question):
        if kind != question.kind:
            raise ServiceError(
                "People have answered this question, so its kind cannot change "
                "(their answers would no longer fit). Add a new question instead."
            )
        if len(cleaned) < len(question.choices):
            raise ServiceError(
                "People have answered this question, so its choices can be reworded or "
                "added to, but not removed."
            )
    question.label, question.kind, question.choices = label, kind, cleaned
    question.required, question.help_text = required, help_text
    question.save(update_fields=["label", "kind", "choices", "required", "help_text"])
    return question


@transaction.atomic
def move_question(*, question: Question, offset: int) -> None:
    """Move a question up (-1) or down (+1) in its questionnaire's order."""
    Questionnaire.objects.select_for_update().get(pk=question.questionnaire_id)
    ordered = list(Question.objects.filter(questionnaire_id=question.questionnaire_id))
    index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
    Question.objects.bulk_update(ordered, ["position"])


@transaction.atomic
def remove_question(*, question: Question) -> None:
    """Remove a question nobody has answered yet; an answered one stays (its answers are
    part of the results)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if is_answered(question):
        raise ServiceError(
            "People have answered this question, so it cannot be removed without losing "
            "their answers. You can reword it."
        )
    question.delete()


# Answering


class AnswerErrors(ServiceError):
    """Answers that cannot be kept: a message per question (`errors[question_id]`) and, for
    a submission that does not fit this form at all, a general one (`errors[None]`)."""

    def __init__(self, errors: dict[int | None, str]):
        self.errors = errors
        super().__init__("Some answers need attention.")


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def _values(data: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _clean_one(question: Question, values: list[str]) -> tuple[Any, str]:
    """(value, error) for one question's submitted values. Empty answers are None."""
    values = [v.strip() for v in values]
    kind = question.kind
    if kind in MAX_TEXT:
        text = values[0] if values else ""
        if len(values) > 1:
            return None, "Give one answer."
        if len(text) > MAX_TEXT[kind]:
            return None, f"At most {MAX_TEXT[kind]} characters, please (this has {len(text)})."
        if "\x00" in text:
            return None, "This answer contains characters that cannot be kept."
        return text or None, ""
    values = [v for v in values if v]
    if kind == Kind.MULTIPLE:
        try:
            picked = sorted({int(v) for v in values})
        except ValueError:
            return None, "Pick among the choices offered."
        if any(not 0 <= i < len(question.choices) for i in picked):
            return None, "Pick among the choices offered."
        return picked or None, ""
    if not values:
        return None, ""
    if len(values) > 1:
        return None, "Pick only one."
    try:
        number = int(values[0])
    except ValueError:
        number = None
    if kind in SCALES:
        scale = SCALES[kind]
        if number not in scale:
            return None, f"Pick a number from {scale.start} to {scale.stop - 1}."
        return number, ""
    if number is None or not 0 <= number < len(question.choices):
        return None, "Pick one of the choices offered."
    return number, ""


def clean_answers(
    *,
    questionnaire: Questionnaire,
    data: Mapping[str, Any],
    questions: list[Question] | None = None,
) -> dict[int, Any]:
    """The answers in `data` (a POST: `q<question id>` -> value(s)), checked against the
    questionnaire. Returns {question id: value or None}; raises AnswerErrors naming each
    wrong answer. Answers to questions this questionnaire does not ask (another form's ids,
    or made up) refuse the whole submission."""
    if questions is None:
        questions = list(questionnaire.questions.all())
    known = {field_name(q) for q in questions}
    posted = {k for k in data if k.startswith("q") and k[1:].isdigit()}
    if posted - known:
        raise AnswerErrors(
            {None: "This form has changed or the answers do not belong to it. Reload it."}
        )
    errors: dict[int | None, str] = {}
    cleaned: dict[int, Any] = {}
    for question in questions:
        value, error = _clean_one(question, _values(data, field_name(question)))
        if not error and value is None and question.required:
            error = "This question needs an answer."
        if error:
            errors[question.pk] = error
        else:
            cleaned[question.pk] = value
    if errors:
        raise AnswerErrors(errors)
    return cleaned


def _rows(response: Response, answers: dict[int, Any]) -> list[Answer]:
    rows = []
    for question_id, value in answers.items():
        if value is None:
            continue
        if isinstance(value, list):
            rows += [Answer(response=response, question_id=question_id, number=i) for i in value]
        elif isinstance(value, int):
            rows.append(Answer(response=response, question_id=question_id, number=value))
        else:
            rows.append(Answer(response=response, question_id=question_id, text=value))
    return rows


@transaction.atomic
def save_response(
    *, questionnaire: Questionnaire, respondent: str, answers: dict[int, Any]
) -> tuple[Response, bool]:
    """Keep a respondent's answers (as returned by `clean_answers`): their one response is
    created, or replaced when they answer again. Returns (response, created)."""
    asked = set(questionnaire.questions.values_list("pk", flat=True))
    if set(answers) - asked:
        raise AnswerErrors({None: "The answers do not belong to this form."})
    try:
        with transaction.atomic():
            response, created = Response.objects.get_or_create(
                questionnaire=questionnaire, respondent=respondent
            )
    except IntegrityError:  # the same person submitting twice at once: the other one won
        response, created = (
            Response.objects.get(questionnaire=questionnaire, respondent=respondent),
            False,
        )
    # Lock the response so two submissions from the same person are applied one after the
    # other, never interleaved into a mix of both.
    response = Response.objects.select_for_update().get(pk=response.pk)
    if not created:
        response.answers.all().delete()
        response.save(update_fields=["updated_at"])
    Answer.objects.bulk_create(_rows(response, answers))
    return response, created


def answers_of(response: Response | None) -> dict[int, Any]:
    """A response's answers as `clean_answers` returns them (to show a form filled in)."""
    if response is None:
        return {}
    values: dict[int, Any] = {}
    for question_id, kind, number, text in response.answers.values_list(
        "question_id", "question__kind", "number", "text"
    ):
        if kind == Kind.MULTIPLE:
            values.setdefault(question_id, []).append(number)
        else:
            values[question_id] = text if kind in MAX_TEXT else number
    return values


# Results


@dataclass(frozen=True)
class NPS:
    promoters: int
    passives: int
    detractors: int

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int:
        """% promoters minus % detractors, from -100 to 100."""
        if not self.total:
            return 0
        return round(100 * (self.promoters - self.detractors) / self.total)


@dataclass(frozen=True)
class Option:
    label: str
    count: int
    share: float  # of those who answered the question, in percent


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    options: list[Option] = field(default_factory=list)
    mean: float | None = None
    nps: NPS | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def chart(self) -> charts.BarChart | None:
        if not self.options:
            return None
        choice = self.question.kind in CHOICE_KINDS
        tone = "brand" if choice else "ok"
        width, label_width = (400, 150) if choice else (360, 60)
        items = [(_short(o.label, 22), o.count, tone) for o in self.options]
        return charts.bar_chart(items, width=width, label_width=label_width, row=30)

    @property
    def chart_id(self) -> str:
        return f"chart-q{self.question.pk}"

    @property
    def is_text(self) -> bool:
        return self.question.kind in MAX_TEXT

    @property
    def more_texts(self) -> int:
        return max(self.answered - len(self.texts), 0)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


@dataclass(frozen=True)
class Results:
    respondents: int
    questions: list[QuestionResult]


def _options(question: Question, counts: dict[int, int], answered: int) -> list[Option]:
    if question.kind in SCALES:
        labels = [(n, str(n)) for n in SCALES[question.kind]]
    else:
        labels = list(enumerate(question.choices))
    return [
        Option(label, counts.get(n, 0), 100 * counts.get(n, 0) / answered if answered else 0)
        for n, label in labels
    ]


def results(
    *,
    questionnaire: Questionnaire,
    responses: QuerySet | None = None,
    text_limit: int = 10,
) -> Results:
    """Every question's figures over `responses` (all of the questionnaire's when None), in
    five queries whatever the number of responses: counts per (question, value) and the
    latest free-text answers are computed by the database."""
    questions = list(questionnaire.questions.all())
    if responses is None:
        responses = Response.objects.filter(questionnaire=questionnaire)
        answers = Answer.objects.filter(question__questionnaire=questionnaire)
    else:
        answers = Answer.objects.filter(response__in=responses.values("pk"))
    respondents = responses.count()
    counts: dict[int, dict[int, int]] = {}
    # COUNT(*), not COUNT(id): every column read is then in the (question, number) index, so
    # PostgreSQL counts from the index alone instead of visiting each answer's row (at a
    # million answers, 150 ms instead of 400).
    for question_id, number, n in (
        answers.filter(number__isnull=False)
        .values_list("question_id", "number")
        .annotate(n=Count("*"))
        .order_by()
    ):
        counts.setdefault(question_id, {})[number] = n
    answered = dict(
        answers.values_list("question_id")
        .annotate(n=Count("response_id", distinct=True))
        .order_by()
    )
    texts: dict[int, list[str]] = {}
    if text_limit and any(q.kind in MAX_TEXT for q in questions):
        latest = (
            answers.filter(question__kind__in=list(MAX_TEXT))
            .annotate(
                rank=Window(RowNumber(), partition_by=F("question_id"), order_by=F("pk").desc())
            )
            .filter(rank__lte=text_limit)
            .values_list("question_id", "text")
            .order_by("question_id", "-pk")
        )
        for question_id, text in latest:
            texts.setdefault(question_id, []).append(text)
    out = []
    for question in questions:
        result = QuestionResult(question, answered.get(question.pk, 0))
        mine = counts.get(question.pk, {})
        if question.kind in SCALES or question.kind in CHOICE_KINDS:
            result.options = _options(question, mine, result.answered)
        if question.kind in SCALES and result.answered:
            total = sum(n * c for n, c in mine.items())
            result.mean = total / sum(mine.values())
        if question.kind == Kind.NPS:
            result.nps = NPS(
                promoters=sum(c for n, c in mine.items() if n >= 9),
                passives=sum(c for n, c in mine.items() if 7 <= n <= 8),
                detractors=sum(c for n, c in mine.items() if n <= 6),
            )
        result.texts = texts.get(question.pk, [])
        out.append(result)
    return Results(respondents, out)


def answer_cells(question: Question, numbers: list[int], text: str) -> str:
    """One question's answer as a CSV cell: a choice's words, several joined by '; '."""
    if question.kind in MAX_TEXT:
        return text
    if question.kind in CHOICE_KINDS:
        return "; ".join(
            question.choices[n] if 0 <= n < len(question.choices) else f"#{n}"
            for n in sorted(numbers)
        )
    return str(numbers[0]) if numbers else ""


def csv_rows(
    *,
    questionnaire: Questionnaire,
    responses: QuerySet,
    columns: list[tuple[str, str]] = (),
    chunk: int = 2000,
    same_id: tuple[str, ...] = (),
) -> Iterator[list[Any]]:
    """The header, then one row per response: the owner's `columns` ((header, lookup on
    Response) pairs), then one cell per question. Read in keyset chunks, two queries per
    chunk, so memory stays flat however many responses there are. `same_id`: lookups that
    hold the response's id on a joined table; each chunk is bounded there too, or the
    database, which does not carry `id > last` across a join, reads that table's index
    from its start for every chunk."""
    questions = list(questionnaire.questions.all())
    yield ["Response", "Answered at"] + [h for h, _ in columns] + [q.label for q in questions]
    by_pk = [(q, q.pk) for q in questions]  # read once, not once per cell
    lookups = [lookup for _, lookup in columns]
    last = 0
    while True:
        batch = list(
            responses.filter(pk__gt=last, **{f"{lookup}__gt": last for lookup in same_id})
            .order_by("pk")
            .values_list("pk", "updated_at", *lookups)[:chunk]
        )
        if not batch:
            return
        last = batch[-1][0]
        numbers: dict[tuple[int, int], list[int]] = {}
        texts: dict[tuple[int, int], str] = {}
        # Unordered (no sort of the chunk's answers): a cell sorts its own choices.
        for response_id, question_id, number, text in (
            Answer.objects.filter(response_id__in=[row[0] for row in batch])
            .values_list("response_id", "question_id", "number", "text")
            .order_by()
        ):
            if number is None:
                texts[response_id, question_id] = text
            else:
                numbers.setdefault((response_id, question_id), []).append(number)
        for row in batch:
            pk = row[0]
            cells = [
                answer_cells(q, numbers.get((pk, qid), []), texts.get((pk, qid), ""))
                for q, qid in by_pk
            ]
            yield [pk, row[1], *row[2:], *cells]


# Showing a form


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class BoundQuestion:
    """What the respondent's form shows for one question: its choices with the ones picked,
    or its text, and the error."""

    question: Question
    name: str
    text: str
    choices: list[Choice]
    error: str

    @property
    def is_text(self) -> bool:
        return self.question.kind in MAX_TEXT

    @property
    def max_length(self) -> int:
        return MAX_TEXT.get(self.question.kind, 0)

    @property
    def input_type(self) -> str:
        return "checkbox" if self.question.kind == Kind.MULTIPLE else "radio"

    @property
    def is_scale(self) -> bool:
        return self.question.kind in SCALES


def bound_questions(
    questions: list[Question],
    *,
    data: Mapping[str, Any] | None = None,
    initial: dict[int, Any] | None = None,
    errors: dict[int | None, str] | None = None,
) -> list[BoundQuestion]:
    """The form as the respondent sees it: filled from what they just posted (`data`, so
    nothing typed is lost when an answer is missing) or from their saved answers."""
    errors = errors or {}
    out = []
    for question in questions:
        name = field_name(question)
        if data is not None:
            picked = {v.strip() for v in _values(data, name)}
        else:
            value = (initial or {}).get(question.pk)
            picked = {str(v) for v in value} if isinstance(value, list) else {str(value)}
            picked.discard("None")
        if question.kind in SCALES:
            options = [(str(n), str(n)) for n in SCALES[question.kind]]
        else:
            options = [(str(i), label) for i, label in enumerate(question.choices)]
        text = next(iter(picked), "") if question.kind in MAX_TEXT else ""
        if data is not None and question.kind in MAX_TEXT:
            text = (_values(data, name) or [""])[0]
        out.append(
            BoundQuestion(
                question=question,
                name=name,
                text=text,
                choices=[Choice(v, label, v in picked) for v, label in options],
                error=errors.get(question.pk, ""),
            )
        )
    return out
