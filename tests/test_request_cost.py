"""Round trips a read costs (issue 14): a read answered from a cache opens no transaction on
PostgreSQL, and an API call by token learns the caller's projects with the caller."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.services import create_api_token
from app.catalog.models import Facility
from tests.statements import recorded_statements


def test_a_cached_read_opens_no_transaction_on_postgresql(
    client: FlaskClient, db: Any, make_facility: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted where psycopg sends them: BEGIN and ROLLBACK are round trips of their own."""
    facility = make_facility()
    commands: list[bytes] = []
    if db.engine.dialect.name == "postgresql":
        from psycopg._connection_base import BaseConnection

        send = BaseConnection._exec_command

        def recorded(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            commands.append(command if isinstance(command, bytes) else b"?")
            return send(self, command, *args, **kwargs)

        monkeypatch.setattr(BaseConnection, "_exec_command", recorded)
    for url in ("/api/v1/facilities", f"/facilities/{facility.slug}"):
        client.get(url)
        commands.clear()
        with recorded_statements() as statements:
            assert client.get(url).status_code == 200

        read = [s for s in statements if s != "BEGIN"]
        assert len(read) == 1 and "FROM data_versions" in read[0]
        # SQLite reads the token in the session's transaction (see app/dataversion.py).
        assert commands == []


def test_the_token_read_outside_a_transaction_sees_the_last_write(
    client: FlaskClient, db: Any, make_facility: Any
) -> None:
    facility = make_facility(name_en="Before")
    assert "Before" in client.get("/api/v1/facilities").get_data(as_text=True)
    row = db.session.scalar(select(Facility).where(Facility.id == facility.id))
    row.name_en = "After"
    db.session.commit()

    assert "After" in client.get("/api/v1/facilities").get_data(as_text=True)


def test_a_token_call_loads_the_callers_projects_with_the_caller(
    client: FlaskClient, make_facility: Any, make_equipment: Any, make_project: Any, make_user: Any
) -> None:
    unit = make_equipment(make_facility())
    mine, theirs = make_project(), make_project()
    member = make_user(projects=(mine,))
    _row, secret = create_api_token(member, "cost")
    headers = {"Authorization": f"Bearer {secret}"}
    client.get(f"/api/v1/equipment/{unit.slug}/availability", headers=headers)

    with recorded_statements() as statements:
        response = client.get(f"/api/v1/equipment/{unit.slug}/availability", headers=headers)
        mine_visible = client.get(f"/api/v1/requests?project={mine.id}", headers=headers)
        theirs_visible = client.get(f"/api/v1/requests?project={theirs.id}", headers=headers)

    assert response.status_code == 200
    assert [s for s in statements if s.startswith("SELECT project_memberships")] == []
    # The membership loaded with the caller still decides what they may see.
    assert mine_visible.status_code == 200
    assert theirs_visible.status_code in (403, 404) or theirs_visible.get_json()["requests"] == []
