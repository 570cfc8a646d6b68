"""Screening rules on open calls: the one place that says whether a confirmed submission
qualifies, and that sets the rules and quotas organizers write.

The semantics (README, "Screening rules on calls"), in order:
1. a chosen choice marked *disqualify* disqualifies ("Answered “X” to “Q”");
2. a chosen choice marked *qualify* qualifies, waiving the must-include rules (never a
   disqualifying answer: step 1 comes first);
3. a question with *require* ("must include one of") choices, answered with none of them,
   disqualifies ("Did not answer “Q” with one of: A, B");
4. otherwise the person qualifies, and no rule decided (reason blank).

Every change to the rules or quotas moves `OpenCall.rules_version` under the call's row lock
and re-scores the confirmed submissions still scored under an older version: inline for a
small call, in the background (events.tasks.rescore_call) for a large one. A submission
records the version it was scored under, so progress is the share that caught up, a run that
sees the version move again stops (the newer run takes over), and running one twice is
harmless."""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Lower, Now
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User

from ..models import Answer, CallQuota, CallRule, Choice, OpenCall, Question, Submission
from ..permissions import may
from . import ServiceError, audit
from . import questionnaire as engine

log = logging.getLogger(__name__)

Effect = CallRule.Effect
Bound = CallQuota.Bound
Verdict = Submission.Screening
INLINE_LIMIT = 500  # confirmed submissions re-scored in the request; more go to the worker
BATCH = 2_000
RESCORE_TASK = "events.tasks.rescore_call"
QUOTA_FIELDS = {
    "role": gettext_lazy("Role"),
    "affiliation": gettext_lazy("Affiliation"),
    "location": gettext_lazy("Country or time zone"),
}
# The same fields inside a sentence ("The “at least” quotas on role add up...").
QUOTA_FIELDS_IN_TEXT = {
    "role": gettext_lazy("role"),
    "affiliation": gettext_lazy("affiliation"),
    "location": gettext_lazy("country or time zone"),
}
MAX_QUOTAS = 30
NO_RULE = gettext_lazy("No rule applies")


# The evaluator: pure, no database


@dataclass(frozen=True)
class Rules:
    """A call's rules compiled for scoring. Answers name a choice by its number within its
    question, so every key here is (question id, choice number). Dicts keep the
    questionnaire's order, so the reason given is the first rule in the form's order."""

    disqualify: dict[tuple[int, int], str] = field(default_factory=dict)
    qualify: dict[tuple[int, int], str] = field(default_factory=dict)
    # question id -> (the numbers that satisfy it, the reason when none is chosen)
    require: dict[int, tuple[frozenset[int], str]] = field(default_factory=dict)

    @property
    def question_ids(self) -> set[int]:
        keys = [*self.disqualify, *self.qualify]
        return {q for q, _n in keys} | set(self.require)


def answered(question: str, choice: str) -> str:
    return f"Answered “{choice}” to “{question}”"[:300]


def not_answered(question: str, choices: Iterable[str]) -> str:
    return f"Did not answer “{question}” with one of: {', '.join(choices)}"[:300]


def evaluate(chosen: Mapping[int, Collection[int]], rules: Rules) -> tuple[str, str]:
    """(verdict, reason) for one person's chosen choice numbers per question id."""
    picked = {(q, n) for q, numbers in chosen.items() for n in numbers}
    for key, reason in rules.disqualify.items():
        if key in picked:
            return Verdict.DISQUALIFIED, reason
    for key, reason in rules.qualify.items():
        if key in picked:
            return Verdict.QUALIFIED, reason
    for question_id, (numbers, reason) in rules.require.items():
        if not numbers & set(chosen.get(question_id, ())):
            return Verdict.DISQUALIFIED, reason
    return Verdict.QUALIFIED, ""


def compile_rules(rows: Iterable[tuple[int, str, int, str, str]]) -> Rules:
    """Rules from (question id, question words, choice number, choice words, effect), in
    the form's order."""
    rules = Rules()
    required: dict[int, tuple[list[int], list[str], str]] = {}
    for question_id, question, number, choice, effect in rows:
        if effect == Effect.DISQUALIFY:
            rules.disqualify[(question_id, number)] = answered(question, choice)
        elif effect == Effect.QUALIFY:
            rules.qualify[(question_id, number)] = answered(question, choice)
        elif effect == Effect.REQUIRE:
            numbers, words, _q = required.setdefault(question_id, ([], [], question))
            numbers.append(number)
            words.append(f"“{choice}”" if "," in choice else choice)
    for question_id, (numbers, words, question) in required.items():
        rules.require[question_id] = (frozenset(numbers), not_answered(question, words))
    return rules


# Reading a call's rules


def load_rules(call_id: int) -> Rules:
    """The call's rules, compiled (one query)."""
    rows = (
        CallRule.objects.filter(call_id=call_id)
        .order_by("choice__question__position", "choice__question_id", "choice__position", "pk")
        .values_list(
            "choice__question_id",
            "choice__question__label",
            "choice__number",
            "choice__label",
            "effect",
        )
    )
    return compile_rules(rows)


def _chosen(response_ids: list[int], question_ids: set[int]) -> dict[int, dict[int, set[int]]]:
    """Chosen numbers per question, per response, for the rule questions (one query)."""
    chosen: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    if not response_ids or not question_ids:
        return chosen
    answers = Answer.objects.filter(
        response_id__in=response_ids, question_id__in=question_ids, number__isnull=False
    ).values_list("response_id", "question_id", "number")
    for response_id, question_id, number in answers.iterator(chunk_size=10_000):
        if number is not None:
            chosen[response_id][question_id].add(number)
    return chosen


def score_response(*, call: OpenCall, response_id: int | None) -> tuple[str, str]:
    """The verdict on one confirmed response under the call's rules as they are now (the
    confirmation path: the caller holds the call's row lock, so the version cannot move)."""
    rules = load_rules(call.pk)
    if not rules.question_ids:
        return Verdict.QUALIFIED, ""
    ids = [response_id] if response_id else []
    return evaluate(_chosen(ids, rules.question_ids).get(response_id or 0, {}), rules)


# Organizers: the rules


def choice_questions(call: OpenCall) -> list[Question]:
    """The call's choice questions, with their choices: what rules can be set on."""
    return list(
        call.questionnaire.questions.filter(kind__in=[Question.Kind.SINGLE, Question.Kind.MULTIPLE])
    )


def _lock(call: OpenCall) -> OpenCall:
    return OpenCall.objects.select_for_update().get(pk=call.pk)


def _check_rules(questions: list[Question], effects: dict[int, str]) -> None:
    """Refuse rules nobody could pass."""
    for question in questions:
        choices = list(question.choices.all())
        offered = [c for c in choices if not c.removed]
        marks = {c.pk: effects.get(c.pk, "") for c in choices}
        if offered and all(marks[c.pk] == Effect.DISQUALIFY for c in offered):
            raise ServiceError(
                _(
                    "Every choice of “%(question)s” disqualifies: nobody could qualify. "
                    "Leave at least one choice without that rule."
                )
                % {"question": question.label}
            )
        required = [c for c in choices if marks[c.pk] == Effect.REQUIRE]
        if required and all(c.removed for c in required):
            raise ServiceError(
                _(
                    "“%(question)s” must include one of choices that are no longer offered: "
                    "nobody could answer it that way now."
                )
                % {"question": question.label}
            )


@transaction.atomic
def set_rules(*, call: OpenCall, actor: User, effects: Mapping[Any, Any]) -> OpenCall:
    """Replace the call's rules with `effects` (choice id -> effect; blank: no rule). Only
    choices of this call's choice questions; rules nobody could pass are refused. Moves the
    rules version and re-scores (inline or in the background)."""
    if not may(actor, "call.edit", call):
        raise ServiceError(_("Only the call's organizers can change its screening rules."))
    call = _lock(call)
    questions = choice_questions(call)
    known = {c.pk for q in questions for c in q.choices.all()}
    cleaned: dict[int, str] = {}
    for raw_choice, raw_effect in effects.items():
        text = str(raw_choice)
        if not text.isdecimal() or len(text) > 12:
            raise ServiceError(_("Some rules are for choices this call does not offer."))
        effect = str(raw_effect or "")
        if effect and effect not in Effect.values:
            raise ServiceError(_("Unknown rule: choose qualifies, disqualifies or must include."))
        if int(text) not in known:
            raise ServiceError(_("Some rules are for choices this call does not offer."))
        if effect:
            cleaned[int(text)] = effect
    _check_rules(questions, cleaned)
    current = dict(CallRule.objects.filter(call=call).values_list("choice_id", "effect"))
    if current == cleaned:
        return call  # nothing changed: the scores stand
    CallRule.objects.filter(call=call).delete()
    CallRule.objects.bulk_create(
        [CallRule(call=call, choice_id=pk, effect=effect) for pk, effect in cleaned.items()]
    )
    audit.record(
        actor=actor,
        action="call.rules_changed",
        team=call.team_id,
        target=call,
        summary={"rules": [len(current), len(cleaned)], "version": call.rules_version + 1},
    )
    return _changed(call)


@transaction.atomic
def edit_question(*, call: OpenCall, question: Question, **fields: Any) -> Question:
    """The question editor's change to one of the call's questions: when rules name its
    choices, their words are in the reasons and its choices may have gone, so the call is
    re-scored (the question editor's own rules are the engine's)."""
    call = _lock(call)
    ruled = CallRule.objects.filter(call=call, choice__question=question).exists()
    edited = engine.edit_question(question=question, **fields)
    if ruled:
        # The rules stay on their choices (the engine keeps a choice's row through an edit),
        # but the reasons quote the old words, and a removed choice is no longer offered.
        _changed(call)
    return edited


@transaction.atomic
def remove_question(*, call: OpenCall, question: Question) -> None:
    """Remove a question (the engine's rules: unanswered only); its rules go with its
    choices, and whoever a "must include one of" on it disqualified is re-scored."""
    call = _lock(call)
    ruled = CallRule.objects.filter(call=call, choice__question=question).exists()
    engine.remove_question(question=question)
    if ruled:
        _changed(call)


# Organizers: the quotas


def _percent(value: Any) -> int:
    text = str(value if value is not None else "").strip().rstrip("%").strip()
    if not text.isdecimal() or len(text) > 3 or not 1 <= int(text) <= 100:
        raise ServiceError(_("A quota is a whole percentage from 1 to 100."))
    return int(text)


def _clean_quota(raw: Mapping[str, Any]) -> CallQuota:
    name = str(raw.get("field") or "")
    if name not in QUOTA_FIELDS:
        raise ServiceError(_("A quota is on role, affiliation or country or time zone."))
    bound = str(raw.get("bound") or "")
    if bound not in Bound.values:
        raise ServiceError(_("A quota is “at least” or “at most”."))
    value = str(raw.get("value") or "").strip()
    if "\x00" in value or len(value) > 200:
        raise ServiceError(_("A quota's value is at most 200 characters of text."))
    if name == "role" and value and value not in User.Role.values:
        raise ServiceError(_("Choose one of the roles offered."))
    if bound == Bound.AT_LEAST and not value:
        # xgettext:no-python-format
        raise ServiceError(_("“At least” needs a value (at least 30% researchers, say)."))
    return CallQuota(field=name, value=value, bound=bound, percent=_percent(raw.get("percent")))


def _check_quotas(quotas: list[CallQuota]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for quota in quotas:
        key = (quota.field, quota.value.lower(), quota.bound)
        if key in seen:
            raise ServiceError(_("Two quotas say the same thing: keep one."))
        seen.add(key)
    for name, label in QUOTA_FIELDS_IN_TEXT.items():
        mine = [q for q in quotas if q.field == name]
        floors = {q.value.lower(): q.percent for q in mine if q.bound == Bound.AT_LEAST}
        caps = {q.value.lower(): q.percent for q in mine if q.bound == Bound.AT_MOST}
        if sum(floors.values()) > 100:
            raise ServiceError(
                _("The “at least” quotas on %(field)s add up to more than 100%%.")
                % {"field": label}
            )
        for value, floor in floors.items():
            if value in caps and caps[value] < floor:
                raise ServiceError(
                    _("At most %(most)s%% is below at least %(least)s%% for “%(value)s”.")
                    % {"most": caps[value], "least": floor, "value": value}
                )
            if "" in caps and caps[""] < floor:
                raise ServiceError(
                    _(
                        "At least %(least)s%% “%(value)s” cannot fit under at most %(most)s%% "
                        "from any one %(field)s."
                    )
                    % {"least": floor, "value": value, "most": caps[""], "field": label}
                )


@transaction.atomic
def set_quotas(*, call: OpenCall, actor: User, quotas: list[Mapping[str, Any]]) -> OpenCall:
    """Replace the call's quotas (each: field, value, bound, percent). Percentages from 1
    to 100; quotas that contradict each other are refused. Quotas decide who is chosen,
    not who qualifies, but they are part of the rules: the version moves with them."""
    if not may(actor, "call.edit", call):
        raise ServiceError(_("Only the call's organizers can change its quotas."))
    if len(quotas) > MAX_QUOTAS:
        raise ServiceError(_("At most %(most)s quotas per call.") % {"most": MAX_QUOTAS})
    cleaned = [_clean_quota(raw) for raw in quotas]
    _check_quotas(cleaned)
    call = _lock(call)
    before = CallQuota.objects.filter(call=call).count()
    CallQuota.objects.filter(call=call).delete()
    for quota in cleaned:
        quota.call = call
    CallQuota.objects.bulk_create(cleaned)
    audit.record(
        actor=actor,
        action="call.quotas_changed",
        team=call.team_id,
        target=call,
        summary={"quotas": [before, len(cleaned)], "version": call.rules_version + 1},
    )
    return _changed(call)


# Re-scoring


def _changed(call: OpenCall) -> OpenCall:
    """The rules changed (the caller holds the call's row lock): move the version, and
    re-score now for a small call, after commit in the background for a large one."""
    call.rules_version += 1
    call.save(update_fields=["rules_version", "updated_at"])
    confirmed = Submission.objects.filter(call=call, confirmed_at__isnull=False).count()
    if confirmed <= INLINE_LIMIT:
        rescore(call_id=call.pk)
    else:
        enqueue_rescore(call.pk)
    return call


def resume_rescore(*, call: OpenCall, actor: User) -> None:
    """Start re-scoring again (after a lost task: a broker outage, a killed worker). Harmless
    when a run is going: the runs take the call's lock batch by batch, and what one scored
    the other skips."""
    if not may(actor, "call.edit", call):
        raise ServiceError(_("Only the call's organizers can re-score its submissions."))
    with transaction.atomic():
        audit.record(actor=actor, action="call.rescore_restarted", team=call.team_id, target=call)
    confirmed = Submission.objects.filter(call=call, confirmed_at__isnull=False).count()
    if confirmed <= INLINE_LIMIT:
        rescore(call_id=call.pk)
    else:
        enqueue_rescore(call.pk)


def enqueue_rescore(call_id: int) -> None:
    def ring() -> None:
        try:
            # By name: the tasks module calls this one, and an import back would close a cycle.
            current_app.tasks[RESCORE_TASK].delay(call_id)
        except Exception:  # noqa: BLE001 - any broker failure: the sweep (rescore_behind) runs it
            log.warning("Could not enqueue re-scoring call %s", call_id)

    transaction.on_commit(ring)


def rescore(*, call_id: int, batch: int = BATCH) -> int:
    """Score the call's confirmed submissions not yet scored under its current rules, by
    batches in pk order (memory stays flat however large the call), each in a transaction
    that holds the call's row lock (so no rule change or confirmation interleaves with it).
    Stops when the version moves (the run the change scheduled takes over). Returns how many
    were scored. Safe to run twice: a second run finds nothing behind."""
    scored = 0
    version: int | None = None
    rules = Rules()
    after = 0
    while True:
        with transaction.atomic():
            now = (
                OpenCall.objects.select_for_update()
                .filter(pk=call_id)
                .values_list("rules_version", flat=True)
                .first()
            )
            if now is None or (version is not None and now != version):
                return scored
            if version is None:
                version, rules = now, load_rules(call_id)
            rows = list(
                Submission.objects.filter(call_id=call_id, confirmed_at__isnull=False, pk__gt=after)
                .exclude(screened_version=version)
                .order_by("pk")
                .values_list("pk", "response_id")[:batch]
            )
            if not rows:
                return scored
            after = rows[-1][0]
            chosen = _chosen([r for _pk, r in rows if r], rules.question_ids)
            outcomes: dict[tuple[str, str], list[int]] = defaultdict(list)
            for pk, response_id in rows:
                outcomes[evaluate(chosen.get(response_id or 0, {}), rules)].append(pk)
            # Few distinct outcomes (at most one per rule, plus "no rule"): one UPDATE each.
            for (verdict, reason), ids in outcomes.items():
                Submission.objects.filter(pk__in=ids).update(
                    screening=verdict,
                    screening_reason=reason,
                    screened_version=version,
                    screened_at=Now(),  # the panel's minute refresh looks for it
                )
            scored += len(rows)


def rescore_behind() -> int:
    """The sweep (every few minutes): re-score every call with confirmed submissions scored
    under an older version of its rules, which a lost task (Redis down, a worker killed
    mid-run) would otherwise leave behind. Returns how many were scored."""
    behind = Submission.objects.filter(call_id=OuterRef("pk"), confirmed_at__isnull=False).exclude(
        screened_version=OuterRef("rules_version")
    )
    calls = OpenCall.objects.filter(Exists(behind)).values_list("pk", flat=True)
    return sum(rescore(call_id=pk) for pk in list(calls))


# Reading for the pages


@dataclass
class Progress:
    version: int
    total: int
    current: int

    @property
    def done(self) -> bool:
        return self.current >= self.total

    @property
    def current_shown(self) -> str:
        return number_format(self.current, force_grouping=True)

    @property
    def total_shown(self) -> str:
        return number_format(self.total, force_grouping=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "total": self.total,
            "current": self.current,
            "done": self.done,
        }


def progress(call: OpenCall) -> Progress:
    """How many confirmed submissions are scored under the current rules (one query)."""
    version = OpenCall.objects.values_list("rules_version", flat=True).get(pk=call.pk)
    counts = Submission.objects.filter(call_id=call.pk, confirmed_at__isnull=False).aggregate(
        total=Count("pk"), current=Count("pk", filter=Q(screened_version=version))
    )
    return Progress(version, counts["total"], counts["current"])


@dataclass
class QuotaMix:
    """A quota against the qualified people as they are: the share (of the qualified) of
    its value, or for "any one value" the largest one's (blank values not counted, as a
    draw's caps do not count them)."""

    quota: CallQuota
    share: float
    value: str
    people: int

    @property
    def met(self) -> bool:
        if self.quota.bound == Bound.AT_LEAST:
            return self.share >= self.quota.percent
        return self.share <= self.quota.percent

    @property
    def words(self) -> str:
        if not self.people:
            return _("nobody qualifies yet")
        words = {
            "share": f"{self.share:.0f}",
            "people": number_format(self.people, force_grouping=True),
        }
        if not self.quota.value and self.value:
            # Translators: the largest value's share, as "now 40% (“ACME”) of 1,200 qualified".
            return _("now %(share)s%% (“%(value)s”) of %(people)s qualified") % {
                **words,
                "value": self.value,
            }
        return _("now %(share)s%% of %(people)s qualified") % words


def quota_mix(call: OpenCall, quotas: list[CallQuota] | None = None) -> list[QuotaMix]:
    """Each quota against the qualified mix: one query per attribute the quotas name."""
    if quotas is None:
        quotas = list(CallQuota.objects.filter(call=call))
    qualified = Submission.objects.filter(call=call, confirmed_at__isnull=False).exclude(
        screening=Verdict.DISQUALIFIED
    )
    counts: dict[str, dict[str, int]] = {}
    for name in sorted({q.field for q in quotas}):
        rows = qualified.annotate(v=Lower(name)).values_list("v").annotate(n=Count("pk"))
        counts[name] = dict(rows.order_by())
    mix = []
    for quota in quotas:
        by_value = counts[quota.field]
        total = sum(by_value.values())
        if quota.value:
            value, n = quota.value, by_value.get(quota.value.lower(), 0)
        else:
            value, n = max(
                ((v, c) for v, c in by_value.items() if v), key=lambda vc: vc[1], default=("", 0)
            )
        mix.append(QuotaMix(quota, 100 * n / total if total else 0.0, value, total))
    return mix


@dataclass
class RuleRow:
    choice: Choice
    effect: str
    decided: int = 0


@dataclass
class Overview:
    questions: list[tuple[Question, list[RuleRow]]]
    quotas: list[QuotaMix]
    qualified: int
    disqualified: int
    undecided: int  # qualified with no rule deciding
    decided: dict[str, int]  # reason -> count


def overview(call: OpenCall) -> Overview:
    """The rules page: each choice question with each choice's rule and how many people
    that rule decided, the quotas, and the counts (a fixed number of queries)."""
    questions = choice_questions(call)
    effects = dict(CallRule.objects.filter(call=call).values_list("choice_id", "effect"))
    tallies = (
        Submission.objects.filter(call=call, confirmed_at__isnull=False)
        .values_list("screening", "screening_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    decided: dict[str, int] = {}
    qualified = disqualified = undecided = 0
    for verdict, reason, n in tallies:
        if verdict == Verdict.DISQUALIFIED:
            disqualified += n
        else:
            qualified += n
            undecided += n if not reason else 0
        if reason:
            decided[reason] = decided.get(reason, 0) + n
    rows = []
    for question in questions:
        lines = []
        for choice in question.choices.all():
            effect = effects.get(choice.pk, "")
            if choice.removed and not effect:
                continue  # a removed choice is shown only while a rule names it
            reason = answered(question.label, choice.label)
            lines.append(RuleRow(choice, effect, decided.get(reason, 0) if effect else 0))
        if any(r.effect == Effect.REQUIRE for r in lines):
            prefix = not_answered(question.label, [])
            missed = sum(n for reason, n in decided.items() if reason.startswith(prefix))
            for line in lines:
                if line.effect == Effect.REQUIRE:
                    line.decided = missed
        rows.append((question, lines))
    return Overview(
        questions=rows,
        quotas=quota_mix(call),
        qualified=qualified,
        disqualified=disqualified,
        undecided=undecided,
        decided=decided,
    )
