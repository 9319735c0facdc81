"""Catalogue pages and JSON API: filters return exactly the matching facilities, bad
parameters are 400s naming them, unknown slugs 404s, responses match the OpenAPI schemas."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app import openapi
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.catalog.sync import SyncReport
from app.dbtypes import utcnow
from tests import factories

ALL = ["alpha-poc", "beta-pilot", "gamma-platform"]

FILTERS: list[tuple[str, list[str]]] = [
    ("", ALL),
    ("kind=pilot_test_base", ["beta-pilot"]),
    ("kind=proof_of_concept_centre", ["alpha-poc"]),
    ("direction=biomedicine", ["alpha-poc", "beta-pilot"]),
    ("direction=integrated_circuits", ["gamma-platform"]),
    ("direction=marine", []),
    ("city=Nanjing", ["alpha-poc", "gamma-platform"]),
    ("city=nanjing", ["alpha-poc", "gamma-platform"]),
    ("city=南京", ["alpha-poc", "gamma-platform"]),
    ("city=Wuxi", []),
    ("kind=pilot_test_base&direction=biomedicine", ["beta-pilot"]),
    ("direction=biomedicine&city=Nanjing", ["alpha-poc"]),
    ("kind=public_technology_platform&city=Suzhou", []),
    ("q=fermentation", ["beta-pilot"]),
    ("q=LC-MS", ["alpha-poc"]),
    ("q=soochow", ["beta-pilot"]),
    ("q=%E7%94%B5%E6%B3%A2%E6%9A%97%E5%AE%A4", ["gamma-platform"]),
    ("q=Alpha+Proof", ["alpha-poc"]),
    ("q=Old+HPLC", []),
    ("q=hplc&city=Nanjing&direction=medical_devices", ["alpha-poc"]),
    ("kind=&direction=&city=&q=", ALL),
]
# The API takes empty free-text filters as "any", but not an empty enum: the schema has none.
API_FILTERS = [(q, e) if q != "kind=&direction=&city=&q=" else ("city=&q=", e) for q, e in FILTERS]

BAD: list[tuple[str, str]] = [
    ("kind=pilot_plant", "kind"),
    ("direction=space", "direction"),
    ("direction=biomedicine&kind=Pilot_Test_Base", "kind"),
    ("q=" + "x" * 101, "q"),
    ("city=" + "y" * 101, "city"),
]
API_BAD = [
    *BAD,
    ("kind=", "kind"),
    ("kind=+", "kind"),
    ("direction=", "direction"),
    ("kind=pilot_test_base&direction=&city=Nanjing", "direction"),
]


def _page_slugs(html: str) -> list[str]:
    return sorted(
        re.findall(r'<article class="card facility-card" id="facility-([a-z0-9-]+)"', html)
    )


def _schema(name: str) -> Draft202012Validator:
    document = openapi.build()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def _response_schema(path: str) -> Draft202012Validator:
    document = openapi.build()
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return Draft202012Validator({**schema["schema"], "components": document["components"]})


@pytest.mark.parametrize(("query", "expected"), API_FILTERS)
def test_api_filters_return_exactly_the_matching_facilities(
    client: FlaskClient, synced: SyncReport, query: str, expected: list[str]
) -> None:
    response = client.get(f"/api/v1/facilities?{query}")

    assert response.status_code == 200
    body = response.get_json()
    assert sorted(f["slug"] for f in body["facilities"]) == expected
    _response_schema("/facilities").validate(body)


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_page_filters_show_exactly_the_matching_facilities(
    client: FlaskClient, synced: SyncReport, query: str, expected: list[str]
) -> None:
    response = client.get(f"/facilities?{query}")

    assert response.status_code == 200
    assert _page_slugs(response.get_data(as_text=True)) == expected


@pytest.mark.parametrize(("query", "field"), API_BAD)
def test_api_bad_filter_is_a_problem_naming_the_parameter(
    client: FlaskClient, synced: SyncReport, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/facilities?{query}")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field
    assert field in response.get_json()["detail"]


@pytest.mark.parametrize(("query", "field"), BAD)
def test_page_bad_filter_is_a_400_page_naming_the_parameter(
    client: FlaskClient, synced: SyncReport, query: str, field: str
) -> None:
    response = client.get(f"/facilities?{query}")

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert f"The parameter {field} " in response.get_data(as_text=True)


def test_list_page_shows_kind_place_directions_units_and_capabilities(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get("/facilities", headers={"Accept-Language": "en"}).get_data(as_text=True)
    card = html[html.index('id="facility-alpha-poc"') : html.index('id="facility-beta-pilot"')]

    assert "Alpha Proof-of-Concept Centre" in card
    assert "Proof-of-concept centre" in card
    assert "Nanjing · Jiangbei New Area" in card
    assert "Biomedicine" in card and "Medical devices" in card
    assert "<strong>2</strong> units" in card
    assert "small-molecule-quantitation" in card
    assert "3 facilities" in html


def test_list_page_uses_the_chinese_names_for_chinese_readers(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get("/facilities", headers={"Accept-Language": "zh"}).get_data(as_text=True)

    assert "阿尔法概念验证中心" in html
    assert "Alpha Proof-of-Concept Centre" not in html


def test_inactive_facilities_are_not_listed_but_their_page_says_so(
    client: FlaskClient, synced: SyncReport, db: Any
) -> None:
    gamma = db.session.scalar(select(Facility).where(Facility.slug == "gamma-platform"))
    gamma.active = False
    db.session.commit()

    listed = client.get("/api/v1/facilities").get_json()["facilities"]
    page = client.get("/facilities/gamma-platform", headers={"Accept-Language": "en"})

    assert [f["slug"] for f in listed] == ["alpha-poc", "beta-pilot"]
    assert page.status_code == 200
    assert "no longer in the catalogue" in page.get_data(as_text=True)


def test_facility_page_shows_address_hosts_contact_hours_and_units(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get("/facilities/alpha-poc", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )

    assert "1 Jiangbei New Area, Nanjing, Jiangsu" in html and "江苏省" not in html
    assert "China Pharmaceutical University" in html and "Ms Wang" in html
    assert "alpha@example.org" in html and "+86 25 0000 0001" in html
    assert "08:30-12:00, 13:00-17:30" in html
    assert 'id="unit-alpha-lcms"' in html and 'id="unit-alpha-hplc"' in html
    assert "450.00" in html and "30 min" in html
    assert 'id="unit-alpha-old"' not in html
    assert "Show 1 retired unit" in html


def test_retired_units_are_shown_muted_with_the_toggle(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get("/facilities/alpha-poc?retired=1").get_data(as_text=True)

    assert '<tr id="unit-alpha-old" class="retired">' in html
    assert '<tr id="unit-alpha-lcms">' in html


def test_facility_page_lists_upcoming_closures_only(
    client: FlaskClient, make_facility: Any
) -> None:
    today = utcnow().date()
    facility = make_facility(
        closures=[
            {
                "from": str(today - timedelta(days=30)),
                "to": str(today - timedelta(days=29)),
                "reason_zh": "过去的假日",
                "reason_en": "Past holiday",
            },
            {
                "from": str(today + timedelta(days=10)),
                "to": str(today + timedelta(days=12)),
                "reason_zh": "将来的假日",
                "reason_en": "Coming holiday",
            },
        ]
    )

    html = client.get(f"/facilities/{facility.slug}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )

    assert "Coming holiday" in html
    assert "Past holiday" not in html


def test_equipment_page_and_api_show_upcoming_maintenance_only(
    client: FlaskClient, synced: SyncReport, db: Any
) -> None:
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == "beta-bioreactor"))
    now = utcnow().replace(microsecond=0)
    for days, reason in ((-20, "Old service"), (40, "Annual service")):
        db.session.add(
            MaintenanceWindow(
                equipment=unit,
                start=now + timedelta(days=days),
                end=now + timedelta(days=days + 1),
                reason_en=reason,
            )
        )
    db.session.commit()

    html = client.get("/equipment/beta-bioreactor", headers={"Accept-Language": "en"})
    body = client.get("/api/v1/equipment/beta-bioreactor").get_json()

    assert html.status_code == 200
    page = html.get_data(as_text=True)
    assert "Old service" not in page
    assert "200 L bioreactor" in page and "bioreactor-200l" in page
    assert len(body["maintenance"]) == 1
    _schema("EquipmentDetail").validate(body)


def test_maintenance_reasons_are_for_signed_in_users_only(
    client: FlaskClient, login: Any, synced: SyncReport, db: Any
) -> None:
    # A manager's free text ("vendor engineer for the leak found in batch 12") is not public.
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == "beta-bioreactor"))
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    reason = "Leak after the Birch Antennas batch 12"
    db.session.add(
        MaintenanceWindow(
            equipment=unit, start=start, end=start + timedelta(hours=5), reason_en=reason
        )
    )
    db.session.commit()
    url = "/api/v1/equipment/beta-bioreactor"

    anonymous = client.get(url)
    page = client.get("/equipment/beta-bioreactor", headers={"Accept-Language": "en"})
    assert reason not in anonymous.get_data(as_text=True)
    assert reason not in page.get_data(as_text=True)
    window = anonymous.get_json()["maintenance"][0]
    assert window["reason_en"] is None and window["reason_zh"] is None
    assert window["start"] == start.isoformat()
    assert 'id="maintenance"' in page.get_data(as_text=True)
    assert "Vary" in anonymous.headers and "Cookie" in anonymous.headers["Vary"]
    _schema("EquipmentDetail").validate(anonymous.get_json())

    login(factories.make_user())
    signed_in = client.get(url).get_json()
    assert signed_in["maintenance"][0]["reason_en"] == reason
    assert reason in client.get("/equipment/beta-bioreactor").get_data(as_text=True)
    _schema("EquipmentDetail").validate(signed_in)


def test_facility_api_has_units_hours_and_closures(
    client: FlaskClient, synced: SyncReport
) -> None:
    body = client.get("/api/v1/facilities/alpha-poc").get_json()

    _schema("Facility").validate(body)
    assert body["opening_hours"]["mon"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert body["closures"][0] == {
        "from": "2027-01-01",
        "to": "2027-01-01",
        "reason_zh": "元旦",
        "reason_en": "New Year",
    }
    assert body["contact"]["name_zh"] == "王老师" and body["contact"]["name_en"] == "Ms Wang"
    assert body["host_institutions"] == [
        {"name_zh": "中国药科大学", "name_en": "China Pharmaceutical University"}
    ]
    assert body["unit_count"] == 2
    units = {u["slug"]: u for u in body["equipment"]}
    assert units["alpha-old"]["status"] == "retired"
    assert units["alpha-hplc"]["opening_hours"] == "always"
    assert units["alpha-hplc"]["hourly_rate_cny"] == 150.5
    assert units["alpha-lcms"]["opening_hours"] is None


def test_equipment_api_gives_the_hours_that_apply(client: FlaskClient, synced: SyncReport) -> None:
    lcms = client.get("/api/v1/equipment/alpha-lcms").get_json()
    anechoic = client.get("/api/v1/equipment/gamma-anechoic").get_json()

    assert lcms["effective_opening_hours"]["tue"] == [["08:30", "17:30"]]
    assert anechoic["effective_opening_hours"] == {"sat": [["10:00", "14:00"]]}
    assert anechoic["timezone"] == "Europe/Berlin"
    _schema("EquipmentDetail").validate(anechoic)


def test_capabilities_count_active_units_of_active_facilities(
    client: FlaskClient, synced: SyncReport
) -> None:
    body = client.get("/api/v1/capabilities").get_json()

    _response_schema("/capabilities").validate(body)
    capabilities = {c["name"]: c for c in body["capabilities"]}
    assert capabilities["hplc"]["unit_count"] == 1
    assert [f["slug"] for f in capabilities["hplc"]["facilities"]] == ["alpha-poc"]
    assert capabilities["fermentation"]["facilities"][0]["name_en"] == "Beta Pilot Base"
    assert len(capabilities) == 7


@pytest.mark.parametrize(
    "url", ["/facilities/nowhere", "/equipment/nothing", "/facilities/ALPHA-POC"]
)
def test_unknown_slug_is_a_404_page(client: FlaskClient, synced: SyncReport, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("url", ["/api/v1/facilities/nowhere", "/api/v1/equipment/nothing"])
def test_unknown_slug_is_a_404_problem(client: FlaskClient, synced: SyncReport, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    _schema("Problem").validate(response.get_json())


def test_anonymous_visitors_land_on_the_catalogue(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/facilities")


def test_the_catalogue_is_in_the_navigation_for_everyone(client: FlaskClient) -> None:
    html = client.get("/facilities").get_data(as_text=True)

    assert '<a href="/facilities" aria-current="page">' in html


def test_openapi_describes_the_catalogue_paths_with_enums(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()

    for path in ("/facilities", "/facilities/{slug}", "/equipment/{slug}", "/capabilities"):
        assert "200" in document["paths"][path]["get"]["responses"]
    parameters = {p["name"]: p for p in document["paths"]["/facilities"]["get"]["parameters"]}
    assert set(parameters) == {"kind", "direction", "city", "q"}
    assert "pilot_test_base" in parameters["kind"]["schema"]["enum"]
    assert "marine" in parameters["direction"]["schema"]["enum"]
    assert "400" in document["paths"]["/facilities"]["get"]["responses"]
    Draft202012Validator.check_schema(document["components"]["schemas"]["Facility"])
