"""facilities.fair_share_percent: the per-facility fair-share limit the solver is given

Revision ID: fair01a
Revises: tidy01a
Create Date: 2026-12-04 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "fair01a"
down_revision = "tidy01a"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch rebuild): SQLite's foreign keys refuse rebuilding a table
    # others refer to on a database with rows. No value means no limit, as before.
    op.add_column("facilities", sa.Column("fair_share_percent", sa.Integer(), nullable=True))


def downgrade():
    op.execute('ALTER TABLE facilities DROP COLUMN "fair_share_percent"')
