"""The no-show weight setting (issue 15): off by default; on, each no-show of a project at the
facility in the last 90 days lowers its request weights by the set percent, never below a
tenth; the managers' page sets it with errors beside the field; the proposal page says so."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.booking.models import AuditEvent
from app.booking.problems import build_problem, no_show_factor
from app.booking.requests import StepInput
from app.catalog.models import Equipment, Facility
from app.dbtypes import utcnow
from app.extensions import db
from app.usage.models import Usage
from tests import factories
from tests.booking.conftest import Core


def _no_show(core: Core, unit: Equipment, days_ago: float, project: Any = None) -> None:
    start = utcnow() - timedelta(days=days_ago)
    booking = factories.make_booking(
        project or core.amber, unit, start, start + timedelta(hours=1), status="cancelled"
    )
    db.session.add(Usage(booking_id=booking.id, state="no_show", via="scheduler"))
    db.session.commit()


def _set(core: Core, percent: int | None) -> None:
    facility = db.session.get(Facility, core.bio.id)
    assert facility is not None
    facility.no_show_penalty_percent = percent
    db.session.commit()


def _weights(core: Core) -> dict[str, float]:
    problem, _index = build_problem(core.bio, now=utcnow())
    return {r.id: r.weight for r in problem.requests}


def test_the_rule_lowers_by_the_percent_per_no_show_down_to_a_tenth() -> None:
    assert no_show_factor(25, 0) == 1
    assert no_show_factor(25, 1) == 0.75
    assert no_show_factor(25, 3) == 0.25
    assert no_show_factor(25, 4) == 0.1
    assert no_show_factor(90, 1) == pytest.approx(0.1)


def test_recent_no_shows_here_lower_weights_only_when_the_setting_is_on(core: Core) -> None:
    amber = core.request("Amber's", weight=4)
    birch = core.request("Birch's", user=core.bob, project=core.birch)
    _no_show(core, core.lcms1, 3)
    _no_show(core, core.lcms2, 80)
    # Not counted: too long ago, at another facility.
    _no_show(core, core.lcms1, 100)
    _no_show(core, core.chamber, 3)

    assert _weights(core) == {f"r{amber.id}": 4, f"r{birch.id}": 1}
    _set(core, 25)
    assert _weights(core) == {f"r{amber.id}": 2, f"r{birch.id}": 1}
    _problem, index = build_problem(core.bio, now=utcnow())
    assert index.no_shows == {core.amber.id: 2}
    assert index.weight_factors == {core.amber.id: 0.5}
    _set(core, 90)
    assert _weights(core)[f"r{amber.id}"] == pytest.approx(0.4)


def test_the_lowered_weight_changes_who_gets_the_contested_day(
    core: Core, client: Any, login: Any
) -> None:
    day = {"start": core.at(0), "deadline": core.at(0, "18:00")}
    whole_day = [StepInput(540, unit_ids=[core.lcms1.id])]
    amber = core.request("Amber's day", steps=whole_day, weight=2, **day)
    birch = core.request("Birch's day", user=core.bob, project=core.birch, steps=whole_day, **day)
    _no_show(core, core.lcms1, 5)
    _no_show(core, core.lcms1, 6)

    before = core.solve().proposal
    assert [i.request_id for i in before.items] == [amber.id]
    login(core.mia)
    page = client.get(f"/proposals/{before.id}").get_data(as_text=True)
    assert 'id="no-show-weights"' not in page

    _set(core, 40)
    after = core.solve().proposal
    assert [i.request_id for i in after.items] == [birch.id]
    assert after.metrics["no_show_weights"] == [
        {"project_id": core.amber.id, "no_shows": 2, "factor": 0.2, "percent": 40}
    ]
    page = client.get(f"/proposals/{after.id}").get_data(as_text=True)
    assert 'id="no-show-weights"' in page
    assert "Amber Biologics: 2 no-shows, weights × 0.2" in page
    core.mia.locale = "zh"
    db.session.commit()
    page = client.get(f"/proposals/{after.id}").get_data(as_text=True)
    assert "Amber Biologics：爽约 2 次，权重 × 0.2" in page


def _post(client: Any, core: Core, value: str) -> Any:
    return client.post(
        f"/manage/{core.bio.slug}/settings/no-shows",
        data={"noshow-no_show_penalty_percent": value},
    )


def _field_error(page: str) -> str:
    match = re.search(
        r'<div class="field has-error">\s*<label for="noshow-no_show_penalty_percent">.*?'
        r'<span class="error" id="noshow-no_show_penalty_percent-error">([^<]*)</span>',
        page,
        re.S,
    )
    assert match, page
    return html.unescape(match.group(1))


def test_a_manager_turns_the_setting_on_and_off_on_the_facility_page(
    client: Any, login: Any, core: Core
) -> None:
    login(core.mia)
    page = client.get(f"/manage/{core.bio.slug}").get_data(as_text=True)
    assert 'name="noshow-no_show_penalty_percent"' in page
    assert _post(client, core, "30").status_code == 302
    db.session.expire_all()
    assert db.session.get(Facility, core.bio.id).no_show_penalty_percent == 30
    page = client.get(f"/manage/{core.bio.slug}").get_data(as_text=True)
    assert "lowers the project&#39;s weights by 30%" in page
    assert re.search(r'name="noshow-no_show_penalty_percent"[^>]*value="30"', page), page
    assert _post(client, core, "").status_code == 302
    db.session.expire_all()
    assert db.session.get(Facility, core.bio.id).no_show_penalty_percent is None
    details = [
        e.details
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "facility.no_show_penalty")
        )
    ]
    assert details == [
        {"no_show_penalty_percent": 30, "previous": None},
        {"no_show_penalty_percent": None, "previous": 30},
    ]


@pytest.mark.parametrize("value", ["0", "91", "many", "12.5"])
def test_a_bad_setting_is_refused_beside_the_field_in_both_languages(
    client: Any, login: Any, core: Core, value: str
) -> None:
    _set(core, 20)
    login(core.mia)
    english = _post(client, core, value)
    core.mia.locale = "zh"
    db.session.commit()
    chinese = _post(client, core, value)
    assert english.status_code == chinese.status_code == 422
    assert _field_error(english.get_data(as_text=True)) == (
        "Give a whole number of percent from 1 to 90, or leave it empty to leave weights alone."
    )
    assert _field_error(chinese.get_data(as_text=True)) == (
        "请填写 1 到 90 之间的整数百分比，或留空表示不调整权重。"
    )
    db.session.expire_all()
    assert db.session.get(Facility, core.bio.id).no_show_penalty_percent == 20


def test_another_facilitys_manager_cannot_change_it(client: Any, login: Any, core: Core) -> None:
    login(core.otto)
    assert _post(client, core, "10").status_code == 404
    login(core.alice)
    assert _post(client, core, "10").status_code == 404
    db.session.expire_all()
    assert db.session.get(Facility, core.bio.id).no_show_penalty_percent is None
