"""The job panel's timeline: results by severity and matched events over the job's range, as SVG.

`Timeline.build` cuts `[start, end)` into at most `MAX_BUCKETS` buckets of a round size (1 minute
to 30 days) and counts the results of each severity per bucket (by trigger time); the matched
events per bucket come from the archive (`matched.matched_event_counts`). `Timeline.svg()` draws
stacked bars for the results (left axis) and a line for the events (right axis), with a `<title>`
tooltip per bucket. Tick labels carry their instant in `data-time` so the browser shows them in
its own time zone; the SVG text itself is UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.web.render import iso

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
#: Bucket sizes, smallest first.
STEPS: tuple[int, ...] = (
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    30 * DAY,
)
MAX_BUCKETS = 84
TICKS = 7
COLORS: dict[str, str] = {
    "critical": "#b42318",
    "high": "#e8590c",
    "medium": "#d99a00",
    "low": "#2f6fde",
    "info": "#7a8699",
}
EVENTS_COLOR = "#0f8b8d"
WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 52, 14, 34


def bucket_size(span_ms: int, max_buckets: int = MAX_BUCKETS) -> int:
    """The smallest round bucket size giving at most `max_buckets` buckets over `span_ms`."""
    for step in STEPS:
        if math.ceil(span_ms / step) <= max_buckets:
            return step
    return math.ceil(span_ms / max_buckets / DAY) * DAY


def nice_ceiling(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 1:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


@dataclass(frozen=True)
class Timeline:
    """Counts per bucket over `[start_ms, end_ms)`."""

    start_ms: int
    end_ms: int
    bucket_ms: int
    results: list[dict[str, int]]  # per bucket: severity -> results
    events: list[int] | None  # per bucket: matched events (None: not available)

    @classmethod
    def build(
        cls,
        start_ms: int,
        end_ms: int,
        results: Iterable[tuple[int, str]],
        events: Sequence[int] | None = None,
        *,
        bucket_ms: int | None = None,
    ) -> Timeline:
        """Bucket `(timestamp_ms, severity)` results; `events` are per-bucket counts."""
        step = bucket_ms or bucket_size(max(1, end_ms - start_ms))
        count = cls.buckets_for(start_ms, end_ms, step)
        stacks: list[dict[str, int]] = [{} for _ in range(count)]
        for timestamp, severity in results:
            position = (timestamp - start_ms) // step
            position = min(max(position, 0), count - 1)
            stacks[position][severity] = stacks[position].get(severity, 0) + 1
        return cls(start_ms, end_ms, step, stacks, list(events) if events is not None else None)

    @staticmethod
    def buckets_for(start_ms: int, end_ms: int, bucket_ms: int) -> int:
        """How many buckets of `bucket_ms` cover `[start_ms, end_ms)` (at least one)."""
        return max(1, math.ceil((end_ms - start_ms) / bucket_ms))

    @property
    def total_results(self) -> int:
        """Every result counted."""
        return sum(sum(stack.values()) for stack in self.results)

    @property
    def total_events(self) -> int:
        """Every matched event counted."""
        return sum(self.events or [])

    def _x(self, position: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * position / len(self.results)

    def _y(self, value: float, top: int) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / top

    def svg(self) -> Markup:
        """The chart as an inline SVG element."""
        result_top = nice_ceiling(max((sum(s.values()) for s in self.results), default=0))
        event_top = nice_ceiling(max(self.events or [0]))
        label = (
            f"{self.total_results} results and {self.total_events} matched events "
            f"from {iso(self.start_ms)} to {iso(self.end_ms)}"
        )
        parts = [
            f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{escape(label)}">',
            *self._axes(result_top, event_top),
            *self._bars(result_top),
            *self._event_line(event_top),
            "</svg>",
        ]
        return Markup("".join(parts))

    def _axes(self, result_top: int, event_top: int) -> list[str]:
        bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
        out = [f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>']
        for fraction in (0.5, 1.0):
            y = self._y(fraction * result_top, result_top)
            out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
            if (fraction * result_top).is_integer():  # results are whole numbers
                out.append(
                    f'<text class="ylabel" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                    f"{_compact(fraction * result_top)}</text>"
                )
            if self.events is not None and (fraction * event_top).is_integer():
                out.append(
                    f'<text class="ylabel events" x="{right + 6}" y="{y + 4:.1f}">'
                    f"{_compact(fraction * event_top)}</text>"
                )
        span = self.end_ms - self.start_ms
        kind = "date" if span > 3 * DAY else ("datetime" if span > DAY else "time")
        every = max(1, math.ceil(len(self.results) / TICKS))
        for position in range(0, len(self.results) + 1, every):
            at = min(self.start_ms + position * self.bucket_ms, self.end_ms)
            x = self._x(position)
            out.append(
                f'<line class="tick" x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}"/>'
            )
            out.append(
                f'<text class="xlabel" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" '
                f'data-time="{iso(at)}" data-format="{kind}">{_utc_label(at, kind)}</text>'
            )
        return out

    def _bars(self, top: int) -> list[str]:
        out: list[str] = []
        width = (WIDTH - LEFT - RIGHT) / len(self.results)
        gap = min(2.0, width * 0.2)
        for position, stack in enumerate(self.results):
            if not stack:
                continue
            base = 0
            x = self._x(position) + gap / 2
            tip = escape(f"{_utc_label(self.start_ms + position * self.bucket_ms, 'datetime')}")
            for severity in SEVERITIES:
                count = stack.get(severity, 0)
                if not count:
                    continue
                y_top, y_base = self._y(base + count, top), self._y(base, top)
                out.append(
                    f'<rect class="bar sev-{severity}" x="{x:.1f}" y="{y_top:.1f}" '
                    f'width="{width - gap:.1f}" height="{y_base - y_top:.1f}" '
                    f'fill="{COLORS[severity]}" data-severity="{severity}" data-count="{count}">'
                    f"<title>{tip}: {count} {severity}</title></rect>"
                )
                base += count
        return out

    def _event_line(self, top: int) -> list[str]:
        if not self.events:
            return []
        width = (WIDTH - LEFT - RIGHT) / len(self.events)
        points = " ".join(
            f"{self._x(position) + width / 2:.1f},{self._y(count, top):.1f}"
            for position, count in enumerate(self.events)
        )
        dots = [
            f'<circle class="event-dot" cx="{self._x(position) + width / 2:.1f}" '
            f'cy="{self._y(count, top):.1f}" r="2.5" fill="{EVENTS_COLOR}" data-count="{count}">'
            f"<title>{escape(_utc_label(self.start_ms + position * self.bucket_ms, 'datetime'))}: "
            f"{count} matched events</title></circle>"
            for position, count in enumerate(self.events)
            if count
        ]
        line = (
            f'<polyline class="events" points="{points}" fill="none" stroke="{EVENTS_COLOR}" '
            'stroke-width="1.5"/>'
        )
        return [line, *dots]


def _compact(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _utc_label(epoch_ms: int, kind: str) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    pattern = {"date": "%b %d", "time": "%H:%M", "datetime": "%b %d %H:%M"}[kind]
    return moment.strftime(pattern) + (" UTC" if kind == "datetime" else "")
