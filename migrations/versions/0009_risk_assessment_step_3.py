"""risk assessment step 3: site visits, scoring configuration, assessment snapshots

Snapshots are the record shown to CBP: triggers refuse any UPDATE of them on SQLite and PostgreSQL alike (the
services offer no way to change one either).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 23:20:56.981350
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = ("riskassessment", "riskassessmentscore")


def upgrade() -> None:
    op.create_table('riskassessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('configuration_version', sa.Integer(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('run_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('run_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_riskassessment')),
    sa.UniqueConstraint('name', name=op.f('uq_riskassessment_name'))
    )
    with op.batch_alter_table('riskassessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_riskassessment_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_riskassessment_run_at'), ['run_at'], unique=False)

    op.create_table('riskconfiguration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('saved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('saved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_riskconfiguration'))
    )
    with op.batch_alter_table('riskconfiguration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_riskconfiguration_version'), ['version'], unique=True)

    op.create_table('riskassessmentscore',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('threat', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('vulnerability', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('vulnerability_score', sa.Float(), nullable=True),
    sa.Column('risk', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('matrix_risk', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('certificate_credit', sa.Boolean(), nullable=False),
    sa.Column('incidents', sa.Integer(), nullable=False),
    sa.Column('impact_raised', sa.Boolean(), nullable=False),
    sa.Column('questionnaire_overdue', sa.Boolean(), nullable=False),
    sa.Column('threat_detail', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('vulnerability_detail', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['riskassessment.id'], name=op.f('fk_riskassessmentscore_assessment_id_riskassessment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_riskassessmentscore')),
    sa.UniqueConstraint('assessment_id', 'kind', 'subject_id', name='uq_riskassessmentscore_subject')
    )
    with op.batch_alter_table('riskassessmentscore', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_riskassessmentscore_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('sitevisit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visited_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_sitevisit_partner_id_partner')),
    sa.ForeignKeyConstraint(['site_id'], ['partnersite.id'], name=op.f('fk_sitevisit_site_id_partnersite')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sitevisit'))
    )
    with op.batch_alter_table('sitevisit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sitevisit_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sitevisit_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sitevisit_visited_on'), ['visited_on'], unique=False)

    op.create_table('sitevisitfinding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('finding', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'], name=op.f('fk_sitevisitfinding_criterion_id_criterion')),
    sa.ForeignKeyConstraint(['visit_id'], ['sitevisit.id'], name=op.f('fk_sitevisitfinding_visit_id_sitevisit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sitevisitfinding')),
    sa.UniqueConstraint('visit_id', 'criterion_id', name='uq_sitevisitfinding_visit_criterion')
    )
    with op.batch_alter_table('sitevisitfinding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sitevisitfinding_visit_id'), ['visit_id'], unique=False)

    for table in IMMUTABLE:
        _refuse_updates(table)


def _refuse_updates(table: str) -> None:
    message = f"{table}: an assessment snapshot is never changed"
    if _postgres():
        op.execute(f"CREATE FUNCTION {table}_immutable() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                   f"'{message}'; END $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION "
                   f"{table}_immutable()")
    else:
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, "
                   f"'{message}'); END")


def _allow_updates(table: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update" + (f" ON {table}" if _postgres() else ""))
    if _postgres():
        op.execute(f"DROP FUNCTION IF EXISTS {table}_immutable()")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def downgrade() -> None:
    for table in IMMUTABLE:
        _allow_updates(table)
    with op.batch_alter_table('sitevisitfinding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sitevisitfinding_visit_id'))

    op.drop_table('sitevisitfinding')
    with op.batch_alter_table('sitevisit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sitevisit_visited_on'))
        batch_op.drop_index(batch_op.f('ix_sitevisit_site_id'))
        batch_op.drop_index(batch_op.f('ix_sitevisit_partner_id'))

    op.drop_table('sitevisit')
    with op.batch_alter_table('riskassessmentscore', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_riskassessmentscore_assessment_id'))

    op.drop_table('riskassessmentscore')
    with op.batch_alter_table('riskconfiguration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_riskconfiguration_version'))

    op.drop_table('riskconfiguration')
    with op.batch_alter_table('riskassessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_riskassessment_run_at'))
        batch_op.drop_index(batch_op.f('ix_riskassessment_as_of'))

    op.drop_table('riskassessment')
