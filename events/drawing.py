"""Choosing people from a list already in draw order, under minimum shares and caps: the one
picker that the lottery's seats and the panel's samples share. Pure: data in, data out.

- A **minimum** ("at least 30% with role = researcher") is a floor, so it is rounded UP: 30%
  of 5 keeps 2 places, not 1. Floors are filled first, one after another (by field and value),
  each by the first matching people in draw order; floors that round up past the size get
  what is left. Then the remaining places go to everyone left, in draw order.
- A **cap** ("at most 2 per affiliation", or "at most 40% from one affiliation") limits how
  many of the picked share one value of a field. A share of a cap is a ceiling, so it is
  rounded DOWN (40% of 5 is 2), but never below 1. People with no value (a blank
  affiliation) are not "from one affiliation": caps do not count them. A cap may name one
  value ("at most 20% from ACME"): then it limits that value only.
- `refused` (optional) says why an item may not be picked at all (contact rules): it is asked
  only of the items the picker looks at, once each, so a costly answer (a query) is paid for
  the few looked at and not for a whole list once the sample is full.
- Everyone not picked is returned with the reason, in draw order.

The result keeps the draw order, so anyone holding the seed and the list can check it."""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

FULL = "not reached: the sample was full"


@dataclass(frozen=True)
class Minimum:
    field: str
    value: str
    share: int  # percent of the size, 0..100


@dataclass(frozen=True)
class Cap:
    field: str
    count: int | None = None  # at most this many per value
    share: int | None = None  # or at most this percent of the size per value
    value: str | None = None  # only this value is capped (None: each value)

    def counts(self, value: str) -> bool:
        """Whether a person with this value of the field counts against the cap."""
        return bool(value) and (self.value is None or value == self.value)

    def limit(self, size: int) -> int:
        if self.count is not None:
            return self.count
        return max(size * int(self.share or 0) // 100, 1)

    def reason(self, size: int) -> str:
        per = f"per {self.field}" if self.value is None else f"with {self.field} “{self.value}”"
        if self.count is not None:
            return f"cap reached: at most {self.count} {per}"
        return f"cap reached: at most {self.share}% ({self.limit(size)}) {per}"


def floor_of(size: int, share: int) -> int:
    """A minimum share's places: rounded up."""
    return -(-size * int(share) // 100)


def pick(
    ordered: Sequence[T],
    size: int,
    *,
    value_of: Callable[[T, str], str],
    minimums: Sequence[Minimum] = (),
    caps: Sequence[Cap] = (),
    refused: Callable[[T], str | None] | None = None,
) -> tuple[list[T], list[tuple[T, str]]]:
    """(picked in draw order, [(skipped, reason)] in draw order). `value_of(item, field)` is
    the item's value of a field, compared as given (normalise before: "ACME" and "Acme");
    `refused(item)` the reason the item may not be picked, or None."""
    size = max(int(size), 0)
    chosen: set[int] = set()
    # Why an item looked at may not be picked (None: it may): asked once per item.
    barred: dict[int, str | None] = {}

    def bar(index: int, item: T) -> str | None:
        if refused is None:
            return None
        if index not in barred:
            barred[index] = refused(item)
        return barred[index]

    # Picked so far per cap and value (by the cap's place: two caps may share a field).
    taken: dict[tuple[int, str], int] = Counter()

    def capped_by(item: T) -> Cap | None:
        for n, cap in enumerate(caps):
            value = value_of(item, cap.field)
            if cap.counts(value) and taken[(n, value)] >= cap.limit(size):
                return cap
        return None

    def take(index: int, item: T) -> None:
        chosen.add(index)
        for n, cap in enumerate(caps):
            value = value_of(item, cap.field)
            if cap.counts(value):
                taken[(n, value)] += 1

    for minimum in sorted(minimums, key=lambda m: (m.field, m.value)):
        quota = min(floor_of(size, minimum.share), size - len(chosen))
        got = 0
        for index, item in enumerate(ordered):
            if got >= quota:
                break
            if index in chosen or value_of(item, minimum.field) != minimum.value:
                continue
            if bar(index, item) is None and capped_by(item) is None:
                take(index, item)
                got += 1
    skipped: list[tuple[T, str]] = []
    index = 0
    while index < len(ordered) and len(chosen) < size:
        item = ordered[index]
        if index not in chosen:
            reason = bar(index, item)
            if reason is None and (cap := capped_by(item)) is not None:
                reason = cap.reason(size)
            if reason is None:
                take(index, item)
            else:
                skipped.append((item, reason))
        index += 1
    # The sample is full: the others are not looked at (but a refusal already known is said;
    # usually there is none, and the long tail is walked once, plainly).
    known = {n: reason for n, reason in barred.items() if reason is not None and n >= index}
    rest = enumerate(ordered[index:], index)
    if known:
        skipped.extend((item, known.get(n, FULL)) for n, item in rest if n not in chosen)
    else:
        skipped.extend((item, FULL) for n, item in rest if n not in chosen)
    return [item for n, item in enumerate(ordered) if n in chosen], skipped
