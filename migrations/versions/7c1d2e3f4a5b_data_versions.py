"""data versions: a token every committed write replaces, for caches

Revision ID: 7c1d2e3f4a5b
Revises: 6097d8b864a8
Create Date: 2026-11-23 13:05:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "7c1d2e3f4a5b"
down_revision = "6097d8b864a8"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "data_versions",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(
        table,
        [{"scope": scope, "token": secrets.token_hex(16)} for scope in ("all", "catalogue", "feeds")],
    )


def downgrade():
    op.drop_table("data_versions")
