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
   governance: cool-down, limits, blocklist). They are skipped with the reason. Governance is
   asked only about the people the picker looks at, in batches in draw order: someone after
   the sample filled up is "not reached", whatever the contact rules would have said.
4. The rest are picked by `drawing.pick` under the minimum shares and caps.

A draw may be from an open call instead of a segment (`call=`): the candidates are the team's
panel members with a confirmed submission to that call that its screening rules qualified
(a disqualified person is never a candidate), and the call's quotas are rules of the draw
(`quota_rules`: "at least v% with value x" a minimum, "at most v% from one ..." a cap per
value, "at most v% with value x" a cap on that value), with the organizer's own rules added.
Within its own call a person is invitable whether or not they agreed to be contacted about
future sessions, as the call's pool invites them (services.open_calls.invite_rows): consent
is not asked there; contact governance (`eligible`) still is.

Every input is checked before anything is written; a refusal is a ServiceError saying which
field is wrong. A draw writes one row (Draw) and nothing else: inviting the picked people is
the invitations flow's own (preview, held seats, expiry)."""

import re
import secrets
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from accounts.models import User

from .. import permissions
from ..drawing import FULL, Cap, Minimum, floor_of, pick
from ..models import CallQuota, Draw, OpenCall, PanelMember, Segment, Submission, Team
from . import ServiceError, audit, contact, panel
from . import segments as segment_service
from .lottery import draw_order

MAX_SIZE = 1000
MAX_RULES = 10
MAX_VALUE = 200
SHOWN_SKIPPED = 50
SEED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A skipped person's reason, as the draw records it: in the words of whoever drew (the draw
# page shows the record as it was written), English in code and tests.
NO_CONSENT = gettext_noop("did not agree to be contacted")
# The fields a minimum or a cap may be on: columns of the panel, one value per person.
RULE_FIELDS = {
    "role": gettext_lazy("role"),
    "affiliation": gettext_lazy("affiliation"),
    "location": gettext_lazy("country or time zone"),
}
ELIGIBILITY_CHUNK = 5000
# The first batch of people whose contact rules a draw checks (then 2x, 4x, ... the chunk).
FIRST_ELIGIBILITY_BATCH = 250


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


# A refusal names the input it is about ("Minimum 2, its share: give a number."): `where` is
# that name, already in the reader's language.


def _whole(value: Any, where: str, *, least: int, most: int) -> int:
    if isinstance(value, bool):
        raise ServiceError(_("%(where)s: give a whole number.") % {"where": where})
    text = str(value if value is not None else "").strip()
    if not text:
        raise ServiceError(_("%(where)s: give a number.") % {"where": where})
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 9:
        raise ServiceError(
            _("%(where)s: “%(text)s” is not a whole number.") % {"where": where, "text": text[:20]}
        )
    number = int(text)
    if number < least or number > most:
        raise ServiceError(
            _("%(where)s: from %(least)s to %(most)s.")
            % {"where": where, "least": least, "most": number_format(most, force_grouping=True)}
        )
    return number


def _field(value: Any, where: str) -> str:
    field = str(value or "").strip()
    if field not in RULE_FIELDS:
        known = ", ".join(RULE_FIELDS)
        raise ServiceError(
            _("%(where)s: “%(field)s” is not a field to draw by (one of: %(known)s).")
            % {"where": where, "field": field[:40], "known": known}
        )
    return field


def _rule_value(field: str, value: Any, where: str) -> str:
    text = _norm(field, value)
    if "\x00" in text:
        raise ServiceError(
            _("%(where)s: a value cannot contain a NUL character.") % {"where": where}
        )
    if not text:
        raise ServiceError(
            _("%(where)s: give the value (which %(field)s).")
            % {"where": where, "field": RULE_FIELDS[field]}
        )
    if len(text) > MAX_VALUE:
        raise ServiceError(
            _("%(where)s: at most %(most)s characters.") % {"where": where, "most": MAX_VALUE}
        )
    if field == "role":
        roles = {r.value: r.value for r in User.Role} | {
            r.label.lower(): r.value for r in User.Role
        }
        roles |= {p: r for r, p in segment_service.ROLE_PLURALS.items()}
        role = roles.get(text.lower())
        if role is None:
            known = ", ".join(r.label.lower() for r in User.Role)
            raise ServiceError(
                _("%(where)s: “%(text)s” is not a role (one of: %(known)s).")
                % {"where": where, "text": text[:40], "known": known}
            )
        return role
    return text


def _rows(raw: Any, *, minimums: bool) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(r, dict) for r in raw):
        if minimums:
            raise ServiceError(_("The minimum shares are not a list of rules."))
        raise ServiceError(_("The caps are not a list of rules."))
    if len(raw) > MAX_RULES:
        words = {"most": MAX_RULES}
        if minimums:
            raise ServiceError(_("At most %(most)s minimum shares.") % words)
        raise ServiceError(_("At most %(most)s caps.") % words)
    return list(raw)


def _its_share(where: str) -> str:
    # Translators: names a rule's share field in a refusal: "Minimum 2, its share: ...".
    return _("%(where)s, its share") % {"where": where}


def clean_minimums(raw: Any) -> list[Minimum]:
    minimums: list[Minimum] = []
    for n, row in enumerate(_rows(raw, minimums=True), start=1):
        # Translators: the n-th minimum share of a draw's form, named in a refusal.
        where = _("Minimum %(n)s") % {"n": n}
        field = _field(row.get("field"), where)
        value = _rule_value(field, row.get("value"), where)
        share = _whole(row.get("share"), _its_share(where), least=0, most=100)
        if any(m.field == field and m.value == value for m in minimums):
            raise ServiceError(
                _("%(where)s: %(field)s “%(value)s” has a minimum already.")
                % {"where": where, "field": RULE_FIELDS[field], "value": value}
            )
        minimums.append(Minimum(field, value, share))
    if sum(m.share for m in minimums) > 100:
        raise ServiceError(_("The minimum shares add up to more than 100%."))
    return minimums


def clean_caps(raw: Any) -> list[Cap]:
    caps: list[Cap] = []
    for n, row in enumerate(_rows(raw, minimums=False), start=1):
        # Translators: the n-th cap of a draw's form, named in a refusal.
        where = _("Cap %(n)s") % {"n": n}
        field = _field(row.get("field"), where)
        has_count = str(row.get("count") or "").strip() != ""
        has_share = str(row.get("share") or "").strip() != ""
        if has_count and has_share:
            raise ServiceError(
                _("%(where)s: give either a number of people or a share, not both.")
                % {"where": where}
            )
        if not has_count and not has_share:
            raise ServiceError(
                _("%(where)s: give at most how many (people, or a share).") % {"where": where}
            )
        # A value: the cap is on that value only ("at most 20% from ACME").
        value = None
        if str(row.get("value") or "").strip():
            value = _rule_value(field, row.get("value"), where)
        if has_count:
            its_number = _("%(where)s, its number") % {"where": where}
            count = _whole(row.get("count"), its_number, least=1, most=MAX_SIZE)
            cap = Cap(field, count=count, value=value)
        else:
            share = _whole(row.get("share"), _its_share(where), least=1, most=100)
            cap = Cap(field, share=share, value=value)
        if any(c.field == field and c.value == value for c in caps):
            raise ServiceError(
                _("%(where)s: %(cap)s has a cap already.")
                % {"where": where, "cap": _cap_words(cap)}
            )
        caps.append(cap)
    return caps


def _cap_words(cap: Cap) -> str:
    if cap.value is None:
        return str(RULE_FIELDS[cap.field])
    # Translators: a field and one of its values, as "affiliation “ACME”".
    return _("%(field)s “%(value)s”") % {"field": RULE_FIELDS[cap.field], "value": cap.value}


def quota_rules(call: OpenCall) -> tuple[list[Minimum], list[Cap], list[str]]:
    """The call's quotas as draw rules, and each in words: "at least 30% with role
    researcher" is a minimum, "at most 40% per affiliation" (no value) a cap per value,
    "at most 20% with affiliation ACME" a cap on that value."""
    minimums: list[Minimum] = []
    caps: list[Cap] = []
    words: list[str] = []
    for quota in CallQuota.objects.filter(call=call).order_by("field", "bound", "value", "pk"):
        where = _("The call's quota “%(quota)s”") % {"quota": quota}
        field = _field(quota.field, where)
        percent = _whole(quota.percent, where, least=1, most=100)
        has_value = bool(quota.value.strip())
        value = _rule_value(field, quota.value, where) if has_value else None
        said = {"percent": percent, "field": RULE_FIELDS[field], "value": value}
        if quota.bound == CallQuota.Bound.AT_LEAST:
            if value is None:
                raise ServiceError(
                    _("%(where)s names no value: set one on the call's rules.") % {"where": where}
                )
            minimums.append(Minimum(field, value, percent))
            words.append(_("at least %(percent)s%% with %(field)s “%(value)s”") % said)
        elif value is None:
            caps.append(Cap(field, share=percent))
            words.append(_("at most %(percent)s%% per %(field)s") % said)
        else:
            caps.append(Cap(field, share=percent, value=value))
            words.append(_("at most %(percent)s%% with %(field)s “%(value)s”") % said)
    return minimums, caps, words


def _merged(
    given: tuple[list[Minimum], list[Cap]], quotas: tuple[list[Minimum], list[Cap]]
) -> tuple[list[Minimum], list[Cap]]:
    """The call's quotas and the organizer's rules together; a rule of the organizer on what a
    quota already rules is refused (which of the two would hold is not for a draw to guess)."""
    minimums, caps = list(quotas[0]), list(quotas[1])
    for m in given[0]:
        if any(q.field == m.field and q.value == m.value for q in minimums):
            raise ServiceError(
                _("The call's quotas already set a minimum for %(field)s “%(value)s”.")
                % {"field": RULE_FIELDS[m.field], "value": m.value}
            )
        minimums.append(m)
    for c in given[1]:
        if any(q.field == c.field and q.value == c.value for q in caps):
            raise ServiceError(_("The call's quotas already cap %(cap)s.") % {"cap": _cap_words(c)})
        caps.append(c)
    if sum(m.share for m in minimums) > 100:
        raise ServiceError(
            _("With the call's quotas, the minimum shares add up to more than 100%.")
        )
    return minimums, caps


def clean_seed(seed: Any) -> str:
    if seed is None or str(seed).strip() == "":
        return secrets.token_hex(16)
    text = str(seed).strip()
    if not SEED.match(text):
        raise ServiceError(
            _(
                "The seed is 1 to 64 letters, digits, dots, dashes or underscores "
                "(as a draw's page shows it)."
            )
        )
    return text


def _contradictions(size: int, minimums: list[Minimum], caps: list[Cap]) -> None:
    for minimum in minimums:
        for cap in caps:
            if (
                cap.field == minimum.field
                and cap.value in (None, minimum.value)
                and cap.limit(size) < floor_of(size, minimum.share)
            ):
                said = {
                    "share": minimum.share,
                    "field": RULE_FIELDS[minimum.field],
                    "value": minimum.value,
                    "floor": floor_of(size, minimum.share),
                    "size": size,
                    "most": cap.limit(size),
                    "cap_field": RULE_FIELDS[cap.field],
                }
                if cap.value is None:
                    text = _(
                        "At least %(share)s%% with %(field)s “%(value)s” is %(floor)s of "
                        "%(size)s, but the cap allows at most %(most)s per %(cap_field)s: the "
                        "rules contradict each other."
                    )
                else:
                    text = _(
                        "At least %(share)s%% with %(field)s “%(value)s” is %(floor)s of "
                        "%(size)s, but the cap allows at most %(most)s of them: the rules "
                        "contradict each other."
                    )
                raise ServiceError(text % said)


# Drawing ----------------------------------------------------------------------------------


def qualified(call: OpenCall):
    """The call's confirmed submissions its screening rules qualified."""
    return Submission.objects.filter(
        call=call, confirmed_at__isnull=False, screening=Submission.Screening.QUALIFIED
    )


def _candidates(
    team: Team, definition: list, fields: list[str], call: OpenCall | None
) -> list[Candidate]:
    """The segment's members now (or the call's qualified people), with only what the draw
    needs (the fields the rules name): one query."""
    if call is None:
        rows = segment_service.members(team, definition)
    else:
        rows = PanelMember.objects.filter(team=team, email__in=panel.keys_of(qualified(call)))
    return list(rows.values_list("pk", "email", "consent", "attended", *fields))


def _no_consent(candidates: list[Candidate], *, ask_consent: bool) -> dict[int, str]:
    """Who did not agree to be contacted, by PanelMember id (read from the rows: no query)."""
    reason = _(NO_CONSENT)
    return {c[PK]: reason for c in candidates if ask_consent and not c[CONSENT]}


def _governance(team: Team, ordered: list[Candidate]) -> Callable[[Candidate], str | None]:
    """`refused` for the picker: why contact governance holds a candidate back, or None.
    Asked only about the people the picker looks at (a few times the sample's size, not a
    200,000-person segment). Its passes walk the list from the start, so the next batch is
    the first people in draw order not checked yet (with the one asked about, if a minimum's
    pass looked further), in one `eligible` call (three queries), each batch twice as large as
    the one before (up to ELIGIBILITY_CHUNK): a long walk takes few batches."""
    known: dict[int, str | None] = {}
    state = {"next": 0, "batch": FIRST_ELIGIBILITY_BATCH}

    def refused(candidate: Candidate) -> str | None:
        if candidate[PK] not in known:
            # Everyone before `next` is known: the one asked about is in this batch or after.
            start = state["next"]
            chunk = [c for c in ordered[start : start + state["batch"]] if c[PK] not in known]
            state["next"] = start + state["batch"]
            if candidate[PK] not in {c[PK] for c in chunk}:
                chunk.append(candidate)
            state["batch"] = min(state["batch"] * 2, ELIGIBILITY_CHUNK)
            reasons = eligible(team, [c[EMAIL] for c in chunk])
            known.update((c[PK], reasons.get(c[EMAIL])) for c in chunk)
        return known[candidate[PK]]

    return refused


def _check(actor: User, team: Team) -> None:
    if not permissions.may(actor, "panel.edit", team):
        raise ServiceError(_("Only the team's owners and organizers may draw from its panel."))


def draw_sample(
    *,
    team: Team,
    actor: User,
    segment: Segment | None = None,
    definition: Any = None,
    call: OpenCall | None = None,
    size: Any,
    minimums: Any = None,
    caps: Any = None,
    prefer_never_attended: bool = False,
    seed: Any = None,
) -> Draw:
    """Draw `size` people from a segment (or a definition) of `team`'s panel, or from the
    qualified people of one of its calls under its quotas, record the draw as `actor`'s, and
    return it. See the module's docstring for the rules."""
    _check(actor, team)
    if call is not None:
        if call.team_id != team.pk:
            raise ServiceError(_("This open call is not one of the team's."))
        if segment is not None or definition:
            raise ServiceError(_("Draw from a call or from a segment, not both."))
    if segment is not None:
        if segment.team_id != team.pk:
            raise ServiceError(_("This segment is not one of the team's."))
        clean = segment_service.definition_of(segment)
    else:
        clean = segment_service.validate(team, definition if definition is not None else [])
    number = _whole(size, _("The sample's size"), least=1, most=MAX_SIZE)
    floors, ceilings = clean_minimums(minimums), clean_caps(caps)
    quota_words: list[str] = []
    if call is not None:
        quota_floors, quota_caps, quota_words = quota_rules(call)
        floors, ceilings = _merged((floors, ceilings), (quota_floors, quota_caps))
    _contradictions(number, floors, ceilings)
    return _draw(
        team=team,
        actor=actor,
        segment=segment,
        call=call,
        quota_words=quota_words,
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
    call: OpenCall | None = None,
    quota_words: list[str] | None = None,
    definition: list,
    size: int,
    minimums: list[Minimum],
    caps: list[Cap],
    prefer_never_attended: bool,
    seed: str,
    rerun_of: int | None = None,
) -> Draw:
    fields = sorted({m.field for m in minimums} | {c.field for c in caps})
    candidates = _candidates(team, definition, fields, call)
    by_pk = {c[PK]: c for c in candidates}
    ordered = [by_pk[pk] for pk in draw_order(list(by_pk), seed)]
    if prefer_never_attended:
        ordered.sort(key=lambda c: c[ATTENDED] != 0)  # stable: draw order within each part
    refused = _no_consent(ordered, ask_consent=call is None)
    asking = [c for c in ordered if c[PK] not in refused]
    picked, passed = pick(
        asking,
        size,
        value_of=_reader(fields),
        minimums=minimums,
        caps=caps,
        refused=_governance(team, asking),
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
    from_call = {}
    if call is not None:
        # Kept in words as they were: the call's quotas (and title) may change later.
        from_call = {"call": {"title": call.title, "quotas": quota_words or []}}
    made = Draw.objects.create(
        team=team,
        segment=segment,
        call=call,
        segment_name=segment.name if segment else "",
        definition=definition,
        description=(
            _("the qualified people of “%(call)s”") % {"call": call.title}
            if call is not None
            else segment_service.describe(definition)
        ),
        rules={
            "minimums": [{"field": m.field, "value": m.value, "share": m.share} for m in minimums],
            "caps": [_cap_rule(c) for c in caps],
            "prefer_never_attended": prefer_never_attended,
            "first_skipped": first,
            **from_call,
        },
        seed=seed,
        size=size,
        picked=[c[PK] for c in picked],
        skipped=skipped,
        candidates=len(candidates),
        drawn_by=actor,
        drawn_at=timezone.now(),
    )
    # The people picked are the draw's (by panel id); the log says how many, from what.
    audit.record(
        actor=actor,
        action="draw.rerun" if rerun_of else "draw.made",
        team=team,
        target=made,
        summary={
            "segment": segment,
            "call": call,
            "size": size,
            "picked": len(made.picked),
            "candidates": made.candidates,
            **({"rerun_of": rerun_of} if rerun_of else {}),
        },
    )
    return made


def _cap_rule(cap: Cap) -> dict[str, Any]:
    rule: dict[str, Any] = {"field": cap.field}
    rule |= {"count": cap.count} if cap.count is not None else {"share": cap.share}
    if cap.value is not None:
        rule["value"] = cap.value
    return rule


def rerun(*, draw: Draw, actor: User) -> Draw:
    """The same draw again, from its stored definition, rules and seed (recorded as a new
    draw): on an unchanged panel, the same people in the same order. A draw from a call
    draws from the call's qualified people now, under the rules stored with it (its quotas
    as they were then)."""
    _check(actor, draw.team)
    clean = segment_service.validate(draw.team, draw.definition)
    rules = draw.rules or {}
    if "call" in rules and draw.call is None:
        raise ServiceError(
            _("The open call of this draw has been deleted: it cannot be run again.")
        )
    minimums, caps = clean_minimums(rules.get("minimums")), clean_caps(rules.get("caps"))
    quota_words = rules.get("call", {}).get("quotas", []) if draw.call is not None else []
    fresh = _draw(
        team=draw.team,
        actor=actor,
        segment=draw.segment,
        call=draw.call,
        quota_words=quota_words,
        definition=clean,
        size=draw.size,
        minimums=minimums,
        caps=caps,
        prefer_never_attended=bool(rules.get("prefer_never_attended")),
        seed=clean_seed(draw.seed),
        rerun_of=draw.pk,
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
        notes.append(
            ngettext(
                "Only %(picked)s of the %(size)s asked could be picked.",
                "Only %(picked)s of the %(size)s asked could be picked.",
                draw.size,
            )
            % {"picked": len(draw.picked), "size": draw.size}
        )
    for m in (draw.rules or {}).get("minimums", []):
        field, value, share = m["field"], m["value"], int(m["share"])
        wanted = min(floor_of(draw.size, share), draw.size)
        got = sum(1 for p in people if p is not None and _norm(field, getattr(p, field)) == value)
        if got < wanted:
            notes.append(
                _(
                    "At least %(share)s%% with %(field)s “%(value)s” asked for %(wanted)s; "
                    "%(got)s could be picked."
                )
                % {
                    "share": share,
                    "field": RULE_FIELDS[field],
                    "value": value,
                    "wanted": wanted,
                    "got": got,
                }
            )
    return notes


def invite_rows(
    people: list[PanelMember | None], *, call: OpenCall | None = None
) -> list[tuple[str, str]]:
    """(email, name) of the picked people still in the panel and still agreeing to be
    contacted (consent may have been withdrawn since the draw), for the invitations flow.
    From a call: those still qualified in it (its rules may have changed since), consent or
    not, as the call's pool invites them. One query at most."""
    present = [p for p in people if p is not None]
    if call is None:
        return [(p.email, p.name) for p in present if p.consent]
    still = set(
        PanelMember.objects.filter(
            pk__in=[p.pk for p in present], email__in=panel.keys_of(qualified(call))
        ).values_list("pk", flat=True)
    )
    return [(p.email, p.name) for p in present if p.pk in still]
