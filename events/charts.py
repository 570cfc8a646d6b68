"""Geometry of the small server-rendered SVG charts (no JavaScript, nothing external). Pure
functions: numbers in, coordinates out; the templates draw them, escaping every label."""

from dataclasses import dataclass, field

VALUE_ROOM = 40  # room after the longest bar for its number
BAR = 22


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    tone: str
    y: int
    width: float
    x: float

    @property
    def text_y(self) -> float:
        return self.y + BAR / 2

    @property
    def value_x(self) -> float:
        return self.x + self.width + 8


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per row, labels on the left. `width` is in viewBox units: the
    SVG scales to its box, so a narrow chart keeps its text readable on a phone."""

    bars: list[Bar]
    width: int
    label_width: int
    row: int
    bar: int = BAR

    @property
    def height(self) -> int:
        return len(self.bars) * self.row

    @property
    def room(self) -> int:
        """The width of a full-scale bar."""
        return self.width - self.label_width - VALUE_ROOM


def bar_chart(
    items: list[tuple[str, int, str]], *, width: int = 320, label_width: int = 140, row: int = 32
) -> BarChart:
    """One bar per (label, value, tone), scaled to the largest value."""
    room = width - label_width - VALUE_ROOM
    top = max((value for _, value, _ in items), default=0) or 1
    bars = [
        Bar(label, value, tone, i * row + (row - BAR) // 2, room * value / top, label_width)
        for i, (label, value, tone) in enumerate(items)
    ]
    return BarChart(bars, width, label_width, row)


@dataclass(frozen=True)
class Segment:
    label: str
    value: int
    tone: str
    x: float
    width: float


@dataclass(frozen=True)
class StackRow:
    label: str
    note: str  # a second, smaller line under the label
    total: int
    y: int
    segments: list[Segment] = field(default_factory=list)
    x: float = 0

    @property
    def text_y(self) -> float:
        return self.y + BAR / 2

    @property
    def label_y(self) -> float:
        return self.text_y - (7 if self.note else 0)

    @property
    def note_y(self) -> float:
        return self.text_y + 9

    @property
    def value_x(self) -> float:
        end = self.segments[-1].x + self.segments[-1].width if self.segments else self.x
        return end + 8


@dataclass(frozen=True)
class StackedChart:
    rows: list[StackRow]
    width: int
    label_width: int
    row: int
    bar: int = BAR

    @property
    def height(self) -> int:
        return len(self.rows) * self.row

    @property
    def room(self) -> int:
        return self.width - self.label_width - VALUE_ROOM


def stacked_chart(
    rows: list[tuple[str, str, list[tuple[str, int, str]]]],
    *,
    width: int = 480,
    label_width: int = 150,
    row: int = 40,
) -> StackedChart:
    """One bar per (label, note, segments), each segment a (label, value, tone); every row on
    the same scale, so longer bars are bigger sessions."""
    room = width - label_width - VALUE_ROOM
    top = max((sum(v for _, v, _ in parts) for _, _, parts in rows), default=0) or 1
    drawn = []
    for i, (label, note, parts) in enumerate(rows):
        x, segments = float(label_width), []
        for name, value, tone in parts:
            size = room * value / top
            if value:
                segments.append(Segment(name, value, tone, x, size))
            x += size
        total = sum(v for _, v, _ in parts)
        y = i * row + (row - BAR) // 2
        drawn.append(StackRow(label, note, total, y, segments, label_width))
    return StackedChart(drawn, width, label_width, row)
