"""catalogue text in both languages: place, hosts, contact, closures, maintenance, capabilities

Revision ID: bilingual01
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-04 16:05:00

Single-language text is copied into both columns (its language is unknown) until the next
catalogue sync writes both; a maintenance reason goes to the column of its script (Han: zh).
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "bilingual01"
down_revision = "replay01a"
branch_labels = None
depends_on = None

HAN = re.compile(r"[\u3400-\u9fff]")
PAIRS = (("city", 100), ("district", 100), ("address", 300), ("contact_name", 100))


def _drop_column(table, column):
    # A native DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch would copy and drop the table,
    # which SQLite's enforced foreign keys refuse once equipment or proposals point at it.
    op.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')


def upgrade():
    op.create_table(
        "capabilities",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_capabilities")),
    )
    with op.batch_alter_table("facilities") as batch:
        for name, length in PAIRS:
            for language in ("zh", "en"):
                batch.add_column(
                    sa.Column(
                        f"{name}_{language}",
                        sa.String(length=length),
                        nullable=False,
                        server_default="",
                    )
                )
    with op.batch_alter_table("maintenance_windows") as batch:
        for language in ("zh", "en"):
            batch.add_column(
                sa.Column(
                    f"reason_{language}", sa.String(length=200), nullable=False, server_default=""
                )
            )
    bind = op.get_bind()
    facilities = sa.table(
        "facilities",
        sa.column("id", sa.Integer),
        sa.column("host_institutions", sa.JSON),
        sa.column("closures", sa.JSON),
        *(sa.column(name, sa.String) for name, _ in PAIRS),
        *(sa.column(f"{name}_{lang}", sa.String) for name, _ in PAIRS for lang in ("zh", "en")),
    )
    for row in bind.execute(sa.select(facilities)).mappings().all():
        values = {}
        for name, _ in PAIRS:
            values[f"{name}_zh"] = values[f"{name}_en"] = row[name] or ""
        values["host_institutions"] = [
            {"name_zh": host, "name_en": host} if isinstance(host, str) else host
            for host in row["host_institutions"] or []
        ]
        closures = []
        for closure in row["closures"] or []:
            closure = dict(closure)
            reason = closure.pop("reason", "")
            closure.setdefault("reason_zh", reason)
            closure.setdefault("reason_en", reason)
            closures.append(closure)
        values["closures"] = closures
        bind.execute(facilities.update().where(facilities.c.id == row["id"]).values(**values))
    windows = sa.table(
        "maintenance_windows",
        sa.column("id", sa.Integer),
        sa.column("reason", sa.String),
        sa.column("reason_zh", sa.String),
        sa.column("reason_en", sa.String),
    )
    for row in bind.execute(sa.select(windows.c.id, windows.c.reason)).mappings().all():
        if row["reason"]:
            column = "reason_zh" if HAN.search(row["reason"]) else "reason_en"
            bind.execute(
                windows.update().where(windows.c.id == row["id"]).values({column: row["reason"]})
            )
    for name, _ in PAIRS:
        _drop_column("facilities", name)
    _drop_column("maintenance_windows", "reason")


def downgrade():
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(length=200), nullable=False, server_default="")
        )
    op.execute("UPDATE maintenance_windows SET reason = COALESCE(NULLIF(reason_zh, ''), reason_en)")
    _drop_column("maintenance_windows", "reason_zh")
    _drop_column("maintenance_windows", "reason_en")
    with op.batch_alter_table("facilities") as batch:
        for name, length in PAIRS:
            batch.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
    for name, _ in PAIRS:
        op.execute(f"UPDATE facilities SET {name} = {name}_zh")
    for name, _ in PAIRS:
        _drop_column("facilities", f"{name}_zh")
        _drop_column("facilities", f"{name}_en")
    op.drop_table("capabilities")
