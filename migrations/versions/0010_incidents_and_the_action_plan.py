"""incidents and the action plan: the incident register (MSC 7.37), action items with their evidence and history

Statuses and kinds are VARCHAR holding the values of their StrEnums (models.common.EnumText), no database enum type.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-05 23:19:48.766973
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0010'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('lane_id', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('reported_to', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
    sa.Column('investigation', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('closing_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lane_id'], ['lane.id'], name=op.f('fk_incident_lane_id_lane')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_incident_partner_id_partner')),
    sa.ForeignKeyConstraint(['site_id'], ['partnersite.id'], name=op.f('fk_incident_site_id_partnersite')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_lane_id'), ['lane_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_occurred_on'), ['occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_status'), ['status'], unique=False)

    op.create_table('actionitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
    sa.Column('cause_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=130), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('lane_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('iso2', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('threat_category', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('answer_value', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('shared_with_partner', sa.Boolean(), nullable=False),
    sa.Column('closing_note', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('review_comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('observed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cause_gone_on', sa.Date(), nullable=True),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reopened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'], name=op.f('fk_actionitem_criterion_id_criterion')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_actionitem_incident_id_incident')),
    sa.ForeignKeyConstraint(['lane_id'], ['lane.id'], name=op.f('fk_actionitem_lane_id_lane')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_actionitem_owner_id_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_actionitem_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actionitem')),
    sa.UniqueConstraint('source_key', name=op.f('uq_actionitem_source_key'))
    )
    with op.batch_alter_table('actionitem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionitem_cause_key'), ['cause_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_lane_id'), ['lane_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionitem_source'), ['source'], unique=False)
        batch_op.create_index('ix_actionitem_status_due', ['status', 'due_date'], unique=False)

    op.create_table('actionchange',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actionitem.id'], name=op.f('fk_actionchange_action_id_actionitem')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actionchange'))
    )
    with op.batch_alter_table('actionchange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionchange_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionchange_changed_at'), ['changed_at'], unique=False)

    op.create_table('actionevidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actionitem.id'], name=op.f('fk_actionevidence_action_id_actionitem')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actionevidence'))
    )
    with op.batch_alter_table('actionevidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionevidence_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionevidence_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('actionevidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actionevidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_actionevidence_action_id'))

    op.drop_table('actionevidence')
    with op.batch_alter_table('actionchange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actionchange_changed_at'))
        batch_op.drop_index(batch_op.f('ix_actionchange_action_id'))

    op.drop_table('actionchange')
    with op.batch_alter_table('actionitem', schema=None) as batch_op:
        batch_op.drop_index('ix_actionitem_status_due')
        batch_op.drop_index(batch_op.f('ix_actionitem_source'))
        batch_op.drop_index(batch_op.f('ix_actionitem_priority'))
        batch_op.drop_index(batch_op.f('ix_actionitem_partner_id'))
        batch_op.drop_index(batch_op.f('ix_actionitem_owner_id'))
        batch_op.drop_index(batch_op.f('ix_actionitem_lane_id'))
        batch_op.drop_index(batch_op.f('ix_actionitem_incident_id'))
        batch_op.drop_index(batch_op.f('ix_actionitem_cause_key'))

    op.drop_table('actionitem')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_status'))
        batch_op.drop_index(batch_op.f('ix_incident_site_id'))
        batch_op.drop_index(batch_op.f('ix_incident_partner_id'))
        batch_op.drop_index(batch_op.f('ix_incident_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_incident_lane_id'))

    op.drop_table('incident')
