"""The question engine: typed questions, validation of answers, one response per respondent,
results counted by the database, and a streamed CSV. Nothing here knows about events; a survey
and an open call each own a questionnaire and decide who may answer it.

The rules that keep results true once people have answered live here too: an answered
question keeps its kind and cannot be removed; an answer names its choice by a stable id, so
choices may be reworded, reordered, added and removed (a removed choice keeps its answers
and its words, marked "removed", wherever results are read)."""

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from .. import charts
from ..models.questionnaire import Answer, Choice, Question, Questionnaire, Response
from . import ServiceError

Kind = Question.Kind
MAX_QUESTIONS = 50
MAX_CHOICES = 30
MAX_CHOICE_LENGTH = 200
MAX_KEPT_CHOICES = 200  # offered and removed together: removed ones are kept for their answers
MAX_LABEL = 300
MAX_HELP = 500
# Keyed by str: a question's `kind` is the stored string, which equals its Kind member.
MAX_TEXT: dict[str, int] = {Kind.SHORT_TEXT: 300, Kind.LONG_TEXT: 5000}
CHOICE_KINDS = {Kind.SINGLE, Kind.MULTIPLE}
SCALES: dict[str, range] = {Kind.RATING: range(1, 6), Kind.NPS: range(0, 11)}


# Building a questionnaire


def create_questionnaire() -> Questionnaire:
    return Questionnaire.objects.create()


def is_answered(question: Question) -> bool:
    return Answer.objects.filter(question=question).exists()


def _clean_text(*, label: str, kind: str, help_text: str) -> tuple[str, str]:
    label = (label or "").strip()
    help_text = (help_text or "").strip()
    if not label:
        raise ServiceError(_("A question needs a label."))
    if len(label) > MAX_LABEL:
        raise ServiceError(
            _("A question's label is at most %(most)s characters.") % {"most": MAX_LABEL}
        )
    if len(help_text) > MAX_HELP:
        raise ServiceError(
            _("A question's help text is at most %(most)s characters.") % {"most": MAX_HELP}
        )
    if kind not in Kind.values:
        raise ServiceError(_("Unknown kind of question."))
    return label, help_text


def clean_choices(choices: Iterable[str] | None) -> list[str]:
    """A choice question's choices: trimmed, distinct, in order; two to MAX_CHOICES of them,
    each at most MAX_CHOICE_LENGTH characters."""
    cleaned = list(dict.fromkeys(c.strip() for c in choices or [] if c and c.strip()))
    _check_offered(cleaned)
    return cleaned


def _check_offered(labels: list[str]) -> None:
    if len(labels) < 2:
        raise ServiceError(_("A choice question needs at least two different choices."))
    if len(labels) > MAX_CHOICES:
        raise ServiceError(_("A question offers at most %(most)s choices.") % {"most": MAX_CHOICES})
    if any(len(c) > MAX_CHOICE_LENGTH for c in labels):
        raise ServiceError(
            _("A choice is at most %(most)s characters.") % {"most": MAX_CHOICE_LENGTH}
        )


# A choice as the builder gives it: its words (an existing choice with exactly these words,
# offered or removed, keeps its id; other words make a new choice), or (id, words) for an
# existing choice, reworded or not.
ChoiceInput = str | tuple[int, str]


@dataclass(frozen=True)
class ChoiceSet:
    labels: list[str]
    ids: list[int]
    removed: list[tuple[int, str]]  # (id, words), in the order they were removed


def _resolve_choices(
    question: Question | None, kind: str, choices: Iterable[ChoiceInput] | None
) -> ChoiceSet:
    """The question's choices after an edit, in the order given. A choice left out is
    removed: no longer offered, kept with its words in `removed` for the answers it has. Ids
    are never reused: nothing is ever deleted, and a new choice takes the next free one."""
    offered = question.offered_choices if question else []
    removed = list(question.removed_choices) if question else []
    words = dict(offered) | dict(removed)
    next_id = max(words, default=-1) + 1
    if kind not in CHOICE_KINDS:
        # A scale or text question offers nothing; its former choices stay on file so their
        # ids are not given again (an unconfirmed submission may still name one).
        return ChoiceSet([], [], removed + offered)
    items = list(choices or [])
    renamed: dict[int, str] = {}
    for item in items:
        if isinstance(item, str):
            continue
        pk, label = item
        if pk not in words:
            raise ServiceError(_("This form has changed since it was opened: reload it."))
        label = (label or "").strip()
        if not label:
            raise ServiceError(_("A choice cannot be empty: remove it instead."))
        renamed[pk] = label
    # Words typed again find their choice: first as just renamed, then as offered, then as
    # removed (typing a removed choice's words offers it again, with its answers).
    by_label: dict[str, int] = {}
    for pk, label in renamed.items():
        by_label.setdefault(label, pk)
    for pk, label in words.items():
        if pk not in renamed:
            by_label.setdefault(label, pk)
    labels: list[str] = []
    ids: list[int] = []
    for item in items:
        if isinstance(item, str):
            label = item.strip()
            if not label:
                continue
            known = by_label.get(label)
            if known is None:
                known, next_id = next_id, next_id + 1
                by_label[label] = known
            pk = known
        else:
            pk, label = item[0], renamed[item[0]]
        if pk in ids:
            continue  # the same choice twice
        if label in labels:
            raise ServiceError(
                _("Two choices read “%(label)s”: each choice must differ.") % {"label": label}
            )
        ids.append(pk)
        labels.append(label)
    _check_offered(labels)
    kept = {pk for pk, _label in removed}
    removed = [(pk, label) for pk, label in removed if pk not in ids] + [
        (pk, renamed.get(pk, label)) for pk, label in offered if pk not in ids and pk not in kept
    ]
    if len(ids) + len(removed) > MAX_KEPT_CHOICES:
        raise ServiceError(
            _("This question has had too many choices over time. Add a new question instead.")
        )
    return ChoiceSet(labels, ids, removed)


def _write_choices(question: Question, choices: ChoiceSet) -> None:
    """Make the question's choice rows what `choices` says (ids as given: see
    `_resolve_choices`), in place: a choice keeps its row through rewording, reordering and
    removal, so whatever points at it (a call's screening rule) stays with it."""
    wanted = {
        pk: (label, place, False)
        for place, (pk, label) in enumerate(zip(choices.ids, choices.labels, strict=True))
    } | {pk: (label, place, True) for place, (pk, label) in enumerate(choices.removed)}
    rows = {c.number: c for c in Choice.objects.filter(question=question)}
    Choice.objects.filter(question=question).exclude(number__in=list(wanted)).delete()
    changed = []
    for number, (label, place, removed) in wanted.items():
        row = rows.get(number)
        if row is None:
            continue
        if (row.label, row.position, row.removed) != (label, place, removed):
            row.label, row.position, row.removed = label, place, removed
            changed.append(row)
    Choice.objects.bulk_update(changed, ["label", "position", "removed"])
    Choice.objects.bulk_create(
        [
            Choice(question=question, number=pk, label=label, position=place, removed=removed)
            for pk, (label, place, removed) in wanted.items()
            if pk not in rows
        ]
    )


@transaction.atomic
def add_question(
    *,
    questionnaire: Questionnaire,
    label: str,
    kind: str,
    choices: Iterable[str] | None = None,
    required: bool = False,
    help_text: str = "",
    keep_text: bool = False,
) -> Question:
    """Add a question at the end. At most MAX_QUESTIONS; a choice question offers at least
    two distinct choices (their ids are 0, 1, ...), a scale or text question none."""
    # Lock the questionnaire so two organizers adding at once cannot pass the limit together.
    questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    if questionnaire.questions.count() >= MAX_QUESTIONS:
        raise ServiceError(_("A form asks at most %(most)s questions.") % {"most": MAX_QUESTIONS})
    label, help_text = _clean_text(label=label, kind=kind, help_text=help_text)
    cleaned = _resolve_choices(None, kind, [c for c in choices or [] if isinstance(c, str)])
    last = questionnaire.questions.aggregate(last=Max("position"))["last"]
    question = Question.objects.create(
        questionnaire=questionnaire,
        position=0 if last is None else last + 1,
        kind=kind,
        label=label,
        help_text=help_text,
        required=required,
        # Only words can be kept: the flag means nothing on a scale or a choice.
        keep_text=bool(keep_text) and kind in MAX_TEXT,
    )
    _write_choices(question, cleaned)
    return question


@transaction.atomic
def edit_question(
    *,
    question: Question,
    label: str,
    kind: str,
    choices: Iterable[ChoiceInput] | None = None,
    required: bool = False,
    help_text: str = "",
    keep_text: bool = False,
) -> Question:
    """Change a question. Once answered, its kind stays. Choices may be reworded, reordered,
    added and removed at any time, because answers name a choice by its id: a removed
    choice is no longer offered, and the answers it has keep its words in the results
    (marked "removed"). `choices` lists the offered choices in their new order, each as its
    words or as (id, words); see `_resolve_choices`."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    label, help_text = _clean_text(label=label, kind=kind, help_text=help_text)
    cleaned = _resolve_choices(question, kind, choices)
    if kind != question.kind and is_answered(question):
        raise ServiceError(
            _(
                "People have answered this question, so its kind cannot change "
                "(their answers would no longer fit). Add a new question instead."
            )
        )
    question.label, question.kind = label, kind
    question.help_text, question.required = help_text, required
    question.keep_text = bool(keep_text) and kind in MAX_TEXT
    question.save(update_fields=["label", "kind", "required", "help_text", "keep_text"])
    _write_choices(question, cleaned)
    return Question.objects.get(pk=question.pk)


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
            _(
                "People have answered this question, so it cannot be removed without losing "
                "their answers. You can reword it."
            )
        )
    question.delete()


# Answering


class AnswerErrors(ServiceError):
    """Answers that cannot be kept: a message per question (`errors[question_id]`) and, for
    a submission that does not fit this form at all, a general one (`errors[None]`)."""

    def __init__(self, errors: dict[int | None, str]):
        self.errors = errors
        super().__init__(_("Some answers need attention."))


def field_name(question: Question) -> str:
    return f"q{question.pk}"


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
    """Keep a respondent's answers ({question id: value or None}, as the answers form
    cleaned them: forms.answers.AnswersForm): their one response is created, or replaced
    when they answer again. Answers to questions the questionnaire does not ask refuse the
    whole lot. Returns (response, created)."""
    asked = set(questionnaire.questions.values_list("pk", flat=True))
    if set(answers) - asked:
        raise AnswerErrors({None: _("The answers do not belong to this form.")})
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
    """A response's answers as the answers form gives them (to show it filled in)."""
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


def labelled_answers(
    questionnaire: Questionnaire, response: Response | None
) -> list[tuple[str, str]]:
    """(question, answer in words) for each question of the form, as the CSV writes a cell:
    what a respondent is shown of what they sent (a confirmation, their data export)."""
    answers = answers_of(response)
    lines = []
    for question in questionnaire.questions.all():
        value = answers.get(question.pk)
        numbers = value if isinstance(value, list) else ([value] if isinstance(value, int) else [])
        text = value if isinstance(value, str) else ""
        lines.append((question.label, answer_cells(question, numbers, text)))
    return lines


def fitting_answers(questions: list[Question], answers: dict[int, Any]) -> dict[int, Any]:
    """The answers (as the answers form cleaned them, earlier) that still fit the questions
    as they are now: for a submission kept while its email was unconfirmed, during which the
    form may have changed. An answer to a choice that has since been removed still fits (it
    was offered when given, and keeps that choice's words); one that no longer fits its
    question's kind, or names no choice it ever had, is dropped."""
    by_pk = {q.pk: q for q in questions}
    kept: dict[int, Any] = {}
    for pk, value in answers.items():
        question = by_pk.get(pk)
        if question is None or value is None:
            continue
        kind = question.kind
        known = set(question.choice_names())
        if kind in MAX_TEXT:
            fits = isinstance(value, str)
        elif kind in SCALES:
            fits = type(value) is int and value in SCALES[kind]
        elif kind == Kind.MULTIPLE:
            value = (
                [v for v in value if type(v) is int and v in known]
                if isinstance(value, list)
                else []
            )
            fits = bool(value)
        else:
            fits = type(value) is int and value in known
        if fits:
            kept[pk] = value
    return kept


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
        # The offered choices in order, then any other choice that has answers: a removed
        # one under its words, marked as removed.
        labels = question.offered_choices
        names = question.choice_names()
        labels += [(n, names.get(n, f"#{n}")) for n in _others(question, counts)]
    return [
        Option(label, counts.get(n, 0), 100 * counts.get(n, 0) / answered if answered else 0)
        for n, label in labels
    ]


def results(
    *,
    questionnaire: Questionnaire,
    responses: QuerySet | None = None,
    text_limit: int = 10,
    anonymous: bool = False,
) -> Results:
    """Every question's figures over `responses` (all of the questionnaire's when None), in
    five queries whatever the number of responses: counts per (question, value) and the
    latest free-text answers are computed by the database. `anonymous`: the free-text
    answers shown are chosen and ordered by their words, not the latest first: the order of
    answering, beside who was seen at the form when, names people."""
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
        order = [F("text").asc(), F("pk").asc()] if anonymous else [F("pk").desc()]
        latest = (
            answers.filter(question__kind__in=list(MAX_TEXT))
            .annotate(rank=Window(RowNumber(), partition_by=F("question_id"), order_by=order))
            .filter(rank__lte=text_limit)
            .values_list("question_id", "text")
            .order_by("question_id", "rank")
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


def _others(question: Question, counts: dict[int, int]) -> list[int]:
    """Ids with answers that are not offered (removed choices), in the order they were
    removed."""
    offered = set(question.choice_ids)
    order = {pk: i for i, (pk, _label) in enumerate(question.removed_choices)}
    others = [n for n, c in counts.items() if c and n not in offered]
    return sorted(others, key=lambda n: (order.get(n, len(order)), n))


def choice_order(question: Question) -> dict[int, tuple[int, str]]:
    """id -> (rank, words) for every choice the question has had: the offered ones in order,
    then the removed ones, marked as such. Read once per question, not once per answer."""
    names = question.choice_names()
    ids = [pk for pk, _label in question.offered_choices + question.removed_choices]
    return {pk: (rank, names[pk]) for rank, pk in enumerate(ids)}


def answer_cells(
    question: Question,
    numbers: list[int],
    text: str,
    choices: dict[int, tuple[int, str]] | None = None,
) -> str:
    """One question's answer as a CSV cell: a choice's words (a removed choice's marked as
    such), several joined by '; ' in the order the question lists them. `choices` is
    `choice_order(question)`, when the caller has it already."""
    if question.kind in MAX_TEXT:
        return text
    if question.kind in CHOICE_KINDS:
        if choices is None:
            choices = choice_order(question)
        unknown = len(choices)
        picked = sorted(choices.get(n, (unknown + n, f"#{n}")) for n in numbers)
        return "; ".join(name for _rank, name in picked)
    return str(numbers[0]) if numbers else ""


def csv_rows(
    *,
    questionnaire: Questionnaire,
    responses: QuerySet,
    columns: Sequence[tuple[str, str]] = (),
    chunk: int = 2000,
    same_id: tuple[str, ...] = (),
    anonymous: bool = False,
) -> Iterator[list[Any]]:
    """The header, then one row per response: the owner's `columns` ((header, lookup on
    Response) pairs), then one cell per question. Read in keyset chunks, two queries per
    chunk, so memory stays flat however many responses there are. `same_id`: lookups that
    hold the response's id on a joined table; each chunk is bounded there too, or the
    database, which does not carry `id > last` across a join, reads that table's index
    from its start for every chunk.

    `anonymous`: answers and nothing else. No response id (ids come from a sequence shared
    with other questionnaires, so they order the answers in time) and no time of answering;
    and the rows in a random order, drawn afresh for every export, since any order the
    database keeps (id, creation, update) is the order people answered in."""
    questions = list(questionnaire.questions.all())
    named = [] if anonymous else ["Response", "Answered at"]
    yield named + [h for h, _ in columns] + [q.label for q in questions]
    # Read once, not once per cell.
    by_pk = [(q, q.pk, choice_order(q) if q.kind in CHOICE_KINDS else None) for q in questions]
    lookups = [lookup for _, lookup in columns]
    for batch in (
        _shuffled_chunks(responses, lookups, chunk)
        if anonymous
        else _keyset_chunks(responses, lookups, chunk, same_id)
    ):
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
                answer_cells(q, numbers.get((pk, qid), []), texts.get((pk, qid), ""), order)
                for q, qid, order in by_pk
            ]
            yield [*(row[2:] if anonymous else row), *cells]


def _keyset_chunks(
    responses: QuerySet, lookups: list[str], chunk: int, same_id: tuple[str, ...]
) -> Iterator[list[tuple]]:
    """(pk, updated_at, *lookups) rows in id order, a chunk at a time."""
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
        yield batch


def _shuffled_chunks(responses: QuerySet, lookups: list[str], chunk: int) -> Iterator[list[tuple]]:
    """The same rows in a random order: the ids alone are read and shuffled (a few bytes
    each: some 4 MB at 100,000 responses), then each chunk is loaded by id and put in the
    shuffled order."""
    ids = list(responses.order_by().values_list("pk", flat=True))
    secrets.SystemRandom().shuffle(ids)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        rows = {
            row[0]: row
            for row in Response.objects.filter(pk__in=part)
            .order_by()
            .values_list("pk", "updated_at", *lookups)
        }
        yield [rows[pk] for pk in part if pk in rows]
