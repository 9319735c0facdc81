"""usage, rate cards, charges and statements: check-in/out and no-shows, per-unit rate cards
by customer kind, charges, and immutable statements with credit and debit notes

Revision ID: usage01a
Revises: tidy01a
Create Date: 2026-12-04 19:12:25

"""
import sqlalchemy as sa
from alembic import op

import app.dbtypes

revision = 'usage01a'
down_revision = 'fair01a'
branch_labels = None
depends_on = None

MESSAGE = "an issued statement and its billed charges never change"
TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER statements_issued_immutable BEFORE UPDATE ON statements "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER statement_lines_issued_immutable BEFORE UPDATE ON statement_lines "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER charges_billed_immutable BEFORE UPDATE ON charges "
        f"WHEN OLD.statement_id IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_issued_statement_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; "
        "END $$",
        "CREATE TRIGGER statements_issued_immutable BEFORE UPDATE ON statements "
        "FOR EACH ROW EXECUTE FUNCTION refuse_issued_statement_change()",
        "CREATE TRIGGER statement_lines_issued_immutable BEFORE UPDATE ON statement_lines "
        "FOR EACH ROW EXECUTE FUNCTION refuse_issued_statement_change()",
        "CREATE TRIGGER charges_billed_immutable BEFORE UPDATE ON charges "
        "FOR EACH ROW WHEN (OLD.statement_id IS NOT NULL) "
        "EXECUTE FUNCTION refuse_issued_statement_change()",
    ],
}


def upgrade():
    op.create_table('statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('customer_kind', sa.String(length=20), nullable=False),
    sa.Column('subtotal_fen', sa.Integer(), nullable=False),
    sa.Column('voucher_deductions_fen', sa.Integer(), nullable=False),
    sa.Column('payable_fen', sa.Integer(), nullable=False),
    sa.Column('reference_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('issued_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_statements_facility_id_facilities')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_statements_issued_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_statements_project_id_projects')),
    sa.ForeignKeyConstraint(['reference_id'], ['statements.id'], name=op.f('fk_statements_reference_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements')),
    sa.UniqueConstraint('number', name=op.f('uq_statements_number'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statements_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_project_id'), ['project_id'], unique=False)
        batch_op.create_index('uq_statements_one_per_month', ['facility_id', 'project_id', 'month'], unique=True, sqlite_where=sa.text("kind = 'statement'"), postgresql_where=sa.text("kind = 'statement'"))

    op.create_table('rate_cards',
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('incubated_fen', sa.Integer(), nullable=False),
    sa.Column('startup_fen', sa.Integer(), nullable=False),
    sa.Column('university_fen', sa.Integer(), nullable=False),
    sa.Column('external_fen', sa.Integer(), nullable=False),
    sa.Column('assisted_surcharge_fen', sa.Integer(), nullable=False),
    sa.Column('minimum_charge_fen', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_rate_cards_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_rate_cards_updated_by_id_users')),
    sa.PrimaryKeyConstraint('equipment_id', name=op.f('pk_rate_cards'))
    )
    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('customer_kind', sa.String(length=20), nullable=False),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('start', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('hourly_fen', sa.Integer(), nullable=False),
    sa.Column('surcharge_fen', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('minimum_applied', sa.Boolean(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_charges_booking_id_bookings')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_charges_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_charges_facility_id_facilities')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_charges_project_id_projects')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_charges_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_charges_booking_id'))
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charges_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_statement_id'), ['statement_id'], unique=False)

    op.create_table('usage_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('checked_in_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('corrected', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_usage_records_booking_id_bookings')),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_usage_records_checked_in_by_id_users')),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['users.id'], name=op.f('fk_usage_records_checked_out_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_records')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_usage_records_booking_id'))
    )
    op.create_table('statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('equipment_id', sa.Integer(), nullable=True),
    sa.Column('start', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('hourly_fen', sa.Integer(), nullable=False),
    sa.Column('surcharge_fen', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_statement_lines_booking_id_bookings')),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_statement_lines_charge_id_charges')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_statement_lines_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_statement_lines_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_lines_statement_id'), ['statement_id'], unique=False)

    # Plain ADD COLUMN (a batch rebuild of tables others refer to is refused by SQLite's foreign
    # keys on a database with rows); the server defaults fill the rows that exist.
    op.add_column('facilities', sa.Column('no_show_grace_minutes', sa.Integer(), nullable=False, server_default='30'))
    op.add_column('facilities', sa.Column('charge_basis', sa.String(length=10), nullable=False, server_default='actual'))
    op.add_column('facilities', sa.Column('bill_changeover', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('projects', sa.Column('customer_kind', sa.String(length=20), nullable=False, server_default='incubated'))

    # The database refuses to change an issued statement, its lines or a billed charge (the
    # same statements as app/billing/models.py, frozen here).
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)



def downgrade():
    op.execute('ALTER TABLE projects DROP COLUMN "customer_kind"')
    op.execute('ALTER TABLE facilities DROP COLUMN "bill_changeover"')
    op.execute('ALTER TABLE facilities DROP COLUMN "charge_basis"')
    op.execute('ALTER TABLE facilities DROP COLUMN "no_show_grace_minutes"')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS statements_issued_immutable ON statements")
        op.execute("DROP TRIGGER IF EXISTS statement_lines_issued_immutable ON statement_lines")
        op.execute("DROP TRIGGER IF EXISTS charges_billed_immutable ON charges")
        op.execute("DROP FUNCTION IF EXISTS refuse_issued_statement_change()")

    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_lines_statement_id'))

    op.drop_table('statement_lines')
    op.drop_table('usage_records')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_statement_id'))
        batch_op.drop_index(batch_op.f('ix_charges_project_id'))
        batch_op.drop_index(batch_op.f('ix_charges_facility_id'))

    op.drop_table('charges')
    op.drop_table('rate_cards')
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index('uq_statements_one_per_month', sqlite_where=sa.text("kind = 'statement'"), postgresql_where=sa.text("kind = 'statement'"))
        batch_op.drop_index(batch_op.f('ix_statements_project_id'))
        batch_op.drop_index(batch_op.f('ix_statements_facility_id'))

    op.drop_table('statements')
