"""Matching a need to capabilities: the glossary is synced, the API answers ranked matches with
units and why, bad input is a 400 naming the parameter, the page shows the reader's language,
the index is built once per catalogue version, and jieba loads without a warning or a word."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app import dataversion, openapi
from app.catalog import matching
from app.catalog.models import Capability
from app.catalog.sync import SyncReport, sync_catalogue

ROOT = Path(__file__).resolve().parents[2]


def _matches(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/capabilities/match?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["matches"]  # type: ignore[no-any-return]


def test_sync_writes_the_glossary_and_names_its_changes(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    hplc = matching.db.session.get(Capability, "hplc")
    assert hplc is not None
    assert hplc.keywords_zh == ["液相", "纯度", "杂质"]
    assert hplc.keywords_en == ["liquid chromatography", "purity", "impurities"]
    assert hplc.description_en.startswith("Separating and measuring")

    report = sync_catalogue(
        variant(
            ("keywords_en: [liquid chromatography,", "keywords_en: [LC, liquid chromatography,")
        )
    )

    assert report.changed == [("capability hplc", ["keywords_en"])]
    matching.db.session.expire_all()
    assert matching.db.session.get(Capability, "hplc").keywords_en[0] == "LC"  # type: ignore[union-attr]


def test_api_ranks_capabilities_with_units_and_the_words_that_matched(
    client: FlaskClient, synced: SyncReport
) -> None:
    found = _matches(client, "q=fermentation+in+a+200+litre+bioreactor")

    assert {m["capability"] for m in found[:2]} == {"bioreactor-200l", "fermentation"}
    reactor = next(m for m in found if m["capability"] == "bioreactor-200l")
    assert reactor["units"] == ["beta-bioreactor"]
    # Words that matched side by side are one phrase; a volume is read as one word.
    assert reactor["why"] == ["200l bioreactor"]
    assert found == sorted(found, key=lambda m: -m["score"])
    validator = Draft202012Validator(
        {
            **openapi.build()["paths"]["/capabilities/match"]["get"]["responses"]["200"][
                "content"
            ]["application/json"]["schema"],
            "components": openapi.build()["components"],
        }
    )
    validator.validate({"matches": found})


def test_api_matches_chinese_through_the_glossary(client: FlaskClient, synced: SyncReport) -> None:
    found = _matches(client, "q=%E5%8E%9F%E6%96%99%E8%8D%AF%E7%BA%AF%E5%BA%A6")  # 原料药纯度

    assert found[0]["capability"] == "hplc"
    assert found[0]["why"] == ["纯度"]
    assert "alpha-old" not in found[0]["units"]  # retired


def test_api_limit_bounds_the_answer(client: FlaskClient, synced: SyncReport) -> None:
    assert len(_matches(client, "q=LC-MS+HPLC+purity+mass&limit=1")) == 1
    assert len(_matches(client, "q=LC-MS+HPLC+purity+mass&limit=20")) >= 2


def test_unknown_words_match_nothing(client: FlaskClient, synced: SyncReport) -> None:
    assert _matches(client, "q=zzzz+qqqq") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("q=", "q"),
        ("q=+++", "q"),
        ("q=" + "x" * (matching.MAX_NEED + 1), "q"),
        ("q=a%00b", "q"),
        ("q=heat&limit=0", "limit"),
        ("q=heat&limit=21", "limit"),
        ("q=heat&limit=many", "limit"),
        ("q=heat&limit=", "limit"),
        ("q=heat&limit=-3", "limit"),
    ],
)
def test_bad_need_or_limit_is_a_problem_naming_it(
    client: FlaskClient, synced: SyncReport, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/capabilities/match?{query}")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


def test_match_is_in_the_openapi_document(client: FlaskClient) -> None:
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/capabilities/match"]
    parameters = {p["name"]: p for p in operation["get"]["parameters"]}
    assert parameters["q"]["required"] is True
    assert parameters["q"]["schema"]["maxLength"] == matching.MAX_NEED
    assert parameters["limit"]["schema"]["maximum"] == matching.MAX_LIMIT
    assert "400" in operation["get"]["responses"]


def test_index_is_built_once_per_catalogue_version_and_a_glossary_edit_rebuilds_it(
    app: Flask, client: FlaskClient, synced: SyncReport, variant: Callable[..., Path]
) -> None:
    cache = dataversion.cache("capability-matcher")
    _matches(client, "q=purity")
    misses = cache.misses
    _matches(client, "q=purity")
    _matches(client, "q=HPLC")
    assert cache.misses == misses
    assert _matches(client, "q=chiral") == []

    # Only the capabilities table changes: its new keyword must be found at once.
    sync_catalogue(variant(("keywords_en: [liquid chromatography,", "keywords_en: [chiral,")))

    assert [m["capability"] for m in _matches(client, "q=chiral")] == ["hplc"]


def test_page_shows_ranked_capabilities_units_facility_and_city_in_english(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get(
        "/match?q=fermentation+in+a+200+litre+bioreactor", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)

    assert 'id="match-bioreactor-200l"' in html and 'id="match-fermentation"' in html
    assert "200 L bioreactor" in html
    assert 'href="/equipment/beta-bioreactor"' in html
    assert "Suzhou" in html
    assert '<span class="tag why-term">200l bioreactor</span>' in html


def test_page_shows_names_in_chinese_to_a_chinese_reader(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get(
        "/match?q=%E5%8F%91%E9%85%B5",
        headers={"Accept-Language": "zh"},  # 发酵
    ).get_data(as_text=True)

    assert 'id="match-fermentation"' in html
    assert '<span class="capability" data-slug="fermentation">发酵</span>' in html
    assert "苏州" in html
    assert "描述您的需求" in html


def test_page_without_a_need_shows_the_box_and_no_suggestions(
    client: FlaskClient, synced: SyncReport
) -> None:
    html = client.get("/match", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="q"' in html and "need-match-list" not in html
    catalogue = client.get("/facilities", headers={"Accept-Language": "en"})
    assert 'action="/match"' in catalogue.get_data(as_text=True)


def test_page_refuses_a_need_too_long_naming_the_field(
    client: FlaskClient, synced: SyncReport
) -> None:
    response = client.get("/match?q=" + "x" * (matching.MAX_NEED + 1))
    assert response.status_code == 400
    assert "q" in response.get_data(as_text=True)


def test_capability_without_active_units_is_not_suggested(
    client: FlaskClient, synced: SyncReport
) -> None:
    names = matching.db.session.scalars(select(Capability.slug)).all()
    offered = {m.capability for m in matching.build_matcher().match(" ".join(names), 20)}
    assert offered <= set(names)
    assert all(m["units"] for m in _matches(client, "q=" + "+".join(names) + "&limit=20"))


def test_jieba_loads_without_a_warning_or_a_line_on_stderr(tmp_path: Path) -> None:
    # A fresh temp directory: jieba builds its dictionary cache there, the noisy path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "from app.catalog.matching import _load_jieba; print(_load_jieba().lcut('氮化镓'))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert list(tmp_path.iterdir()), "jieba's cache goes to the temp directory"


def test_a_renamed_capability_shows_at_once_in_the_capabilities_api(
    client: FlaskClient, synced: SyncReport, variant: Callable[..., Path]
) -> None:
    # The capabilities table is catalogue data: writing it alone moves the catalogue version.
    assert client.get("/api/v1/capabilities").status_code == 200
    sync_catalogue(variant(("name_en: Fermentation}", "name_en: Microbial fermentation}")))

    listed = client.get("/api/v1/capabilities").get_json()["capabilities"]
    assert {c["name"]: c["name_en"] for c in listed}["fermentation"] == "Microbial fermentation"


def test_an_empty_catalogue_matches_nothing(client: FlaskClient, db: Any) -> None:
    assert _matches(client, "q=fermentation") == []
    html = client.get("/match?q=fermentation", headers={"Accept-Language": "en"})
    assert "No capability matches these words." in html.get_data(as_text=True)
