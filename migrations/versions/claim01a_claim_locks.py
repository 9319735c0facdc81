"""the database locks a submitted or paid voucher claim and its draws; a draw is on one claim

Revision ID: claim01a
Revises: caps01a
Create Date: 2026-12-05 08:10:00

"""

from alembic import op

revision = "claim01a"
down_revision = "caps01a"
branch_labels = None
depends_on = None

LOCKED = "a submitted or paid claim and its voucher draws never change"
ORDER = "a claim starts as a draft and is paid only after it is submitted"
TOTAL = "a claim is submitted with the total of its voucher draws"
ONE_CLAIM = "a voucher draw is on one claim only"
KEPT = (
    "id",
    "number",
    "issuer",
    "period_start",
    "period_end",
    "total_fen",
    "created_at",
    "created_by_id",
    "submitted_at",
    "submitted_by_id",
)
SQLITE_KEPT = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT)
POSTGRES_NEW = ", ".join(f"NEW.{c}" for c in KEPT)
POSTGRES_OLD = ", ".join(f"OLD.{c}" for c in KEPT)
SQLITE_DRAWS_SUM = (
    "(SELECT COALESCE(SUM(amount_fen), 0) FROM voucher_draws WHERE claim_id = OLD.id)"
)
ERRCODE = "USING ERRCODE = 'integrity_constraint_violation'; "


def _state(column):
    return f"(SELECT state FROM claims WHERE id = {column})"


# The same statements as app/vouchers/models.py, frozen here.
TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER claims_start_as_draft BEFORE INSERT ON claims "
        "WHEN NEW.state <> 'draft' "
        f"BEGIN SELECT RAISE(ABORT, '{ORDER}'); END",
        "CREATE TRIGGER claims_state_order BEFORE UPDATE ON claims "
        "WHEN OLD.state = 'draft' AND NEW.state NOT IN ('draft', 'submitted') "
        f"BEGIN SELECT RAISE(ABORT, '{ORDER}'); END",
        "CREATE TRIGGER claims_submitted_total BEFORE UPDATE ON claims "
        "WHEN OLD.state = 'draft' AND NEW.state = 'submitted' "
        f"AND NEW.total_fen IS NOT {SQLITE_DRAWS_SUM} "
        f"BEGIN SELECT RAISE(ABORT, '{TOTAL}'); END",
        "CREATE TRIGGER claims_locked BEFORE UPDATE ON claims "
        "WHEN OLD.state IN ('submitted', 'paid') AND NOT (OLD.state = 'submitted' "
        f"AND NEW.state = 'paid' AND {SQLITE_KEPT}) "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END",
        "CREATE TRIGGER voucher_draws_one_claim BEFORE UPDATE ON voucher_draws "
        "WHEN OLD.claim_id IS NOT NULL AND NEW.claim_id IS NOT NULL "
        "AND NEW.claim_id <> OLD.claim_id "
        f"BEGIN SELECT RAISE(ABORT, '{ONE_CLAIM}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_update BEFORE UPDATE ON voucher_draws "
        f"WHEN {_state('OLD.claim_id')} IN ('submitted', 'paid') "
        f"OR (NEW.claim_id IS NOT OLD.claim_id AND {_state('NEW.claim_id')} "
        "IN ('submitted', 'paid')) "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_delete BEFORE DELETE ON voucher_draws "
        f"WHEN {_state('OLD.claim_id')} IN ('submitted', 'paid') "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_insert BEFORE INSERT ON voucher_draws "
        f"WHEN {_state('NEW.claim_id')} IN ('submitted', 'paid') "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_locked_claim_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        f"  IF NEW.state <> 'draft' THEN RAISE EXCEPTION '{ORDER}' {ERRCODE} END IF; "
        "  RETURN NEW; "
        "END IF; "
        "IF OLD.state = 'draft' THEN "
        "  IF NEW.state NOT IN ('draft', 'submitted') THEN "
        f"    RAISE EXCEPTION '{ORDER}' {ERRCODE}"
        "  END IF; "
        "  IF NEW.state = 'submitted' AND NEW.total_fen IS DISTINCT FROM "
        "(SELECT COALESCE(SUM(amount_fen), 0) FROM voucher_draws WHERE claim_id = OLD.id) THEN "
        f"    RAISE EXCEPTION '{TOTAL}' {ERRCODE}"
        "  END IF; "
        "  RETURN NEW; "
        "END IF; "
        "IF OLD.state = 'submitted' AND NEW.state = 'paid' "
        f"AND ({POSTGRES_NEW}) IS NOT DISTINCT FROM ({POSTGRES_OLD}) THEN "
        "  RETURN NEW; "
        "END IF; "
        f"RAISE EXCEPTION '{LOCKED}' {ERRCODE}"
        "END $$",
        "CREATE TRIGGER claims_locked BEFORE INSERT OR UPDATE ON claims "
        "FOR EACH ROW EXECUTE FUNCTION refuse_locked_claim_change()",
        "CREATE OR REPLACE FUNCTION refuse_locked_draw_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ DECLARE claim_state text; BEGIN "
        "IF TG_OP <> 'INSERT' AND OLD.claim_id IS NOT NULL THEN "
        "  SELECT state INTO claim_state FROM claims WHERE id = OLD.claim_id FOR SHARE; "
        "  IF claim_state IN ('submitted', 'paid') THEN "
        f"    RAISE EXCEPTION '{LOCKED}' {ERRCODE}"
        "  END IF; "
        "END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; "
        "IF TG_OP = 'UPDATE' THEN "
        "  IF OLD.claim_id IS NOT NULL AND NEW.claim_id IS NOT NULL "
        "AND NEW.claim_id <> OLD.claim_id THEN "
        f"    RAISE EXCEPTION '{ONE_CLAIM}' {ERRCODE}"
        "  END IF; "
        "  IF NEW.claim_id IS NOT DISTINCT FROM OLD.claim_id THEN RETURN NEW; END IF; "
        "END IF; "
        "IF NEW.claim_id IS NOT NULL THEN "
        "  SELECT state INTO claim_state FROM claims WHERE id = NEW.claim_id FOR SHARE; "
        "  IF claim_state IN ('submitted', 'paid') THEN "
        f"    RAISE EXCEPTION '{LOCKED}' {ERRCODE}"
        "  END IF; "
        "END IF; "
        "RETURN NEW; "
        "END $$",
        "CREATE TRIGGER voucher_draws_claim_locked BEFORE INSERT OR UPDATE OR DELETE "
        "ON voucher_draws FOR EACH ROW EXECUTE FUNCTION refuse_locked_draw_change()",
    ],
}
DROPS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS claims_start_as_draft",
        "DROP TRIGGER IF EXISTS claims_state_order",
        "DROP TRIGGER IF EXISTS claims_submitted_total",
        "DROP TRIGGER IF EXISTS claims_locked",
        "DROP TRIGGER IF EXISTS voucher_draws_one_claim",
        "DROP TRIGGER IF EXISTS voucher_draws_claim_locked_update",
        "DROP TRIGGER IF EXISTS voucher_draws_claim_locked_delete",
        "DROP TRIGGER IF EXISTS voucher_draws_claim_locked_insert",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS claims_locked ON claims",
        "DROP TRIGGER IF EXISTS voucher_draws_claim_locked ON voucher_draws",
        "DROP FUNCTION IF EXISTS refuse_locked_claim_change()",
        "DROP FUNCTION IF EXISTS refuse_locked_draw_change()",
    ],
}


def upgrade():
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROPS[op.get_bind().dialect.name]:
        op.execute(statement)
