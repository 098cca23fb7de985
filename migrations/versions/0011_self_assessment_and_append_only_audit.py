"""the company's own security profile (self-assessment, evidence, eligibility) and an append-only audit log

The audit log becomes append-only in the database itself: triggers refuse every UPDATE and DELETE of auditevent
rows, on SQLite and on PostgreSQL, whoever connects (the app, the command line, an admin with a SQL client).

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-05 23:50:21.873253
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0011'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "the audit log is append-only: audit events cannot be changed or deleted"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER auditevent_no_{verb.lower()} BEFORE {verb} ON auditevent "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$"
)
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER auditevent_no_change BEFORE UPDATE OR DELETE ON auditevent "
    "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()",
    "CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()",
]


def upgrade() -> None:
    op.create_table('eligibilitycheck',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('item_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibilitycheck')),
    sa.UniqueConstraint('entity_type', 'item_id', name='uq_eligibilitycheck_item')
    )
    op.create_table('selfassessmententry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('narrative', sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('na_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'],
                            name=op.f('fk_selfassessmententry_criterion_id_criterion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selfassessmententry')),
    sa.UniqueConstraint('criterion_id', name=op.f('uq_selfassessmententry_criterion_id'))
    )
    op.create_table('selfassessmentevidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'],
                            name=op.f('fk_selfassessmentevidence_criterion_id_criterion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selfassessmentevidence'))
    )
    with op.batch_alter_table('selfassessmentevidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_selfassessmentevidence_criterion_id'), ['criterion_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_truncate ON auditevent")
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_change ON auditevent")
        op.execute("DROP FUNCTION IF EXISTS auditevent_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_delete")
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_update")
    with op.batch_alter_table('selfassessmentevidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_selfassessmentevidence_criterion_id'))

    op.drop_table('selfassessmentevidence')
    op.drop_table('selfassessmententry')
    op.drop_table('eligibilitycheck')
