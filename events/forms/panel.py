"""The composed filter of the panel and segment pages: a list of condition rows (a field, an
operator and a value each), read from a query string or a POST as `c-<n>-field`, `c-<n>-op`,
`c-<n>-value`. "Add a condition" is a submit button of the same form, so it works without
JavaScript: the page comes back with an empty row more. A row is removed by choosing no field
in it (a remove button per row would be the button that Enter presses).

What the rows mean, and whether they make sense, is services.segments' to say (`validate`);
this module only turns the request into a definition and a definition back into rows."""

import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from ..services import segments

ROW = re.compile(r"^c-(\d{1,3})-(field|op|value)$")
ADD = "add"


@dataclass
class Row:
    field: str = ""
    op: str = ""
    value: str = ""


def read_rows(data: QueryDict) -> list[Row]:
    """The condition rows as typed, in order, and an empty one more after "add". A row with
    no field chosen is left out."""
    found: dict[int, Row] = {}
    for key in data:
        match = ROW.match(key)
        if match:
            row = found.setdefault(int(match[1]), Row())
            setattr(row, match[2], data.get(key, "").strip())
    rows = [found[n] for n in sorted(found)]
    chosen = [row for row in rows if row.field]
    if data.get(ADD):
        chosen.append(Row())
    return chosen


def definition_of(rows: list[Row]) -> list[dict[str, str]]:
    """The rows as a raw definition, for services.segments.validate."""
    return [{"field": r.field, "op": r.op, "value": r.value} for r in rows if r.field]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def rows_of(definition: Any) -> list[Row]:
    """A definition as rows to show in the form (what is not a condition is left out: the
    editor then shows what can still be read of a damaged one)."""
    if not isinstance(definition, list):
        return []
    return [
        Row(str(c.get("field", "")), str(c.get("op", "")), _as_text(c.get("value")))
        for c in definition
        if isinstance(c, dict)
    ]


def as_query(rows: list[Row]) -> str:
    """The rows as a query string (for the pager's links and the segment editor)."""
    query = QueryDict(mutable=True)
    for n, row in enumerate(r for r in rows if r.field):
        query[f"c-{n}-field"] = row.field
        query[f"c-{n}-op"] = row.op
        query[f"c-{n}-value"] = row.value
    return query.urlencode()


# The editor's words for the fields and operators of services.segments, in the reader's
# language (the service keeps its own English ones for its messages and descriptions); one
# they do not name is shown as the service words it.
FIELD_LABELS = {
    "role": gettext_lazy("Role"),
    "affiliation": gettext_lazy("Affiliation"),
    "location": gettext_lazy("Country or time zone"),
    "consent": gettext_lazy("Agreed to be contacted"),
    "attended": gettext_lazy("Sessions attended"),
    "no_shows": gettext_lazy("No-shows"),
    "invitations": gettext_lazy("Invitations received"),
    "calls_answered": gettext_lazy("Calls answered"),
    "registrations": gettext_lazy("Registrations"),
    "surveys_answered": gettext_lazy("Surveys answered"),
    "last_contacted_at": gettext_lazy("Last contacted"),
    "last_attended_at": gettext_lazy("Last attended"),
    "tags": gettext_lazy("Tags"),
    "review_score": gettext_lazy("Mean review score"),
    "calls": gettext_lazy("Answered call"),
    "qualified_calls": gettext_lazy("Qualified in call"),
}
OP_LABELS = {
    "in": pgettext_lazy("segment operator", "is any of"),
    "contains": pgettext_lazy("segment operator", "contains"),
    "is": pgettext_lazy("segment operator", "is"),
    "eq": pgettext_lazy("segment operator", "is exactly"),
    "gte": pgettext_lazy("segment operator", "is at least"),
    "lte": pgettext_lazy("segment operator", "is at most"),
    "never": pgettext_lazy("segment operator", "never"),
    "more_than": pgettext_lazy("segment operator", "more than … days ago"),
    "within": pgettext_lazy("segment operator", "within the last … days"),
    "has_any": pgettext_lazy("segment operator", "has any of"),
    "has_none": pgettext_lazy("segment operator", "has none of"),
    "any_of": pgettext_lazy("segment operator", "any of"),
    "none_of": pgettext_lazy("segment operator", "none of"),
}


def field_choices(attribute_names: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The field select's options, (value, label, its operators), as services.segments
    lists them, worded in the reader's language."""
    shown = []
    for value, label, ops in segments.field_choices(attribute_names):
        if value.startswith(segments.ATTRIBUTE_PREFIX):
            name = value.removeprefix(segments.ATTRIBUTE_PREFIX)
            label = _("Answer: %(name)s") % {"name": name}
        shown.append((value, str(FIELD_LABELS.get(value, label)), ops))
    return shown


def operator_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The operators by kind of field, as the operator select's groups."""
    groups = [
        (_("Role and answers"), ["in"]),
        (_("Text"), ["contains", "is"]),
        (_("Numbers"), ["eq", "gte", "lte"]),
        (_("Dates"), ["never", "more_than", "within"]),
        (_("Tags"), ["has_any", "has_none"]),
        (_("Calls"), ["any_of", "none_of"]),
    ]
    return [
        (name, [(op, str(OP_LABELS.get(op, segments.OP_LABELS[op]))) for op in ops])
        for name, ops in groups
    ]
