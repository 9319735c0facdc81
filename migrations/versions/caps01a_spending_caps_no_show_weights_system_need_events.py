"""spending caps, no-show weight setting, system need events

Revision ID: caps01a
Revises: vouch01a
Create Date: 2026-12-05 07:46:38.833230

"""

from alembic import op
import sqlalchemy as sa
import app.dbtypes  # noqa: F401  (column types of the models)


# revision identifiers, used by Alembic.
revision = "caps01a"
down_revision = "vouch01a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "spending_caps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", app.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_spending_caps_amount_not_negative")),
        sa.CheckConstraint(
            "period_start <= period_end", name=op.f("ck_spending_caps_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_spending_caps_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_spending_caps_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spending_caps")),
    )
    with op.batch_alter_table("spending_caps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spending_caps_project_id"), ["project_id"], unique=False
        )

    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("no_show_penalty_percent", sa.Integer(), nullable=True))

    with op.batch_alter_table("need_events", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade():
    # The system's own need events (a need served when its request was booked) have no
    # user; the older schema cannot hold them.
    op.execute("DELETE FROM need_events WHERE user_id IS NULL")
    with op.batch_alter_table("need_events", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.drop_column("no_show_penalty_percent")

    with op.batch_alter_table("spending_caps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spending_caps_project_id"))

    op.drop_table("spending_caps")
