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
"""The name column: unit names wrap inside it, whole, and never run over the bars."""
LABEL_INSET = 8
HEADER = 44
"""Two header rows: the days, then the hours under them."""
ROW = 26
PAD = 6
LEGEND = 30
NAME_SIZE = 12.0
NAME_LINE = 15
DETAIL_SIZE = 10.0
DETAIL_LINE = 13
DETAIL_LINES = 2
BAR_LABEL_SIZE = 10.5
HOUR_STEPS = (1, 2, 3, 6, 12)
MIN_HOUR_GAP = 22.0
"""Hour ticks are at least this far apart (in SVG units); closer than a day apart or none."""


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
    day_link: Callable[[date], str] | None = None,
) -> Markup:
    """Return an SVG timeline of the bars over [start, end), days labelled in the time zone.

    Lane names wrap whole in the name column; bars carry their label where it fits; the header
    shows the days and, under them, hours as closely as they fit. With `day_link`, each day's
    label links to that day (a page zooms in with it)."""
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

    layout = _layout(lanes, rows_of_lane)
    tops, chart_bottom = layout.tops, layout.bottom
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
    parts.extend(_shades(shades, tops, start, end, x, id_prefix))
    parts.extend(_grid(start, end, zone, ticks, locale, x, chart_bottom, day_link))
    parts.append(
        f'<line class="name-column" x1="{LABEL_WIDTH - 2}" y1="{HEADER}" '
        f'x2="{LABEL_WIDTH - 2}" y2="{chart_bottom:.1f}"/>'
    )
    for lane in lanes:
        top, _height = tops[lane.key]
        parts.extend(_lane_label(lane, layout.names[lane.key], layout.details[lane.key], top))
        for row, row_bars in enumerate(rows_of_lane[lane.key]):
            for bar in row_bars:
                parts.append(_bar(bar, x, top + PAD / 2 + row * ROW))
    if legend:
        parts.append(_legend(legend, chart_bottom + 10, id_prefix))
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class _Layout:
    """Where each lane sits: its wrapped name and detail, its top and height; the chart's
    bottom edge."""

    names: dict[str, list[str]]
    details: dict[str, list[str]]
    tops: dict[str, tuple[float, float]]
    bottom: float


def _layout(lanes: Sequence[Lane], rows_of_lane: dict[str, list[list[Bar]]]) -> _Layout:
    """Stack the lanes under the header, each as tall as its rows of bars or its label."""
    column = LABEL_WIDTH - 2 * LABEL_INSET
    names = {lane.key: wrap(lane.label, column, NAME_SIZE, bold=True) for lane in lanes}
    details = {
        lane.key: wrap(lane.detail, column, DETAIL_SIZE, max_lines=DETAIL_LINES) for lane in lanes
    }
    tops: dict[str, tuple[float, float]] = {}
    y = float(HEADER)
    for lane in lanes:
        bars_height = ROW * max(1, len(rows_of_lane[lane.key])) + PAD
        label_height = NAME_LINE * len(names[lane.key]) + DETAIL_LINE * len(details[lane.key]) + 9
        height = float(max(bars_height, label_height))
        tops[lane.key] = (y, height)
        y += height
    return _Layout(names, details, tops, y)


def _shades(
    shades: Iterable[Shade],
    tops: dict[str, tuple[float, float]],
    start: datetime,
    end: datetime,
    x: Callable[[datetime], float],
    id_prefix: str,
) -> list[str]:
    """Return the background windows within [start, end), each on its lane or on all."""
    parts = []
    for shade in shades:
        if shade.kind not in SHADE_KINDS or shade.end <= start or shade.start >= end:
            continue
        targets = [shade.lane] if shade.lane is not None else list(tops)
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
    return parts


def _lane_label(lane: Lane, name: list[str], detail: list[str], top: float) -> list[str]:
    """Return a lane's name (its full label as the tooltip) and detail in the name column."""
    baseline = top + 17
    parts = [
        f'<text class="lane-label" x="{LABEL_INSET}" y="{baseline:.1f}">'
        + _lines(name, NAME_LINE)
        + f"<title>{escape(lane.label)}</title></text>"
    ]
    if detail:
        parts.append(
            f'<text class="lane-detail" x="{LABEL_INSET}" '
            f'y="{baseline + NAME_LINE * (len(name) - 1) + DETAIL_LINE + 1:.1f}">'
            + _lines(detail, DETAIL_LINE)
            + "</text>"
        )
    return parts


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


# ---------------------------------------------------------------- text widths

_NARROW = set("ijlI.,:;'!|`·")
_HALF = set(" ()[]{}-/ft")
_BROAD = set("mwMW@%&")
_OPENING = set("([{（【《「『“‘")
_CLOSING = set(")]}）】》」』”’，。、；：！？,.;:!?")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Return a generous estimate of the width of text set at `size` (SVG units).

    The server cannot measure glyphs, so this errs wide: wrapped names then always fit their
    column (the browser tests measure the real boxes)."""
    em = 0.0
    for char in text:
        if _wide(char):
            em += 1.0
        elif char in _NARROW:
            em += 0.34
        elif char in _HALF:
            em += 0.45
        elif char in _BROAD or char.isupper():
            em += 0.86 if char in _BROAD else 0.76
        else:
            em += 0.64
    return em * size * (1.08 if bold else 1.0)


def _tokens(text: str) -> list[str]:
    """Split text where a line may break: after spaces, hyphens and slashes, around each
    Chinese character; opening brackets stay with what follows, closing ones with what
    precedes."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if _wide(char) and char not in _CLOSING and char not in _OPENING:
            if word:
                tokens.append(word)
            tokens.append(char)
            word = ""
        elif char in _CLOSING and not word and tokens:
            tokens[-1] += char
        elif char in _OPENING:
            if word:
                tokens.append(word)
            word = char
        elif char in " -/":
            tokens.append(word + char)
            word = ""
        else:
            word += char
    if word:
        tokens.append(word)
    merged: list[str] = []
    carry = ""
    for token in tokens:
        if token and all(c in _OPENING for c in token):
            carry += token
            continue
        merged.append(carry + token)
        carry = ""
    if carry:
        merged.append(carry)
    return [t for t in merged if t]


def wrap(
    text: str, width: float, size: float, *, bold: bool = False, max_lines: int = 0
) -> list[str]:
    """Break text into lines no wider than `width`; with `max_lines`, the last line kept
    ends in an ellipsis when text is left over. Without it nothing is ever cut."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text.strip()):
        if text_width((line + token).rstrip(), size, bold=bold) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        for char in token:  # a word longer than the line breaks between its letters
            if line and text_width(line + char, size, bold=bold) > width:
                lines.append(line)
                line = ""
            line += char
        line = line.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    if max_lines and len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [fit(" ".join(lines[max_lines - 1 :]), width, size)]
    return lines


def fit(text: str, width: float, size: float) -> str:
    """Return text, or as much of it as fits in `width` followed by an ellipsis ("" if none)."""
    if text_width(text, size) <= width:
        return text
    kept = text
    while kept and text_width(kept.rstrip() + "…", size) > width:
        kept = kept[:-1]
    return kept.rstrip() + "…" if kept.strip() else ""


def _lines(lines: Sequence[str], height: int) -> str:
    return "".join(
        f'<tspan x="{LABEL_INSET}" dy="{0 if i == 0 else height}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )


# ---------------------------------------------------------------- pieces


def _bar(bar: Bar, x: Callable[[datetime], float], top: float) -> str:
    left = x(bar.start)
    width = max(x(bar.end) - left, 2.0)
    state = bar.state if bar.state in BAR_STATES else PROPOSED
    tooltip = bar.tooltip or bar.label
    label = ""
    shown = fit(bar.label, width - 7, BAR_LABEL_SIZE) if width >= 24 else ""
    if shown and shown != "…":
        label = (
            f'<text class="bar-label" x="{left + 3.5:.1f}" y="{top + 14:.1f}">'
            f"{escape(shown)}</text>"
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
    day_link: Callable[[date], str] | None = None,
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
                    f'<text class="tick hour" x="{px + 2:.1f}" y="{HEADER - 10}">'
                    f"{moment.astimezone(zone):%H:%M}</text>"
                )
            moment = (moment + step).astimezone(zone)
        return parts
    day_width = x(start + timedelta(days=1)) - x(start)
    # CLDR skeletons, so each language orders day, month and weekday its own way.
    skeleton = "MMMEd" if day_width >= 90 else ("Ed" if day_width >= 44 else "d")
    hour_width = day_width / 24
    step = next((h for h in HOUR_STEPS if h * hour_width >= MIN_HOUR_GAP), None)
    hour_format = "%H:%M" if step is not None and step * hour_width >= 36 else "%H"
    day = local_start.date()
    free_from = 0.0
    while True:
        midnight = datetime.combine(day, time(0), zone)
        if midnight >= end:
            break
        weekend = " weekend" if day.weekday() >= 5 else ""
        if midnight >= start:
            px = x(midnight)
            parts.append(
                f'<line class="grid day{weekend}" x1="{px:.1f}" y1="{HEADER - 30}" '
                f'x2="{px:.1f}" y2="{bottom:.1f}"/>'
            )
        # A day that began before the window is still named, at the window's left edge; in a
        # long window days too narrow for their names are named every so often.
        label_x = x(max(midnight, start)) + 3
        name = format_skeleton(skeleton, day, locale=locale)
        room = text_width(name, 11.5, bold=True)
        if label_x >= free_from and label_x + room <= WIDTH - PAD:
            free_from = label_x + room + 6
            text = escape(name)
            label = (
                f'<text class="tick day{weekend}" x="{label_x:.1f}" y="{HEADER - 24}" '
                f'data-day="{day.isoformat()}">{text}</text>'
            )
            if day_link is not None:
                label = f'<a class="day-link" href="{escape(day_link(day))}">{label}</a>'
            parts.append(label)
        for hour in range(step or 24, 24, step or 24):
            moment = datetime.combine(day, time(hour), zone)
            if not start < moment < end:
                continue
            px = x(moment)
            parts.append(
                f'<line class="grid hour" x1="{px:.1f}" y1="{HEADER - 4}" x2="{px:.1f}" '
                f'y2="{bottom:.1f}"/>'
                f'<text class="tick hour" x="{px:.1f}" y="{HEADER - 7}" text-anchor="middle">'
                f"{moment:{hour_format}}</text>"
            )
        day += timedelta(days=1)
    return parts


def _defs(prefix: str) -> str:
    return (
        f'<defs><pattern id="{prefix}-hatch" patternUnits="userSpaceOnUse" width="8" height="8" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#fdf1d2"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#d9a53b" stroke-width="3"/></pattern></defs>'
    )


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
        left += 30 + text_width(label, 11)
    parts.append("</g>")
    return "".join(parts)
