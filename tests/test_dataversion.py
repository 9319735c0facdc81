"""Data versions: every committed write replaces the token, whatever path it took; rollbacks,
reads and the scheduler's heartbeat do not; catalogue writes also move the catalogue token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app import dataversion
from app.dbtypes import utcnow
from app.extensions import db
from app.jobs.models import SchedulerLease


def _tokens() -> tuple[str | None, str | None]:
    """Read the tokens as another process would: on a connection of its own."""
    db.session.commit()
    with db.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT scope, token FROM data_versions")).all())
    return rows.get(dataversion.ALL), rows.get(dataversion.CATALOGUE)


def test_a_write_outside_the_catalogue_moves_only_the_all_token(
    db: Any, make_facility: Any, make_project: Any
) -> None:
    make_facility()
    everything, catalogue = _tokens()

    make_project()

    after = _tokens()
    assert after[0] not in (None, everything)
    assert after[1] == catalogue


def test_a_catalogue_write_moves_both_tokens(db: Any, make_facility: Any) -> None:
    make_facility()
    before = _tokens()

    facility = make_facility()
    first = _tokens()
    facility.city_en = "Wuxi"
    db.session.commit()
    second = _tokens()

    assert None not in first and None not in second
    assert len({before[0], first[0], second[0]}) == 3
    assert len({before[1], first[1], second[1]}) == 3


def test_raw_sql_and_engine_level_writes_move_the_token(db: Any, make_project: Any) -> None:
    project = make_project()
    before = _tokens()

    db.session.execute(
        text("UPDATE projects SET name = 'Renamed' WHERE id = :id"), {"id": project.id}
    )
    db.session.commit()
    through_session = _tokens()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM projects WHERE id = :id"), {"id": project.id})
    through_engine = _tokens()

    assert len({before[0], through_session[0], through_engine[0]}) == 3


def test_reads_rollbacks_and_the_scheduler_heartbeat_leave_the_tokens(
    db: Any, make_project: Any
) -> None:
    project = make_project()
    before = _tokens()

    db.session.execute(text("SELECT name FROM projects"))
    db.session.commit()
    project.name = "Never saved"
    db.session.flush()
    db.session.rollback()
    db.session.add(SchedulerLease(name="jobs", holder="a", expires_at=utcnow() + timedelta(1)))
    db.session.commit()

    assert _tokens() == before


def test_cache_drops_everything_kept_under_an_older_token() -> None:
    cache = dataversion.VersionedCache(max_entries=2)
    cache.put("t1", "a", 1)
    cache.put("t1", "b", 2)
    cache.put("t1", "c", 3)

    assert (cache.get("t1", "a"), cache.get("t1", "b"), cache.get("t1", "c")) == (None, 2, 3)
    assert cache.get("t2", "c") is None
    cache.put("t2", "a", 10)
    assert (cache.get("t2", "a"), cache.get("t1", "b")) == (10, None)
    cache.put(None, "x", 1)
    assert cache.get(None, "x") is None


@pytest.mark.parametrize(
    ("touched", "scopes"),
    [
        ({("INSERT", "requests"), ("INSERT", "request_steps"), ("INSERT", "audit_events")}, []),
        ({("INSERT", "step_equipment"), ("UPDATE", "api_tokens")}, []),
        ({("UPDATE", "requests")}, [dataversion.FEEDS]),
        ({("INSERT", "requests"), ("INSERT", "bookings")}, [dataversion.FEEDS]),
        ({("DELETE", "project_memberships")}, [dataversion.FEEDS]),
        ({("UPDATE", "feed_tokens")}, [dataversion.FEEDS]),
        ({("UPDATE", "equipment")}, [dataversion.CATALOGUE, dataversion.FEEDS]),
        ({("TRUNCATE", "*")}, [dataversion.CATALOGUE, dataversion.FEEDS]),
        ({("WITH", "*")}, [dataversion.CATALOGUE, dataversion.FEEDS]),
    ],
)
def test_each_write_moves_the_scopes_that_can_show_it(
    touched: set[tuple[str, str]], scopes: list[str]
) -> None:
    assert dataversion.scopes_moved(touched) == [dataversion.ALL, *scopes]
