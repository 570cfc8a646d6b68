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


def field_choices(attribute_names: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The field select's options, (value, label, its operators), as services.segments
    lists them (worded in the reader's language there)."""
    return segments.field_choices(attribute_names)


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
    return [(name, [(op, str(segments.OP_LABELS[op])) for op in ops]) for name, ops in groups]
