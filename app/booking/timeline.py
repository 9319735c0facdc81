"""Draw a schedule as an SVG timeline: one lane per equipment unit (or per day), bars by state.

Pure functions: they take plain values and return markup, so pages, e-mails and tests can use
them without a database.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from markupsafe import Markup, escape

# States a bar can be in; each is a CSS class in pilotslot.css (/* booking */).
PUBLISHED = "published"
PROPOSED = "proposed"
MOVED = "moved"
PINNED = "pinned"
DROPPED = "dropped"
OWN = "own"
BUSY = "busy"
BAR_STATES = (PUBLISHED, PROPOSED, MOVED, PINNED, DROPPED, OWN, BUSY)

# Kinds of shaded background.
MAINTENANCE = "maintenance"
CLOSED = "closed"
SHADE_KINDS = (MAINTENANCE, CLOSED)

WIDTH = 1120
LABEL_WIDTH = 200
HEADER = 34
ROW = 26
PAD = 6
LEGEND = 30
CHAR_WIDTH = 6.2


@dataclass(frozen=True)
class Lane:
    """A row of the timeline (an equipment unit, or a day in the week view)."""

    key: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Bar:
    """A booking or proposed placement drawn on a lane."""

    lane: str
    start: datetime
    end: datetime
    label: str
    state: str
    tooltip: str = ""


@dataclass(frozen=True)
class Shade:
    """A background window on one lane (or on every lane when lane is None)."""

    lane: str | None
    start: datetime
    end: datetime
    kind: str
    tooltip: str = ""


def render_timeline(
    lanes: Sequence[Lane],
    bars: Iterable[Bar],
    shades: Iterable[Shade] = (),
    *,
    start: datetime,
    end: datetime,
    tz: str,
    locale: str = "en",
    legend: Sequence[tuple[str, str]] = (),
    ticks: str = "days",
    caption: str = "",
    id_prefix: str = "tl",
) -> Markup:
    """Return an SVG timeline of the bars over [start, end), days labelled in the time zone."""
    if not start < end:
        raise ValueError("the timeline must end after it starts")
    zone = ZoneInfo(tz)
    span = (end - start).total_seconds()
    plot = WIDTH - LABEL_WIDTH - PAD

    def x(moment: datetime) -> float:
        seconds = min(max((moment - start).total_seconds(), 0.0), span)
        return LABEL_WIDTH + plot * seconds / span

    bars_by_lane: dict[str, list[Bar]] = {lane.key: [] for lane in lanes}
    for bar in bars:
        if bar.lane in bars_by_lane and bar.end > start and bar.start < end:
            bars_by_lane[bar.lane].append(bar)
    rows_of_lane = {key: _stack(lane_bars) for key, lane_bars in bars_by_lane.items()}

    tops: dict[str, tuple[float, float]] = {}
    y = float(HEADER)
    for lane in lanes:
        height = float(ROW * max(1, len(rows_of_lane[lane.key])) + PAD)
        tops[lane.key] = (y, height)
        y += height
    chart_bottom = y
    total_height = chart_bottom + (LEGEND if legend else PAD)

    parts: list[str] = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {total_height:.0f}" data-lanes="{len(lanes)}">',
        f"<title>{escape(caption)}</title>" if caption else "",
        _defs(id_prefix),
    ]
    for index, lane in enumerate(lanes):
        top, height = tops[lane.key]
        stripe = "lane odd" if index % 2 else "lane"
        parts.append(
            f'<rect class="{stripe}" x="0" y="{top:.1f}" width="{WIDTH}" height="{height:.1f}"/>'
        )
    for shade in shades:
        if shade.kind not in SHADE_KINDS or shade.end <= start or shade.start >= end:
            continue
        targets = [shade.lane] if shade.lane is not None else [lane.key for lane in lanes]
        for key in targets:
            if key not in tops:
                continue
            top, height = tops[key]
            fill = f' fill="url(#{id_prefix}-hatch)"' if shade.kind == MAINTENANCE else ""
            parts.append(
                f'<rect class="shade {shade.kind}" x="{x(shade.start):.1f}" y="{top:.1f}" '
                f'width="{max(x(shade.end) - x(shade.start), 0.5):.1f}" '
                f'height="{height:.1f}"{fill}>'
                + (f"<title>{escape(shade.tooltip)}</title>" if shade.tooltip else "")
                + "</rect>"
            )
    parts.extend(_grid(start, end, zone, ticks, locale, x, chart_bottom))
    for lane in lanes:
        top, height = tops[lane.key]
        parts.append(
            f'<text class="lane-label" x="8" y="{top + 17:.1f}">{escape(_fit(lane.label, 30))}'
            f"<title>{escape(lane.label)}</title></text>"
        )
        if lane.detail and height >= 2 * ROW:
            parts.append(
                f'<text class="lane-detail" x="8" y="{top + 17 + ROW:.1f}">'
                f"{escape(_fit(lane.detail, 32))}</text>"
            )
        for row, row_bars in enumerate(rows_of_lane[lane.key]):
            for bar in row_bars:
                parts.append(_bar(bar, x, top + PAD / 2 + row * ROW))
    if legend:
        parts.append(_legend(legend, chart_bottom + 10, id_prefix))
    parts.append("</svg>")
    return Markup("".join(parts))


def week_view(
    blocks: Iterable[Bar | Shade], *, monday: date, tz: str, locale: str = "en"
) -> tuple[list[Lane], list[Bar], list[Shade], datetime, datetime]:
    """Fold a week of bars and shades onto seven day lanes sharing one 24-hour axis."""
    zone = ZoneInfo(tz)
    reference = datetime.combine(monday, time(0), zone)
    days = [monday + timedelta(days=i) for i in range(7)]
    lanes = [
        Lane(key=day.isoformat(), label=format_skeleton("MMMEd", day, locale=locale))
        for day in days
    ]
    bars: list[Bar] = []
    shades: list[Shade] = []
    for block in blocks:
        for day, piece_start, piece_end in _split_by_day(block.start, block.end, zone):
            if day not in days:
                continue
            offset = datetime.combine(day, time(0), zone)
            folded_start = reference + (piece_start - offset)
            folded_end = reference + (piece_end - offset)
            if isinstance(block, Bar):
                bars.append(
                    Bar(
                        day.isoformat(),
                        folded_start,
                        folded_end,
                        block.label,
                        block.state,
                        block.tooltip,
                    )
                )
            else:
                shades.append(
                    Shade(day.isoformat(), folded_start, folded_end, block.kind, block.tooltip)
                )
    return lanes, bars, shades, reference, reference + timedelta(days=1)


def closed_shades(
    lane: str, open_windows: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[Shade]:
    """Return the gaps between a lane's open windows inside [start, end) as closed shades."""
    shades: list[Shade] = []
    cursor = start
    for window_start, window_end in sorted(open_windows):
        if window_start > cursor:
            shades.append(Shade(lane, cursor, min(window_start, end), CLOSED))
        cursor = max(cursor, window_end)
        if cursor >= end:
            break
    if cursor < end:
        shades.append(Shade(lane, cursor, end, CLOSED))
    return [shade for shade in shades if shade.start < shade.end]


def _stack(bars: list[Bar]) -> list[list[Bar]]:
    """Put overlapping bars (a unit of capacity > 1) on separate rows of their lane."""
    rows: list[list[Bar]] = []
    for bar in sorted(bars, key=lambda b: (b.start, b.end)):
        for row in rows:
            if row[-1].end <= bar.start:
                row.append(bar)
                break
        else:
            rows.append([bar])
    return rows


def _split_by_day(
    start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[date, datetime, datetime]]:
    pieces = []
    cursor = start.astimezone(zone)
    finish = end.astimezone(zone)
    while cursor < finish:
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), zone)
        piece_end = min(next_midnight, finish)
        pieces.append((cursor.date(), cursor, piece_end))
        cursor = piece_end
    return pieces


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _bar(bar: Bar, x: Callable[[datetime], float], top: float) -> str:
    left = x(bar.start)
    width = max(x(bar.end) - left, 2.0)
    state = bar.state if bar.state in BAR_STATES else PROPOSED
    tooltip = bar.tooltip or bar.label
    label = ""
    room = int((width - 6) / CHAR_WIDTH)
    if room >= 3:
        label = (
            f'<text class="bar-label" x="{left + 3:.1f}" y="{top + 14:.1f}">'
            f"{escape(_fit(bar.label, room))}</text>"
        )
    return (
        f'<g class="bar {state}"><rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" '
        f'height="{ROW - 6}" rx="3"><title>{escape(tooltip)}</title></rect>{label}</g>'
    )


def _grid(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    ticks: str,
    locale: str,
    x: Callable[[datetime], float],
    bottom: float,
) -> list[str]:
    parts: list[str] = []
    local_start = start.astimezone(zone)
    if ticks == "hours":
        step = timedelta(hours=2)
        moment = local_start.replace(minute=0, second=0, microsecond=0)
        while moment < end:
            if moment >= start:
                px = x(moment)
                parts.append(
                    f'<line class="grid" x1="{px:.1f}" y1="{HEADER - 6}" x2="{px:.1f}" '
                    f'y2="{bottom:.1f}"/>'
                    f'<text class="tick" x="{px + 2:.1f}" y="{HEADER - 10}">'
                    f"{moment.astimezone(zone):%H:%M}</text>"
                )
            moment = (moment + step).astimezone(zone)
        return parts
    days = (end - start).days + 1
    # CLDR skeletons, so each language orders day, month and weekday its own way.
    skeleton = "MMMEd" if days <= 8 else ("Ed" if days <= 15 else "d")
    day = local_start.date()
    while True:
        midnight = datetime.combine(day, time(0), zone)
        if midnight >= end:
            break
        if midnight >= start:
            px = x(midnight)
            weekend = " weekend" if day.weekday() >= 5 else ""
            parts.append(
                f'<line class="grid day{weekend}" x1="{px:.1f}" y1="{HEADER - 6}" '
                f'x2="{px:.1f}" y2="{bottom:.1f}"/>'
                f'<text class="tick{weekend}" x="{px + 2:.1f}" y="{HEADER - 10}">'
                f"{escape(format_skeleton(skeleton, day, locale=locale))}</text>"
            )
        day += timedelta(days=1)
    return parts


def _defs(prefix: str) -> str:
    return (
        f'<defs><pattern id="{prefix}-hatch" patternUnits="userSpaceOnUse" width="8" height="8" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#fdf1d2"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#d9a53b" stroke-width="3"/></pattern></defs>'
    )


def _text_width(text: str) -> int:
    """Return the width of text in Latin characters; a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _legend(entries: Sequence[tuple[str, str]], top: float, prefix: str) -> str:
    parts = ['<g class="legend">']
    left = float(LABEL_WIDTH)
    for kind, label in entries:
        if kind in SHADE_KINDS:
            fill = f' fill="url(#{prefix}-hatch)"' if kind == MAINTENANCE else ""
            parts.append(
                f'<rect class="shade {kind}" x="{left:.1f}" y="{top:.1f}" width="14" '
                f'height="12"{fill}/>'
            )
        else:
            parts.append(
                f'<g class="bar {kind}"><rect x="{left:.1f}" y="{top:.1f}" width="14" '
                f'height="12" rx="2"/></g>'
            )
        parts.append(
            f'<text class="legend-label" x="{left + 19:.1f}" y="{top + 10:.1f}">'
            f"{escape(label)}</text>"
        )
        left += 30 + CHAR_WIDTH * _text_width(label)
    parts.append("</g>")
    return "".join(parts)
