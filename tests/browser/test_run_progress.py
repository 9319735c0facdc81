"""A real solve, watched in Chromium: the clock ticks, the best plan so far rises, and the page
goes to the proposal when the worker is done."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = factories.PASSWORD
REQUESTS = 160
"""Enough competing requests on the two LC-MS units that the search keeps improving for
seconds after its first plan (the greedy one), even on a fast machine."""
TIME_LIMIT = 12.0

# Report every change of the clock and the best plan to the test, from the page's first paint.
WATCH = """
document.addEventListener("DOMContentLoaded", () => {
  const watched = {
    "clock": document.getElementById("run-clock") || document.getElementById("run-elapsed"),
    "best": document.getElementById("run-objective"),
  };
  for (const [what, el] of Object.entries(watched)) {
    if (!el) { continue; }
    const report = () => window.pilotslotSeen(what, el.textContent,
      (document.querySelector("#run-status .status") || {}).textContent || "");
    report();
    const changes = {childList: true, characterData: true, subtree: true};
    new MutationObserver(report).observe(el, changes);
  }
});
"""


@pytest.fixture(scope="module")
def crowded(world: World, live_server: LiveServer) -> None:
    """Many weighted two-to-nine-hour requests of two startups competing for next week (an
    attended step longer than a day's opening hours is refused when sent)."""
    from app.accounts.models import User
    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.extensions import db

    def seed() -> None:
        admin = db.session.get(User, world.admin.id)
        members = [
            (db.session.get(User, world.alice.id), world.project_a.id),
            (db.session.get(User, world.bob.id), world.project_b.id),
        ]
        pick = random.Random(1)
        for n in range(REQUESTS):
            user, project = members[n % 2]
            day = pick.randrange(0, 4)
            req = request_service.create_request(
                user,
                project,
                title=f"Assay {n}",
                earliest_start=world.at(day, "09:00"),
                deadline=world.at(day + pick.randrange(1, 3), "18:00"),
                steps=[
                    StepInput(
                        duration_minutes=60 * pick.choice([2, 3, 4, 6, 8, 9]),
                        capability="lc-ms",
                        facility_id=world.facility.id,
                    )
                ],
            )
            request_service.update_request(admin, req.id, weight=pick.randrange(1, 10))

    live_server.run(seed)
    live_server.app.config["SOLVER_TIME_LIMIT"] = TIME_LIMIT


def test_the_run_page_ticks_shows_the_best_plan_rising_and_opens_the_proposal(
    new_page: Any, world: World, live_server: LiveServer, crowded: None
) -> None:
    from app.booking import runs

    seen: list[tuple[str, str, str]] = []
    mia = new_page()
    mia.context.expose_function("pilotslotSeen", lambda *args: seen.append(tuple(args)))
    mia.context.add_init_script(WATCH)
    log_in(mia, world.mia.email, PASSWORD)
    mia.goto(f"/manage/{world.facility.slug}")
    mia.click("#solve")
    mia.wait_for_url(re.compile(r"/runs/\d+$"))
    mia.wait_for_function(
        """() => {
          const clock = document.getElementById("run-clock");
          return !clock || parseFloat(clock.textContent) > 3
            || document.getElementById("proposal-link");
        }""",
        timeout=60_000,
    )
    screenshot(mia, "run-progress")
    mia.wait_for_selector("#proposal-link, svg.timeline", timeout=120_000)
    for worker in list(runs._workers):  # it may still be exiting: leave no process behind
        worker.wait(timeout=30)

    running = [(what, text) for what, text, status in seen if status == "running"]
    clock = [float(text) for what, text in running if what == "clock"]
    # Ten readings a second: the clock moved on between the polls, not only at them.
    assert len(set(clock)) >= 20, clock
    assert max(clock) >= 3.0, clock
    assert all(b >= a - 1.0 for a, b in zip(clock, clock[1:], strict=False)), clock
    best = [float(text) for what, text in running if what == "best" and text != "—"]
    # The best plan so far is shown while the search runs (how often it improves while the page
    # watches depends on the machine's speed, so the test does not count improvements),
    assert best, running
    assert best == sorted(best), best  # and never falls back
    # When the worker is done the page goes to the proposal by itself.
    assert re.search(r"/proposals/\d+$", mia.url), mia.url
