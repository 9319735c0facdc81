"""one unfinished solve run per facility, enforced by a partial unique index

Revision ID: edges01a
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-04 16:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "edges01a"
down_revision = "notify01a"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('queued', 'running')"


def upgrade():
    # Two unfinished runs of one facility could exist before the rule: the older ones fail,
    # as the interrupted-run check would have failed them.
    op.execute(
        sa.text(
            "UPDATE solve_runs SET status = 'failed', finished_at = CURRENT_TIMESTAMP, "
            "error = 'Superseded by a newer solve of the facility.' "
            f"WHERE {UNFINISHED} AND id NOT IN ("
            f"SELECT max(id) FROM solve_runs WHERE {UNFINISHED} GROUP BY facility_id)"
        )
    )
    op.create_index(
        "uq_solve_runs_one_unfinished",
        "solve_runs",
        ["facility_id"],
        unique=True,
        sqlite_where=sa.text(UNFINISHED),
        postgresql_where=sa.text(UNFINISHED),
    )


def downgrade():
    op.drop_index("uq_solve_runs_one_unfinished", table_name="solve_runs")
