"""A proposal's timeline reads without hovering, in Chinese and English, in Chromium.

Unit names stand whole in the name column (their boxes measured, not guessed), bars carry the
project and the request's title where they fit, the header shows days and hours, and a click on
a day zooms to its hours. Screenshots are kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World, solve_now
from tests.browser.conftest import SCREENSHOTS, LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = factories.PASSWORD
QTOF_ZH = "液相色谱-质谱联用仪 2号（高分辨Q-TOF）"
QTOF_EN = "Liquid chromatograph-mass spectrometer No. 2 (high-resolution Q-TOF)"

# Every lane name's box, its lane's box and its text (the tspans, without the tooltip); every
# bar's box and its label's.
MEASURE = """() => {
  const svg = document.querySelector("svg.timeline");
  const line = svg.querySelector("line.name-column");
  const column = line ? line.x1.baseVal.value : 200;  // where the bars begin
  const lanes = [...svg.querySelectorAll("rect.lane")].map(r => r.getBBox());
  const names = [...svg.querySelectorAll("text.lane-label")].map((t, i) => {
    const box = t.getBBox();
    return {
      text: [...t.childNodes].filter(n => n.nodeName !== "title").map(n => n.textContent)
        .join(" "),
      left: box.x, right: box.x + box.width, top: box.y, bottom: box.y + box.height,
      laneTop: lanes[i].y, laneBottom: lanes[i].y + lanes[i].height,
    };
  });
  const bars = [...svg.querySelectorAll("g.bar")].filter(g => !g.closest(".legend")).map(g => {
    const rect = g.querySelector("rect").getBBox();
    const label = g.querySelector("text.bar-label");
    const box = label ? label.getBBox() : null;
    return {
      left: rect.x, right: rect.x + rect.width,
      label: label ? label.textContent : null,
      labelLeft: box ? box.x : null, labelRight: box ? box.x + box.width : null,
    };
  });
  const ticks = cls => [...svg.querySelectorAll("text.tick." + cls)].map(t => t.textContent);
  return {column, names, bars, days: ticks("day"), hours: ticks("hour")};
}"""


@pytest.fixture(scope="module")
def proposal_id(world: World, live_server: LiveServer) -> int:
    """A draft proposal on the world's facility, with a unit whose names are long in both
    languages, and six-hour requests of both startups."""
    from app.accounts.models import User
    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.catalog.models import Facility
    from app.extensions import db

    def seed() -> int:
        facility = db.session.get(Facility, world.facility.id)
        factories.make_equipment(
            facility, slug="lcms-qtof", name_zh=QTOF_ZH, name_en=QTOF_EN, capabilities=("lc-ms",)
        )
        wanted = [
            (world.alice, world.project_a, "Peptide map", 0),
            (world.alice, world.project_a, "Glycan profile", 0),
            (world.bob, world.project_b, "Antenna resin", 0),
            (world.bob, world.project_b, "Coating check", 1),
            (world.alice, world.project_a, "Stability week 2", 2),
        ]
        for user, project, title, day in wanted:
            request_service.create_request(
                db.session.get(User, user.id),
                project.id,
                title=title,
                earliest_start=world.at(day, "08:00"),
                deadline=world.at(day, "20:00"),
                steps=[
                    StepInput(
                        duration_minutes=360, capability="lc-ms", facility_id=world.facility.id
                    )
                ],
            )
        run = solve_now(db.session.get(User, world.mia.id), facility, time_limit=3)
        assert run.proposal is not None, run.error
        return run.proposal.id

    return int(live_server.run(seed))


def unit_names(live_server: LiveServer, world: World, language: str) -> set[str]:
    from app.catalog.models import Facility
    from app.extensions import db

    def names() -> set[str]:
        facility = db.session.get(Facility, world.facility.id)
        return {getattr(u, f"name_{language}") for u in facility.equipment if u.is_active}

    return live_server.run(names)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_readable(shown: dict[str, Any], names: set[str]) -> None:
    """Names whole, inside the name column and their lane; labels inside their bars."""
    assert {squeeze(n["text"]) for n in shown["names"]} == {squeeze(n) for n in names}
    for name in shown["names"]:
        assert "…" not in name["text"]
        assert name["left"] >= 0 and name["right"] <= shown["column"], name
        assert name["laneTop"] <= name["top"] and name["bottom"] <= name["laneBottom"], name
    for bar in shown["bars"]:
        if bar["label"]:
            assert bar["left"] <= bar["labelLeft"] and bar["labelRight"] <= bar["right"], bar


@pytest.mark.parametrize("language", ["en", "zh"])
def test_proposal_timeline_reads_without_hovering_and_zooms_to_a_day(
    new_page: Any, world: World, live_server: LiveServer, proposal_id: int, language: str
) -> None:
    from playwright.sync_api import expect

    mia = new_page()
    log_in(mia, world.mia.email, PASSWORD)
    mia.goto(f"/proposals/{proposal_id}")
    if language == "zh":
        mia.click("#lang-switch")
        expect(mia.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    shown = mia.evaluate(MEASURE)
    names = unit_names(live_server, world, language)
    assert (QTOF_ZH if language == "zh" else QTOF_EN) in names
    assert_readable(shown, names)
    # The whole plan: one label a day, hours under the days.
    assert len(shown["days"]) >= 7 and shown["hours"], shown
    assert any(bar["label"] for bar in shown["bars"]), shown["bars"]
    screenshot(mia, f"proposal-timeline-{language}")
    mia.locator("figure.timeline-wrap").screenshot(
        path=str(SCREENSHOTS / f"proposal-timeline-figure-{language}.png")
    )

    # A click on Monday (the first requests' day) zooms to its hours.
    monday = world.monday.isoformat()
    mia.click(f"svg.timeline a.day-link:has(text[data-day='{monday}'])")
    mia.wait_for_url(re.compile(rf"zoom=day&day={monday}"))
    expect(mia.locator("#zoom-day")).to_have_attribute("aria-current", "true")
    zoomed = mia.evaluate(MEASURE)
    assert_readable(zoomed, names)
    assert len(zoomed["days"]) == 1, zoomed["days"]
    assert {"08:00", "12:00", "18:00"} <= set(zoomed["hours"]), zoomed["hours"]
    labels = [bar["label"] for bar in zoomed["bars"] if bar["label"]]
    # Monday's three six-hour requests are placed whole and named whole.
    assert len(labels) == len(zoomed["bars"]) == 3, zoomed["bars"]
    assert {"Amber Biologics · Peptide map", "Birch Antennas · Antenna resin"} <= set(labels)
    mia.locator("figure.timeline-wrap").screenshot(
        path=str(SCREENSHOTS / f"proposal-timeline-day-{language}.png")
    )
    # The next day is a click away; the whole plan is back with another.
    mia.click("#zoom-next")
    mia.wait_for_url(re.compile(r"zoom=day&day=\d{4}-\d{2}-\d{2}"))
    assert world.monday.isoformat() not in mia.url
    mia.click("#zoom-all")
    expect(mia.locator("#zoom-all")).to_have_attribute("aria-current", "true")
    # Its solve run, finished: the clock stands at how long the solve took.
    mia.click(".page-head a[href*='/runs/']")
    expect(mia.locator("#run-clock")).to_have_text(re.compile(r"^\d+\.\d$"))
    expect(mia.locator("#run-budget")).to_contain_text("3")
    screenshot(mia, f"run-finished-{language}")
