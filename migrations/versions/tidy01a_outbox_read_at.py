"""drop outbox.read_at: the inbox (notifications) keeps what a user has read

Revision ID: tidy01a
Revises: matching01a
Create Date: 2026-12-04 18:30:00
"""

import sqlalchemy as sa
from alembic import op

from app.dbtypes import UTCDateTime

revision = "tidy01a"
down_revision = "matching01a"
branch_labels = None
depends_on = None


def upgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild of a table the notifications refer
    # to would be refused by SQLite's foreign keys on a database with rows.
    op.execute('ALTER TABLE outbox DROP COLUMN "read_at"')


def downgrade():
    op.add_column("outbox", sa.Column("read_at", UTCDateTime(timezone=True), nullable=True))
