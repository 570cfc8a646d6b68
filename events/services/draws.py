"""Fair samples from a team's panel: "12 people from this segment, at least 30% researchers,
at most 2 per affiliation, people who never attended first", drawn with the lottery's seeded
order and picked by events.drawing (the lottery's picker too), recorded as a Draw.

The rules, in order:
1. Candidates are the segment's members now (segments.members: one query, only the columns
   the draw needs), in `lottery.draw_order` of their PanelMember ids by the seed. The seed is
   stored and shown; without one, a random one is made. Same seed, same panel: same picks.
2. "Prefer people who never attended" moves those with `attended == 0` to the front, keeping
   the draw order within each part (a stable sort).
3. Only people who agreed to be contacted are invitable; `eligible` may refuse others (contact
   governance: cool-down, limits, blocklist). They are skipped with the reason.
4. The rest are picked by `drawing.pick` under the minimum shares and caps.

Every input is checked before anything is written; a refusal is a ServiceError saying which
field is wrong. A draw writes one row (Draw) and nothing else: inviting the picked people is
the invitations flow's own (preview, held seats, expiry)."""

import re
import secrets
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import permissions
from ..drawing import FULL, Cap, Minimum, floor_of, pick
from ..models import Draw, PanelMember, Segment, Team
from . import ServiceError, contact
from . import segments as segment_service
from .lottery import draw_order

MAX_SIZE = 1000
MAX_RULES = 10
MAX_VALUE = 200
SHOWN_SKIPPED = 50
SEED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
NO_CONSENT = "did not agree to be contacted"
# The fields a minimum or a cap may be on: columns of the panel, one value per person.
RULE_FIELDS = {"role": "role", "affiliation": "affiliation", "location": "country or time zone"}
ELIGIBILITY_CHUNK = 5000


def eligible(team: Team, emails: list[str]) -> dict[str, str]:
    """Of `emails` (people of `team`'s panel who agreed to be contacted), those who may not be
    invited now, with the reason ("Invited by this team 12 days ago (cool-down: 30 days)",
    "Unsubscribed from this team's mail"). The one place where a draw asks contact
    governance, the same rules the invitation service enforces (services.contact.verdicts):
    a draw leaves out whoever an invitation would hold back or refuse."""
    verdicts = contact.verdicts(team, emails)
    return {**verdicts.held_back, **verdicts.blocked}


# A candidate is the row as the database returns it (no object per person: a segment may
# hold 200,000): (pk, email, consent, attended, then the fields the rules name, as stored).
Candidate = tuple
PK, EMAIL, CONSENT, ATTENDED, RULED = 0, 1, 2, 3, 4


def _norm(field: str, value: Any) -> str:
    """A value as rules compare it: trimmed, and (but roles) without case: "ACME" is "Acme"."""
    text = str(value or "").strip()
    return text if field == "role" else text.casefold()


def _reader(fields: list[str]) -> Callable[[Candidate, str], str]:
    """`value_of` for the picker: a candidate's value of a field, normalised when it is
    asked (most of a large segment is never looked at once the sample is full)."""
    where = {field: n for n, field in enumerate(fields)}

    def value_of(candidate: Candidate, field: str) -> str:
        return _norm(field, candidate[RULED + where[field]])

    return value_of


# Checking the input ---------------------------------------------------------------------


def _whole(value: Any, where: str, *, least: int, most: int) -> int:
    if isinstance(value, bool):
        raise ServiceError(f"{where}: give a whole number.")
    text = str(value if value is not None else "").strip()
    if not text:
        raise ServiceError(f"{where}: give a number.")
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 9:
        raise ServiceError(f"{where}: “{text[:20]}” is not a whole number.")
    number = int(text)
    if number < least or number > most:
        raise ServiceError(f"{where}: from {least} to {most:,}.")
    return number


def _field(value: Any, where: str) -> str:
    field = str(value or "").strip()
    if field not in RULE_FIELDS:
        known = ", ".join(RULE_FIELDS)
        raise ServiceError(f"{where}: “{field[:40]}” is not a field to draw by (one of: {known}).")
    return field


def _rule_value(field: str, value: Any, where: str) -> str:
    text = _norm(field, value)
    if "\x00" in text:
        raise ServiceError(f"{where}: a value cannot contain a NUL character.")
    if not text:
        raise ServiceError(f"{where}: give the value (which {RULE_FIELDS[field]}).")
    if len(text) > MAX_VALUE:
        raise ServiceError(f"{where}: at most {MAX_VALUE} characters.")
    if field == "role":
        roles = {r.value: r.value for r in User.Role} | {
            r.label.lower(): r.value for r in User.Role
        }
        roles |= {p: r for r, p in segment_service.ROLE_PLURALS.items()}
        role = roles.get(text.lower())
        if role is None:
            known = ", ".join(r.label.lower() for r in User.Role)
            raise ServiceError(f"{where}: “{text[:40]}” is not a role (one of: {known}).")
        return role
    return text


def _rows(raw: Any, what: str) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(r, dict) for r in raw):
        raise ServiceError(f"The {what} are not a list of rules.")
    if len(raw) > MAX_RULES:
        raise ServiceError(f"At most {MAX_RULES} {what}.")
    return list(raw)


def clean_minimums(raw: Any) -> list[Minimum]:
    minimums: list[Minimum] = []
    for n, row in enumerate(_rows(raw, "minimum shares"), start=1):
        where = f"Minimum {n}"
        field = _field(row.get("field"), where)
        value = _rule_value(field, row.get("value"), where)
        share = _whole(row.get("share"), f"{where}, its share", least=0, most=100)
        if any(m.field == field and m.value == value for m in minimums):
            raise ServiceError(f"{where}: {RULE_FIELDS[field]} “{value}” has a minimum already.")
        minimums.append(Minimum(field, value, share))
    if sum(m.share for m in minimums) > 100:
        raise ServiceError("The minimum shares add up to more than 100%.")
    return minimums


def clean_caps(raw: Any) -> list[Cap]:
    caps: list[Cap] = []
    for n, row in enumerate(_rows(raw, "caps"), start=1):
        where = f"Cap {n}"
        field = _field(row.get("field"), where)
        has_count = str(row.get("count") or "").strip() != ""
        has_share = str(row.get("share") or "").strip() != ""
        if has_count and has_share:
            raise ServiceError(f"{where}: give either a number of people or a share, not both.")
        if not has_count and not has_share:
            raise ServiceError(f"{where}: give at most how many (people, or a share).")
        if has_count:
            count = _whole(row.get("count"), f"{where}, its number", least=1, most=MAX_SIZE)
            cap = Cap(field, count=count)
        else:
            share = _whole(row.get("share"), f"{where}, its share", least=1, most=100)
            cap = Cap(field, share=share)
        if any(c.field == field for c in caps):
            raise ServiceError(f"{where}: {RULE_FIELDS[field]} has a cap already.")
        caps.append(cap)
    return caps


def clean_seed(seed: Any) -> str:
    if seed is None or str(seed).strip() == "":
        return secrets.token_hex(16)
    text = str(seed).strip()
    if not SEED.match(text):
        raise ServiceError(
            "The seed is 1 to 64 letters, digits, dots, dashes or underscores "
            "(as a draw's page shows it)."
        )
    return text


def _contradictions(size: int, minimums: list[Minimum], caps: list[Cap]) -> None:
    for minimum in minimums:
        for cap in caps:
            if cap.field == minimum.field and cap.limit(size) < floor_of(size, minimum.share):
                raise ServiceError(
                    f"At least {minimum.share}% with {RULE_FIELDS[minimum.field]} "
                    f"“{minimum.value}” is {floor_of(size, minimum.share)} of {size}, but the cap "
                    f"allows at most {cap.limit(size)} per {RULE_FIELDS[cap.field]}: "
                    "the rules contradict each other."
                )


# Drawing ----------------------------------------------------------------------------------


def _candidates(team: Team, definition: list, fields: list[str]) -> list[Candidate]:
    """The segment's members now, with only what the draw needs (the fields the rules name):
    one query."""
    return list(
        segment_service.members(team, definition).values_list(
            "pk", "email", "consent", "attended", *fields
        )
    )


def _refused(team: Team, candidates: list[Candidate]) -> dict[int, str]:
    """Who may not be invited, by PanelMember id, with the reason."""
    refused = {c[PK]: NO_CONSENT for c in candidates if not c[CONSENT]}
    asking = [c for c in candidates if c[CONSENT]]
    for start in range(0, len(asking), ELIGIBILITY_CHUNK):
        chunk = asking[start : start + ELIGIBILITY_CHUNK]
        reasons = eligible(team, [c[EMAIL] for c in chunk])
        refused |= {c[PK]: reasons[c[EMAIL]] for c in chunk if c[EMAIL] in reasons}
    return refused


def _check(actor: User, team: Team) -> None:
    if not permissions.may(actor, "panel.edit", team):
        raise ServiceError("Only the team's owners and organizers may draw from its panel.")


def draw_sample(
    *,
    team: Team,
    actor: User,
    segment: Segment | None = None,
    definition: Any = None,
    size: Any,
    minimums: Any = None,
    caps: Any = None,
    prefer_never_attended: bool = False,
    seed: Any = None,
) -> Draw:
    """Draw `size` people from a segment (or a definition) of `team`'s panel, record the draw
    as `actor`'s, and return it. See the module's docstring for the rules."""
    _check(actor, team)
    if segment is not None:
        if segment.team_id != team.pk:
            raise ServiceError("This segment is not one of the team's.")
        clean = segment_service.definition_of(segment)
    else:
        clean = segment_service.validate(team, definition if definition is not None else [])
    number = _whole(size, "The sample's size", least=1, most=MAX_SIZE)
    floors, ceilings = clean_minimums(minimums), clean_caps(caps)
    _contradictions(number, floors, ceilings)
    return _draw(
        team=team,
        actor=actor,
        segment=segment,
        definition=clean,
        size=number,
        minimums=floors,
        caps=ceilings,
        prefer_never_attended=bool(prefer_never_attended),
        seed=clean_seed(seed),
    )


@transaction.atomic
def _draw(
    *,
    team: Team,
    actor: User,
    segment: Segment | None,
    definition: list,
    size: int,
    minimums: list[Minimum],
    caps: list[Cap],
    prefer_never_attended: bool,
    seed: str,
) -> Draw:
    fields = sorted({m.field for m in minimums} | {c.field for c in caps})
    candidates = _candidates(team, definition, fields)
    by_pk = {c[PK]: c for c in candidates}
    ordered = [by_pk[pk] for pk in draw_order(list(by_pk), seed)]
    if prefer_never_attended:
        ordered.sort(key=lambda c: c[ATTENDED] != 0)  # stable: draw order within each part
    refused = _refused(team, ordered)
    picked, passed = pick(
        [c for c in ordered if c[PK] not in refused],
        size,
        value_of=_reader(fields),
        minimums=minimums,
        caps=caps,
    )
    reasons = refused | {c[PK]: reason for c, reason in passed}
    skipped: dict[str, int] = {}
    first: list[list] = []
    chosen = {c[PK] for c in picked}
    for candidate in ordered:
        if candidate[PK] in chosen:
            continue
        reason = reasons[candidate[PK]]
        skipped[reason] = skipped.get(reason, 0) + 1
        # The people passed over for a reason are worth reading; those after the sample
        # filled up are only counted.
        if reason != FULL and len(first) < SHOWN_SKIPPED:
            first.append([candidate[PK], reason])
    return Draw.objects.create(
        team=team,
        segment=segment,
        segment_name=segment.name if segment else "",
        definition=definition,
        description=segment_service.describe(definition),
        rules={
            "minimums": [{"field": m.field, "value": m.value, "share": m.share} for m in minimums],
            "caps": [
                {"field": c.field, "count": c.count}
                if c.count is not None
                else {"field": c.field, "share": c.share}
                for c in caps
            ],
            "prefer_never_attended": prefer_never_attended,
            "first_skipped": first,
        },
        seed=seed,
        size=size,
        picked=[c[PK] for c in picked],
        skipped=skipped,
        candidates=len(candidates),
        drawn_by=actor,
        drawn_at=timezone.now(),
    )


def rerun(*, draw: Draw, actor: User) -> Draw:
    """The same draw again, from its stored definition, rules and seed (recorded as a new
    draw): on an unchanged panel, the same people in the same order."""
    _check(actor, draw.team)
    clean = segment_service.validate(draw.team, draw.definition)
    rules = draw.rules or {}
    minimums, caps = clean_minimums(rules.get("minimums")), clean_caps(rules.get("caps"))
    fresh = _draw(
        team=draw.team,
        actor=actor,
        segment=draw.segment,
        definition=clean,
        size=draw.size,
        minimums=minimums,
        caps=caps,
        prefer_never_attended=bool(rules.get("prefer_never_attended")),
        seed=clean_seed(draw.seed),
    )
    if draw.segment is None and draw.segment_name:
        Draw.objects.filter(pk=fresh.pk).update(segment_name=draw.segment_name)
        fresh.segment_name = draw.segment_name
    return fresh


# Reading a draw ---------------------------------------------------------------------------


def picked_people(draw: Draw) -> list[PanelMember | None]:
    """The picked people in draw order (one query); None for someone no longer in the panel."""
    found = PanelMember.objects.filter(team=draw.team_id, pk__in=draw.picked).in_bulk()
    return [found.get(pk) for pk in draw.picked]


def first_skipped(draw: Draw) -> list[tuple[PanelMember | None, str]]:
    """The first people passed over for a reason, with it (one query)."""
    first = (draw.rules or {}).get("first_skipped", [])
    found = PanelMember.objects.filter(team=draw.team_id, pk__in=[pk for pk, _ in first]).in_bulk()
    return [(found.get(pk), reason) for pk, reason in first]


def shortfalls(draw: Draw, people: list[PanelMember | None]) -> list[str]:
    """What the draw could not do: a sample smaller than asked, a minimum not met."""
    notes = []
    if len(draw.picked) < draw.size:
        notes.append(f"Only {len(draw.picked)} of the {draw.size} asked could be picked.")
    for m in (draw.rules or {}).get("minimums", []):
        field, value, share = m["field"], m["value"], int(m["share"])
        wanted = min(floor_of(draw.size, share), draw.size)
        got = sum(1 for p in people if p is not None and _norm(field, getattr(p, field)) == value)
        if got < wanted:
            notes.append(
                f"At least {share}% with {RULE_FIELDS[field]} “{value}” asked for {wanted}; "
                f"{got} could be picked."
            )
    return notes


def invite_rows(people: list[PanelMember | None]) -> list[tuple[str, str]]:
    """(email, name) of the picked people still in the panel and still agreeing to be
    contacted (consent may have been withdrawn since the draw), for the invitations flow."""
    return [(p.email, p.name) for p in people if p is not None and p.consent]
