"""flask facilities sync: validation with lines and paths, all-or-nothing, idempotent upsert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalog.models import Capability, Equipment, Facility, MaintenanceWindow
from app.catalog.sync import CatalogueInvalid, SyncReport, sync_catalogue
from app.dbtypes import utcnow
from app.errors import AppError
from app.extensions import db
from tests.catalog.conftest import FIXTURE, FIXTURE_TEXT, dump_catalogue

ROOT = Path(__file__).resolve().parents[2]


def _unit(slug: str) -> Equipment:
    db.session.expire_all()
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    assert unit is not None
    return unit


def _facility(slug: str) -> Facility:
    db.session.expire_all()
    facility = db.session.scalar(select(Facility).where(Facility.slug == slug))
    assert facility is not None
    return facility


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["facilities", "sync", *args])


def test_sync_loads_every_centre_facility_unit_and_maintenance_window(db: Any) -> None:
    report = sync_catalogue(FIXTURE)

    assert report.added[:2] == ["centre north", "centre south"]
    assert "facility gamma-platform" in report.added
    assert "equipment alpha-old" in report.added
    alpha = _facility("alpha-poc")
    assert alpha.kind == "proof_of_concept_centre"
    assert alpha.direction_names == ["biomedicine", "medical_devices"]
    assert alpha.host_institutions == [
        {"name_zh": "中国药科大学", "name_en": "China Pharmaceutical University"}
    ]
    assert (alpha.city_zh, alpha.city_en) == ("南京", "Nanjing")
    assert (alpha.district_zh, alpha.district_en) == ("江北新区", "Jiangbei New Area")
    assert alpha.address_en == "1 Jiangbei New Area, Nanjing, Jiangsu"
    assert alpha.opening_hours["mon"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert "sat" not in alpha.opening_hours
    assert alpha.closures == [
        {"from": "2027-01-01", "to": "2027-01-01", "reason_zh": "元旦", "reason_en": "New Year"},
        {
            "from": "2027-02-06",
            "to": "2027-02-12",
            "reason_zh": "春节",
            "reason_en": "Spring Festival",
        },
    ]
    assert (alpha.contact_name_zh, alpha.contact_name_en) == ("王老师", "Ms Wang")
    assert alpha.contact_email == "alpha@example.org"
    assert {c.slug: (c.name_zh, c.name_en) for c in db.session.scalars(select(Capability))}[
        "lc-ms"
    ] == ("液相色谱-质谱分析", "LC-MS")
    lcms = _unit("alpha-lcms")
    assert lcms.capability_names == ["lc-ms", "small-molecule-quantitation"]
    assert (lcms.capacity, lcms.changeover_minutes, lcms.training_required) == (1, 30, True)
    assert lcms.opening_hours is None
    [window] = lcms.maintenance
    assert window.source == "catalogue"
    assert window.start.isoformat() == "2027-01-18T00:30:00+00:00"
    assert window.end.isoformat() == "2027-01-20T09:30:00+00:00"
    hplc = _unit("alpha-hplc")
    assert hplc.opening_hours == "always"
    assert str(hplc.hourly_rate_cny) == "150.50"
    assert _unit("alpha-old").status == "retired"
    assert _unit("gamma-anechoic").opening_hours == {"sat": [["10:00", "14:00"]]}


def test_second_sync_reports_no_changes_and_writes_nothing(db: Any) -> None:
    sync_catalogue(FIXTURE)
    before = dump_catalogue()

    report = sync_catalogue(FIXTURE)

    assert not report.has_changes
    assert str(report) == "no changes"
    assert dump_catalogue() == before


def test_dry_run_reports_the_changes_but_writes_nothing(db: Any) -> None:
    before = dump_catalogue()

    report = sync_catalogue(FIXTURE, dry_run=True)

    assert "facility alpha-poc" in report.added
    assert str(report).endswith("dry run: nothing was written")
    assert dump_catalogue() == before


def test_changed_fields_are_named(synced: SyncReport, variant: Callable[..., Path]) -> None:
    path = variant(
        ("name_en: LC-MS\n", "name_en: LC-MS (triple quad)\n"),
        ("hourly_rate_cny: 450", "hourly_rate_cny: 480"),
        ("capabilities: [lc-ms, small", "capabilities: [lc-ms, hrms, small"),
        ("city_en: Suzhou", "city_en: Wuxi"),
        ("directions: [biomedicine]\n", "directions: [biomedicine, new_energy]\n"),
    )

    report = sync_catalogue(path)

    assert report.changed == [
        # A unit without a rates block charges hourly_rate_cny to every kind: its card follows.
        ("equipment alpha-lcms", ["name_en", "hourly_rate_cny", "capabilities", "rates"]),
        ("facility beta-pilot", ["city_en", "directions"]),
    ]
    assert "changed equipment alpha-lcms: name_en, hourly_rate_cny, capabilities" in str(report)
    assert not report.added and not report.retired
    lcms = _unit("alpha-lcms")
    assert lcms.capability_names == ["hrms", "lc-ms", "small-molecule-quantitation"]
    assert str(lcms.hourly_rate_cny) == "480.00"
    assert _facility("beta-pilot").direction_names == ["biomedicine", "new_energy"]


def test_the_file_sets_fair_share_only_where_it_names_it(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    assert _facility("gamma-platform").fair_share_percent is None
    named = (
        "    timezone: Europe/Berlin\n",
        "    timezone: Europe/Berlin\n    fair_share_percent: 40\n",
    )
    report = sync_catalogue(variant(named))
    assert report.changed == [("facility gamma-platform", ["fair_share_percent"])]
    assert _facility("gamma-platform").fair_share_percent == 40
    # A manager's later setting stands while the file leaves the field out...
    _facility("gamma-platform").fair_share_percent = 25
    db.session.commit()
    assert not sync_catalogue(FIXTURE).has_changes
    assert _facility("gamma-platform").fair_share_percent == 25
    # ...and null in the file means no limit.
    cleared = (
        "    timezone: Europe/Berlin\n",
        "    timezone: Europe/Berlin\n    fair_share_percent: null\n",
    )
    sync_catalogue(variant(cleared))
    assert _facility("gamma-platform").fair_share_percent is None


def test_the_file_sets_the_no_show_weight_setting_only_where_it_names_it(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    assert _facility("gamma-platform").no_show_penalty_percent is None
    named = (
        "    timezone: Europe/Berlin\n",
        "    timezone: Europe/Berlin\n    no_show_penalty_percent: 25\n",
    )
    report = sync_catalogue(variant(named))
    assert report.changed == [("facility gamma-platform", ["no_show_penalty_percent"])]
    assert _facility("gamma-platform").no_show_penalty_percent == 25
    _facility("gamma-platform").no_show_penalty_percent = 10
    db.session.commit()
    assert not sync_catalogue(FIXTURE).has_changes
    assert _facility("gamma-platform").no_show_penalty_percent == 10


def test_unit_missing_from_the_file_is_retired_not_deleted_and_comes_back(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    block_start = FIXTURE_TEXT.index("      - id: alpha-hplc")
    block_end = FIXTURE_TEXT.index("      - id: alpha-old")
    without = variant((FIXTURE_TEXT[block_start:block_end], ""))

    report = sync_catalogue(without)

    assert report.retired == ["equipment alpha-hplc"]
    assert _unit("alpha-hplc").status == "retired"
    assert str(sync_catalogue(without)) == "no changes"

    report = sync_catalogue(FIXTURE)

    assert report.reactivated == ["equipment alpha-hplc"]
    assert _unit("alpha-hplc").status == "active"


def test_facility_missing_from_the_file_is_deactivated_with_its_units(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    without = variant((FIXTURE_TEXT[FIXTURE_TEXT.index("  - id: gamma-platform") :], ""))

    report = sync_catalogue(without)

    assert report.retired == ["equipment gamma-anechoic", "facility gamma-platform"]
    assert _facility("gamma-platform").active is False
    assert _unit("gamma-anechoic").status == "retired"

    report = sync_catalogue(FIXTURE)

    assert sorted(report.reactivated) == ["equipment gamma-anechoic", "facility gamma-platform"]
    assert _facility("gamma-platform").active is True


def test_file_status_retired_retires_a_unit(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    path = variant(
        (
            "        changeover_minutes: 240\n",
            "        changeover_minutes: 240\n        status: retired\n",
        )
    )

    report = sync_catalogue(path)

    assert report.retired == ["equipment beta-bioreactor"]
    assert _unit("beta-bioreactor").status == "retired"


def test_maintenance_dropped_from_the_file_is_cancelled_and_manual_windows_stay(
    synced: SyncReport, variant: Callable[..., Path]
) -> None:
    lcms = _unit("alpha-lcms")
    manual = MaintenanceWindow(
        equipment=lcms,
        start=utcnow().replace(year=2027, month=3, day=1, microsecond=0),
        end=utcnow().replace(year=2027, month=3, day=2, microsecond=0),
        reason_en="Vacuum pump",
        source="manual",
    )
    db.session.add(manual)
    db.session.commit()
    line = (
        '          - {start: "2027-01-18T08:30:00+08:00", end: "2027-01-20T17:30:00+08:00", '
        "reason_zh: 离子源清洗, reason_en: Source cleaning}\n"
    )
    without = variant(("        maintenance:\n" + line, ""))

    report = sync_catalogue(without)

    assert report.changed == [("equipment alpha-lcms", ["maintenance"])]
    windows = {w.source: w for w in _unit("alpha-lcms").maintenance}
    assert windows["catalogue"].cancelled_at is not None
    assert windows["catalogue"].sequence == 1
    assert windows["manual"].cancelled_at is None and windows["manual"].reason_en == "Vacuum pump"

    sync_catalogue(variant((line, line.replace("Source cleaning", "Source and lens cleaning"))))

    windows = {w.source: w for w in _unit("alpha-lcms").maintenance}
    assert windows["catalogue"].cancelled_at is None
    assert windows["catalogue"].reason_en == "Source and lens cleaning"
    assert windows["catalogue"].reason_zh == "离子源清洗"
    assert windows["catalogue"].sequence == 2


def test_cli_prints_the_report_and_no_changes_on_the_second_run(app: Flask) -> None:
    first = _run(app, "--file", str(FIXTURE))
    second = _run(app, "--file", str(FIXTURE))

    assert first.exit_code == 0, first.stderr
    assert "added facility alpha-poc" in first.stdout
    assert second.exit_code == 0
    assert second.stdout.strip() == "no changes"


def test_a_file_that_would_retire_most_of_the_catalogue_is_refused(
    app: Flask, synced: SyncReport, variant: Callable[..., Path]
) -> None:
    # A truncated or wrong file: only the first facility and its units are left.
    first_end = FIXTURE_TEXT.index("  - id: beta-pilot")
    truncated = variant((FIXTURE_TEXT[first_end:], ""))
    before = dump_catalogue()

    result = _run(app, "--file", str(truncated))

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "2 of 3 facilities" in lines[0] and "--allow-retire" in lines[0]
    assert "2 of 4 equipment units" in lines[0]
    assert dump_catalogue() == before
    with pytest.raises(AppError) as caught:
        sync_catalogue(truncated, dry_run=True)
    assert caught.value.field == "file"
    assert dump_catalogue() == before

    allowed = _run(app, "--file", str(truncated), "--allow-retire")
    assert allowed.exit_code == 0, allowed.stderr
    assert "retired facility gamma-platform" in allowed.stdout
    assert _facility("gamma-platform").active is False


def test_an_empty_catalogue_cannot_retire_everything_silently(
    app: Flask, synced: SyncReport, tmp_path: Path
) -> None:
    empty = tmp_path / "facilities.yaml"
    head = FIXTURE_TEXT[: FIXTURE_TEXT.index("facilities:\n")]
    empty.write_text(head + "facilities: []\n", encoding="utf-8")
    before = dump_catalogue()
    result = _run(app, "--file", str(empty))
    assert result.exit_code != 0 and "3 of 3 facilities" in result.stderr
    assert dump_catalogue() == before


# ---------------------------------------------------------------- broken files

MARK = "  # <- broken"

BROKEN: dict[str, tuple[tuple[str, str], str]] = {
    "yaml syntax": (
        ("    city_en: Suzhou\n", "    city_en: [Suzhou\n"),
        "not valid YAML",
    ),
    "unknown field": (
        (
            "        changeover_minutes: 30\n",
            f"        changeover_minutes: 30\n        colour: red{MARK}\n",
        ),
        "facilities[0].equipment[0].colour: is not a known field",
    ),
    "wrong type": (
        ("        capacity: 2\n", f'        capacity: "two"{MARK}\n'),
        "facilities[1].equipment[0].capacity: must be a whole number",
    ),
    "capacity below one": (
        ("        capacity: 2\n", f"        capacity: 0{MARK}\n"),
        "facilities[1].equipment[0].capacity: must be at least 1",
    ),
    "duplicate equipment id": (
        ("      - id: alpha-hplc\n", f"      - id: alpha-lcms{MARK}\n"),
        "facilities[0].equipment[1].id: alpha-lcms is used twice",
    ),
    "unknown centre": (
        ("    centre: south\n", f"    centre: east{MARK}\n"),
        "facilities[1].centre: no centre has the id east",
    ),
    "unknown kind": (
        ("    kind: pilot_test_base\n", f"    kind: pilot_plant{MARK}\n"),
        "facilities[1].kind: must be one of: proof_of_concept_centre",
    ),
    "reversed time range": (
        ('      tue: ["08:30-17:30"]\n', f'      tue: ["17:30-08:30"]{MARK}\n'),
        "facilities[0].opening_hours.tue: 17:30-08:30: the start must come before the end",
    ),
    "malformed time range": (
        ('      tue: ["08:30-17:30"]\n', f'      tue: ["8.30-17.30"]{MARK}\n'),
        "facilities[0].opening_hours.tue[0]: must be a time range written HH:MM-HH:MM",
    ),
    "overlapping time ranges": (
        ('      wed: ["08:30-17:30"]\n', f'      wed: ["08:30-12:00", "11:00-17:30"]{MARK}\n'),
        "facilities[0].opening_hours.wed: time ranges must not overlap",
    ),
    "fair share above 100 percent": (
        (
            "    timezone: Europe/Berlin\n",
            f"    timezone: Europe/Berlin\n    fair_share_percent: 150{MARK}\n",
        ),
        "facilities[2].fair_share_percent: must be at most 100",
    ),
    "no-show weight setting above 90 percent": (
        (
            "    timezone: Europe/Berlin\n",
            f"    timezone: Europe/Berlin\n    no_show_penalty_percent: 95{MARK}\n",
        ),
        "facilities[2].no_show_penalty_percent: must be at most 90",
    ),
    "no-show weight setting as text": (
        (
            "    timezone: Europe/Berlin\n",
            f"    timezone: Europe/Berlin\n    no_show_penalty_percent: half{MARK}\n",
        ),
        "no_show_penalty_percent: must be a whole number of percent, or null for off",
    ),
    "fair share of no percent": (
        (
            "    timezone: Europe/Berlin\n",
            f"    timezone: Europe/Berlin\n    fair_share_percent: 0{MARK}\n",
        ),
        "facilities[2].fair_share_percent: must be at least 1",
    ),
    "fair share as a fraction": (
        (
            "    timezone: Europe/Berlin\n",
            f"    timezone: Europe/Berlin\n    fair_share_percent: 0.5{MARK}\n",
        ),
        "fair_share_percent: must be a whole number of percent, or null for no limit",
    ),
    "fair share as text": (
        (
            "    timezone: Europe/Berlin\n",
            f'    timezone: Europe/Berlin\n    fair_share_percent: "50%"{MARK}\n',
        ),
        "fair_share_percent: must be a whole number of percent, or null for no limit",
    ),
    "unknown time zone": (
        ("    timezone: Europe/Berlin\n", f"    timezone: Mars/Olympus_Mons{MARK}\n"),
        "facilities[2].timezone: Mars/Olympus_Mons is not an IANA time zone",
    ),
    "naive maintenance datetime": (
        ('{start: "2027-01-18T08:30:00+08:00"', '{start: "2027-01-18T08:30:00"'),
        "facilities[0].equipment[0].maintenance[0].start: must carry its UTC offset",
    ),
    "maintenance ending before it starts": (
        ('end: "2027-01-20T17:30:00+08:00"', 'end: "2027-01-17T17:30:00+08:00"'),
        "facilities[0].equipment[0].maintenance[0].end: must come after start",
    ),
    "impossible closure date": (
        (
            "      - {date: 2027-01-01, reason_zh: 元旦, reason_en: New Year}\n",
            f"      - {{date: 2027-02-30, reason_zh: 元旦, reason_en: New Year}}{MARK}\n",
        ),
        "facilities[0].closures[0].date: 2027-02-30 is not a calendar date",
    ),
    "missing required field": (
        ("    city_en: Suzhou\n", ""),
        "facilities[1].city_en: is required",
    ),
    "district in one language": (
        ("    district_en: Suzhou Industrial Park\n", ""),
        "facilities[1].district_zh: is given without district_en: shown text needs both languages",
    ),
    "closure reason in one language": (
        (
            "      - {from: 2027-02-06, to: 2027-02-12, reason_zh: 春节, "
            "reason_en: Spring Festival}\n",
            f"      - {{from: 2027-02-06, to: 2027-02-12, reason_en: Spring Festival}}{MARK}\n",
        ),
        "facilities[0].closures[1].reason_en: is given without reason_zh",
    ),
    "maintenance reason in one language": (
        (
            "reason_zh: 离子源清洗, reason_en: Source cleaning}",
            f"reason_en: Source cleaning}}{MARK}",
        ),
        "facilities[0].equipment[0].maintenance[0].reason_en: is given without reason_zh",
    ),
    "contact name in one language": (
        ("{name_zh: 王老师, name_en: Ms Wang, ", "{name_en: Ms Wang, "),
        "facilities[0].contact.name_en: is given without name_zh",
    ),
    "single-language city": (
        ("    city_zh: 苏州\n    city_en: Suzhou\n", f"    city: Suzhou{MARK}\n"),
        "facilities[1].city: is written in one language: shown text needs city_zh and city_en",
    ),
    "host institution as plain text": (
        (
            "      - {name_zh: 苏州大学, name_en: Soochow University}\n",
            f"      - Soochow University{MARK}\n",
        ),
        "facilities[1].host_institutions[0]: must be a mapping with name_zh and name_en",
    ),
    "capability without names": (
        (
            "        capabilities: [bioreactor-200l, fermentation]\n",
            f"        capabilities: [bioreactor-200l, fermentation, perfusion]{MARK}\n",
        ),
        "facilities[1].equipment[0].capabilities[2]: perfusion is not in the capabilities section",
    ),
    "capability named in one language": (
        (
            "  fermentation: {name_zh: 发酵, name_en: Fermentation}",
            f"  fermentation: {{name_zh: 发酵}}{MARK}",
        ),
        "capabilities.fermentation.name_en: is required",
    ),
    "glossary keywords in one language": (
        (
            "    keywords_zh: [液相, 纯度, 杂质]\n"
            "    keywords_en: [liquid chromatography, purity, impurities]\n",
            f"    keywords_zh: [液相, 纯度, 杂质]{MARK}\n",
        ),
        "capabilities.hplc.keywords_zh: is given without keywords_en",
    ),
    "glossary description in one language": (
        (
            "    description_zh: 高效液相色谱分离和测定化合物。\n"
            "    description_en: Separating and measuring compounds by liquid chromatography.\n",
            "    description_en: Separating and measuring compounds by liquid chromatography."
            f"{MARK}\n",
        ),
        "capabilities.hplc.description_en: is given without description_zh",
    ),
    "glossary keywords as text": (
        (
            "    keywords_zh: [液相, 纯度, 杂质]\n",
            f"    keywords_zh: 液相{MARK}\n",
        ),
        "capabilities.hplc.keywords_zh: must be a list",
    ),
    "glossary keyword given twice": (
        (
            "    keywords_zh: [液相, 纯度, 杂质]\n",
            f"    keywords_zh: [液相, 纯度, 液相]{MARK}\n",
        ),
        "capabilities.hplc.keywords_zh: must not list an item twice",
    ),
    "glossary keyword empty": (
        (
            "    keywords_zh: [液相, 纯度, 杂质]\n",
            f'    keywords_zh: [液相, ""]{MARK}\n',
        ),
        "capabilities.hplc.keywords_zh[1]: must not be empty",
    ),
}


def _expected_line(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_refused_with_line_and_path_and_writes_nothing(
    app: Flask, synced: SyncReport, variant: Callable[..., Path], case: str
) -> None:
    replacement, message = BROKEN[case]
    # A valid change rides along: a partial write would show in the dump.
    path = variant(replacement, ("hourly_rate_cny: 800", "hourly_rate_cny: 850"))
    before = dump_catalogue()

    result = _run(app, "--file", str(path))

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("facilities.yaml:")
    assert message in lines[0]
    if MARK in path.read_text(encoding="utf-8"):
        assert lines[0].startswith(f"facilities.yaml:{_expected_line(path, MARK)}: ")
    assert result.stdout == ""
    assert dump_catalogue() == before


def test_error_line_has_the_documented_shape(app: Flask, variant: Callable[..., Path]) -> None:
    path = variant(("        capacity: 2\n", "        capacity: 0\n"))

    result = _run(app, "--file", str(path))

    line = _expected_line(path, "capacity: 0")
    assert result.stderr == (
        f"facilities.yaml:{line}: facilities[1].equipment[0].capacity: must be at least 1\n"
    )


def test_several_errors_are_summarised_then_listed_in_file_order(
    app: Flask, variant: Callable[..., Path]
) -> None:
    path = variant(
        ("        capacity: 2\n", "        capacity: 0\n"),
        ("    kind: pilot_test_base\n", "    kind: pilot_plant\n"),
        ("        changeover_minutes: 30\n", "        changeover_minutes: -1\n"),
    )
    before = dump_catalogue()

    result = _run(app, "--file", str(path))

    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1
    assert lines[0] == "facilities.yaml: 3 problems; nothing was written"
    assert [line.split(": ")[1] for line in lines[1:]] == [
        "facilities[0].equipment[0].changeover_minutes",
        "facilities[1].kind",
        "facilities[1].equipment[0].capacity",
    ]
    assert dump_catalogue() == before


def test_many_errors_are_capped(app: Flask, variant: Callable[..., Path]) -> None:
    path = variant(
        (
            "facilities:\n",
            "facilities:\n" + "".join(f"  - {{id: extra-{n}, colour: red}}\n" for n in range(8)),
        )
    )

    result = _run(app, "--file", str(path))

    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("facilities.yaml: ") and "problems" in lines[0]
    assert len(lines) == 12
    assert lines[-1].startswith("... and ")


def test_missing_file_is_an_error_not_a_traceback(app: Flask, tmp_path: Path) -> None:
    result = _run(app, "--file", str(tmp_path / "nowhere.yaml"))

    assert result.exit_code == 1
    assert result.stderr.startswith("nowhere.yaml: cannot be read")


def test_service_raises_a_validation_error_naming_the_field(
    db: Any, variant: Callable[..., Path]
) -> None:
    path = variant(("    centre: south\n", "    centre: east\n"))

    with pytest.raises(CatalogueInvalid) as raised:
        sync_catalogue(path)

    assert raised.value.status == 422
    assert raised.value.field == "facilities[1].centre"
    assert dump_catalogue() == [[], [], [], [], [], [], []]


def test_the_real_catalogue_validates_and_syncs(db: Any) -> None:
    report = sync_catalogue(ROOT / "facilities.yaml")

    facilities = db.session.scalars(select(Facility)).all()
    units = db.session.scalars(select(Equipment)).all()
    assert len(facilities) >= 6
    assert len(units) >= 40
    assert report.added and not report.retired
    assert str(sync_catalogue(ROOT / "facilities.yaml")) == "no changes"


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_admin_page_sync_builds_and_updates_whole_rows_in_a_logged_in_request(
    app: Flask, client: Any, login: Any, make_user: Any, tmp_path: Path, locale: str
) -> None:
    # Each translated report line reads the user's language from the database while rows
    # are half built; sync_catalogue itself must keep those rows from being flushed.
    login(make_user(is_admin=True, locale=locale))
    catalogue = tmp_path / "facilities.yaml"
    catalogue.write_text(FIXTURE_TEXT, encoding="utf-8")
    app.config["FACILITIES_FILE"] = str(catalogue)
    first = client.post("/admin/sync")
    assert first.status_code == 200, first.get_data(as_text=True)[:2000]
    assert 'id="sync-report"' in first.get_data(as_text=True)
    assert dump_catalogue() == dump_from_cli(app)
    assert _unit("alpha-lcms").capability_names == ["lc-ms", "small-molecule-quantitation"]
    changed = FIXTURE_TEXT.replace("name_en: LC-MS\n", "name_en: LC-MS (upgraded)\n", 1)
    changed = changed.replace('{start: "2027-01-18T08:30', '{start: "2027-01-19T08:30', 1)
    catalogue.write_text(changed, encoding="utf-8")
    second = client.post("/admin/sync")
    assert second.status_code == 200
    assert "alpha-lcms" in second.get_data(as_text=True)
    unit = _unit("alpha-lcms")
    assert unit.name_en == "LC-MS (upgraded)"
    live = [(w.start.day, w.cancelled_at is None) for w in unit.maintenance]
    assert sorted(live) == [(18, False), (19, True)]


def dump_from_cli(app: Flask) -> list[list[tuple[Any, ...]]]:
    """Return the rows a sync of the same file makes from the command line (no request)."""
    result = _run(app, "--file", app.config["FACILITIES_FILE"])
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output
    return dump_catalogue()
