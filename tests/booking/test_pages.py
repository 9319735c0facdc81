"""Booking pages end to end through the test client: members, managers, errors by the field."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.booking import bookings as booking_service
from app.booking import requests as request_service
from app.booking.models import Booking, BookingRequest, Proposal, RequestStatus, SolveRun
from app.booking.requests import StepInput
from app.booking.runs import execute_run
from app.catalog.models import MaintenanceWindow
from tests.booking.pages_world import World, build_world, solve_now, train


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def field_error(page: str, name: str) -> str | None:
    """Return the error shown beside the form field called `name`, if any."""
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', page, re.S):
        if f'name="{name}"' in block:
            found = re.search(r'<span class="error"[^>]*>(.*?)</span>', block, re.S)
            return html.unescape(found.group(1)) if found else None
    return None


def request_form(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "project_id": world.project_a.id,
        "title": "Glycan profiling",
        "facility_id": world.facility.id,
        "earliest_start": world.local(0),
        "deadline": world.local(4, "18:00"),
        "priority_reason": "",
        "steps-0-capability": "lc-ms",
        "steps-0-duration_hours": "3",
        "steps-0-attended": "y",
        "action": "save",
    }
    data.update(overrides)
    return data


def count_requests(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(BookingRequest))


def make_request(world: World, title: str = "Peptide map", **kwargs: Any) -> BookingRequest:
    return request_service.create_request(
        kwargs.pop("user", world.alice),
        kwargs.pop("project_id", world.project_a.id),
        title=title,
        earliest_start=world.at(0),
        deadline=world.at(4, "18:00"),
        steps=kwargs.pop(
            "steps",
            [StepInput(duration_minutes=180, capability="lc-ms", facility_id=world.facility.id)],
        ),
        **kwargs,
    )


def test_member_requests_any_lcms_and_lands_on_its_page(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    page = client.get("/requests/new").get_data(as_text=True)
    assert 'name="steps-0-capability"' in page and "lc-ms" in page
    response = client.post("/requests/new", data=request_form(world))
    assert response.status_code == 302
    req = db.session.scalars(select(BookingRequest)).one()
    assert response.headers["Location"].endswith(f"/requests/{req.id}")
    assert req.status == RequestStatus.PENDING.value
    assert req.steps[0].capability == "lc-ms" and req.steps[0].duration_minutes == 180
    # Entered as Shanghai wall time, stored in UTC.
    assert req.earliest_start == world.at(0)
    detail = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "Glycan profiling" in detail and "LC-MS No. 1" in detail and "pending" in detail


def test_member_requests_specific_units(client: Any, login: Any, world: World, db: Any) -> None:
    login(world.alice)
    data = request_form(world, **{"steps-0-capability": "", "steps-0-unit_ids": [world.lcms2.id]})
    assert client.post("/requests/new", data=data).status_code == 302
    req = db.session.scalars(select(BookingRequest)).one()
    assert [u.id for u in req.steps[0].units] == [world.lcms2.id]


def test_missing_title_is_shown_beside_the_title_and_nothing_is_written(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    response = client.post("/requests/new", data=request_form(world, title=""))
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "title")
    assert count_requests(db) == 0


def test_a_deadline_before_the_start_is_shown_beside_a_window_field(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    data = request_form(world, deadline=world.local(0, "08:00"))
    page = client.post("/requests/new", data=data).get_data(as_text=True)
    assert field_error(page, "deadline") or field_error(page, "earliest_start")
    assert count_requests(db) == 0


def test_an_untrained_project_is_told_beside_the_step(
    client: Any, login: Any, world: World, db: Any
) -> None:
    world.lcms1.training_required = True
    world.lcms2.training_required = True
    db.session.commit()
    login(world.alice)
    page = client.post("/requests/new", data=request_form(world)).get_data(as_text=True)
    assert field_error(page, "steps-0-capability")
    assert count_requests(db) == 0
    train(world.alice, world.lcms1)
    assert client.post("/requests/new", data=request_form(world)).status_code == 302


def test_campaign_of_two_steps_with_gaps_ignores_the_spare_row(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="steps-0-duration_hours"' in page and 'name="steps-1-duration_hours"' in page
    assert "campaign.js" in page
    data = request_form(world, title="Purity then ID")
    data.update(
        {
            "steps-0-capability": "hplc",
            "steps-0-duration_hours": "20",
            "steps-0-attended": "",
            "steps-1-capability": "lc-ms",
            "steps-1-duration_hours": "4",
            "steps-1-attended": "y",
            "steps-1-min_gap_hours": "1",
            "steps-1-max_gap_hours": "24",
            "steps-2-capability": "",
            "steps-2-duration_hours": "",
        }
    )
    del data["steps-0-attended"]
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 302, field_error(response.get_data(as_text=True), "title")
    req = db.session.scalars(select(BookingRequest)).one()
    assert req.is_campaign and len(req.steps) == 2
    first, second = req.steps
    assert not first.attended and first.duration_minutes == 20 * 60
    assert (second.min_lag_minutes, second.max_lag_minutes) == (60, 24 * 60)


def test_add_step_without_javascript_returns_one_more_row(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    data = request_form(world, action="add-step")
    page = client.post("/campaigns/new", data=data).get_data(as_text=True)
    assert 'name="steps-1-duration_hours"' in page
    assert count_requests(db) == 0


def test_request_list_shows_badges_and_only_own_projects(
    client: Any, login: Any, world: World
) -> None:
    make_request(world, "Amber secret assay")
    make_request(world, "Birch secret scan", user=world.bob, project_id=world.project_b.id)
    login(world.alice)
    page = client.get("/requests").get_data(as_text=True)
    assert "Amber secret assay" in page and 'class="status pending"' in page
    assert "Birch secret scan" not in page and "Birch Antennas" not in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Amber secret assay" in dashboard and "Birch" not in dashboard


def test_member_edits_then_withdraws_a_pending_request(
    client: Any, login: Any, world: World, db: Any
) -> None:
    req = make_request(world)
    login(world.alice)
    form = client.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    assert 'value="Peptide map"' in form
    data = request_form(world, title="Peptide map v2", **{"steps-0-duration_hours": "5"})
    assert client.post(f"/requests/{req.id}/edit", data=data).status_code == 302
    db.session.refresh(req)
    assert req.title == "Peptide map v2" and req.steps[0].duration_minutes == 300
    assert client.post(f"/requests/{req.id}/withdraw").status_code == 302
    db.session.refresh(req)
    assert req.status == RequestStatus.WITHDRAWN.value
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "withdrawn" in page and "/withdraw" not in page


def test_manager_solves_and_approves_then_member_sees_the_booking(
    client: Any, login: Any, world: World, db: Any
) -> None:
    req = make_request(world)
    run = solve_now(world.mia, world.facility)
    assert run.status == "succeeded", run.error
    login(world.mia)
    home = client.get("/manage").get_data(as_text=True)
    assert "Bio Proof-of-Concept Centre" in home
    run_page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "run.js" in run_page and f"/proposals/{run.proposal.id}" in run_page
    proposal = client.get(f"/proposals/{run.proposal.id}").get_data(as_text=True)
    assert '<svg class="timeline"' in proposal and 'class="bar proposed"' in proposal
    assert "First come, first served" in proposal and "Peptide map" in proposal
    approve = f"/proposals/{run.proposal.id}/approve"
    assert 'data-confirm="Publish 1 booking for Amber Biologics?' in proposal
    asked = client.post(approve)
    db.session.refresh(req)
    assert asked.status_code == 200 and req.status == RequestStatus.PROPOSED.value
    assert "Publish 1 booking for Amber Biologics?" in asked.get_data(as_text=True)
    assert client.post(approve, data={"confirmed": "yes"}).status_code == 302
    db.session.refresh(req)
    assert req.status == RequestStatus.BOOKED.value and len(req.bookings) == 1
    client.post("/logout")
    login(world.alice)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"/bookings/{req.bookings[0].id}" in dashboard
    detail = client.get(f"/bookings/{req.bookings[0].id}").get_data(as_text=True)
    assert "Peptide map" in detail and "Cancel booking" in detail


def test_an_unplaceable_request_shows_its_reason(
    client: Any, login: Any, world: World, db: Any
) -> None:
    # Ten hours of attended work fit the unit's own 08:00-20:00 hours when the request is sent
    # (an impossible request is refused then), but not the facility's 09:00-18:00 day the
    # catalogue gives it afterwards.
    days = ("mon", "tue", "wed", "thu", "fri")
    world.lcms1.opening_hours = {day: [["08:00", "20:00"]] for day in days}
    db.session.commit()
    req = make_request(
        world,
        "Marathon run",
        steps=[
            StepInput(
                duration_minutes=600, unit_ids=[world.lcms1.id], facility_id=world.facility.id
            )
        ],
    )
    world.lcms1.opening_hours = None
    db.session.commit()
    run = solve_now(world.mia, world.facility)
    assert run.status == "succeeded", run.error
    db.session.refresh(req)
    assert req.status == RequestStatus.UNPLACED.value and req.unplaced_reason
    login(world.alice)
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert 'id="unplaced-reason"' in page
    # Written from the reason's code, naming the unit as users know it.
    assert f"No allowed unit ({world.lcms1.name_en}) is open long enough" in page
    assert "ulcms-1" not in page
    client.post("/logout")
    login(world.mia)
    proposal = client.get(f"/proposals/{run.proposal.id}").get_data(as_text=True)
    assert "Marathon run" in proposal and 'class="reason"' in proposal


def test_solve_button_redirects_to_the_run_page(
    client: Any, login: Any, world: World, db: Any
) -> None:
    make_request(world)
    login(world.mia)
    response = client.post(f"/manage/{world.facility.slug}/solve")
    assert response.status_code == 302 and "/runs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-poll-url="/api/v1/runs/' in page
    # The booking tests queue solves without a worker process; run this one here.
    run = db.session.scalars(select(SolveRun)).one()
    assert run.status == "queued"
    assert 'id="run-waiting"' in page
    execute_run(run.id)
    finished = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="proposal-link"' in finished


def test_run_files_download_as_json(client: Any, login: Any, world: World) -> None:
    make_request(world)
    run = solve_now(world.mia, world.facility)
    login(world.mia)
    response = client.get(f"/runs/{run.id}/problem.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data())["format"] == "pilotslot-problem/1"
    assert json.loads(client.get(f"/runs/{run.id}/result.json").get_data())["format"] == (
        "pilotslot-result/1"
    )


def test_discarding_a_proposal_leaves_nothing_published(
    client: Any, login: Any, world: World, db: Any
) -> None:
    make_request(world)
    run = solve_now(world.mia, world.facility)
    login(world.mia)
    assert client.post(f"/proposals/{run.proposal.id}/discard").status_code == 302
    assert db.session.get(Proposal, run.proposal.id).status == "discarded"
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_manual_booking_conflict_is_shown_beside_the_start(
    client: Any, login: Any, world: World, db: Any
) -> None:
    booking_service.manual_booking(
        world.mia,
        project_id=world.project_b.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "12:00"),
        title="Birch calibration",
    )
    login(world.mia)
    data = {
        "project_id": world.project_a.id,
        "equipment_id": world.lcms1.id,
        "title": "Amber rush job",
        "start": world.local(1, "10:00"),
        "end": world.local(1, "11:00"),
        "note": "",
    }
    page = client.post(f"/manage/{world.facility.slug}/bookings/new", data=data)
    assert page.status_code == 409
    assert field_error(page.get_data(as_text=True), "start")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    data.update(start=world.local(2, "10:00"), end=world.local(2, "11:00"))
    response = client.post(f"/manage/{world.facility.slug}/bookings/new", data=data)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 2


def test_release_needs_a_reason_and_pin_restores(
    client: Any, login: Any, world: World, db: Any
) -> None:
    booking = booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "12:00"),
        title="Amber calibration",
    )
    login(world.mia)
    client.post(f"/bookings/{booking.id}/release", data={"reason": ""})
    db.session.refresh(booking)
    assert booking.pinned
    client.post(f"/bookings/{booking.id}/release", data={"reason": "make room for urgent work"})
    db.session.refresh(booking)
    assert not booking.pinned
    client.post(f"/bookings/{booking.id}/pin")
    db.session.refresh(booking)
    assert booking.pinned


def test_member_cancels_a_booking(client: Any, login: Any, world: World, db: Any) -> None:
    booking = booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "12:00"),
        title="Amber calibration",
    )
    login(world.alice)
    assert (
        client.post(f"/bookings/{booking.id}/cancel", data={"reason": "sample lost"}).status_code
        == 302
    )
    db.session.refresh(booking)
    assert booking.status == "cancelled" and booking.sequence >= 1


def test_maintenance_form_errors_sit_beside_fields(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.mia)
    data = {
        "maintenance-equipment_id": world.lcms1.id,
        "maintenance-start": world.local(3, "09:00"),
        "maintenance-end": world.local(3, "18:00"),
        "maintenance-reason_zh": "",
        "maintenance-reason_en": "",
    }
    page = client.post(f"/manage/{world.facility.slug}/maintenance", data=data)
    assert page.status_code == 422
    assert field_error(page.get_data(as_text=True), "maintenance-reason_zh")
    data["maintenance-reason_en"] = "Ion source cleaning"
    assert client.post(f"/manage/{world.facility.slug}/maintenance", data=data).status_code == 302
    window = db.session.scalars(select(MaintenanceWindow)).one()
    assert window.start == world.at(3, "09:00")
    manage = client.get(f"/manage/{world.facility.slug}").get_data(as_text=True)
    assert "Ion source cleaning" in manage


def test_trainings_are_recorded_by_email(client: Any, login: Any, world: World, db: Any) -> None:
    world.lcms1.training_required = True
    db.session.commit()
    login(world.mia)
    data = {
        "email": "nobody@nowhere.example",
        "equipment_id": world.lcms1.id,
        "trained_on": "2026-10-01",
    }
    page = client.post(f"/manage/{world.facility.slug}/trainings", data=data)
    assert field_error(page.get_data(as_text=True), "email")
    data["email"] = world.alice.email
    assert client.post(f"/manage/{world.facility.slug}/trainings", data=data).status_code == 302
    page = client.get(f"/manage/{world.facility.slug}/trainings").get_data(as_text=True)
    assert "alice@amber.example" in page


def test_audit_page_lists_the_facility_events(client: Any, login: Any, world: World) -> None:
    make_request(world)
    login(world.mia)
    page = client.get(f"/manage/{world.facility.slug}/audit").get_data(as_text=True)
    assert "Alice" in page and "<code>" in page


def test_availability_shows_others_as_booked_and_own_titles(
    client: Any, login: Any, world: World
) -> None:
    for project, title in (
        (world.project_a, "Amber own run"),
        (world.project_b, "Birch hidden run"),
    ):
        booking_service.manual_booking(
            world.mia,
            project_id=project.id,
            equipment_id=world.lcms1.id,
            start=world.at(1 if project is world.project_a else 2, "09:00"),
            end=world.at(1 if project is world.project_a else 2, "12:00"),
            title=title,
        )
    login(world.alice)
    page = client.get(f"/equipment/lcms-1/availability?week={world.monday.isoformat()}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and '<svg class="timeline"' in text
    assert "Amber own run" in text and "Booked" in text
    assert "Birch hidden run" not in text and "Birch Antennas" not in text


def test_admin_manages_accounts_and_roles(client: Any, login: Any, world: World, db: Any) -> None:
    from app.accounts.models import User

    login(world.admin)
    assert client.get("/admin/").status_code == 200
    response = client.post(
        "/admin/accounts",
        data={
            "account-email": "new@startup.example",
            "account-name": "New",
            "account-password": "short",
        },
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "account-password")
    client.post(
        "/admin/accounts",
        data={
            "account-email": "new@startup.example",
            "account-name": "New",
            "account-password": "long enough secret",
        },
    )
    newcomer = db.session.scalars(select(User).where(User.email == "new@startup.example")).one()
    client.post(
        "/admin/members",
        data={
            "member-email": newcomer.email,
            "member-project_id": world.project_a.id,
            "member-role": "member",
        },
    )
    client.post(
        "/admin/managers",
        data={"manager-email": newcomer.email, "manager-facility_id": world.facility.id},
    )
    client.post(f"/admin/accounts/{newcomer.id}/admin/grant")
    db.session.refresh(newcomer)
    assert newcomer.project_ids == {world.project_a.id}
    assert newcomer.facility_ids == {world.facility.id}
    assert newcomer.is_admin
    missing = client.post(
        "/admin/members",
        data={
            "member-email": "ghost@x.example",
            "member-project_id": world.project_a.id,
            "member-role": "member",
        },
    )
    assert field_error(missing.get_data(as_text=True), "member-email")
    client.post(f"/admin/accounts/{world.admin.id}/admin/revoke")
    db.session.refresh(world.admin)
    assert world.admin.is_admin


def test_pages_need_a_login(client: Any, world: World) -> None:
    for path in ("/requests", "/requests/new", "/manage", "/admin/"):
        assert client.get(path).location == f"/login?next={path}"


def test_admin_runs_the_catalogue_sync_and_sees_its_report(
    app: Any, client: Any, login: Any, make_user: Any, tmp_path: Any
) -> None:
    login(make_user(is_admin=True, locale="en"))
    app.config["FACILITIES_FILE"] = str(tmp_path / "broken.yaml")
    (tmp_path / "broken.yaml").write_text("version: 1\ncentres: [\n")
    broken = client.post("/admin/sync")
    assert broken.status_code == 422
    assert 'id="sync-error"' in broken.get_data(as_text=True)
    app.config["FACILITIES_FILE"] = str(Path(__file__).resolve().parents[2] / "facilities.yaml")
    page = client.post("/admin/sync").get_data(as_text=True)
    assert 'id="sync-report"' in page and "njbio-lcms-1" in page


@pytest.mark.parametrize(
    "overrides",
    [
        {"project_id": "abc"},
        {"project_id": "999999"},
        {"facility_id": "999999"},
        {"earliest_start": "yesterday"},
        {"deadline": "2026-13-45T99:99"},
        {"steps-0-duration_hours": "-3"},
        {"steps-0-duration_hours": "lots"},
        {"steps-0-capability": "no-such-capability"},
        {"steps-0-capability": "", "steps-0-unit_ids": ["abc"]},
        {"steps-0-capability": "", "steps-0-unit_ids": ["999999"]},
        {"steps-0-duration_hours": "0"},
        {"title": "x" * 500},
    ],
)
def test_malformed_request_forms_are_refused_by_field_never_with_a_500(
    client: Any, login: Any, world: World, db: Any, overrides: dict[str, Any]
) -> None:
    login(world.alice)
    for path in ("/requests/new", "/campaigns/new"):
        response = client.post(path, data=request_form(world, **overrides))
        assert response.status_code == 200, (path, response.status_code)
        assert 'class="field has-error"' in response.get_data(as_text=True), path
    assert count_requests(db) == 0


def test_malformed_manager_forms_never_500(client: Any, login: Any, world: World) -> None:
    login(world.mia)
    slug = world.facility.slug
    bad = {"equipment_id": "x", "project_id": "x", "start": "soon", "end": "", "title": ""}
    assert client.post(f"/manage/{slug}/bookings/new", data=bad).status_code == 422
    maintenance = {f"maintenance-{k}": v for k, v in bad.items()}
    assert client.post(f"/manage/{slug}/maintenance", data=maintenance).status_code == 422
    training = {"email": "not-an-email", "equipment_id": "x", "trained_on": "2026-99-99"}
    assert client.post(f"/manage/{slug}/trainings", data=training).status_code == 200
    off_grid = {
        "project_id": world.project_a.id,
        "equipment_id": world.lcms1.id,
        "title": "Odd minutes",
        "start": world.local(1, "09:07"),
        "end": world.local(1, "10:00"),
    }
    page = client.post(f"/manage/{slug}/bookings/new", data=off_grid).get_data(as_text=True)
    assert field_error(page, "start")


def test_a_campaign_gap_below_its_minimum_is_shown_beside_the_gap(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.alice)
    data = request_form(world)
    data.update(
        {
            "steps-1-capability": "lc-ms",
            "steps-1-duration_hours": "2",
            "steps-1-min_gap_hours": "5",
            "steps-1-max_gap_hours": "1",
        }
    )
    page = client.post("/campaigns/new", data=data).get_data(as_text=True)
    assert field_error(page, "steps-1-max_gap_hours")
    assert count_requests(db) == 0
