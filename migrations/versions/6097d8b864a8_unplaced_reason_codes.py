"""unplaced reason codes: the code and arguments beside each unplaced reason's text

Both columns are nullable: rows written before reasons had codes keep only their text, and
the pages show that text as it is.

Revision ID: 6097d8b864a8
Revises: 5489964bb147
Create Date: 2026-11-23 12:35:24.482899

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6097d8b864a8"
down_revision = "5489964bb147"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proposal_unplaced", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_detail", sa.JSON(), nullable=True))

    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unplaced_reason_detail", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("unplaced_reason_detail")

    with op.batch_alter_table("proposal_unplaced", schema=None) as batch_op:
        batch_op.drop_column("reason_detail")
