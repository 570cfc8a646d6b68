"""Segments: filters over a team's panel, composed of conditions and saved by name.

A definition is a JSON list of conditions, all of which a person must meet (AND):

    [{"field": "role", "op": "in", "value": ["researcher"]},
     {"field": "attended", "op": "eq", "value": 0},
     {"field": "last_contacted_at", "op": "more_than", "value": 30},
     {"field": "attributes.models_used", "op": "in", "value": ["Llama"]},
     {"field": "tags", "op": "has_none", "value": ["declined-nda"]},
     {"field": "review_score", "op": "gte", "value": 3.5},
     {"field": "calls", "op": "any_of", "value": [12], "titles": ["What do you expect?"]}]

`validate` is the one gate: whatever a page or a script sends goes through it and comes out
typed (numbers as ints, consent as a bool, lists as lists of strings), or is refused with a
ServiceError that says which condition is wrong and why. `members` turns a clean definition
into ONE queryset over the panel's columns, so a segment of 200,000 people is filtered and
counted by the database, never in Python; segments are re-evaluated each time they are read.
"""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import IContains
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext, pgettext_lazy

from accounts.models import User

from .. import permissions
from ..models import OpenCall, PanelAttribute, PanelMember, Segment, Team
from . import ServiceError, audit, tombstones

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

MAX_CONDITIONS = 20
MAX_NUMBER = 1_000_000  # far above any history count, far below a column's limit
MAX_DAYS = 36_500  # a hundred years
MAX_TEXT = 200
MAX_VALUES = 50
ATTRIBUTE_PREFIX = "attributes."

Condition = dict[str, Any]


@dataclass(frozen=True)
class Field:
    label: "str | StrPromise"
    # "role", "text", "consent", "number", "date", "tags", "score", "calls", "attribute"
    kind: str


FIELDS: dict[str, Field] = {
    "role": Field(gettext_lazy("Role"), "role"),
    "affiliation": Field(gettext_lazy("Affiliation"), "text"),
    "location": Field(gettext_lazy("Country or time zone"), "location"),
    "consent": Field(gettext_lazy("Agreed to be contacted"), "consent"),
    "attended": Field(gettext_lazy("Sessions attended"), "number"),
    "no_shows": Field(gettext_lazy("No-shows"), "number"),
    "invitations": Field(gettext_lazy("Invitations received"), "number"),
    "calls_answered": Field(gettext_lazy("Calls answered"), "number"),
    "registrations": Field(gettext_lazy("Registrations"), "number"),
    "surveys_answered": Field(gettext_lazy("Surveys answered"), "number"),
    "last_contacted_at": Field(gettext_lazy("Last contacted"), "date"),
    "last_attended_at": Field(gettext_lazy("Last attended"), "date"),
    "tags": Field(gettext_lazy("Tags"), "tags"),
    "review_score": Field(gettext_lazy("Mean review score"), "score"),
    "calls": Field(gettext_lazy("Answered call"), "calls"),
    "qualified_calls": Field(gettext_lazy("Qualified in call"), "calls"),
}

# The operators each kind of field takes, in the order the form offers them.
OPS: dict[str, tuple[str, ...]] = {
    "role": ("in",),
    "text": ("contains", "is"),
    "location": ("contains",),
    "consent": ("is",),
    "number": ("eq", "gte", "lte"),
    "date": ("never", "more_than", "within"),
    "tags": ("has_any", "has_none"),
    "score": ("gte", "lte"),
    "calls": ("any_of", "none_of"),
    "attribute": ("in", "contains"),
}

OP_LABELS: "dict[str, str | StrPromise]" = {
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

# What a typed condition may call a role, in English whatever the page's language (as a
# draw's rules may too); ROLE_GROUPS says them in the reader's language.
ROLE_PLURALS = {
    User.Role.DEVELOPER: "developers",
    User.Role.RESEARCHER: "researchers",
    User.Role.COMMUNITY: "community members",
    User.Role.OTHER: "people of another role",
}
ROLE_GROUPS = {
    User.Role.DEVELOPER: gettext_lazy("developers"),
    User.Role.RESEARCHER: gettext_lazy("researchers"),
    User.Role.COMMUNITY: gettext_lazy("community members"),
    User.Role.OTHER: gettext_lazy("people of another role"),
}

YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n"}


def attribute_names(team: Team) -> list[str]:
    """The team's panel attributes (mapped call questions), by name."""
    return list(PanelAttribute.objects.filter(team=team).values_list("name", flat=True))


def call_choices(team: Team) -> list[tuple[int, str]]:
    """The team's calls as (id, title), newest first: what the "answered call" and
    "qualified in call" conditions are chosen from."""
    return list(OpenCall.objects.filter(team=team).order_by("-pk").values_list("pk", "title"))


def field_choices(names: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every field a condition may be on, as (value, label, its operators), the team's
    attributes last."""
    return [(name, str(f.label), OPS[f.kind]) for name, f in FIELDS.items()] + [
        (ATTRIBUTE_PREFIX + name, _("Answer: %(name)s") % {"name": name}, OPS["attribute"])
        for name in names
    ]


def _kind(field: str, names: list[str]) -> str:
    if field in FIELDS:
        return FIELDS[field].kind
    if field.startswith(ATTRIBUTE_PREFIX) and field[len(ATTRIBUTE_PREFIX) :] in names:
        return "attribute"
    raise ServiceError(_("There is no field “%(field)s” to filter on.") % {"field": field[:60]})


def _label(field: str) -> str:
    if field in FIELDS:
        return str(FIELDS[field].label)
    return _("Answer: %(name)s") % {"name": field[len(ATTRIBUTE_PREFIX) :]}


def _no_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ServiceError(_("A condition cannot contain a NUL character."))
    if isinstance(value, list):
        for item in value:
            _no_nul(item)


def _text(value: Any, where: str) -> str:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value if value is not None else "").strip()
    if not text:
        raise ServiceError(_("%(where)s: type the text to look for.") % {"where": where})
    if len(text) > MAX_TEXT:
        raise ServiceError(
            _("%(where)s: at most %(most)s characters.") % {"where": where, "most": MAX_TEXT}
        )
    return text


def _words(value: Any, where: str) -> list[str]:
    """A list of values: a JSON list, or what the form sends, separated by commas."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    words = []
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise ServiceError(_("%(where)s: give the values as text.") % {"where": where})
        word = str(item).strip()
        if word and word not in words:
            words.append(word)
    if not words:
        raise ServiceError(_("%(where)s: give at least one value.") % {"where": where})
    if len(words) > MAX_VALUES or any(len(w) > MAX_TEXT for w in words):
        raise ServiceError(
            _("%(where)s: at most %(most)s values of %(length)s characters.")
            % {"where": where, "most": MAX_VALUES, "length": MAX_TEXT}
        )
    return words


def _roles(value: Any, where: str) -> list[str]:
    # Values, labels and plurals: the English ones and the reader's language's.
    by_name = {r.value: r.value for r in User.Role} | {r.label.lower(): r.value for r in User.Role}
    by_name |= {plural: role for role, plural in ROLE_PLURALS.items()}
    by_name |= {str(plural).lower(): role for role, plural in ROLE_GROUPS.items()}
    roles = []
    for word in _words(value, where):
        role = by_name.get(word.lower())
        if role is None:
            known = ", ".join(r.label.lower() for r in User.Role)
            raise ServiceError(
                _("%(where)s: “%(word)s” is not a role (one of: %(known)s).")
                % {"where": where, "word": word[:40], "known": known}
            )
        if role not in roles:
            roles.append(role)
    return roles


def _count(value: Any, where: str, *, most: int, days: bool) -> int:
    """A whole number of days (`days`) or of times, from 0 to `most`."""
    text = str(value).strip() if not isinstance(value, bool) else "x"
    if text.startswith("-") and text[1:].isdigit():
        if days:
            raise ServiceError(_("%(where)s: days cannot be negative.") % {"where": where})
        raise ServiceError(_("%(where)s: the number cannot be negative.") % {"where": where})
    if not text.isdigit() or not text.isascii():
        raise ServiceError(
            _("%(where)s: “%(text)s” is not a whole number.") % {"where": where, "text": text[:20]}
        )
    if len(text) > 9 or int(text) > most:
        most_text = number_format(most, force_grouping=True)
        if days:
            raise ServiceError(
                _("%(where)s: days is at most %(most)s.") % {"where": where, "most": most_text}
            )
        raise ServiceError(
            _("%(where)s: the number is at most %(most)s.") % {"where": where, "most": most_text}
        )
    return int(text)


SCORE = re.compile(r"^\d{1,2}(\.\d+)?$")


def _score(value: Any, where: str) -> float:
    """A mean review score to compare with: 1 to 5, to one decimal place at most."""
    text = "x" if isinstance(value, bool) else str(value if value is not None else "").strip()
    if not text:
        raise ServiceError(_("%(where)s: give a score from 1 to 5.") % {"where": where})
    if not SCORE.match(text) or not text.isascii():
        raise ServiceError(
            _("%(where)s: “%(text)s” is not a score (a number such as 3 or 3.5).")
            % {"where": where, "text": text[:20]}
        )
    if "." in text and len(text.split(".")[1].rstrip("0")) > 1:
        raise ServiceError(
            _("%(where)s: give the score to one decimal place at most (3.5).") % {"where": where}
        )
    score = float(text)
    if not 1 <= score <= 5:
        raise ServiceError(_("%(where)s: scores go from 1 to 5.") % {"where": where})
    return round(score, 1)


def _tag_names(value: Any, where: str) -> list[str]:
    # Tags are kept lower-cased (services.open_calls.set_tags): match them so.
    return list(dict.fromkeys(word.lower() for word in _words(value, where)))


class _TeamCalls:
    """The team's calls as (id, title), read once per definition, and only if a condition
    names calls."""

    def __init__(self, team: Team):
        self.team = team
        self._calls: list[tuple[int, str]] | None = None

    def all(self) -> list[tuple[int, str]]:
        if self._calls is None:
            self._calls = list(OpenCall.objects.filter(team=self.team).values_list("pk", "title"))
        return self._calls


def _calls(value: Any, where: str, team_calls: _TeamCalls) -> tuple[list[int], list[str]]:
    """Calls of the team, given by id (the form's list offers them by title) or by exact
    title, ignoring case: their ids and their titles now."""
    words = _words(value, where)
    calls = team_calls.all()
    by_id = {str(pk): (pk, title) for pk, title in calls}
    by_title = {title.strip().lower(): (pk, title) for pk, title in calls}
    found: dict[int, str] = {}
    for word in words:
        call = by_id.get(word) or by_title.get(word.lower())
        if call is None:
            raise ServiceError(
                _("%(where)s: “%(word)s” is not one of the team's calls.")
                % {"where": where, "word": word[:60]}
            )
        found[call[0]] = call[1]
    return list(found), list(found.values())


def _consent(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise ServiceError(_("%(where)s: answer yes or no.") % {"where": where})


def _clean(condition: Any, n: int, names: list[str], team_calls: _TeamCalls) -> Condition:
    if not isinstance(condition, dict):
        raise ServiceError(_("Condition %(n)s is not a field, an operator and a value.") % {"n": n})
    _no_nul(condition.get("field"))
    _no_nul(condition.get("op"))
    _no_nul(condition.get("value"))
    field = str(condition.get("field") or "")
    op = str(condition.get("op") or "")
    value = condition.get("value")
    kind = _kind(field, names)
    # Translators: how an error names a condition: "Condition 2 (Sessions attended)".
    where = _("Condition %(n)s (%(field)s)") % {"n": n, "field": _label(field)}
    if op not in OPS[kind]:
        offered = ", ".join(_quote(str(OP_LABELS[o])) for o in OPS[kind])
        raise ServiceError(
            _("%(where)s: choose one of %(offered)s, not “%(op)s”.")
            % {"where": where, "offered": offered, "op": op[:20]}
        )
    cleaned: Any
    if kind == "role":
        cleaned = _roles(value, where)
    elif kind in ("text", "location"):
        cleaned = _text(value, where)
    elif kind == "consent":
        cleaned = _consent(value, where)
    elif kind == "number":
        cleaned = _count(value, where, most=MAX_NUMBER, days=False)
    elif kind == "date":
        cleaned = None if op == "never" else _count(value, where, most=MAX_DAYS, days=True)
    elif kind == "tags":
        cleaned = _tag_names(value, where)
    elif kind == "score":
        cleaned = _score(value, where)
    elif kind == "calls":
        # The titles as they are now, for describe(), which reads no database.
        ids, titles = _calls(value, where, team_calls)
        return {"field": field, "op": op, "value": ids, "titles": titles}
    elif op == "in":
        cleaned = _words(value, where)
    else:
        cleaned = _text(value, where)
    return {"field": field, "op": op, "value": cleaned}


def validate(team: Team, definition: Any, *, saving: bool = False) -> list[Condition]:
    """The definition with typed values, or a ServiceError naming what is wrong. `saving`:
    a saved segment needs at least one condition (with none it would be the whole panel)."""
    if definition in (None, ""):
        definition = []
    if not isinstance(definition, list):
        raise ServiceError(_("A segment is a list of conditions."))
    if len(definition) > MAX_CONDITIONS:
        raise ServiceError(
            _("A segment has at most %(most)s conditions.") % {"most": MAX_CONDITIONS}
        )
    if saving and not definition:
        raise ServiceError(_("Add at least one condition: a segment with none is everyone."))
    names = attribute_names(team) if definition else []
    team_calls = _TeamCalls(team)
    return [
        _clean(condition, n, names, team_calls) for n, condition in enumerate(definition, start=1)
    ]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# On SQLite, json_each walks a list's items (or yields a single value itself), so a value
# stored either way matches item by item; the values to look for come as one JSON parameter.
# {attributes} is the column as the query names it (an alias such as U0 in a subquery).
SQLITE_ANY_OF = (
    "EXISTS (SELECT 1 FROM json_each({attributes}, {path}) AS item "
    "WHERE item.type = 'text' AND item.value IN (SELECT value FROM json_each({wanted})))"
)
SQLITE_MENTIONS = (
    "EXISTS (SELECT 1 FROM json_each({attributes}, {path}) AS item "
    "WHERE item.type = 'text' AND item.value LIKE {wanted} ESCAPE '\\')"
)


class _JsonEachMatch(Func):
    """One of the SQLite conditions above, its column compiled by Django (so it stays right
    inside a subquery) and the path and values as parameters."""

    output_field = BooleanField()

    def __init__(self, template: str, name: str | None, wanted: str, column: str = "attributes"):
        # No name: the column's own value (the tags list).
        path = "$" if name is None else f'$."{name}"'
        super().__init__(F(column), Value(path), Value(wanted))
        self.sql_template = template

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        parts: list[str] = []
        params: list[str | int] = []
        for expression in self.get_source_expressions():
            sql, part_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(part_params)
        attributes, path, wanted = parts
        sql = self.sql_template.format(attributes=attributes, path=path, wanted=wanted)
        return sql, tuple(params)


def _attribute(name: str, op: str, value: Any, vendor: str) -> Q:
    """A condition on one answer mapped to an attribute, stored as a string (one choice, a
    text) or a list (several choices)."""
    if vendor == "postgresql":
        if op == "in":
            # Containment on the whole column, which a GIN index on `attributes` serves: a
            # list holding the value, or the value itself.
            q = Q()
            for word in value:
                q |= Q(attributes__contains={name: [word]}) | Q(attributes__contains={name: word})
            return q
        # The key as text (a list as its JSON text): built as an expression, since a name may
        # hold "__", which a keyword lookup would read as a path.
        return Q(IContains(KeyTextTransform(name, "attributes"), value))
    # SQLite (no JSON containment there).
    if op == "in":
        return Q(_JsonEachMatch(SQLITE_ANY_OF, name, json.dumps(value)))
    return Q(_JsonEachMatch(SQLITE_MENTIONS, name, _like(value)))


def _tagged(value: list[str], vendor: str) -> Q:
    """Has any of these tags: containment on PostgreSQL (a GIN index on `tags` serves it),
    json_each on SQLite."""
    if vendor == "postgresql":
        q = Q()
        for word in value:
            q |= Q(tags__contains=[word])
        return q
    return Q(_JsonEachMatch(SQLITE_ANY_OF, None, json.dumps(value), column="tags"))


def _in_calls(column: str, ids: list[int], vendor: str) -> Q:
    """The panel's list `column` holds any of these call ids: the funnel's own test (JSON
    containment on PostgreSQL, which the GIN indexes of migration 0024 serve; json_each on
    SQLite). Imported here, not at the top: the funnel reads segments."""
    from .funnel import _holds

    q = Q()
    for pk in ids:
        q |= _holds(column, OpenCall(pk=pk), vendor)
    return q


def _q(condition: Condition, vendor: str, now: Any) -> Q:
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field.startswith(ATTRIBUTE_PREFIX):
        return _attribute(field[len(ATTRIBUTE_PREFIX) :], op, value, vendor)
    kind = FIELDS[field].kind
    if kind == "calls":
        held = _in_calls(field, value, vendor)
        return held if op == "any_of" else ~held
    if kind == "tags":
        return _tagged(value, vendor) if op == "has_any" else ~_tagged(value, vendor)
    if kind == "score":
        # Someone nobody scored has no mean: they match neither "at least" nor "at most".
        return Q(**{f"review_score__{op}": value})
    if kind == "role":
        return Q(role__in=value)
    if kind in ("text", "location"):
        return Q(**{f"{field}__{'iexact' if op == 'is' else 'icontains'}": value})
    if kind == "consent":
        return Q(consent=value)
    if kind == "number":
        return Q(**{f"{field}__{'exact' if op == 'eq' else op}": value})
    if op == "never":
        return Q(**{f"{field}__isnull": True})
    since = now - timedelta(days=value)
    return Q(**{f"{field}__{'lt' if op == 'more_than' else 'gte'}": since})


def visible(team: Team) -> QuerySet[PanelMember]:
    """Whom the panel shows the team: people who agreed, in one of its calls, to be contacted
    about future sessions, and people who signed up for one of its events. Someone who only
    answered a call without that consent stays visible within that call's pool, not here."""
    return PanelMember.objects.filter(team=team).filter(Q(consent=True) | Q(registrations__gt=0))


def members(team: Team, definition: list[Condition]) -> QuerySet[PanelMember]:
    """The team's panel members who meet every condition of a clean definition: one query,
    evaluated when read (a segment is re-evaluated each time it is opened)."""
    rows = visible(team)
    vendor = connections[rows.db].vendor
    now = timezone.now()
    for condition in definition:
        rows = rows.filter(_q(condition, vendor, now))
    return rows


# What each count condition says, by operator: (n == 0 with "is exactly" or "is at most",
# "is exactly", "is at least", "is at most"); plurals by the number.
COUNTS: dict[str, tuple[Any, ...]] = {
    "attended": (
        gettext_lazy("never attended"),
        ngettext_lazy("attended %(n)s time", "attended %(n)s times", "n"),
        ngettext_lazy("attended at least %(n)s time", "attended at least %(n)s times", "n"),
        ngettext_lazy("attended at most %(n)s time", "attended at most %(n)s times", "n"),
    ),
    "no_shows": (
        gettext_lazy("no no-shows"),
        ngettext_lazy("%(n)s no-show", "%(n)s no-shows", "n"),
        ngettext_lazy("at least %(n)s no-show", "at least %(n)s no-shows", "n"),
        ngettext_lazy("at most %(n)s no-show", "at most %(n)s no-shows", "n"),
    ),
    "invitations": (
        gettext_lazy("never invited"),
        ngettext_lazy("invited %(n)s time", "invited %(n)s times", "n"),
        ngettext_lazy("invited at least %(n)s time", "invited at least %(n)s times", "n"),
        ngettext_lazy("invited at most %(n)s time", "invited at most %(n)s times", "n"),
    ),
    "calls_answered": (
        gettext_lazy("answered no call"),
        ngettext_lazy("answered %(n)s call", "answered %(n)s calls", "n"),
        ngettext_lazy("answered at least %(n)s call", "answered at least %(n)s calls", "n"),
        ngettext_lazy("answered at most %(n)s call", "answered at most %(n)s calls", "n"),
    ),
    "registrations": (
        gettext_lazy("never registered"),
        ngettext_lazy("registered %(n)s time", "registered %(n)s times", "n"),
        ngettext_lazy("registered at least %(n)s time", "registered at least %(n)s times", "n"),
        ngettext_lazy("registered at most %(n)s time", "registered at most %(n)s times", "n"),
    ),
    "surveys_answered": (
        gettext_lazy("answered no survey"),
        ngettext_lazy("answered %(n)s survey", "answered %(n)s surveys", "n"),
        ngettext_lazy("answered at least %(n)s survey", "answered at least %(n)s surveys", "n"),
        ngettext_lazy("answered at most %(n)s survey", "answered at most %(n)s surveys", "n"),
    ),
}
# (never, more than n days ago, within the last n days)
DATES: dict[str, tuple[Any, ...]] = {
    "last_contacted_at": (
        gettext_lazy("never contacted"),
        ngettext_lazy(
            "last contacted more than %(n)s day ago", "last contacted more than %(n)s days ago", "n"
        ),
        ngettext_lazy(
            "contacted within the last %(n)s day", "contacted within the last %(n)s days", "n"
        ),
    ),
    "last_attended_at": (
        gettext_lazy("never attended"),
        ngettext_lazy(
            "last attended more than %(n)s day ago", "last attended more than %(n)s days ago", "n"
        ),
        ngettext_lazy(
            "attended within the last %(n)s day", "attended within the last %(n)s days", "n"
        ),
    ),
}


def _quote(word: str) -> str:
    # Translators: a value quoted in a sentence; French writes « %(word)s ».
    return _("“%(word)s”") % {"word": word}


def _quoted(words: list[str]) -> str:
    # Translators: between the values of a list of alternatives ("“gpu” or “cpu”").
    return pgettext("alternatives", " or ").join(_quote(w) for w in words)


def _phrase(condition: Condition) -> str:
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field.startswith(ATTRIBUTE_PREFIX):
        name = field[len(ATTRIBUTE_PREFIX) :]
        if op == "in":
            return _("%(name)s includes %(values)s") % {"name": name, "values": _quoted(value)}
        return _("%(name)s mentions %(value)s") % {"name": name, "value": _quote(value)}
    if field == "role":
        return pgettext("alternatives", " or ").join(
            str(ROLE_GROUPS[User.Role(role)]) for role in value
        )
    if field in ("affiliation", "location"):
        said = {
            ("affiliation", "is"): _("affiliation is %(value)s"),
            ("affiliation", "contains"): _("affiliation contains %(value)s"),
            ("location", "is"): _("country or time zone is %(value)s"),
            ("location", "contains"): _("country or time zone contains %(value)s"),
        }[field, "is" if op == "is" else "contains"]
        return said % {"value": _quote(value)}
    if field == "consent":
        return _("agreed to be contacted") if value else _("did not agree to be contacted")
    if field == "tags":
        if op == "has_any":
            return _("tagged %(values)s") % {"values": _quoted(value)}
        return _("not tagged %(values)s") % {"values": _quoted(value)}
    if field in ("calls", "qualified_calls"):
        titles = condition.get("titles") or [_("call %(id)s") % {"id": pk} for pk in value]
        said = {
            ("calls", True): _("answered %(calls)s"),
            ("calls", False): _("did not answer %(calls)s"),
            ("qualified_calls", True): _("qualified in %(calls)s"),
            ("qualified_calls", False): _("not qualified in %(calls)s"),
        }[field, op == "any_of"]
        return said % {"calls": _quoted(titles)}
    if field == "review_score":
        score = f"{value:g}".replace(".", str(get_format("DECIMAL_SEPARATOR")))
        if op == "gte":
            return _("mean review score at least %(score)s") % {"score": score}
        return _("mean review score at most %(score)s") % {"score": score}
    if field in COUNTS:
        zero, exactly, at_least, at_most = COUNTS[field]
        if value == 0 and op in ("eq", "lte"):
            return str(zero)
        said = {"eq": exactly, "gte": at_least, "lte": at_most}[op]
        return said % {"n": value}
    never, more_than, within = DATES[field]
    if op == "never":
        return str(never)
    return (more_than if op == "more_than" else within) % {"n": value}


def describe(definition: list[Condition]) -> str:
    """A clean definition in words: "researchers, never attended, last contacted more than
    30 days ago". No database: a segment's page reads it from the stored definition."""
    if not definition:
        return _("everyone in the panel")
    # Translators: between the conditions of a segment described in words.
    return pgettext("conditions", ", ").join(_phrase(condition) for condition in definition)


# Saved segments ----------------------------------------------------------------------------


def _check_editor(actor: User, team: Team) -> None:
    if not permissions.may(actor, "panel.edit", team):
        raise ServiceError(_("Only the team's owners and organizers may change its segments."))


def _name(team: Team, name: str, *, keep: Segment | None = None) -> str:
    _no_nul(name)
    name = " ".join(str(name or "").split())
    if not name:
        raise ServiceError(_("Give the segment a name."))
    if len(name) > 100:
        raise ServiceError(_("A segment's name is at most 100 characters."))
    taken = Segment.objects.filter(team=team, name__iexact=name)
    if keep is not None:
        taken = taken.exclude(pk=keep.pk)
    if taken.exists():
        raise ServiceError(_("The team already has a segment named “%(name)s”.") % {"name": name})
    return name


@transaction.atomic
def create_segment(*, team: Team, actor: User, name: str, definition: Any) -> Segment:
    """A new saved segment of `team`'s panel, recorded as `actor`'s."""
    _check_editor(actor, team)
    clean = validate(team, definition, saving=True)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                team=team, name=_name(team, name), definition=clean, created_by=actor
            )
    except IntegrityError:  # the team was deleted meanwhile
        raise ServiceError(_("This team no longer exists.")) from None
    _audit(actor, "segment.created", segment, {"title": segment.name, **_shape(clean)})
    return segment


def _shape(definition: list[Condition]) -> dict[str, Any]:
    # Which fields a segment filters on, not the values typed (they may name someone).
    return {"conditions": len(definition), "on": sorted({c["field"] for c in definition})}


def _audit(actor: User, action: str, segment: Segment, summary: dict[str, Any]) -> None:
    audit.record(actor=actor, action=action, team=segment.team_id, target=segment, summary=summary)


@transaction.atomic
def update_segment(
    *, segment: Segment, actor: User, name: str | None = None, definition: Any = None
) -> Segment:
    """A new name and/or definition for a segment; what is not given stays."""
    team = segment.team
    _check_editor(actor, team)
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    fields = ["updated_at"]
    summary: dict[str, Any] = {}
    if name is not None:
        new_name = _name(team, name, keep=segment)
        summary["changes"] = audit.changes({"title": segment.name}, {"title": new_name})
        segment.name = new_name
        fields.append("name")
    if definition is not None:
        segment.definition = validate(team, definition, saving=True)
        fields.append("definition")
        summary |= _shape(segment.definition)
    segment.save(update_fields=fields)
    _audit(actor, "segment.updated", segment, summary)
    return segment


def rename_segment(*, segment: Segment, actor: User, name: str) -> Segment:
    return update_segment(segment=segment, actor=actor, name=name)


@transaction.atomic
def delete_segment(*, segment: Segment, actor: User) -> None:
    _check_editor(actor, segment.team)
    _audit(actor, "segment.deleted", segment, {"title": segment.name})
    tombstones.bury(Segment.objects.filter(pk=segment.pk))
    Segment.objects.filter(pk=segment.pk).delete()


def definition_of(segment: Segment) -> list[Condition]:
    """A stored segment's definition, checked again: a panel attribute it names may have
    been removed since (then the ServiceError says which)."""
    return validate(segment.team, segment.definition)


def as_json(definition: list[Condition]) -> str:
    return json.dumps(definition, ensure_ascii=False)
