"""The SVG timeline is a pure function: its markup says what it draws."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from markupsafe import escape

from app.booking.timeline import (
    BAR_LABEL_SIZE,
    CLOSED,
    LABEL_INSET,
    LABEL_WIDTH,
    MAINTENANCE,
    MOVED,
    NAME_SIZE,
    PINNED,
    PROPOSED,
    PUBLISHED,
    Bar,
    Lane,
    Shade,
    closed_shades,
    render_timeline,
    text_width,
    week_view,
    wrap,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LANES = [Lane("u1", "LC-MS No. 1"), Lane("u2", "HPLC <2>")]
START, END = at("2027-03-01 00:00"), at("2027-03-08 00:00")


def draw(bars: list[Bar], shades: list[Shade] | None = None, **kwargs: object) -> str:
    return str(
        render_timeline(
            LANES, bars, shades or [], start=START, end=END, tz="Asia/Shanghai", **kwargs
        )
    )


def test_one_lane_per_unit_and_a_bar_per_item_coloured_by_state() -> None:
    svg = draw(
        [
            Bar("u1", at("2027-03-01 01:00"), at("2027-03-01 05:00"), "Peptide run", PUBLISHED),
            Bar("u1", at("2027-03-02 01:00"), at("2027-03-02 05:00"), "Assay", PROPOSED),
            Bar("u2", at("2027-03-03 01:00"), at("2027-03-03 05:00"), "Purity", MOVED),
            Bar("u2", at("2027-03-04 01:00"), at("2027-03-04 05:00"), "Kept", PINNED),
        ]
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'data-lanes="2"' in svg
    for state in (PUBLISHED, PROPOSED, MOVED, PINNED):
        assert svg.count(f'class="bar {state}"') == 1
    assert "LC-MS No. 1" in svg and "Peptide run" in svg


def test_labels_are_escaped() -> None:
    svg = draw([Bar("u2", at("2027-03-01 01:00"), at("2027-03-01 09:00"), "<b>x</b>", PUBLISHED)])
    assert "HPLC &lt;2&gt;" in svg
    assert "<b>" not in svg


def test_bar_position_is_proportional_to_time() -> None:
    svg = draw([Bar("u1", at("2027-03-04 12:00"), at("2027-03-05 00:00"), "half", PROPOSED)])
    x, width = map(
        float,
        re.search(
            r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg.split('class="bar proposed"')[1]
        ).groups(),
    )  # noqa: E501
    plot_left, plot_width = 200, 1120 - 200 - 6
    assert x == pytest.approx(plot_left + plot_width * 3.5 / 7, abs=0.2)
    assert width == pytest.approx(plot_width * 0.5 / 7, abs=0.2)


def test_day_gridlines_fall_on_local_midnight() -> None:
    svg = draw([])
    # 2027-03-01 00:00 in Shanghai is 2027-02-28 16:00 UTC: the first gridline inside the
    # window is 16:00 UTC on 1 March, two thirds of the way through its first day.
    first = float(re.search(r'<line class="grid day[^"]*" x1="([\d.]+)"', svg).group(1))
    assert first == pytest.approx(200 + (1120 - 206) * (16 / 24) / 7, abs=0.2)
    assert svg.count('<line class="grid day') == 7
    assert "Tue, Mar 2" in svg


def test_maintenance_is_hatched_and_closed_hours_shaded() -> None:
    svg = draw(
        [],
        [
            Shade("u1", at("2027-03-02 00:00"), at("2027-03-03 00:00"), MAINTENANCE, "Ion source"),
            Shade(None, at("2027-03-06 00:00"), at("2027-03-07 00:00"), CLOSED),
        ],
    )
    assert svg.count('class="shade maintenance"') == 1
    assert 'fill="url(#tl-hatch)"' in svg and "<pattern" in svg
    assert svg.count('class="shade closed"') == 2  # a shade without a lane covers every lane
    assert "Ion source" in svg


def test_overlapping_bars_on_one_unit_get_their_own_rows() -> None:
    svg = draw(
        [
            Bar("u1", at("2027-03-01 01:00"), at("2027-03-01 05:00"), "a", PUBLISHED),
            Bar("u1", at("2027-03-01 02:00"), at("2027-03-01 06:00"), "b", PUBLISHED),
        ]
    )
    ys = re.findall(r'class="bar published"><rect x="[\d.]+" y="([\d.]+)"', svg)
    assert len(set(ys)) == 2


def test_bars_outside_the_window_or_on_unknown_lanes_are_left_out() -> None:
    svg = draw(
        [
            Bar("u1", at("2027-02-01 01:00"), at("2027-02-01 05:00"), "old", PUBLISHED),
            Bar("u9", at("2027-03-01 01:00"), at("2027-03-01 05:00"), "ghost", PUBLISHED),
        ]
    )
    assert "old" not in svg and "ghost" not in svg


def test_legend_lists_the_given_states() -> None:
    svg = draw([], legend=[(PUBLISHED, "Published"), (MAINTENANCE, "Maintenance")])
    assert "Published" in svg and "Maintenance" in svg
    assert '<g class="legend">' in svg


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError):
        render_timeline(LANES, [], start=END, end=START, tz="UTC")


def test_closed_shades_are_the_gaps_between_open_windows() -> None:
    shades = closed_shades(
        "u1",
        [(at("2027-03-01 01:00"), at("2027-03-01 09:00")), (at("2027-03-02 01:00"), END)],
        START,
        END,
    )
    assert [(s.start, s.end) for s in shades] == [
        (START, at("2027-03-01 01:00")),
        (at("2027-03-01 09:00"), at("2027-03-02 01:00")),
    ]
    assert all(s.kind == CLOSED for s in shades)


def test_week_view_folds_blocks_onto_day_lanes_split_at_midnight() -> None:
    overnight = Bar("x", at("2027-03-02 14:00"), at("2027-03-02 18:00"), "Booked", PUBLISHED)
    lanes, bars, _shades, start, end = week_view(
        [overnight], monday=date(2027, 3, 1), tz="Asia/Shanghai"
    )
    assert [lane.key for lane in lanes][:3] == ["2027-03-01", "2027-03-02", "2027-03-03"]
    # 22:00-02:00 Shanghai time crosses midnight: two pieces on Tuesday and Wednesday.
    assert [(b.lane, b.start.hour, b.end.hour) for b in bars] == [
        ("2027-03-02", 22, 0),
        ("2027-03-03", 0, 2),
    ]
    assert (end - start).total_seconds() == 24 * 3600
    svg = str(
        render_timeline(lanes, bars, start=start, end=end, tz="Asia/Shanghai", ticks="hours")
    )
    assert "22:00" in svg and svg.count('class="bar published"') == 2


QTOF_ZH = "液相色谱-质谱联用仪 2号（高分辨Q-TOF）"
QTOF_EN = "Liquid chromatograph-mass spectrometer No. 2 (high-resolution Q-TOF)"


@pytest.mark.parametrize("name", [QTOF_ZH, QTOF_EN, "Supercalifragilisticexpialidocious" * 3])
def test_long_unit_names_wrap_whole_inside_the_name_column(name: str) -> None:
    column = LABEL_WIDTH - 2 * LABEL_INSET
    lines = wrap(name, column, NAME_SIZE, bold=True)
    assert len(lines) >= 2
    assert "".join(lines).replace(" ", "") == name.replace(" ", "")
    assert all(text_width(line, NAME_SIZE, bold=True) <= column for line in lines)
    svg = str(render_timeline([Lane("u1", name)], [], start=START, end=END, tz="Asia/Shanghai"))
    label = re.search(r'<text class="lane-label".*?</text>', svg).group(0)
    assert re.findall(r"<tspan[^>]*>([^<]*)</tspan>", label) == [
        str(escape(line)) for line in lines
    ]
    assert "…" not in label


def test_chinese_brackets_stay_with_the_words_they_enclose() -> None:
    for width in (60, 90, 120, 150):
        lines = wrap(QTOF_ZH, width, NAME_SIZE, bold=True)
        assert not any(line.endswith("（") or line.startswith("）") for line in lines), lines


def test_a_lane_grows_to_hold_its_wrapped_name() -> None:
    short = render_timeline([Lane("u1", "LC-MS")], [], start=START, end=END, tz="UTC")
    long = render_timeline([Lane("u1", QTOF_EN)], [], start=START, end=END, tz="UTC")
    height = re.compile(r'<rect class="lane" x="0" y="[\d.]+" width="\d+" height="([\d.]+)"')
    assert float(height.search(str(long)).group(1)) > float(height.search(str(short)).group(1))


def test_the_header_shows_the_days_and_the_hours_under_them() -> None:
    week = draw([])
    # Midnight UTC is 08:00 in Shanghai: the week spans parts of eight local days; the last
    # eight hours are too narrow for their day's name.
    assert week.count('class="tick day') == 7 and "Mon, Mar 8" not in week
    assert {">06</text>", ">12</text>", ">18</text>"} <= set(re.findall(r">\d\d</text>", week))
    day = str(
        render_timeline(
            LANES, [], start=at("2027-03-01 16:00"), end=at("2027-03-02 16:00"), tz="Asia/Shanghai"
        )
    )
    assert day.count('class="tick day') == 1
    assert all(f">{hour:02d}:00</text>" in day for hour in range(1, 24))


def test_day_labels_link_to_their_day_when_asked() -> None:
    svg = draw([], day_link=lambda day: f"/p/1?zoom=day&day={day.isoformat()}")
    assert svg.count('<a class="day-link"') == 7
    assert 'href="/p/1?zoom=day&amp;day=2027-03-01"' in svg
    assert "day-link" not in draw([])


def test_bars_are_labelled_as_far_as_they_fit() -> None:
    label = "Amber Biologics · A very long request title indeed"
    wide = Bar("u1", at("2027-03-01 00:00"), at("2027-03-04 00:00"), label, PROPOSED)
    narrow = Bar("u2", at("2027-03-01 00:00"), at("2027-03-01 08:00"), label, PROPOSED)
    sliver = Bar("u2", at("2027-03-02 00:00"), at("2027-03-02 01:00"), label, PROPOSED)
    svg = draw([wide, narrow, sliver])
    shown = re.findall(r'<text class="bar-label"[^>]*>([^<]*)</text>', svg)
    assert shown[0] == label
    assert shown[1].endswith("…") and label.startswith(shown[1][:-1])
    assert len(shown) == 2  # a one-hour bar in a week is too thin for any text
    assert text_width(shown[1], BAR_LABEL_SIZE) <= (1120 - 206) * 8 / (7 * 24) - 7


def test_a_long_window_still_names_its_days_without_crowding_them() -> None:
    svg = str(
        render_timeline(LANES, [], start=START, end=at("2027-05-01 00:00"), tz="Asia/Shanghai")
    )
    xs = [float(v) for v in re.findall(r'<text class="tick day[^"]*" x="([\d.]+)"', svg)]
    assert len(xs) >= 10
    assert all(b - a >= 14 for a, b in zip(xs, xs[1:], strict=False))
