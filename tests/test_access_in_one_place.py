"""Every rule of who may see what lives in app/access.py.

A module that reads a user's memberships or managed facilities (or the tables behind them) to
choose what to show has written an access rule of its own, which can drift from the one in
app/access.py into a data leak. This scan finds such reads in app/ outside the modules that
define or edit memberships."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Attributes of User (and Project) that say who belongs where.
MEMBERSHIP_ATTRIBUTES = {
    "project_ids",
    "facility_ids",
    "memberships",
    "managed_facilities",
    "members",
    "managers",
}
# The models and tables that hold memberships, by name and by table name.
MEMBERSHIP_NAMES = {"ProjectMembership", "facility_managers"}
MEMBERSHIP_TABLES = {"project_memberships", "facility_managers"}

ALLOWED = {
    # The one home of the rules.
    "access.py": "the access rules themselves",
    # Where memberships are defined and written, never read to decide access.
    "accounts/models.py": "defines the membership models",
    "catalog/models.py": "defines Facility.managers, the other side of a relationship",
    "models.py": "gathers the models for Alembic",
    "accounts/services.py": "adds a member to a project",
    "admin/services.py": "the administrator's membership and manager edits",
    "demo.py": "seeds the demo's memberships",
    "api.py": "/api/me describes the caller's own memberships; it filters nothing",
    "accounts/security.py": "loads a token's user with its memberships at once; filters nothing",
}


def membership_reads(source: str) -> list[tuple[int, str]]:
    """Return (line, what) for every read of memberships in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in MEMBERSHIP_ATTRIBUTES
            # app.access's own functions may bear these names: asking it is the point.
            and not (isinstance(node.value, ast.Name) and node.value.id == "access")
        ):
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in MEMBERSHIP_NAMES:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.alias) and node.name in MEMBERSHIP_NAMES:
            found.append((getattr(node, "lineno", 0), f"import {node.name}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(table in node.value for table in MEMBERSHIP_TABLES)
        ):
            found.append((node.lineno, repr(node.value)))
    return sorted(found)


def test_the_scan_finds_a_membership_filter_written_outside_access():
    source = (
        "from app.accounts.models import ProjectMembership\n"
        "def mine(user, query):\n"
        "    return query.where(BookingRequest.project_id.in_(user.project_ids))\n"
        "def managed(user):\n"
        "    return select(Facility).join(Facility.managers)\n"
        "def raw(db):\n"
        "    return db.session.execute(text('select * from facility_managers'))\n"
    )
    assert membership_reads(source) == [
        (1, "import ProjectMembership"),
        (3, ".project_ids"),
        (5, ".managers"),
        (7, "'select * from facility_managers'"),
    ]


def test_the_scan_passes_a_module_that_asks_access():
    source = (
        "from app import access\n"
        "def mine(user, query):\n"
        "    return query.where(access.visible_bookings(user))\n"
        "def managed(user):\n"
        "    return access.managed_facilities(user)\n"
    )
    assert membership_reads(source) == []


def test_no_module_outside_access_filters_by_membership():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        name = path.relative_to(APP).as_posix()
        if name in ALLOWED:
            continue
        offenders.extend(
            f"app/{name}:{line}: {what}"
            for line, what in membership_reads(path.read_text(encoding="utf-8"))
        )
    assert not offenders, (
        "These modules decide who sees what on their own; ask app/access.py instead:\n"
        + "\n".join(offenders)
    )


def test_every_allowed_module_exists():
    missing = [name for name in ALLOWED if not (APP / name).is_file()]
    assert not missing
