"""Themes over a text question's answers (issue #23): asking for them, computing them in the
background, placing new answers, and what organizers do to them (rename, pin, merge).

The grouping is the pure engine's (events.themes); this module feeds it a question's answers
and keeps what it returns as ThemeSet, Theme and ThemeAnswer rows. A page never computes:
`request` queues the task (debounced: many answers arriving together make one computation),
the task runs `compute`. Who may read themes is who may read the answers (a survey's results,
a call's pool); who may change them is who may edit the survey or the call."""

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Model, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User

from .. import charts
from .. import themes as engine
from ..models import (
    Answer,
    OpenCall,
    Question,
    Session,
    Submission,
    Survey,
    Theme,
    ThemeAnswer,
    ThemeSet,
)
from ..permissions import may
from . import ServiceError, audit, panel, segments

log = logging.getLogger(__name__)

COMPUTE_TASK = "events.tasks.compute_themes"
PLACE_TASK = "events.tasks.place_theme_answers"
PLACE_DELAY = 30  # seconds: new answers arriving within it are placed by one task
DEBOUNCE = timedelta(seconds=60)  # requests this close to a queued one add nothing
TEXT_KINDS = (Question.Kind.SHORT_TEXT, Question.Kind.LONG_TEXT)
MAX_NAME = 120
QUOTES = 5


@dataclass(frozen=True)
class Owner:
    """The survey or open call a question belongs to, and the actions that guard its themes."""

    obj: Survey | OpenCall
    read: str  # see the themes and their answers
    edit: str  # rename, pin, merge, recompute
    export: str  # the CSV of a theme's answers

    @property
    def anonymous(self) -> bool:
        return isinstance(self.obj, Survey) and self.obj.anonymous


def owner_of(question: Question) -> Owner | None:
    """The survey or call that asks `question` (None for an event's screening questions,
    which have no themes)."""
    survey = Survey.objects.select_related("event").filter(
        questionnaire_id=question.questionnaire_id
    )
    if (found := survey.first()) is not None:
        return Owner(found, "survey.results", "survey.edit", "survey.results")
    call = OpenCall.objects.filter(questionnaire_id=question.questionnaire_id).first()
    if call is not None:
        return Owner(call, "call.review", "call.edit", "call.export")
    return None


def _check(actor: User, question: Question, what: str) -> Owner:
    owner = owner_of(question)
    if owner is None or question.kind not in TEXT_KINDS:
        raise ServiceError(_("Only the text questions of a survey or an open call have themes."))
    if not may(actor, getattr(owner, what), owner.obj):
        raise ServiceError(_("You may not change these themes."))
    return owner


# Asking for a computation


def request(question: Question, *, actor: User | None = None) -> ThemeSet:
    """Ask for the question's themes to be computed in the background. Debounced: while a
    computation asked for less than DEBOUNCE ago is still waiting, this adds nothing. With an
    `actor` (the page's Recompute button), only someone who may edit the themes may ask."""
    owner = None
    if actor is not None:
        owner = _check(actor, question, "edit")
    elif question.kind not in TEXT_KINDS:
        raise ServiceError(_("Only text questions have themes."))
    now = timezone.now()
    with transaction.atomic():
        theme_set, _created = ThemeSet.objects.get_or_create(question=question)
        theme_set = ThemeSet.objects.select_for_update().get(pk=theme_set.pk)
        waiting = theme_set.status == ThemeSet.Status.QUEUED
        if waiting and theme_set.requested_at and now - theme_set.requested_at < DEBOUNCE:
            return theme_set
        theme_set.status = ThemeSet.Status.QUEUED
        theme_set.requested_at = now
        theme_set.save(update_fields=["status", "requested_at"])
        if actor is not None and owner is not None:
            _audit(actor, "themes.recompute_requested", owner, theme_set)
        _enqueue(theme_set.pk)
    return theme_set


def _audit(actor: User, action: str, owner: Owner, target: Model, **summary: object) -> None:
    """An entry for the survey's event (or the call's team). Theme names are not kept: they
    may be drawn from people's own words."""
    obj = owner.obj
    if isinstance(obj, Survey):
        team_id, event_id = obj.event.team_id, obj.event_id
    else:
        team_id, event_id = obj.team_id, None
    audit.record(
        actor=actor, action=action, team=team_id, event=event_id, target=target, summary=summary
    )


def configure(question: Question, *, actor: User, min_themes: int, max_themes: int) -> ThemeSet:
    """Set the fewest and most themes the data may choose between, and ask for a
    recomputation with them (debounced as `request`). Bounds the engine refuses
    (engine.Settings) are a ServiceError and change nothing."""
    owner = _check(actor, question, "edit")
    try:
        engine.Settings(min_themes=min_themes, max_themes=max_themes, seed=0)
    except ValueError as error:
        raise ServiceError(str(error)) from error
    with transaction.atomic():
        theme_set, _created = ThemeSet.objects.get_or_create(question=question)
        ThemeSet.objects.filter(pk=theme_set.pk).update(
            min_themes=min_themes, max_themes=max_themes
        )
        _audit(
            actor,
            "themes.configured",
            owner,
            theme_set,
            changes=audit.changes(
                {"min_themes": theme_set.min_themes, "max_themes": theme_set.max_themes},
                {"min_themes": min_themes, "max_themes": max_themes},
            ),
        )
        return request(question, actor=actor)


def _enqueue(theme_set_id: int) -> None:
    def ring() -> None:
        try:
            # By name: the tasks module calls this one, and an import back would close a cycle.
            current_app.tasks[COMPUTE_TASK].delay(theme_set_id)
        except Exception:  # noqa: BLE001 - any broker failure: the set stays queued, Recompute asks again
            log.warning("Could not enqueue the themes of set %s", theme_set_id)

    transaction.on_commit(ring)


def answers_changed(questionnaire_id: int) -> None:
    """New or changed answers to a questionnaire, for its text questions that have themes:
    where the themes were computed, the new answers are placed in them soon (`assign_new`, no
    recomputation: the themes and the organizers' names, pins and merges stand; a full
    recomputation is the page's button); where they are still waiting for their first
    computation, it is asked for again (debounced). Questions nobody asked themes of are left
    alone."""
    sets = ThemeSet.objects.filter(
        question__questionnaire_id=questionnaire_id, question__kind__in=TEXT_KINDS
    ).select_related("question")
    for theme_set in sets:
        if theme_set.computed_at is None:
            request(theme_set.question)
        else:
            _enqueue_placing(theme_set.pk)


def _enqueue_placing(theme_set_id: int) -> None:
    """One placing task per set and PLACE_DELAY at most: answers arriving together are
    placed together (the cache's atomic add says whether a task is already waiting)."""

    def ring() -> None:
        try:
            fresh = cache.add(f"themes-place:{theme_set_id}", 1, PLACE_DELAY)
        except Exception:  # noqa: BLE001 - no cache: place anyway (each run is idempotent)
            fresh = True
        if not fresh:
            return
        try:
            current_app.tasks[PLACE_TASK].apply_async(args=(theme_set_id,), countdown=PLACE_DELAY)
        except Exception:  # noqa: BLE001 - the next answer, or a recomputation, places them
            log.warning("Could not enqueue placing the new answers of themes set %s", theme_set_id)

    transaction.on_commit(ring)


def place_new(theme_set_id: int) -> int:
    """The placing task's body: the set's answers not placed yet go to its themes."""
    theme_set = ThemeSet.objects.filter(pk=theme_set_id).first()
    return assign_new(theme_set) if theme_set is not None else 0


# Erasure


def answers_erased(
    *, question_ids: Iterable[int] = (), questionnaire_ids: Iterable[int] = ()
) -> None:
    """Answers were erased (a person withdrew or deleted their account): free text is personal
    data, so the themes of those questions are computed again (debounced), which replaces the
    stored model and its vocabulary, whose words came from the erased answers too. Until then
    the page shows none of them: their placements went with them (cascade), the themes' sizes
    are counted again here, and a quote whose answer is gone is skipped. Call it in the
    erasing transaction (after the deletes): the work runs once it commits."""
    questions = set(question_ids)
    questionnaires = set(questionnaire_ids)
    if not questions and not questionnaires:
        return
    transaction.on_commit(lambda: _after_erasure(questions, questionnaires))


def _after_erasure(questions: set[int], questionnaires: set[int]) -> None:
    sets = ThemeSet.objects.filter(
        Q(question_id__in=questions) | Q(question__questionnaire_id__in=questionnaires),
        question__kind__in=TEXT_KINDS,
    ).select_related("question")
    for theme_set in sets:
        with transaction.atomic():
            ThemeSet.objects.select_for_update().filter(pk=theme_set.pk).first()
            _resize(_locked(theme_set.pk))
            ThemeSet.objects.filter(pk=theme_set.pk).update(
                answers_count=ThemeAnswer.objects.filter(theme_set_id=theme_set.pk).count()
            )
        request(theme_set.question)


# Computing


def _texts(question_id: int) -> tuple[list[int], list[str]]:
    ids: list[int] = []
    texts: list[str] = []
    rows = Answer.objects.filter(question_id=question_id).exclude(text="").order_by("pk")
    for pk, text in rows.values_list("pk", "text").iterator(chunk_size=2000):
        ids.append(pk)
        texts.append(text)
    return ids, texts


def _settings(theme_set: ThemeSet) -> engine.Settings:
    return engine.Settings(
        min_themes=theme_set.min_themes, max_themes=theme_set.max_themes, seed=theme_set.seed
    )


def _old_model(theme_set: ThemeSet) -> engine.Model | None:
    if not theme_set.model:
        return None
    try:
        return engine.Model.from_bytes(bytes(theme_set.model))
    except ValueError:
        return None  # an unreadable model: nothing is carried over, the themes start afresh


def compute(theme_set_id: int) -> int:
    """The task's body: group the question's text answers (by id order) and replace the set's
    themes and placements in one transaction, carrying organizers' renames, pins and merges to
    the themes that continue the old ones. Returns the number of themes. Safe to run twice (the
    same answers and seed give the same themes). A failure is stored on the set with a message
    and the old themes stay as they were."""
    updated = ThemeSet.objects.filter(pk=theme_set_id).update(status=ThemeSet.Status.RUNNING)
    if not updated:
        return 0  # the question went: nothing to do
    theme_set = ThemeSet.objects.get(pk=theme_set_id)
    try:
        ids, texts = _texts(theme_set.question_id)
        grouping = engine.group(texts, _settings(theme_set))
    except Exception as error:
        log.exception("Themes of set %s could not be computed", theme_set_id)
        _failed(theme_set_id, f"The themes could not be computed ({type(error).__name__}).")
        return 0
    try:
        with transaction.atomic():
            theme_set = ThemeSet.objects.select_for_update().get(pk=theme_set_id)
            _replace(theme_set, ids, texts, grouping)
            # A request that came while this ran stays queued: its task computes again.
            if theme_set.status == ThemeSet.Status.RUNNING:
                theme_set.status = ThemeSet.Status.IDLE
            theme_set.model = grouping.model.to_bytes()
            theme_set.computed_at = timezone.now()
            theme_set.answers_count = len(ids)
            theme_set.reason = (grouping.reason or "")[:300]
            theme_set.error = ""
            theme_set.save()
    except IntegrityError:
        # An answer read above was erased before this committed (its placement points at
        # nothing): nothing of this run is kept, the old themes stay (already without the
        # erased answers), and the set is computed again, as the erasure asked.
        log.info("Themes of set %s: answers erased during the computation; again", theme_set_id)
        ThemeSet.objects.filter(pk=theme_set_id, status=ThemeSet.Status.RUNNING).update(
            status=ThemeSet.Status.IDLE
        )
        request(theme_set.question)
        return 0
    return len(grouping.themes)


def _failed(theme_set_id: int, message: str) -> None:
    ThemeSet.objects.filter(pk=theme_set_id).update(status=ThemeSet.Status.FAILED, error=message)


def _carried(
    old_model: engine.Model | None,
    old: dict[int, Theme],
    texts: list[str],
    grouping: engine.Grouping,
) -> dict[int, int]:
    """Which new theme continues which old one ({new index: old position}): by their words
    (`match`), and for a theme an organizer renamed, pinned or merged that its words did not
    find, by its answers (`follow`: the new theme that took most of them), so that their edits
    are not lost to a recomputation that reworded a theme."""
    if old_model is None or not old:
        return {}
    carried = engine.match(old_model, grouping.model)
    edited = {p for p, t in old.items() if t.custom_name or t.pinned or t.merged_into_id}
    lost = edited - set(carried.values())
    if lost:
        before = engine.assign(old_model, texts)
        for new, position in engine.follow(before, grouping.placements).items():
            if position in lost and new not in carried:
                carried[new] = position
    return carried


def _replace(
    theme_set: ThemeSet, ids: list[int], texts: list[str], grouping: engine.Grouping
) -> None:
    old_model = _old_model(theme_set)
    old = {t.position: t for t in Theme.objects.filter(theme_set=theme_set)}
    carried = _carried(old_model, old, texts, grouping)
    ThemeAnswer.objects.filter(theme_set=theme_set).delete()
    Theme.objects.filter(theme_set=theme_set).delete()
    new = Theme.objects.bulk_create(
        Theme(
            theme_set=theme_set,
            position=index,
            label=found.label[:300],
            terms=list(found.terms),
            size=found.size,
            quote_answer_ids=[ids[i] for i in found.quotes[:QUOTES]],
        )
        for index, found in enumerate(grouping.themes)
    )
    # Renames and pins go to the continuing theme; a merge stays when both its themes continue.
    continues = {index: old[o] for index, o in carried.items() if o in old}
    by_old_pk = {theme.pk: new[index] for index, theme in continues.items()}
    for index, before in continues.items():
        new[index].custom_name = before.custom_name
        new[index].pinned = before.pinned
        target = by_old_pk.get(before.merged_into_id) if before.merged_into_id else None
        if target is not None and target is not new[index]:
            new[index].merged_into = target
    Theme.objects.bulk_update(new, ["custom_name", "pinned", "merged_into"])
    placements = [
        ThemeAnswer(
            theme_set=theme_set,
            answer_id=ids[row],
            theme=_root(new[index]) if index is not None else None,
            weight=weight,
        )
        for row, (index, weight) in enumerate(grouping.placements)
    ]
    ThemeAnswer.objects.bulk_create(placements, batch_size=5000)
    _resize(new)


def _root(theme: Theme) -> Theme:
    seen = set()
    while theme.merged_into is not None and theme.pk not in seen:
        seen.add(theme.pk)
        theme = theme.merged_into
    return theme


def _locked(theme_set_id: int) -> list[Theme]:
    """The set's themes, locked, each linked in memory to the theme it was merged into."""
    themes = list(Theme.objects.select_for_update().filter(theme_set_id=theme_set_id))
    by_pk = {t.pk: t for t in themes}
    for theme in themes:
        if theme.merged_into_id is not None:
            theme.merged_into = by_pk[theme.merged_into_id]
    return themes


def _resize(themes: list[Theme]) -> None:
    """A merged theme's answers count in the theme it went into; it keeps none itself."""
    for theme in themes:
        theme.size = 0
    counts = {t.pk: t for t in themes}
    for theme_id, size in _sizes([t.pk for t in themes]).items():
        counts[theme_id].size = size
    Theme.objects.bulk_update(themes, ["size"])


def _sizes(theme_ids: list[int]) -> dict[int, int]:
    rows = (
        ThemeAnswer.objects.filter(theme_id__in=theme_ids)
        .values("theme_id")
        .annotate(n=Count("pk"))
        .values_list("theme_id", "n")
    )
    return dict(rows)


def assign_new(theme_set: ThemeSet) -> int:
    """Place the answers that came after the last computation in its themes, without computing
    them again (the stored model). Returns how many were placed."""
    model = _old_model(theme_set)
    if model is None:
        return 0
    placed = ThemeAnswer.objects.filter(theme_set=theme_set).values("answer_id")
    rows = list(
        Answer.objects.filter(question_id=theme_set.question_id)
        .exclude(text="")
        .exclude(pk__in=placed)
        .order_by("pk")
        .values_list("pk", "text")
    )
    if not rows:
        return 0
    placements = engine.assign(model, [text for _pk, text in rows])
    with transaction.atomic():
        locked = ThemeSet.objects.select_for_update().get(pk=theme_set.pk)
        if locked.computed_at != theme_set.computed_at:
            return 0  # computed again meanwhile: that computation placed every answer
        themes = _locked(theme_set.pk)
        by_position = {t.position: t for t in themes}
        ThemeAnswer.objects.bulk_create(
            [
                ThemeAnswer(
                    theme_set=theme_set,
                    answer_id=pk,
                    theme=_root(by_position[index]) if index in by_position else None,
                    weight=weight,
                )
                for (pk, _text), (index, weight) in zip(rows, placements, strict=True)
            ],
            ignore_conflicts=True,  # placed meanwhile by a computation: that placement stands
        )
        _resize(themes)
        ThemeSet.objects.filter(pk=theme_set.pk).update(
            answers_count=ThemeAnswer.objects.filter(theme_set=theme_set).count()
        )
    return len(rows)


# What organizers do to themes


def _theme_for_edit(actor: User, theme: Theme) -> Theme:
    theme = Theme.objects.select_related("theme_set__question").get(pk=theme.pk)
    _check(actor, theme.theme_set.question, "edit")
    return theme


def _audit_theme(actor: User, action: str, theme: Theme, **summary: object) -> None:
    owner = owner_of(theme.theme_set.question)
    if owner is not None:
        _audit(actor, action, owner, theme, question=theme.theme_set.question_id, **summary)


def rename(*, theme: Theme, actor: User, name: str) -> Theme:
    """Give a theme a name of the organizer's choosing; an empty name restores the label."""
    name = " ".join((name or "").split())
    if "\x00" in name:
        raise ServiceError(_("The name contains a character that cannot be kept."))
    if len(name) > MAX_NAME:
        raise ServiceError(
            _("A theme's name can be at most %(most)s characters.") % {"most": MAX_NAME}
        )
    with transaction.atomic():
        theme = _theme_for_edit(actor, theme)
        Theme.objects.filter(pk=theme.pk).update(custom_name=name)
        theme.custom_name = name
        _audit_theme(actor, "theme.renamed", theme)
    return theme


def pin(*, theme: Theme, actor: User, pinned: bool = True) -> Theme:
    """Pinned themes are listed first, and stay pinned through recomputations."""
    with transaction.atomic():
        theme = _theme_for_edit(actor, theme)
        Theme.objects.filter(pk=theme.pk).update(pinned=pinned)
        theme.pinned = pinned
        _audit_theme(actor, "theme.pinned" if pinned else "theme.unpinned", theme)
    return theme


def unpin(*, theme: Theme, actor: User) -> Theme:
    return pin(theme=theme, actor=actor, pinned=False)


@transaction.atomic
def merge(*, theme: Theme, into: Theme, actor: User) -> Theme:
    """Fold `theme` into `into`: its answers count there, and it is no longer listed. Kept
    through recomputations while both themes continue."""
    theme = _theme_for_edit(actor, theme)
    into = _theme_for_edit(actor, into)
    if theme.theme_set_id != into.theme_set_id:
        raise ServiceError(_("Only themes of the same question can be merged."))
    locked = _locked(theme.theme_set_id)
    by_pk = {t.pk: t for t in locked}
    source, target = by_pk[theme.pk], _root(by_pk[into.pk])
    if _root(source).pk == target.pk:
        raise ServiceError(_("A theme cannot be merged with itself."))
    source.merged_into = target
    Theme.objects.filter(pk=source.pk).update(merged_into=target)
    # Themes already merged into the source follow it.
    Theme.objects.filter(merged_into=source).update(merged_into=target)
    ThemeAnswer.objects.filter(theme__in=[t.pk for t in locked if _root(t).pk == target.pk]).update(
        theme=target
    )
    ThemeAnswer.objects.filter(theme=source).update(theme=target)
    _resize(locked)
    _audit_theme(actor, "theme.merged", theme, into=target.pk)
    return Theme.objects.get(pk=target.pk)


# Reading


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    share: int  # percent of the answers grouped
    quotes: list[str]
    withheld: bool  # an anonymous survey's theme of too few answers: its words are not shown
    roles: list[tuple[str, int]]  # an open call's respondents' roles in this theme, most first
    splits: list["Split"] = field(default_factory=list)  # a survey's, see `with_splits`
    segment: "Cell | None" = None  # the chosen segment's share, see `with_segment`


@dataclass(frozen=True)
class Overview:
    theme_set: ThemeSet | None
    rows: list[ThemeRow]
    unthemed: int
    anonymous: bool

    @property
    def chart(self) -> charts.BarChart | None:
        items = [(_short(r.theme.name, 24), r.theme.size, "brand") for r in self.rows]
        return charts.bar_chart(items, width=480, label_width=190, row=30) if items else None


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def withheld(owner: Owner, size: int) -> bool:
    """In an anonymous survey a theme of fewer than ANONYMITY_THRESHOLD answers shows no
    words: so few answers, read together, could say who wrote them (services.surveys)."""
    from .surveys import ANONYMITY_THRESHOLD  # here: services.surveys imports this module

    return owner.anonymous and size < ANONYMITY_THRESHOLD


def overview(*, question: Question, owner: Owner) -> Overview:
    """What the themes page shows, in a fixed number of queries however many answers: the
    set, its listed themes (pinned first), their quotes, and for an open call the roles."""
    theme_set = ThemeSet.objects.filter(question=question).first()
    if theme_set is None:
        return Overview(None, [], 0, owner.anonymous)
    themes = list(Theme.objects.filter(theme_set=theme_set, merged_into=None))
    quote_ids = [pk for t in themes for pk in t.quote_answer_ids]
    texts = dict(Answer.objects.filter(pk__in=quote_ids).values_list("pk", "text"))
    roles: dict[int, list[tuple[str, int]]] = {}
    if isinstance(owner.obj, OpenCall) and themes:
        names = {value: str(label) for value, label in User.Role.choices}
        rows = (
            ThemeAnswer.objects.filter(theme__in=themes)
            .values_list("theme_id", "answer__response__submission__role")
            .annotate(n=Count("pk"))
            .order_by("theme_id", "-n")
        )
        for theme_id, role, n in rows:
            roles.setdefault(theme_id, []).append((str(names.get(role or "", _("Not given"))), n))
    grouped = sum(t.size for t in themes)
    total = theme_set.answers_count
    rows_out = []
    for theme in themes:
        hidden = withheld(owner, theme.size)
        rows_out.append(
            ThemeRow(
                theme=theme,
                share=round(100 * theme.size / total) if total else 0,
                quotes=[] if hidden else [texts[i] for i in theme.quote_answer_ids if i in texts],
                withheld=hidden,
                roles=[] if hidden else roles.get(theme.pk, []),
            )
        )
    return Overview(theme_set, rows_out, max(total - grouped, 0), owner.anonymous)


# Breakdowns: how a survey's theme splits by session, role and NPS or rating group


@dataclass(frozen=True)
class Cell:
    label: str
    n: int | None  # None: fewer than ANONYMITY_THRESHOLD in an anonymous survey, not shown
    share: int  # percent of the theme's answers (0 when withheld)
    overall: int  # percent of all the question's grouped answers in this group


@dataclass(frozen=True)
class Split:
    by: str  # "Session", "Role", "Recommendation" or "Rating"
    cells: list[Cell]
    size: int = 0  # the theme's answers

    @property
    def highlight(self) -> Cell | None:
        """The group most over-represented in the theme against the whole question, if it
        is by at least OVER points and by more than chance would make it in a theme of this
        size (a binomial z-score of at least Z): "Detractors: 62% of this theme vs 30%
        overall", not 6 of 9 answers against half."""

        def z(cell: Cell) -> float:
            p = cell.overall / 100
            if cell.n is None or not 0 < p < 1 or not self.size:
                return 0.0
            return (cell.n / self.size - p) / math.sqrt(p * (1 - p) / self.size)

        shown_cells = [c for c in self.cells if c.n is not None]
        best = max(shown_cells, key=lambda c: c.share - c.overall, default=None)
        if best is None or best.share - best.overall < OVER or z(best) < Z:
            return None
        return best


OVER = 10  # percentage points: less is noise on a page of themes
Z = 2.0  # about one theme in forty would pass by chance alone
NPS_GROUPS = (
    (0, 6, gettext_lazy("Detractors (0-6)")),
    (7, 8, gettext_lazy("Passives (7-8)")),
    (9, 10, gettext_lazy("Promoters (9-10)")),
)
RATING_GROUPS = (
    (1, 2, gettext_lazy("Low (1-2)")),
    (3, 3, gettext_lazy("Middle (3)")),
    (4, 5, gettext_lazy("High (4-5)")),
)


def _group_of(groups, number: int | None) -> str:
    for low, high, label in groups:
        if number is not None and low <= number <= high:
            return str(label)
    return _("Not answered")


def _score_question(survey: Survey) -> Question | None:
    """The survey's NPS question (its first), else its first rating question: the groups a
    theme splits by ("detractors mostly talk about install size")."""
    scales = Question.objects.filter(
        questionnaire_id=survey.questionnaire_id, kind__in=(Question.Kind.NPS, Question.Kind.RATING)
    ).order_by("position", "pk")
    found = list(scales)
    nps = [q for q in found if q.kind == Question.Kind.NPS]
    return (nps or found)[0] if found else None


def with_splits(found: Overview, *, owner: Owner) -> Overview:
    """`found` with each survey theme's splits by the recipient's session, the respondent's
    role and the NPS (or rating) group. Grouped counts: four queries whatever the number of
    answers or themes (the score question, then one per split over the set's placements, each
    giving the themes' and the question's counts). In an anonymous survey a cell of fewer than
    ANONYMITY_THRESHOLD respondents shows no count (services.surveys' rule) and a withheld
    theme has no splits; no split names anyone."""
    from .surveys import ANONYMITY_THRESHOLD

    survey = owner.obj
    if not isinstance(survey, Survey) or found.theme_set is None or not found.rows:
        return found
    placements = ThemeAnswer.objects.filter(theme_set=found.theme_set)
    recipient = "answer__response__survey_recipient__"
    sessions = {
        s.pk: str(s)
        for s in Session.objects.filter(event_id=survey.event_id).select_related("event")
    }
    roles = dict(User.Role.choices)
    unknown = _("Not known")
    keyed: list[tuple[str, str, object]] = [
        (_("Session"), f"{recipient}session_id", lambda v: sessions.get(v, unknown)),
        (_("Role"), f"{recipient}user__role", lambda v: str(roles.get(v or "", unknown))),
    ]
    scored = _score_question(survey)
    if scored is not None:
        groups = NPS_GROUPS if scored.kind == Question.Kind.NPS else RATING_GROUPS
        score = Answer.objects.filter(
            response_id=OuterRef("answer__response_id"), question=scored
        ).values("number")[:1]
        placements = placements.annotate(score=Subquery(score))
        by = _("Recommendation") if scored.kind == Question.Kind.NPS else _("Rating")
        keyed.append((by, "score", lambda v, g=groups: _group_of(g, v)))
    out_rows = []
    counted: list[tuple[str, dict[int | None, dict[str, int]]]] = []
    for by, key, name in keyed:
        per: dict[int | None, dict[str, int]] = {}
        for theme_id, value, n in (
            placements.values_list("theme_id", key).annotate(n=Count("pk")).order_by()
        ):
            label = name(value)  # type: ignore[operator]
            mine = per.setdefault(theme_id, {})
            mine[label] = mine.get(label, 0) + n
        counted.append((by, per))
    for row in found.rows:
        if row.withheld:
            out_rows.append(row)
            continue
        splits = []
        for by, per in counted:
            everyone: dict[str, int] = {}
            for mine in per.values():
                for label, n in mine.items():
                    everyone[label] = everyone.get(label, 0) + n
            total = sum(everyone.values()) or 1
            theirs = per.get(row.theme.pk, {})
            size = sum(theirs.values()) or 1
            cells = []
            ordered = sorted(theirs.items(), key=lambda item: (-item[1], item[0]))
            small = {label for label, n in ordered if owner.anonymous and n < ANONYMITY_THRESHOLD}
            if len(small) == 1 and len(ordered) > 1:
                # One hidden cell would be the theme's size less the others: hide the
                # smallest shown one too.
                small.add(ordered[-len(small) - 1][0])
            for label, n in ordered:
                hidden = label in small
                cells.append(
                    Cell(
                        label,
                        None if hidden else n,
                        0 if hidden else round(100 * n / size),
                        0 if hidden else round(100 * everyone.get(label, 0) / total),
                    )
                )
            splits.append(Split(by, cells, sum(theirs.values())))
        out_rows.append(replace(row, splits=splits))
    return replace(found, rows=out_rows)


def with_segment(
    found: Overview, *, owner: Owner, name: str, definition: list[segments.Condition]
) -> Overview:
    """`found` with each theme's answers from one of the team's segments (segments.members),
    against the segment's share of all the question's answers: one grouped query. People are
    matched as the panel keys them (panel.keys_of for a call's submissions; a survey's
    recipient is an account, whose email is the key). An anonymous survey follows
    `with_splits`' rule: under ANONYMITY_THRESHOLD, no count."""
    from .surveys import ANONYMITY_THRESHOLD

    if found.theme_set is None or not found.rows:
        return found
    if isinstance(owner.obj, OpenCall):
        team = owner.obj.team
        submission = Submission.objects.filter(response_id=OuterRef("answer__response_id"))
        key: Any = Subquery(panel.keys_of(submission)[:1])
    else:
        team = owner.obj.event.team
        key = Lower("answer__response__survey_recipient__user__email")
    people = segments.members(team, definition).values("email")
    counts = dict(
        ThemeAnswer.objects.filter(theme_set=found.theme_set)
        .annotate(key=key)
        .filter(key__in=people)
        .values_list("theme_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    total = found.theme_set.answers_count or 1
    overall = round(100 * sum(counts.values()) / total)
    rows = []
    for row in found.rows:
        n = counts.get(row.theme.pk, 0)
        if row.withheld:
            rows.append(row)
            continue
        hidden = owner.anonymous and n < ANONYMITY_THRESHOLD
        share = 0 if hidden else round(100 * n / (row.theme.size or 1))
        cell = Cell(name, None if hidden else n, share, 0 if hidden else overall)
        rows.append(replace(row, segment=cell))
    return replace(found, rows=rows)


def answers_of(theme: Theme):
    """A theme's answers (with those of the themes merged into it), strongest first: never in
    the order of answering, which in an anonymous survey would point to who wrote them."""
    return (
        ThemeAnswer.objects.filter(theme=shown(theme))
        .order_by("-weight", "answer_id")
        .values_list("answer__text", flat=True)
    )


def shown(theme: Theme) -> Theme:
    """The theme a theme is listed as: itself, or the one it was merged into."""
    while theme.merged_into_id is not None and theme.merged_into is not None:
        theme = theme.merged_into
    return theme


def csv_rows(*, theme: Theme):
    yield ["Theme", "Answer"]
    name = shown(theme).name
    for text in answers_of(theme).iterator(chunk_size=2000):
        yield [name, text]
