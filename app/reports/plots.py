"""Draw report pictures server-side as SVG with matplotlib.

Figures are made with `Figure` directly, never pyplot, whose global state is not thread-safe;
saving a bare Figure needs no interactive backend."""

from __future__ import annotations

import functools
import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure

from app.reports.report import Series

# Families tried in order for Chinese labels; the first installed one wins.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
ACCENT = "#0b6e4f"
LINE_COLOURS = ("#0b6e4f", "#5b8def", "#b54708", "#7a5af8", "#b42318", "#1d2733", "#e3a008")


@functools.cache
def cjk_font() -> str | None:
    """Return the installed font family that can draw Chinese, or None."""
    found = _installed_cjk_family()
    if found is None:
        # matplotlib's font list is cached on disk and misses fonts installed after it was
        # built; look at the system's fonts once more before giving up.
        for path in font_manager.findSystemFonts():
            if "cjk" in path.lower() or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
        found = _installed_cjk_family()
    return found


def _installed_cjk_family() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@contextmanager
def _style() -> Iterator[None]:
    cjk = cjk_font()
    families = [cjk, "DejaVu Sans"] if cjk else ["DejaVu Sans"]
    # svg.fonttype "none" keeps text as text: readable by screen readers and tests, and drawn
    # by the browser's own fonts.
    style = rc_context(
        {
            "font.family": families,
            "svg.fonttype": "none",
            "svg.hashsalt": "pilotslot",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    with style, warnings.catch_warnings():
        if cjk is None:
            # Without a CJK font the layout measures Chinese with a Latin font; the browser
            # still draws the real glyphs because the SVG keeps text as text.
            warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        yield


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _empty(figure: Figure) -> None:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, _("No data in this period"), ha="center", va="center", color="#5b6775")


def heatmap_svg(series: Series) -> bytes:
    """Draw utilisation per unit (rows) and ISO week (columns), each cell labelled."""
    rows, columns = len(series.labels), len(series.categories)
    with _style():
        figure = Figure(figsize=(max(6.0, 1.0 * columns + 3.5), max(2.0, 0.42 * rows + 1.4)))
        if not rows or not columns:
            _empty(figure)
            return _svg(figure)
        axes = figure.add_subplot()
        grid = [[math.nan if v is None else min(v, 1.0) for v in row] for row in series.values]
        image = axes.imshow(grid, cmap="YlGn", vmin=0, vmax=1, aspect="auto")
        axes.set_xticks(range(columns), series.categories, rotation=0)
        axes.set_yticks(range(rows), series.labels)
        axes.tick_params(length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        for y, row in enumerate(series.values):
            for x, value in enumerate(row):
                dark = value is not None and value > 0.6
                axes.text(
                    x,
                    y,
                    _percent(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "#1d2733",
                )
        colour_bar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
        colour_bar.set_ticks([0, 0.5, 1], labels=["0%", "50%", "≥100%"])
        axes.set_xlabel(_("ISO week"))
        return _svg(figure)


def bars_svg(series: Series) -> bytes:
    """Draw one horizontal bar per category (facility) with its utilisation written beside it."""
    values = series.values[0] if series.values else []
    with _style():
        figure = Figure(figsize=(7.0, max(1.8, 0.5 * len(values) + 1.0)))
        if not values:
            _empty(figure)
            return _svg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(values)))
        widths = [0 if v is None else 100 * v for v in values]
        axes.barh(positions, widths, color=ACCENT, height=0.6)
        axes.set_yticks(positions, series.categories)
        axes.invert_yaxis()
        axes.set_xlim(0, max(100.0, *widths) * 1.12)
        for y, value in zip(positions, values, strict=True):
            axes.text(0 if value is None else 100 * value, y, " " + _percent(value), va="center")
        axes.set_xlabel(_("Utilisation (%)"))
        return _svg(figure)


def trend_svg(series: Series) -> bytes:
    """Draw one line per label (facility) across the categories (ISO weeks)."""
    with _style():
        figure = Figure(figsize=(max(6.0, 0.8 * len(series.categories) + 3.0), 3.2))
        if not series.labels or not series.categories:
            _empty(figure)
            return _svg(figure)
        axes = figure.add_subplot()
        x = list(range(len(series.categories)))
        for index, (label, row) in enumerate(zip(series.labels, series.values, strict=True)):
            axes.plot(
                x,
                [math.nan if v is None else 100 * v for v in row],
                marker="o",
                label=label,
                color=LINE_COLOURS[index % len(LINE_COLOURS)],
            )
        axes.set_xticks(x, series.categories)
        axes.set_ylim(bottom=0)
        axes.set_ylabel(_("Utilisation (%)"))
        axes.set_xlabel(_("ISO week"))
        axes.grid(axis="y", color="#d8dee6")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return _svg(figure)


def revenue_svg(series: Series) -> bytes:
    """Draw per facility and month the billed and not yet billed revenue as one stacked bar,
    with the part vouchers paid as a narrower bar inside it (amounts in yuan)."""
    categories = series.categories
    with _style():
        figure = Figure(figsize=(7.5, max(1.8, 0.55 * len(categories) + 1.2)))
        if not categories:
            _empty(figure)
            return _svg(figure)
        billed, unbilled, vouchers = ([v or 0.0 for v in row] for row in series.values)
        axes = figure.add_subplot()
        positions = list(range(len(categories)))
        axes.barh(positions, billed, color=ACCENT, height=0.6, label=series.labels[0])
        axes.barh(
            positions,
            unbilled,
            left=billed,
            color="#9fd3bf",
            height=0.6,
            label=series.labels[1],
        )
        axes.barh(positions, vouchers, color="#b54708", height=0.22, label=series.labels[2])
        totals = [b + u for b, u in zip(billed, unbilled, strict=True)]
        for y, total in zip(positions, totals, strict=True):
            axes.text(total, y, f" {total:,.2f}", va="center")
        axes.set_yticks(positions, categories)
        axes.invert_yaxis()
        axes.set_xlim(0, max(1.0, *totals) * 1.2)
        axes.set_xlabel(_("Revenue (CNY)"))
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return _svg(figure)


def revenue_alt(series: Series) -> str:
    """Return the text alternative of the revenue picture: each bar's total."""
    billed, unbilled, vouchers = series.values or ([], [], [])
    bars = []
    for name, b, u, v in zip(series.categories, billed, unbilled, vouchers, strict=True):
        total, paid = format((b or 0) + (u or 0), ",.2f"), format(v or 0, ",.2f")
        text = _(
            "%(bar)s %(total)s CNY (vouchers %(vouchers)s)", bar=name, total=total, vouchers=paid
        )
        bars.append(text)
    listed = ", ".join(bars)
    return _("Bar chart of revenue per facility and month: %(values)s.", values=listed)


def alt_texts(heatmap: Series, bars: Series, trend: Series) -> dict[str, str]:
    """Return a text alternative for each picture, with the figures a reader needs most."""
    values = bars.values[0] if bars.values else []
    listed = ", ".join(
        f"{name} {_percent(v)}" for name, v in zip(bars.categories, values, strict=True)
    )
    weeks = trend.categories
    span = f"{weeks[0]} – {weeks[-1]}" if weeks else ""
    return {
        "heatmap": _(
            "Heat-map of utilisation for %(units)d equipment units over %(weeks)d ISO weeks "
            "(%(span)s); darker is busier. The figures are in the table below.",
            units=len(heatmap.labels),
            weeks=len(heatmap.categories),
            span=span,
        ),
        "facilities": _("Bar chart of utilisation per facility: %(values)s.", values=listed),
        "trend": _(
            "Line chart of weekly utilisation per facility (%(span)s). "
            "The figures are in the table below.",
            span=span,
        ),
    }
