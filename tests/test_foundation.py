"""The application shell: configuration, errors, health, migrations, security headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from app import create_app
from app.config import ConfigError, from_environment, normalise_database_url
from tests.conftest import DATABASES, postgres_url_for, reset_postgres_schema


@pytest.fixture(params=DATABASES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    schema = "m_" + request.node.name.split("[")[0][-20:].replace("-", "_")
    reset_postgres_schema(schema)
    return postgres_url_for(schema)


def test_migrations_create_the_schema_the_models_describe(fresh_url: str) -> None:
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {"facilities", "equipment", "bookings", "requests", "alembic_version"} <= tables


def test_postgres_schema_has_the_double_booking_exclusion_constraint(fresh_url: str) -> None:
    if not fresh_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from sqlalchemy import text

    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        found = (
            db.session.execute(text("SELECT conname FROM pg_constraint WHERE contype = 'x'"))
            .scalars()
            .all()
        )
        db.session.remove()
        db.engine.dispose()
    assert "ex_bookings_no_overlap" in found


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment({"PILOTSLOT_ENV": "production"})


def test_production_cookies_are_secure() -> None:
    config = from_environment({"PILOTSLOT_ENV": "production", "SECRET_KEY": "s"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_secret_is_generated_once_and_kept() -> None:
    first = from_environment({})["SECRET_KEY"]
    second = from_environment({})["SECRET_KEY"]
    assert first == second and len(first) >= 32


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_health_checks_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_api_path_is_a_problem_body(client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_unknown_page_is_an_html_page(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


def test_pages_carry_security_headers(client) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_is_served(client) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/me" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_static_answer_holds_no_open_file_when_the_client_goes_away(app) -> None:
    """A client that resets mid-answer makes werkzeug's server skip close(): nothing may leak."""
    import gc
    import warnings

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/static/pilotslot.css").get_environ()
    statuses: list[str] = []
    body = app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        del body
        gc.collect()
    assert statuses == ["200 OK"]
    assert [w.message for w in seen if issubclass(w.category, ResourceWarning)] == []


def test_static_files_still_answer_in_full_and_conditionally(client) -> None:
    first = client.get("/static/pilotslot.css")
    assert first.status_code == 200 and b"{" in first.data
    assert int(first.headers["Content-Length"]) == len(first.data)
    again = client.get("/static/pilotslot.css", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    part = client.get("/static/pilotslot.css", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == first.data[:10]


def test_health_refuses_a_database_not_at_the_migrations_head(app, db) -> None:
    from sqlalchemy import text

    from app.schemaversion import stamp_head

    client = app.test_client()
    db.session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    db.session.commit()
    behind = client.get("/healthz")
    db.session.execute(text("DROP TABLE alembic_version"))
    db.session.commit()
    missing = client.get("/healthz")
    stamp_head()
    back = client.get("/healthz")
    assert behind.status_code == 503 and behind.json["schema"] == "behind"
    assert behind.json["database_revision"] == ["older"]
    assert missing.status_code == 503 and missing.json["schema"] == "missing"
    assert back.status_code == 200


def test_bilingual_migration_keeps_single_language_catalogue_rows(fresh_url: str) -> None:
    from sqlalchemy import text

    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    now = "2026-12-01 00:00:00+00:00"
    with app.app_context():
        upgrade(revision="7c1d2e3f4a5b")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO centres VALUES (1, 'c', '中心', 'Centre')"))
            conn.execute(
                text(
                    "INSERT INTO facilities (id, slug, centre_id, kind, name_zh, name_en, city,"
                    " district, address, host_institutions, timezone, opening_hours, closures,"
                    " contact_name, contact_email, contact_phone, active, auto_publish,"
                    " created_at, updated_at) VALUES (1, 'f', 1, 'pilot_test_base', '基地',"
                    " 'Base', 'Nanjing', 'Jiangbei', '南京市1号', :hosts, 'Asia/Shanghai', '{}',"
                    " :closures, '王老师', '', '', true, false, :now, :now)"
                ),
                {
                    "hosts": '["Nanjing University"]',
                    "closures": '[{"from": "2027-01-01", "to": "2027-01-01", '
                    '"reason": "New Year"}]',
                    "now": now,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO equipment (id, slug, facility_id, name_zh, name_en, capacity,"
                    " hourly_rate_cny, unattended_ok, changeover_minutes, training_required,"
                    " status, description, created_at, updated_at) VALUES (1, 'u', 1, '设备',"
                    " 'Unit', 1, 0, false, 0, false, 'active', '', :now, :now)"
                ),
                {"now": now},
            )
            for window, reason in ((1, "离子源清洗"), (2, "Pump swap")):
                conn.execute(
                    text(
                        'INSERT INTO maintenance_windows (id, equipment_id, start, "end", reason,'
                        " source, created_at, updated_at, sequence) VALUES (:id, 1, :start, :end,"
                        " :reason, 'manual', :now, :now, 0)"
                    ),
                    {
                        "id": window,
                        "start": f"2027-01-0{window} 00:00:00+00:00",
                        "end": f"2027-01-0{window} 08:00:00+00:00",
                        "reason": reason,
                        "now": now,
                    },
                )
        upgrade()
        with db.engine.connect() as conn:
            facility = conn.execute(text("SELECT * FROM facilities")).mappings().one()
            reasons = conn.execute(
                text("SELECT reason_zh, reason_en FROM maintenance_windows ORDER BY id")
            ).all()
        db.engine.dispose()
    assert (facility["city_zh"], facility["city_en"]) == ("Nanjing", "Nanjing")
    assert facility["contact_name_zh"] == "王老师"
    hosts = facility["host_institutions"]
    closures = facility["closures"]
    if isinstance(hosts, str):
        import json

        hosts, closures = json.loads(hosts), json.loads(closures)
    assert hosts == [{"name_zh": "Nanjing University", "name_en": "Nanjing University"}]
    assert closures[0]["reason_en"] == "New Year" and "reason" not in closures[0]
    assert [tuple(r) for r in reasons] == [("离子源清洗", ""), ("", "Pump swap")]
