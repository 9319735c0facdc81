"""A facility's fair share on its managers' page (error beside the field) and on proposals, in
both languages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from app.booking import runs
from app.booking.models import AuditEvent, SolveRun
from app.catalog.models import Facility
from app.extensions import db
from tests.booking.pages_world import World, build_world
from tests.booking.test_pages import make_request


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def _facility(world: World) -> Facility:
    db.session.expire_all()
    found = db.session.get(Facility, world.facility.id)
    assert found is not None
    return found


def _settings(client: Any, world: World, value: str) -> Any:
    return client.post(
        f"/manage/{world.facility.slug}/settings", data={"settings-fair_share_percent": value}
    )


def _field_error(page: str) -> str:
    match = re.search(
        r'<div class="field has-error">\s*<label for="settings-fair_share_percent">.*?'
        r'<span class="error" id="settings-fair_share_percent-error">([^<]*)</span>',
        page,
        re.S,
    )
    assert match, page
    return match.group(1)


def test_a_manager_sets_and_clears_the_fair_share_on_the_facility_page(
    client: Any, login: Any, world: World
) -> None:
    login(world.mia)
    page = client.get(f"/manage/{world.facility.slug}").get_data(as_text=True)
    assert 'name="settings-fair_share_percent"' in page

    response = _settings(client, world, "30")
    assert response.status_code == 302
    assert _facility(world).fair_share_percent == 30
    page = client.get(f"/manage/{world.facility.slug}").get_data(as_text=True)
    assert re.search(r'name="settings-fair_share_percent"[^>]*value="30"', page), page
    assert "no project holds more than 30% of any unit" in page
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "facility.fair_share")
    )
    assert [e.details for e in event] == [{"fair_share_percent": 30, "previous": None}]

    assert _settings(client, world, "").status_code == 302
    assert _facility(world).fair_share_percent is None


@pytest.mark.parametrize("value", ["0", "101", "half", "12.5"])
def test_a_bad_fair_share_is_refused_beside_the_field_in_both_languages(
    client: Any, login: Any, world: World, value: str
) -> None:
    _facility(world).fair_share_percent = 40
    db.session.commit()
    login(world.mia)

    english = _settings(client, world, value)
    world.mia.locale = "zh"
    db.session.commit()
    chinese = _settings(client, world, value)

    assert english.status_code == chinese.status_code == 422
    assert _field_error(english.get_data(as_text=True)) == (
        "Give a whole number of percent from 1 to 100, or leave it empty for no limit."
    )
    assert _field_error(chinese.get_data(as_text=True)) == (
        "请填写 1 到 100 之间的整数百分比，或留空表示不设上限。"
    )
    assert _facility(world).fair_share_percent == 40


def test_another_facilitys_manager_cannot_change_it(client: Any, login: Any, world: World) -> None:
    login(world.otto)
    assert _settings(client, world, "10").status_code == 404
    assert _facility(world).fair_share_percent is None


def _proposal_page(client: Any, world: World) -> str:
    run = runs.start_solve(world.mia, world.facility.id, time_limit=5.0, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    done = db.session.get(SolveRun, run.id)
    assert done is not None and done.proposal is not None, done and done.error
    return str(client.get(f"/proposals/{done.proposal.id}").get_data(as_text=True))


def test_the_proposal_page_says_which_fair_share_its_solve_used_in_both_languages(
    client: Any, login: Any, world: World
) -> None:
    make_request(world)
    login(world.mia)
    off = _proposal_page(client, world)
    assert "Fair share: off in this solve" in off

    _facility(world).fair_share_percent = 50
    world.mia.locale = "zh"
    db.session.commit()
    chinese = _proposal_page(client, world)
    assert "公平份额：本次求解中，任何项目在任一设备上的占用都不超过 50%。" in chinese
    world.mia.locale = "en"
    db.session.commit()
    # The page shows the share the solve was given, not today's setting.
    _facility(world).fair_share_percent = None
    db.session.commit()
    latest = db.session.scalars(select(SolveRun).order_by(SolveRun.id.desc())).first()
    assert latest is not None and latest.proposal is not None
    english = client.get(f"/proposals/{latest.proposal.id}").get_data(as_text=True)
    assert "in this solve no project could hold more than 50% of any unit" in english
