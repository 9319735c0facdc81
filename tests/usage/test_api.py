"""The usage API: a booking's usage, check-in and check-out by the facility's staff, a manager's
correction with a reason, the day sheet and the no-show counts; bad input names the field, and
no one reads or changes another project's or another facility's usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.billing import services as billing
from app.booking.models import AuditEvent
from app.dbtypes import utcnow
from app.extensions import db
from app.usage import services
from app.usage.models import Usage
from tests.usage.conftest import Site

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def as_user(app: Flask, login: Any) -> Any:
    def _client(user: Any) -> FlaskClient:
        return login(user, app.test_client())

    return _client


def _now_booking(site: Site, **kw: Any) -> Any:
    return site.book(utcnow() - timedelta(minutes=5), **kw)


def _usage_rows(booking_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Usage).where(Usage.booking_id == booking_id)
    )


def test_a_manager_checks_in_and_out_and_the_member_reads_the_charge(
    site: Site, as_user: Any
) -> None:
    booking = _now_booking(site)
    manager = as_user(site.manager)
    fresh = manager.get(f"/api/v1/bookings/{booking.id}/usage").get_json()
    assert fresh["state"] is None and fresh["charge"] is None

    checked_in = manager.post(f"/api/v1/bookings/{booking.id}/check-in", json={})
    assert checked_in.status_code == 200, checked_in.get_json()
    assert checked_in.get_json()["state"] == "checked_in"
    assert checked_in.get_json()["via"] == "staff"
    again = manager.post(f"/api/v1/bookings/{booking.id}/check-in")
    assert again.status_code == 409

    out = manager.post(f"/api/v1/bookings/{booking.id}/check-out")
    assert out.status_code == 200, out.get_json()
    answer = out.get_json()
    assert answer["state"] == "checked_out" and answer["checked_out_at"]
    # Checked out within a minute: the 30.00 CNY minimum charge.
    assert answer["charge"]["amount_fen"] == 3_000 and answer["charge"]["minimum_applied"]

    seen = as_user(site.member).get(f"/api/v1/bookings/{booking.id}/usage")
    assert seen.status_code == 200
    assert seen.get_json()["charge"]["amount_fen"] == 3_000


def test_check_out_before_check_in_is_a_conflict(site: Site, as_user: Any) -> None:
    booking = _now_booking(site)
    response = as_user(site.manager).post(f"/api/v1/bookings/{booking.id}/check-out")
    assert response.status_code == 409
    assert response.get_json()["status"] == 409
    assert _usage_rows(booking.id) == 0


@pytest.mark.parametrize("who", ["member", "outsider", "other_manager"])
def test_only_the_facilitys_staff_check_in_and_out(site: Site, as_user: Any, who: str) -> None:
    booking = _now_booking(site)
    client = as_user(getattr(site, who))
    for action in ("check-in", "check-out"):
        response = client.post(f"/api/v1/bookings/{booking.id}/{action}")
        assert response.status_code == 404, (who, action)
    assert _usage_rows(booking.id) == 0


@pytest.mark.parametrize("who", ["outsider", "other_manager"])
def test_no_one_else_reads_a_bookings_usage(site: Site, as_user: Any, who: str) -> None:
    booking = _now_booking(site)
    services.check_in(site.manager, booking.id)
    response = as_user(getattr(site, who)).get(f"/api/v1/bookings/{booking.id}/usage")
    assert response.status_code == 404
    assert "checked_in" not in response.get_data(as_text=True)


def test_anonymous_callers_are_refused_before_the_body_is_read(
    site: Site, client: FlaskClient
) -> None:
    booking = _now_booking(site)
    for path in (
        f"/api/v1/bookings/{booking.id}/check-in",
        f"/api/v1/bookings/{booking.id}/usage/correction",
    ):
        response = client.post(path, data="{not json", content_type="application/json")
        assert response.status_code == 401, path
    assert client.get(f"/api/v1/bookings/{booking.id}/usage").status_code == 401
    assert client.get(f"/api/v1/facilities/{site.facility.slug}/day-sheet").status_code == 401


def _correction(**overrides: Any) -> dict[str, Any]:
    start = utcnow() - timedelta(hours=3)
    return {
        "checked_in_at": start.isoformat(),
        "checked_out_at": (start + timedelta(minutes=90)).isoformat(),
        "reason": "Kiosk was offline; times from the logbook",
        **overrides,
    }


def test_a_manager_corrects_usage_with_a_reason_and_it_is_audited(
    site: Site, as_user: Any
) -> None:
    booking = site.book(utcnow() - timedelta(hours=3), hours=2)
    response = as_user(site.manager).post(
        f"/api/v1/bookings/{booking.id}/usage/correction", json=_correction()
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["state"] == "checked_out" and answer["corrected"] is True
    assert answer["via"] == "correction"
    # 90 minutes at 100.00 + 50.00 CNY/h (the step is assisted).
    assert answer["charge"]["minutes"] == 90 and answer["charge"]["amount_fen"] == 22_500
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "usage.correct"))
    assert audited is not None and audited.object_id == booking.id
    assert audited.details["reason"] == "Kiosk was offline; times from the logbook"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": 7}, "reason"),
        ({"checked_in_at": "yesterday"}, "checked_in_at"),
        ({"checked_in_at": "2027-03-01T09:00:00"}, "checked_in_at"),
        ({"checked_out_at": (utcnow() - timedelta(hours=4)).isoformat()}, "checked_out_at"),
        ({"checked_out_at": (utcnow() + timedelta(hours=4)).isoformat()}, "checked_out_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_correction_names_its_field_and_writes_nothing(
    site: Site, as_user: Any, change: dict[str, Any], field: str
) -> None:
    booking = site.book(utcnow() - timedelta(hours=3), hours=2)
    response = as_user(site.manager).post(
        f"/api/v1/bookings/{booking.id}/usage/correction", json=_correction(**change)
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert _usage_rows(booking.id) == 0


def test_a_missing_reason_is_named(site: Site, as_user: Any) -> None:
    booking = site.book(utcnow() - timedelta(hours=3), hours=2)
    body = _correction()
    del body["reason"]
    response = as_user(site.manager).post(
        f"/api/v1/bookings/{booking.id}/usage/correction", json=body
    )
    assert response.status_code == 422 and response.get_json()["field"] == "reason"


@pytest.mark.parametrize("who", ["member", "outsider", "other_manager"])
def test_only_the_facilitys_managers_correct(site: Site, as_user: Any, who: str) -> None:
    booking = site.book(utcnow() - timedelta(hours=3), hours=2)
    response = as_user(getattr(site, who)).post(
        f"/api/v1/bookings/{booking.id}/usage/correction", json=_correction()
    )
    assert response.status_code == 404
    assert _usage_rows(booking.id) == 0


def test_a_billed_booking_is_corrected_by_a_note_not_here(site: Site, as_user: Any) -> None:
    # Last month, so its statement may be issued now.
    start = utcnow().replace(day=1, hour=2, minute=0, second=0, microsecond=0) - timedelta(days=10)
    booking = site.book(start, hours=2)
    services.check_in(site.manager, booking.id, now=start)
    services.check_out(site.manager, booking.id, now=start + timedelta(minutes=60))
    billing.issue_statement(
        site.manager, site.facility.id, site.project.id, start.astimezone(SHANGHAI).date()
    )
    response = as_user(site.manager).post(
        f"/api/v1/bookings/{booking.id}/usage/correction",
        json=_correction(
            checked_in_at=start.isoformat(),
            checked_out_at=(start + timedelta(minutes=30)).isoformat(),
        ),
    )
    assert response.status_code == 409
    db.session.expire_all()
    corrected = select(Usage.corrected).where(Usage.booking_id == booking.id)
    assert db.session.scalar(corrected) is False


def test_the_day_sheet_lists_the_facilitys_day_for_its_managers(site: Site, as_user: Any) -> None:
    mine = _now_booking(site)
    theirs = _now_booking(site, project=site.other_project, lane=1)
    services.check_in(site.manager, mine.id)
    today = utcnow().astimezone(SHANGHAI).date().isoformat()
    response = as_user(site.manager).get(
        f"/api/v1/facilities/{site.facility.slug}/day-sheet?day={today}"
    )
    assert response.status_code == 200, response.get_json()
    rows = {r["booking_id"]: r for r in response.get_json()["rows"]}
    assert rows[mine.id]["state"] == "checked_in" and rows[mine.id]["project"] == "Kestrel Bio"
    assert rows[theirs.id]["state"] is None and rows[theirs.id]["project"] == "Heron Devices"
    other_day = as_user(site.manager).get(
        f"/api/v1/facilities/{site.facility.slug}/day-sheet?day=2030-01-01"
    )
    assert other_day.get_json()["rows"] == []


def test_a_member_sees_only_their_own_bookings_on_a_units_sheet(site: Site, as_user: Any) -> None:
    mine = _now_booking(site)
    _now_booking(site, project=site.other_project, lane=1)
    member = as_user(site.member)
    assert member.get(f"/api/v1/facilities/{site.facility.slug}/day-sheet").status_code == 404
    response = member.get(
        f"/api/v1/facilities/{site.facility.slug}/day-sheet?equipment={site.unit.slug}"
    )
    assert response.status_code == 200
    assert [r["booking_id"] for r in response.get_json()["rows"]] == [mine.id]
    assert "Heron" not in response.get_data(as_text=True)


def test_another_facilitys_manager_reads_no_day_sheet_or_no_shows(
    site: Site, as_user: Any
) -> None:
    _now_booking(site)
    client = as_user(site.other_manager)
    for path in ("day-sheet", "no-shows"):
        response = client.get(f"/api/v1/facilities/{site.facility.slug}/{path}")
        assert response.status_code == 404, path
        assert "Kestrel" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("day=2027-13-01", "day"),
        ("day=1999-12-31", "day"),
        ("equipment=no-such-unit", "equipment"),
        ("shift=night", "shift"),
    ],
)
def test_bad_day_sheet_parameters_are_named(
    site: Site, as_user: Any, query: str, field: str
) -> None:
    response = as_user(site.manager).get(
        f"/api/v1/facilities/{site.facility.slug}/day-sheet?{query}"
    )
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_a_unit_of_another_facility_is_not_on_this_sheet(site: Site, as_user: Any) -> None:
    from tests import factories

    elsewhere = factories.make_equipment(site.other_facility, slug="elsewhere-unit")
    response = as_user(site.manager).get(
        f"/api/v1/facilities/{site.facility.slug}/day-sheet?equipment={elsewhere.slug}"
    )
    assert response.status_code == 400 and response.get_json()["field"] == "equipment"


def test_no_shows_are_counted_per_project_for_the_manager(site: Site, as_user: Any) -> None:
    start = utcnow() - timedelta(hours=2)
    missed = site.book(start, hours=1)
    came = site.book(start, hours=1, lane=1)
    services.check_in(site.manager, came.id, now=start)
    assert services.release_no_show(missed.id, utcnow()) is not None
    response = as_user(site.manager).get(f"/api/v1/facilities/{site.facility.slug}/no-shows")
    assert response.status_code == 200, response.get_json()
    [row] = response.get_json()["projects"]
    assert (row["project"], row["bookings"], row["no_shows"], row["share"]) == (
        "Kestrel Bio",
        2,
        1,
        0.5,
    )
    later = as_user(site.manager).get(
        f"/api/v1/facilities/{site.facility.slug}/no-shows?since=2100-01-01"
    )
    assert later.get_json()["projects"] == []
    bad = as_user(site.manager).get(f"/api/v1/facilities/{site.facility.slug}/no-shows?since=soon")
    assert bad.status_code == 400 and bad.get_json()["field"] == "since"
    assert (
        as_user(site.member).get(f"/api/v1/facilities/{site.facility.slug}/no-shows").status_code
        == 404
    )
