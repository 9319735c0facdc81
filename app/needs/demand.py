"""The demand picture: per centre and month, what needs asked for and what became of them.

Counts only, never a need's words: the capabilities most demanded (the matcher's best three
per need, kept when the need was written), the share of needs matched and served, and the
needs that found no capability or no free time: where a centre should invest next."""

from __future__ import annotations

import io
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from matplotlib import rc_context
from matplotlib.figure import Figure
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.catalog.labels import capability_name
from app.catalog.models import Centre
from app.extensions import db
from app.i18n import localised
from app.needs.models import DeclineReason, Need, NeedState
from app.reports import exports
from app.reports.plots import ACCENT, LINE_COLOURS, cjk_font
from app.reports.report import INT, PERCENT, Column, Table

# The capabilities listed per centre and month, and drawn across the whole picture.
TOP_CAPABILITIES = 5
TOP_DRAWN = 12
MATCHED_OR_LATER = (NeedState.MATCHED.value, NeedState.REQUESTED.value, NeedState.SERVED.value)


@dataclass(frozen=True)
class Demand:
    months: Table
    capabilities: Table
    # Capability name and how many needs asked for it, most first (the bar chart).
    totals: list[tuple[str, int]]

    @property
    def tables(self) -> list[Table]:
        return [self.months, self.capabilities]


def _no_capability(need: Need) -> bool:
    return not need.capabilities or need.decline_reason == DeclineReason.NO_CAPABILITY.value


def _no_free_time(need: Need) -> bool:
    return (bool(need.capabilities) and not need.free_time_found) or (
        need.decline_reason == DeclineReason.NO_FREE_TIME.value
    )


def build(centre_ids: set[int] | None) -> Demand:
    """Return the picture of the needs addressed to these centres (None: every need)."""
    query = select(Need).options(selectinload(Need.centre)).order_by(Need.created_at)
    if centre_ids is not None:
        query = query.where(Need.centre_id.in_(centre_ids or {-1}))
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    groups: dict[tuple[str, str], list[Need]] = defaultdict(list)
    for need in db.session.scalars(query):
        centre = localised(need.centre) if need.centre is not None else _("Any centre")
        groups[(centre, need.created_at.astimezone(zone).strftime("%Y-%m"))].append(need)
    month_rows: list[list[str | int | float | None]] = []
    capability_rows: list[list[str | int | float | None]] = []
    totals: Counter[str] = Counter()
    for (centre, month), needs in sorted(groups.items()):
        count = len(needs)
        month_rows.append(
            [
                centre,
                month,
                count,
                sum(n.state in MATCHED_OR_LATER for n in needs) / count,
                sum(n.state == NeedState.SERVED.value for n in needs) / count,
                sum(_no_capability(n) for n in needs),
                sum(_no_free_time(n) for n in needs),
            ]
        )
        asked = Counter(slug for n in needs for slug in n.capabilities)
        totals.update(asked)
        for slug, times in sorted(asked.items(), key=lambda kv: (-kv[1], kv[0]))[
            :TOP_CAPABILITIES
        ]:
            capability_rows.append([centre, month, capability_name(slug), slug, times])
    months = Table(
        "months",
        _("Needs"),
        _("Needs per centre and month"),
        [
            Column("centre", _("Centre")),
            Column("month", _("Month")),
            Column("needs", _("Needs"), INT),
            Column("matched", _("Matched"), PERCENT),
            Column("served", _("Served"), PERCENT),
            Column("no_capability", _("No capability"), INT),
            Column("no_free_time", _("No free time"), INT),
        ],
        month_rows,
    )
    capabilities = Table(
        "capabilities",
        _("Capabilities"),
        _("Capabilities most demanded"),
        [
            Column("centre", _("Centre")),
            Column("month", _("Month")),
            Column("capability", _("Capability")),
            Column("slug", _("Code")),
            Column("needs", _("Needs"), INT),
        ],
        capability_rows,
    )
    drawn = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DRAWN]
    return Demand(months, capabilities, [(capability_name(s), n) for s, n in drawn])


def centres_of(centre_ids: set[int] | None) -> list[Centre]:
    """Return the centres a picture covers, for its heading."""
    query = select(Centre).order_by(Centre.slug)
    if centre_ids is not None:
        query = query.where(Centre.id.in_(centre_ids or {-1}))
    return list(db.session.scalars(query))


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


@contextmanager
def _style() -> Iterator[None]:
    """Draw as the reports do: their fonts (Chinese too), text kept as text, no glyph noise."""
    cjk = cjk_font()
    style = rc_context(
        {
            "font.family": [cjk, "DejaVu Sans"] if cjk else ["DejaVu Sans"],
            "svg.fonttype": "none",
            "svg.hashsalt": "pilotslot",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    with style, warnings.catch_warnings():
        if cjk is None:
            warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        yield


def _empty(figure: Figure) -> bytes:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, _("No needs yet"), ha="center", va="center", color="#5b6775")
    return _svg(figure)


def capabilities_svg(picture: Demand) -> bytes:
    """Draw one bar per capability: how many needs asked for it."""
    with _style():
        figure = Figure(figsize=(7.0, max(1.8, 0.45 * len(picture.totals) + 1.0)))
        if not picture.totals:
            return _empty(figure)
        axes = figure.add_subplot()
        positions = list(range(len(picture.totals)))
        counts = [n for _name, n in picture.totals]
        axes.barh(positions, counts, color=ACCENT, height=0.6)
        axes.set_yticks(positions, [name for name, _n in picture.totals])
        axes.invert_yaxis()
        for y, value in zip(positions, counts, strict=True):
            axes.text(value, y, f" {value}", va="center")
        axes.set_xlabel(_("Needs asking for it"))
        return _svg(figure)


def outcomes_svg(picture: Demand) -> bytes:
    """Draw, per centre and month, the needs that were matched, served, or found nothing."""
    rows = picture.months.rows
    with _style():
        figure = Figure(figsize=(max(6.0, 0.9 * len(rows) + 3.0), 3.4))
        if not rows:
            return _empty(figure)
        axes = figure.add_subplot()
        labels = [f"{row[0]}\n{row[1]}" if len(rows) < 5 else str(row[1]) for row in rows]
        x = list(range(len(rows)))
        width = 0.2
        series = [
            (_("Matched"), [float(r[2]) * float(r[3] or 0) for r in rows]),  # type: ignore[arg-type]
            (_("Served"), [float(r[2]) * float(r[4] or 0) for r in rows]),  # type: ignore[arg-type]
            (_("No capability"), [float(r[5] or 0) for r in rows]),  # type: ignore[arg-type]
            (_("No free time"), [float(r[6] or 0) for r in rows]),  # type: ignore[arg-type]
        ]
        for index, (name, values) in enumerate(series):
            axes.bar(
                [p + (index - 1.5) * width for p in x],
                values,
                width=width,
                label=name,
                color=LINE_COLOURS[index % len(LINE_COLOURS)],
            )
        axes.set_xticks(x, labels)
        axes.set_ylabel(_("Needs"))
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return _svg(figure)


def as_csv(table: Table) -> bytes:
    """Return one of the picture's tables as CSV (the reports' own writer)."""
    return exports.table_csv(table)


def as_xlsx(picture: Demand) -> bytes:
    """Return the picture's tables as one workbook (the reports' own writer)."""
    return exports.tables_xlsx(picture.tables)
