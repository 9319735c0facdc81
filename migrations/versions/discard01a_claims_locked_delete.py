"""the database refuses to delete a submitted or paid voucher claim (a draft may be discarded)

Revision ID: discard01a
Revises: retry01a
Create Date: 2026-12-05 09:15:00

"""

from alembic import op

revision = "discard01a"
down_revision = "retry01a"
branch_labels = None
depends_on = None

LOCKED = "a submitted or paid claim and its voucher draws never change"
ERRCODE = "USING ERRCODE = 'integrity_constraint_violation'; "

# The same statements as app/vouchers/models.py's CLAIM_DELETE_TRIGGERS, frozen here.
TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER claims_locked_delete BEFORE DELETE ON claims "
        "WHEN OLD.state IN ('submitted', 'paid') "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_locked_claim_delete() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF OLD.state IN ('submitted', 'paid') THEN "
        f"  RAISE EXCEPTION '{LOCKED}' {ERRCODE}"
        "END IF; "
        "RETURN OLD; "
        "END $$",
        "CREATE TRIGGER claims_locked_delete BEFORE DELETE ON claims "
        "FOR EACH ROW EXECUTE FUNCTION refuse_locked_claim_delete()",
    ],
}
DROPS = {
    "sqlite": ["DROP TRIGGER IF EXISTS claims_locked_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS claims_locked_delete ON claims",
        "DROP FUNCTION IF EXISTS refuse_locked_claim_delete()",
    ],
}


def upgrade():
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROPS[op.get_bind().dialect.name]:
        op.execute(statement)
