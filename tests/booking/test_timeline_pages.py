"""The pages that draw timelines and solve progress: zoom, labels, tenancy, the run's clock."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from app.booking import bookings as booking_service
from app.booking import requests as request_service
from app.booking.models import SolveRun
from app.booking.requests import StepInput
from app.dbtypes import utcnow
from tests.booking.pages_world import World, build_world, solve_now


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def ask(world: World, title: str, *, user: Any = None, project: Any = None) -> None:
    request_service.create_request(
        user or world.alice,
        (project or world.project_a).id,
        title=title,
        earliest_start=world.at(0, "08:00"),
        deadline=world.at(0, "20:00"),
        steps=[StepInput(duration_minutes=360, capability="lc-ms", facility_id=world.facility.id)],
    )


def test_proposal_bars_name_the_project_and_the_request(
    client: Any, login: Any, world: World
) -> None:
    ask(world, "Peptide map")
    run = solve_now(world.mia, world.facility, time_limit=3)
    login(world.mia)
    page = client.get(f"/proposals/{run.proposal.id}?zoom=day&day={world.monday}")
    labels = re.findall(
        r'<text class="bar-label"[^>]*>([^<]*)</text>', page.get_data(as_text=True)
    )
    assert labels == ["Amber Biologics · Peptide map"]


def test_proposal_timeline_zooms_to_a_day_and_a_week_and_pages_through(
    client: Any, login: Any, world: World
) -> None:
    ask(world, "Peptide map")
    run = solve_now(world.mia, world.facility, time_limit=3)
    login(world.mia)
    url = f"/proposals/{run.proposal.id}"
    whole = client.get(url).get_data(as_text=True)
    # Each day's label links to that day; hours sit under the days.
    assert f'href="{url}?zoom=day&amp;day={world.monday}#timeline"' in whole
    assert 'class="tick hour"' in whole
    day = client.get(f"{url}?zoom=day&day={world.monday}").get_data(as_text=True)
    assert day.count('class="tick day') == 1 and ">09:00</text>" in day
    tuesday = world.monday + timedelta(days=1)
    assert f"zoom=day&amp;day={tuesday}#timeline" in day.split('id="zoom-next"')[1][:200]
    week = client.get(f"{url}?zoom=week&day={world.monday}").get_data(as_text=True)
    assert week.count('class="tick day') == 7


@pytest.mark.parametrize(
    "query", ["zoom=day&day=not-a-date", "zoom=year&day=2020-01-01", "zoom=day&day=1999-01-01"]
)
def test_a_bad_zoom_shows_a_timeline_rather_than_an_error(
    client: Any, login: Any, world: World, query: str
) -> None:
    ask(world, "Peptide map")
    run = solve_now(world.mia, world.facility, time_limit=3)
    login(world.mia)
    response = client.get(f"/proposals/{run.proposal.id}?{query}")
    assert response.status_code == 200
    assert '<svg class="timeline"' in response.get_data(as_text=True)


def test_a_zoomed_proposal_is_still_only_its_managers(
    client: Any, login: Any, world: World
) -> None:
    ask(world, "Amber secret assay")
    run = solve_now(world.mia, world.facility, time_limit=3)
    for outsider in (world.bob, world.alice, world.otto):
        login(outsider)
        response = client.get(f"/proposals/{run.proposal.id}?zoom=day&day={world.monday}")
        assert response.status_code == 404
        assert "Amber secret assay" not in response.get_data(as_text=True)
        client.post("/logout")


def test_the_members_week_view_labels_other_startups_bookings_only_as_booked(
    client: Any, login: Any, world: World
) -> None:
    """The one timeline members see: another startup's booking is a labelled bar, "Booked"."""
    booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "17:00"),
        title="Amber confidential calibration",
    )
    login(world.bob)
    page = client.get(f"/equipment/{world.lcms1.slug}/availability?week={world.monday}")
    text = page.get_data(as_text=True)
    svg = text[text.index('<svg class="timeline"') : text.index("</svg>")]
    assert re.findall(r'<text class="bar-label"[^>]*>([^<]*)</text>', svg) == ["Booked"]
    assert "Amber" not in text and "calibration" not in text
    client.post("/logout")
    login(world.alice)
    own = client.get(f"/equipment/{world.lcms1.slug}/availability?week={world.monday}")
    assert "Amber confidential calibration" in own.get_data(as_text=True)


def test_the_run_tells_how_long_it_has_been_solving(
    client: Any, login: Any, world: World, db: Any
) -> None:
    ask(world, "Peptide map")
    login(world.mia)
    client.post(f"/manage/{world.facility.slug}/solve")
    run = db.session.scalars(db.select(SolveRun)).one()
    queued = client.get(f"/api/v1/runs/{run.id}").get_json()
    assert queued["elapsed_seconds"] is None
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'id="run-clock" data-elapsed=""' in page
    limit = f"Time limit {round(run.time_limit_seconds)} s"
    assert re.search(rf'id="run-budget">{limit}<', page)
    # A worker that started ten seconds ago has been solving for ten seconds so far.
    run.status = "running"
    run.started_at = utcnow() - timedelta(seconds=10)
    db.session.commit()
    running = client.get(f"/api/v1/runs/{run.id}").get_json()
    assert 10 <= running["elapsed_seconds"] < 60
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert re.search(r'id="run-clock" data-elapsed="1\d(\.\d+)?"', page)
    assert f'<progress id="run-time" max="{run.time_limit_seconds}"' in page
