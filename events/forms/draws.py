"""The "draw a sample" form: a size, rows of minimum shares (`m-<n>-field`, `m-<n>-value`,
`m-<n>-share`) and rows of caps (`k-<n>-field`, `k-<n>-limit`, `k-<n>-unit`: "people" or
"percent"), prefer never attended, a seed. A row with no field chosen is left out; the page
always shows two empty rows of each more, so no JavaScript is needed.

What the rows mean, and whether they make sense, is services.draws' to say."""

import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from ..services import draws

ROW = re.compile(r"^([mk])-(\d{1,2})-(field|value|share|limit|unit)$")
EMPTY_ROWS = 2


@dataclass
class Rule:
    field: str = ""
    value: str = ""  # a minimum's value
    share: str = ""  # a minimum's percent
    limit: str = ""  # a cap's number
    unit: str = "people"  # a cap's unit: people or percent


@dataclass
class DrawInput:
    size: str
    minimums: list[Rule]
    caps: list[Rule]
    prefer_never_attended: bool
    seed: str

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of services.draws.draw_sample."""
        return {
            "size": self.size,
            "minimums": [
                {"field": r.field, "value": r.value, "share": r.share} for r in self.minimums
            ],
            "caps": [
                {"field": r.field, "share": r.limit}
                if r.unit == "percent"
                else {"field": r.field, "count": r.limit}
                for r in self.caps
            ],
            "prefer_never_attended": self.prefer_never_attended,
            "seed": self.seed,
        }


def read(data: QueryDict) -> DrawInput:
    found: dict[tuple[str, int], Rule] = {}
    for key in data:
        match = ROW.match(key)
        if match:
            rule = found.setdefault((match[1], int(match[2])), Rule())
            setattr(rule, match[3], data.get(key, "").strip())
    rows = sorted(found.items())
    return DrawInput(
        size=data.get("size", "").strip(),
        minimums=[r for (kind, _), r in rows if kind == "m" and r.field],
        caps=[r for (kind, _), r in rows if kind == "k" and r.field],
        prefer_never_attended=bool(data.get("prefer_never_attended")),
        seed=data.get("seed", "").strip(),
    )


def blank() -> DrawInput:
    return DrawInput(size="12", minimums=[], caps=[], prefer_never_attended=True, seed="")


def shown_rows(rules: list[Rule]) -> list[Rule]:
    return rules + [Rule() for _ in range(EMPTY_ROWS)]


# The field select's words in the reader's language (services.draws keeps its English ones).
FIELD_LABELS = {
    "role": gettext_lazy("Role"),
    "affiliation": gettext_lazy("Affiliation"),
    "location": gettext_lazy("Country or time zone"),
}


def field_choices() -> list[tuple[str, str]]:
    return [
        (name, str(FIELD_LABELS.get(name, label.capitalize())))
        for name, label in draws.RULE_FIELDS.items()
    ]
