"""Usage pages: the booking page, the day sheet, the kiosk and its QR code, the correction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.dbtypes import utcnow
from app.extensions import db
from app.usage.models import Usage, UsageState
from tests.usage.conftest import Site


def _now_booking(site: Site, **kw: Any) -> Any:
    return site.book(utcnow() - timedelta(minutes=5), **kw)


def test_a_manager_checks_in_and_out_from_the_day_sheet(
    site: Site, client: Any, login: Any
) -> None:
    booking = _now_booking(site)
    login(site.manager)
    sheet = client.get(f"/manage/{site.facility.slug}/day-sheet")
    page = sheet.get_data(as_text=True)
    assert sheet.status_code == 200
    assert "Kestrel Bio" in page and "Check in" in page and "No-shows per project" in page

    back = f"/manage/{site.facility.slug}/day-sheet"
    response = client.post(f"/bookings/{booking.id}/check-in", data={"next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    assert "Check out" in client.get(back).get_data(as_text=True)
    client.post(f"/bookings/{booking.id}/check-out", data={"next": back})
    usage = db.session.scalar(select(Usage).where(Usage.booking_id == booking.id))
    assert usage is not None and usage.state == UsageState.CHECKED_OUT and usage.via == "staff"


def test_the_day_sheet_is_the_facilitys_managers_only(site: Site, client: Any, login: Any) -> None:
    _now_booking(site)
    for stranger in (site.member, site.other_manager):
        login(stranger)
        response = client.get(f"/manage/{site.facility.slug}/day-sheet")
        assert response.status_code == 404
    assert "Kestrel Bio" not in response.get_data(as_text=True)


def test_a_member_checks_in_at_the_kiosk_and_sees_only_their_own(
    site: Site, client: Any, login: Any
) -> None:
    mine = _now_booking(site)
    _now_booking(site, project=site.other_project, lane=1)
    login(site.member)
    page = client.get(f"/equipment/{site.unit.slug}/kiosk").get_data(as_text=True)
    assert "Kestrel Bio" in page and "Heron" not in page
    response = client.post(f"/bookings/{mine.id}/check-in", data={"via": "kiosk"})
    assert response.status_code == 302
    usage = db.session.scalar(select(Usage).where(Usage.booking_id == mine.id))
    assert usage is not None and usage.via == "kiosk"
    # Without the kiosk, the member is not staff.
    client.post(f"/bookings/{mine.id}/check-out")
    assert db.session.get(Usage, usage.id).state == UsageState.CHECKED_IN  # type: ignore[union-attr]


def test_the_unit_page_shows_a_qr_code_of_its_kiosk(site: Site, client: Any) -> None:
    page = client.get(f"/equipment/{site.unit.slug}").get_data(as_text=True)
    assert f"/equipment/{site.unit.slug}/kiosk.svg" in page
    qr = client.get(f"/equipment/{site.unit.slug}/kiosk.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    body = qr.get_data(as_text=True)
    assert body.startswith("<svg") and f"/equipment/{site.unit.slug}/kiosk" in body
    assert client.get("/equipment/no-such-unit/kiosk.svg").status_code == 404


def test_the_booking_page_offers_check_in_to_staff_only(
    site: Site, client: Any, login: Any
) -> None:
    booking = _now_booking(site)
    login(site.manager)
    assert "Check in" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    login(site.member)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Check in" not in page


def test_a_correction_without_a_reason_is_shown_beside_the_field(
    site: Site, client: Any, login: Any
) -> None:
    booking = site.book(utcnow() - timedelta(hours=5))
    login(site.manager)
    local = booking.start.astimezone(ZoneInfo("Asia/Shanghai"))
    form = {
        "checked_in_at": local.strftime("%Y-%m-%dT%H:%M"),
        "checked_out_at": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "",
    }
    response = client.post(f"/bookings/{booking.id}/usage", data=form)
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    response = client.post(
        f"/bookings/{booking.id}/usage", data=form | {"reason": "Paper log of the day"}
    )
    assert response.status_code == 302
    usage = db.session.scalar(select(Usage).where(Usage.booking_id == booking.id))
    assert usage is not None and usage.corrected
    login(site.other_manager)
    assert client.get(f"/bookings/{booking.id}/usage").status_code == 404
