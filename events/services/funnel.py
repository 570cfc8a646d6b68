"""The funnel: how many people went from a call's form to a session and its survey. Read-only.

Per call, each step counts people (a person is their address as the panel keys it: an
account's email, for a submission made while logged in or from one of its verified
addresses; else the address, lower-cased):

- submitted: sent the call's form (confirmed or not);
- confirmed: confirmed their address (`Submission.confirmed_at` set);
- qualified: confirmed, and the screening rules qualified them (`screening == "qualified"`);
- invited: qualified, and invited to at least one of the team's events (the panel's
  `invitations` > 0);
- accepted: invited, and accepted at least one invitation (`invitations_accepted` > 0);
- attended: accepted, and attended at least one of the team's sessions (`attended` > 0);
- answered a survey: attended, and answered at least one of the team's surveys
  (`surveys_answered` > 0).

Each step counts only people who are also in the step before it, so a funnel never grows.
Invitations, attendance and surveys are the person's whole history with the team, read from
the team's panel (PanelMember, joined by team and address), which is as fresh as
`Team.panel_refreshed_at` (refreshed every minute); they are not tied to the call.

Per team, the same over every call of the team, each person once (submitted to any call,
confirmed any submission, qualified in any call). People who only signed up for an event,
without answering a call, are not in a team's funnel: it is the calls' funnel.

With a segment, every step counts only the segment's members (services.segments.members).

One query, whatever the number of people: the call's (or team's) submissions are keyed,
folded to one row per person and joined with the panel's rows in the database."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.db import connections, transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from .. import charts
from ..models import OpenCall, PanelMember, Submission, Team
from . import segments

# (key, label, what it counts, in one line)
STEPS: list[tuple[str, str, str]] = [
    ("submitted", "Submitted", "sent the form, confirmed or not"),
    ("confirmed", "Confirmed", "confirmed their email address"),
    ("qualified", "Qualified", "confirmed, and qualified by the call's screening rules"),
    ("invited", "Invited", "qualified, and invited to at least one of the team's events"),
    ("accepted", "Accepted", "invited, and accepted at least one invitation"),
    ("attended", "Attended", "accepted, and attended at least one of the team's sessions"),
    ("answered", "Answered a survey", "attended, and answered at least one of the team's surveys"),
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


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0))


def _submissions(rows: QuerySet[Submission]) -> QuerySet:
    confirmed = Q(confirmed_at__isnull=False)
    return (
        rows.annotate(
            address=Lower("email"),
            account=Lower("user__email"),
            is_confirmed=_flag(confirmed),
            is_qualified=_flag(confirmed & Q(screening=Submission.Screening.QUALIFIED)),
            is_unscored=_flag(confirmed & Q(screening="")),
        )
        .values("address", "account", "is_confirmed", "is_qualified", "is_unscored")
        .order_by()
    )


def _aliases() -> QuerySet:
    """Every verified address with its account's email, lower-cased: how the panel folds a
    submission from an account's verified address into the account's row. An account's own
    email is its key already, so only the other addresses are needed (most accounts have
    none: the join stays small)."""
    return (
        EmailAddress.objects.filter(verified=True)
        .exclude(email=Lower("user__email"))
        .values("email", owner=Lower("user__email"))
        .order_by()
    )


SUMS = {
    "submitted": "1 = 1",
    "confirmed": "c = 1",
    "qualified": "q = 1",
    "invited": "q = 1 AND p.invitations > 0",
    "accepted": "q = 1 AND p.invitations > 0 AND p.invitations_accepted > 0",
    "attended": "q = 1 AND p.invitations > 0 AND p.invitations_accepted > 0 AND p.attended > 0",
    "answered": "q = 1 AND p.invitations > 0 AND p.invitations_accepted > 0 AND p.attended > 0"
    " AND p.surveys_answered > 0",
    "disqualified": "c = 1 AND q = 0 AND u = 0",
    "unscored": "q = 0 AND u = 1",
}


def query(
    submissions: QuerySet, panel: QuerySet[PanelMember], *, only_panel: bool
) -> tuple[str, tuple]:
    """The funnel's one statement and its parameters (the benchmark explains it)."""
    # Django cannot select from a subquery, so the inner selects are querysets compiled by
    # Django (every value stays a parameter) and this wraps them: the submissions keyed as
    # the panel keys people (the account's email when sent while logged in or from one of
    # its verified addresses, else the address), folded to one row per person, then joined
    # with the panel's row of that person. Joins, not a look-up per submission: the planner
    # hashes each side once.
    people_sql, people_params = submissions.query.sql_with_params()
    aliases_sql, aliases_params = _aliases().query.sql_with_params()
    panel_sql, panel_params = (
        panel.values("email", "invitations", "invitations_accepted", "attended", "surveys_answered")
        .order_by()
        .query.sql_with_params()
    )
    join = "INNER JOIN" if only_panel else "LEFT JOIN"
    # People are grouped by their key: compared byte by byte, a sort (when the planner sorts)
    # does not pay for the database's collation. Equality is the same either way.
    collated = ' COLLATE "C"' if connections[submissions.db].vendor == "postgresql" else ""
    columns = ", ".join(
        f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)" for condition in SUMS.values()
    )
    # Only our own constants and Django's compiled SQL are formatted in; values are params.
    sql = (
        f"SELECT {columns} FROM ("  # noqa: S608
        f"SELECT COALESCE(s.account, a.owner, s.address){collated} AS person,"
        " MAX(s.is_confirmed) AS c, MAX(s.is_qualified) AS q, MAX(s.is_unscored) AS u"
        f" FROM ({people_sql}) s LEFT JOIN ({aliases_sql}) a ON a.email = s.address"
        f" GROUP BY COALESCE(s.account, a.owner, s.address){collated}"
        f") people {join} ({panel_sql}) p ON p.email = people.person"
    )
    return sql, (*people_params, *aliases_params, *panel_params)


def _counts(submissions: QuerySet, panel: QuerySet[PanelMember], *, only_panel: bool) -> dict:
    sql, params = query(submissions, panel, only_panel=only_panel)
    database = connections[submissions.db]
    with transaction.atomic(using=submissions.db), database.cursor() as cursor:
        if database.vendor == "postgresql":
            # One pass of hash joins over every submission: compiling it (JIT) took longer
            # than running it (bench/panel.py --explain).
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return dict(zip(SUMS, (int(v) for v in row), strict=True))


def _inputs(
    team: Team, rows: QuerySet[Submission], definition: list[segments.Condition] | None
) -> tuple[QuerySet, QuerySet[PanelMember]]:
    if definition is None:
        return _submissions(rows), PanelMember.objects.filter(team=team)
    return _submissions(rows), segments.members(team, definition)


def _rate(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _funnel(
    team: Team, rows: QuerySet[Submission], definition: list[segments.Condition] | None
) -> Funnel:
    submissions, panel = _inputs(team, rows, definition)
    counts = _counts(submissions, panel, only_panel=definition is not None)
    steps: list[Step] = []
    first = counts[STEPS[0][0]]
    for key, label, meaning in STEPS:
        count = counts[key]
        previous = steps[-1].count if steps else None
        of_previous = _rate(count, previous) if previous is not None else None
        steps.append(Step(key, label, meaning, count, of_previous, _rate(count, first)))
    return Funnel(steps, team.panel_refreshed_at, counts["disqualified"], counts["unscored"])


def for_call(call: OpenCall, *, definition: list[segments.Condition] | None = None) -> Funnel:
    """The call's funnel; with a clean segment definition (segments.validate), only its
    members. `call.team` should be loaded (select_related) to keep to one query."""
    return _funnel(call.team, Submission.objects.filter(call=call), definition)


def for_team(team: Team, *, definition: list[segments.Condition] | None = None) -> Funnel:
    """The funnel over every call of the team, each person once."""
    calls = OpenCall.objects.filter(team=team).values("pk")
    return _funnel(team, Submission.objects.filter(call__in=calls), definition)


def explained(team: Team, call: OpenCall | None = None) -> tuple[str, tuple]:
    """The statement of a team's (or a call's) funnel, for EXPLAIN."""
    calls = OpenCall.objects.filter(team=team).values("pk")
    rows = Submission.objects.filter(**({"call": call} if call else {"call__in": calls}))
    return query(*_inputs(team, rows, None), only_panel=False)


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
