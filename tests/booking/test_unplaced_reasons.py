"""Unplaced reasons are stored with their code and written in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest
from babel.dates import format_datetime
from flask import Flask
from sqlalchemy import delete, func, select

from app.accounts.models import Training
from app.booking.models import BookingRequest, ProposalUnplaced, RequestStatus, RunStatus
from app.booking.reasons import TEMPLATES, describe
from app.booking.requests import StepInput, update_request
from app.errors import ValidationError
from app.extensions import db
from scheduler.reasons import REASON_CODES
from tests.booking.conftest import ZONE, Core, train


def crowd_out_amber(core: Core) -> BookingRequest:
    """Fill both LC-MS units with Birch's heavier requests over the window of Amber's."""
    for title in ("Birch secret antenna assay", "Birch second secret assay"):
        core.request(
            title,
            user=core.bob,
            project=core.birch,
            weight=5,
            start=core.at(0, "09:00"),
            deadline=core.at(0, "12:00"),
        )
    return core.request(
        "Amber peptide map", start=core.at(0, "09:00"), deadline=core.at(0, "12:00")
    )


def unplaced(req: BookingRequest) -> BookingRequest:
    db.session.expire_all()
    found = db.session.get(BookingRequest, req.id)
    assert found is not None and found.status == RequestStatus.UNPLACED.value
    return found


def page(client: Any, url: str, lang: str) -> str:
    client.set_cookie("lang", lang)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_competition_reason_is_stored_with_its_code_and_the_units_rows(core: Core) -> None:
    amber = crowd_out_amber(core)
    run = core.solve()
    assert run.status == RunStatus.SUCCEEDED, run.error
    req = unplaced(amber)
    detail = req.unplaced_reason_detail
    assert detail is not None and detail["code"] == "booked-by-others"
    assert detail["args"]["units"] == ["ulcms-1", "ulcms-2"]
    assert detail["units"]["ulcms-1"] == core.lcms1.id
    assert detail["units"]["ulcms-2"] == core.lcms2.id
    (row,) = [u for u in run.proposal.unplaced if u.request_id == amber.id]
    assert row.reason_detail == detail and row.reason == req.unplaced_reason


def test_startup_reads_the_reason_in_chinese_with_chinese_unit_names(
    core: Core, client: Any, login: Any
) -> None:
    amber = crowd_out_amber(core)
    core.solve()
    req = unplaced(amber)
    login(core.alice)
    html = page(client, f"/requests/{req.id}", "zh")
    reason = html.split('id="unplaced-reason"')[1].split("</p>")[0]
    assert core.lcms1.name_zh in reason and core.lcms2.name_zh in reason
    assert "ulcms" not in reason and core.lcms1.name_en not in reason
    # The window in the facility's time zone, in the Chinese form of dates.
    assert format_datetime(core.at(0, "09:00"), "short", tzinfo=ZONE, locale="zh") in reason
    english = page(client, f"/requests/{req.id}", "en")
    reason = english.split('id="unplaced-reason"')[1].split("</p>")[0]
    assert core.lcms1.name_en in reason and "ulcms" not in reason
    assert format_datetime(core.at(0, "09:00"), "short", tzinfo=ZONE, locale="en") in reason


def test_the_api_gives_the_reason_in_the_callers_language_with_unit_names(
    core: Core, client: Any, login: Any
) -> None:
    amber = crowd_out_amber(core)
    run = core.solve()
    req = unplaced(amber)
    login(core.alice)
    answers = {}
    for lang in ("zh", "en"):
        client.set_cookie("lang", lang)
        answers[lang] = client.get(f"/api/v1/requests/{req.id}").get_json()["unplaced_reason"]
    assert core.lcms1.name_zh in answers["zh"] and core.lcms2.name_zh in answers["zh"]
    assert core.lcms1.name_en in answers["en"] and "ulcms" not in answers["en"]
    login(core.mia)
    proposal = client.get(f"/api/v1/proposals/{run.proposal.id}").get_json()
    (row,) = [u for u in proposal["unplaced"] if u["request"] == req.id]
    assert row["code"] == "booked-by-others" and core.lcms1.name_en in row["reason"]


def test_reason_never_names_the_startup_that_took_the_time(
    core: Core, client: Any, login: Any
) -> None:
    amber = crowd_out_amber(core)
    core.solve()
    req = unplaced(amber)
    login(core.alice)
    secrets = ("Birch", "secret", "Bob", f"p{core.birch.id}")
    for lang in ("zh", "en"):
        for url in (f"/requests/{req.id}", "/requests", "/dashboard"):
            html = page(client, url, lang)
            assert "Amber peptide map" in html
            assert not [s for s in secrets if s in html], url
    response = client.get(f"/api/v1/requests/{req.id}")
    assert response.status_code == 200
    assert response.get_json()["unplaced_reason_code"] == "booked-by-others"
    assert not [s for s in secrets if s in response.get_data(as_text=True)]
    assert not [s for s in secrets if s in str(req.unplaced_reason_detail)]


def test_manager_reads_the_proposals_reasons_with_unit_names(
    core: Core, client: Any, login: Any
) -> None:
    crowd_out_amber(core)
    run = core.solve()
    login(core.mia)
    html = page(client, f"/proposals/{run.proposal.id}", "zh")
    reason = html.split('class="unplaced"')[1].split("</ul>")[0]
    assert core.lcms1.name_zh in reason and "ulcms" not in reason


def test_too_short_window_is_refused_at_once_in_the_facilitys_time(core: Core) -> None:
    """A window shorter than its steps can never be placed: the submission says so with the
    solver's own reason (it used to be sent, and failed only at solve time)."""
    with pytest.raises(ValidationError) as caught:
        core.request(
            "Too long for the window",
            steps=[StepInput(duration_minutes=600, capability="lc-ms")],
            start=core.at(1, "09:00"),
            deadline=core.at(1, "18:00"),
        )
    assert caught.value.field == "deadline"
    assert "10 h" in caught.value.detail
    assert format_datetime(core.at(1, "18:00"), "short", tzinfo=ZONE, locale="en") in (
        caught.value.detail
    )
    assert db.session.scalar(select(func.count(BookingRequest.id))) == 0


def test_missing_training_is_a_coded_reason_naming_the_unit(
    core: Core, client: Any, login: Any, db: Any
) -> None:
    train(core.alice, core.nmr)
    req = core.request(steps=[StepInput(duration_minutes=60, capability="nmr")])
    db.session.execute(delete(Training).where(Training.user_id == core.alice.id))
    db.session.commit()
    core.solve()
    req = unplaced(req)
    assert req.unplaced_reason_detail["code"] == "training-missing"
    assert "training" in req.unplaced_reason
    login(core.alice)
    html = page(client, f"/requests/{req.id}", "zh")
    reason = html.split('id="unplaced-reason"')[1].split("</p>")[0]
    assert core.nmr.name_zh in reason and "unmr" not in reason


def test_no_unit_left_names_the_capability(core: Core, client: Any, login: Any) -> None:
    req = core.request()
    for unit in (core.lcms1, core.lcms2):
        unit.status = "retired"
    db.session.commit()
    core.solve()
    req = unplaced(req)
    assert req.unplaced_reason_detail == {
        "code": "no-unit-left",
        "args": {"step": 1, "steps": 1, "capability": "lc-ms"},
        "units": {},
    }
    login(core.alice)
    html = page(client, f"/requests/{req.id}", "en")
    assert "Step 1 asks for lc-ms, but no unit that can do it is in service" in html


def test_rows_from_before_codes_show_their_stored_text(
    core: Core, client: Any, login: Any
) -> None:
    req = core.request()
    req.status = RequestStatus.UNPLACED.value
    req.unplaced_reason = "the only allowed unit (ulcms-1) is in maintenance"
    db.session.commit()
    login(core.alice)
    html = page(client, f"/requests/{req.id}", "zh")
    assert "the only allowed unit (ulcms-1) is in maintenance" in html


def test_editing_an_unplaced_request_forgets_its_reason(core: Core) -> None:
    amber = crowd_out_amber(core)
    core.solve()
    req = unplaced(amber)
    update_request(core.alice, req.id, title="Amber peptide map, later")
    db.session.expire_all()
    req = db.session.get(BookingRequest, amber.id)
    assert req.unplaced_reason == "" and req.unplaced_reason_detail is None


# Arguments as the solver writes them for each code (tests/scheduler/test_reasons.py makes
# each of them arise from a problem); every one must be written from its code, in both languages.
WINDOW = {"earliest": "2026-03-09T09:00:00+08:00", "deadline": "2026-03-09T18:00:00+08:00"}
STEP = {"step": 2, "steps": 2, "units": ["ulcms-1", "ulcms-2"], "minutes": 90, **WINDOW}
SAMPLES: dict[str, dict[str, Any]] = {
    "over-budget": {"project": "p1", "budget_fen": 10000, "committed_fen": 8000, "cost_fen": 3000},
    "window-too-short": {**WINDOW, "minutes": 600},
    "not-open-long-enough": STEP,
    "units-in-maintenance": STEP,
    "units-closed": {**STEP, "steps": 1, "step": 1, "units": ["ulcms-1"]},
    "units-taken-by-approved-bookings": STEP,
    "lag-too-short": {**STEP, "previous": 1, "max_lag_minutes": 360},
    "steps-cannot-follow": {"steps": 3, **WINDOW},
    "fair-share-used": {"project": "p1", "percent": 50, "units": ["ulcms-1"]},
    "booked-by-others": {
        **STEP,
        "steps": 1,
        "free_unit": "ulcms-2",
        "free_start": "2026-03-10T01:00:00+00:00",
        "fair_share_used": True,
        "project": "p1",
    },
    "booked-until-horizon-end": {**STEP, "steps": 3},
    "solve-stopped": {**WINDOW, "steps": 1, "units": ["ulcms-1"]},
    "training-missing": {"step": 1, "steps": 1, "units": ["ulcms-1"]},
    "no-unit-left": {"step": 1, "steps": 1, "capability": None},
}


def test_every_code_of_the_solver_has_a_template() -> None:
    assert set(REASON_CODES) <= set(TEMPLATES)
    assert set(SAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize("code", sorted(SAMPLES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_code_is_written_from_its_arguments(
    app: Flask, core: Core, code: str, lang: str
) -> None:
    stored = {"code": code, "args": SAMPLES[code], "units": {"ulcms-1": core.lcms1.id}}
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        text = describe(stored, "FALLBACK", tz="Asia/Shanghai", project="Amber Biologics")
    assert text != "FALLBACK" and "%(" not in text
    assert "ulcms-1" not in text
    name = core.lcms1.name_zh if lang == "zh" else core.lcms1.name_en
    if "ulcms-1" in SAMPLES[code].get("units", []):
        assert name in text
    if code == "booked-by-others":
        # 01:00 UTC is 09:00 in Shanghai; a unit the detail has no row for is found by slug.
        other = core.lcms2.name_zh if lang == "zh" else core.lcms2.name_en
        assert "9:00" in text and other in text and "Amber Biologics" in text


def test_a_detail_with_unexpected_arguments_falls_back_to_the_text(app: Flask) -> None:
    with app.test_request_context():
        stored = {"code": "lag-too-short", "args": {"step": 2}}
        assert describe(stored, "the text", tz="UTC", project="x") == "the text"
        assert describe({"code": "from-the-future"}, "the text", tz="UTC", project="x") == (
            "the text"
        )


def test_proposal_rows_keep_a_detail_per_request(core: Core) -> None:
    crowd_out_amber(core)
    run = core.solve()
    rows = db.session.query(ProposalUnplaced).filter_by(proposal_id=run.proposal.id).all()
    assert rows and all(r.reason_detail and r.reason_detail["code"] for r in rows)


def test_another_startup_cannot_read_the_reason_through_the_api(
    core: Core, client: Any, login: Any
) -> None:
    amber = crowd_out_amber(core)
    core.solve()
    login(core.bob)
    response = client.get(f"/api/v1/requests/{amber.id}")
    assert response.status_code == 404
    assert "booked-by-others" not in response.get_data(as_text=True)
    assert "Amber" not in response.get_data(as_text=True)
