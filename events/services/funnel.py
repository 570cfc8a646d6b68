"""The funnel: how many people went from a call's form to a session and its survey. Read-only.

Per call, each step counts people:

- submitted: sent the call's form, confirmed or not: the people who confirmed (the next
  step) and every other address that sent it but never confirmed;
- confirmed: confirmed their address (a confirmed submission to the call);
- qualified: confirmed, and the screening rules qualified them (`screening == "qualified"`);
- invited: qualified, and invited to at least one of the team's events (`invitations` > 0);
- accepted: invited, and accepted at least one invitation (`invitations_accepted` > 0);
- attended: accepted, and attended at least one of the team's sessions (`attended` > 0);
- answered a survey: attended, and answered at least one of the team's surveys
  (`surveys_answered` > 0).

Each step counts only people who are also in the step before it, so a funnel never grows.
From "confirmed" on, a person is the team's panel row (PanelMember: an account and its
verified addresses are one person), which carries what the funnel needs: the calls the person
confirmed, was qualified in, waits to be scored in (`calls`, `qualified_calls`,
`unscored_calls`) and their history with the team. So the counts are ONE scan of the team's
panel with conditional counts, no look-up per submission, as fresh as
`Team.panel_refreshed_at` (refreshed every minute; a re-score reaches it through
`Submission.screened_at`). Invitations, attendance and surveys are the person's whole history
with the team, not tied to the call. The addresses that never confirmed are not in the panel:
one more query counts them (distinct lower-cased addresses) from the submissions, leaving out
an address the panel already counts as confirmed.

Per team, the same over every call of the team, each person once (confirmed any submission,
qualified in any call). People who only signed up for an event, without answering a call, are
not in a team's funnel: it is the calls' funnel.

With a segment, every step counts only the segment's members (services.segments.members): the
same scan, filtered; nobody who never confirmed is a member, so none is added to "submitted"."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from .. import charts
from ..models import OpenCall, PanelMember, Submission, Team
from . import segments

# (key, label, what it counts, in one line); the words in the reader's language when shown.
STEPS: list[tuple[str, Promise, Promise]] = [
    (
        "submitted",
        pgettext_lazy("funnel step", "Submitted"),
        gettext_lazy(
            "sent the form: the people who confirmed, and each address that never confirmed"
        ),
    ),
    (
        "confirmed",
        pgettext_lazy("funnel step", "Confirmed"),
        gettext_lazy("confirmed their email address"),
    ),
    (
        "qualified",
        pgettext_lazy("funnel step", "Qualified"),
        gettext_lazy("confirmed, and qualified by the call's screening rules"),
    ),
    (
        "invited",
        pgettext_lazy("funnel step", "Invited"),
        gettext_lazy("qualified, and invited to at least one of the team's events"),
    ),
    (
        "accepted",
        pgettext_lazy("funnel step", "Accepted"),
        gettext_lazy("invited, and accepted at least one invitation"),
    ),
    (
        "attended",
        pgettext_lazy("funnel step", "Attended"),
        gettext_lazy("accepted, and attended at least one of the team's sessions"),
    ),
    (
        "answered",
        pgettext_lazy("funnel step", "Answered a survey"),
        gettext_lazy("attended, and answered at least one of the team's surveys"),
    ),
]


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    meaning: str
    count: int
    of_previous: float | None  # percent of the step before (None for the first, or after 0)
    of_first: float | None  # percent of the first step (None when it is 0)


@dataclass(frozen=True)
class Funnel:
    steps: list[Step]
    as_of: datetime | None  # when the panel (the later steps' source) was last refreshed
    disqualified: int  # confirmed people the screening rules turned away
    unscored: int  # confirmed people not scored yet (counted as not qualified)

    @property
    def chart(self) -> charts.BarChart:
        return charts.bar_chart(
            [(s.label, s.count, "brand") for s in self.steps], width=400, label_width=150, row=30
        )


class _HoldsSQLite(Func):
    """SQLite's "this JSON list holds this call id" (it has no JSON containment): the column
    compiled by Django, the id a parameter."""

    output_field = BooleanField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        (column, column_params), (wanted, wanted_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        # Django's compiled SQL only: the id is a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) AS item WHERE item.value = {wanted})"  # noqa: S608
        return sql, (*column_params, *wanted_params)


def _holds(column: str, call: OpenCall, vendor: str) -> Q:
    """The panel's list `column` holds the call's id: containment on PostgreSQL, which the
    column's GIN index serves (migration 0024)."""
    if vendor == "postgresql":
        return Q(**{f"{column}__contains": [call.pk]})
    return Q(_HoldsSQLite(F(column), Value(call.pk)))


def _people(team: Team, definition: list[segments.Condition] | None) -> QuerySet[PanelMember]:
    if definition is None:
        return PanelMember.objects.filter(team=team)
    return segments.members(team, definition)


def _conditions(call: OpenCall | None, vendor: str) -> tuple[Q, Q, Q]:
    """(confirmed, qualified, not scored yet) on a panel row, for the call or any call."""
    if call is None:
        return ~Q(calls=[]), ~Q(qualified_calls=[]), ~Q(unscored_calls=[])
    return (
        _holds("calls", call, vendor),
        _holds("qualified_calls", call, vendor),
        _holds("unscored_calls", call, vendor),
    )


# The panel's counts, in this order (each counted under its name with this prefix: "attended"
# is also a column, which a filter would then read as the count).
COUNTED = ("confirmed", "qualified", "invited", "accepted", "attended", "answered", "unscored")
PREFIX = "n_"


def statement(
    team: Team, call: OpenCall | None, definition: list[segments.Condition] | None = None
) -> QuerySet:
    """The panel's counts (COUNTED) as one grouped row, none when nobody confirmed: the
    team's rows (a segment's), the confirmed ones only, each step a conditional count."""
    people = _people(team, definition)
    confirmed, qualified, unscored = _conditions(call, connections[people.db].vendor)
    steps = [qualified]
    for history in ("invitations", "invitations_accepted", "attended", "surveys_answered"):
        steps.append(steps[-1] & Q(**{f"{history}__gt": 0}))
    counts = {"confirmed": Count("pk")}
    counts |= {
        key: Count("pk", filter=condition)
        for key, condition in zip(COUNTED[1:6], steps, strict=True)
    }
    counts["unscored"] = Count("pk", filter=~qualified & unscored)
    named = {PREFIX + key: counts[key] for key in COUNTED}
    return people.filter(confirmed).order_by().values("team").annotate(**named).values(*named)


def _never_confirmed(team: Team, call: OpenCall | None) -> int:
    """The addresses that sent the form (the call's, or any of the team's calls') and never
    confirmed it, less those the panel counts as confirmed already (one indexed look-up
    each on the panel's (team, email))."""
    if call is None:
        rows = Submission.objects.filter(call__team=team)
    else:
        rows = Submission.objects.filter(call=call)
    confirmed = _conditions(call, connections[rows.db].vendor)[0]
    counted = PanelMember.objects.filter(confirmed, team=team, email=Lower(OuterRef("email")))
    return (
        rows.filter(confirmed_at__isnull=True)
        .exclude(Exists(counted))
        .aggregate(n=Count(Lower("email"), distinct=True))["n"]
    )


def _counts(
    team: Team, call: OpenCall | None, definition: list[segments.Condition] | None
) -> dict[str, int]:
    # One short scan: its planned cost stays far below PostgreSQL's threshold for compiling
    # a query (JIT): about 22,000 at 200,000 people, against jit_above_cost 100,000.
    found = next(iter(statement(team, call, definition)), None) or {}
    counts = {key: int(found.get(PREFIX + key, 0)) for key in COUNTED}
    # Unconfirmed addresses are not in the panel, so not in a segment either.
    added = 0 if definition is not None else _never_confirmed(team, call)
    counts["submitted"] = counts["confirmed"] + added
    counts["disqualified"] = counts["confirmed"] - counts["qualified"] - counts["unscored"]
    return counts


def _rate(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _funnel(
    team: Team, call: OpenCall | None, definition: list[segments.Condition] | None
) -> Funnel:
    counts = _counts(team, call, definition)
    steps: list[Step] = []
    first = counts[STEPS[0][0]]
    for key, label, meaning in STEPS:
        count = counts[key]
        previous = steps[-1].count if steps else None
        of_previous = _rate(count, previous) if previous is not None else None
        steps.append(Step(key, str(label), str(meaning), count, of_previous, _rate(count, first)))
    return Funnel(steps, team.panel_refreshed_at, counts["disqualified"], counts["unscored"])


def for_call(call: OpenCall, *, definition: list[segments.Condition] | None = None) -> Funnel:
    """The call's funnel; with a clean segment definition (segments.validate), only its
    members. `call.team` should be loaded (select_related) to save a query."""
    return _funnel(call.team, call, definition)


def for_team(team: Team, *, definition: list[segments.Condition] | None = None) -> Funnel:
    """The funnel over every call of the team, each person once."""
    return _funnel(team, None, definition)


def explained(team: Team, call: OpenCall | None = None) -> tuple[str, tuple]:
    """The panel's statement of a team's (or a call's) funnel, for EXPLAIN."""
    return statement(team, call).query.sql_with_params()


def csv_rows(funnel: Funnel, *, about: str, segment: str = "") -> list[list[Any]]:
    """The funnel as a table: a row per step with its count and rates (percent, one
    decimal; blank where there is nothing to divide by)."""

    def percent(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    header = [
        "Funnel",
        "Segment",
        "Step",
        "People",
        "% of previous step",
        "% of first step",
        "Panel as of",
    ]
    return [header] + [
        [
            about,
            segment,
            s.label,
            s.count,
            percent(s.of_previous),
            percent(s.of_first),
            funnel.as_of or "",
        ]
        for s in funnel.steps
    ]
