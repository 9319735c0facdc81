"""solve runs: the solver's seed and work limit, so a run can be replayed exactly

Revision ID: replay01a
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-04 16:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "replay01a"
down_revision = "edges01a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("solve_runs") as batch:
        batch.add_column(sa.Column("seed", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("work_limit", sa.Double(), nullable=True))


def downgrade():
    with op.batch_alter_table("solve_runs") as batch:
        batch.drop_column("work_limit")
        batch.drop_column("seed")
