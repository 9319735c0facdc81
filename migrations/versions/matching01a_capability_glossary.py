"""capability glossary for matching: a description and keywords in both languages

Revision ID: matching01a
Revises: bilingual01
Create Date: 2026-12-04 17:10:00

Existing capabilities get an empty glossary until the next catalogue sync writes it.
"""

import sqlalchemy as sa
from alembic import op

revision = "matching01a"
down_revision = "bilingual01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("capabilities") as batch:
        for language in ("zh", "en"):
            batch.add_column(
                sa.Column(f"description_{language}", sa.Text(), nullable=False, server_default="")
            )
            batch.add_column(
                sa.Column(
                    f"keywords_{language}", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
                )
            )


def downgrade():
    for language in ("zh", "en"):
        for name in ("description", "keywords"):
            op.execute(f'ALTER TABLE capabilities DROP COLUMN "{name}_{language}"')
