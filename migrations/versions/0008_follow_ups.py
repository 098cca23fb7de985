"""follow-ups: the outbox of messages, the engine's settings, quiet periods, paused partners, admins' template
edits; an assignment keeps its link token sealed with the server's key beside its hash

No data changes: links issued before this revision have no sealed token; the follow-up sender issues a fresh link
for those when a message needs one.

Revision ID: 0008
Revises: 0011
Create Date: 2026-12-05 23:21:46.708024
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0008'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('followupmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('recipients', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recipient_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('queued_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('queued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followupmessage')),
    sa.UniqueConstraint('kind', 'object_id', 'step', name='uq_followupmessage_key')
    )
    with op.batch_alter_table('followupmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followupmessage_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followupmessage_due_on'), ['due_on'], unique=False)
        batch_op.create_index('ix_followupmessage_due_to_send', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followupmessage_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_followupmessage_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followupmessage_status'), ['status'], unique=False)

    op.create_table('followupsettings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reminder_days', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('escalate_after_days', sa.Integer(), nullable=False),
    sa.Column('certificate_expiry_days', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('reverification_days', sa.Integer(), nullable=False),
    sa.Column('annual_review_days', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('revalidation_days', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('weekly_cap', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_minutes', sa.Integer(), nullable=False),
    sa.Column('public_holidays', sa.Boolean(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('disabled_kinds', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followupsettings'))
    )
    op.create_table('messagetemplate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messagetemplate')),
    sa.UniqueConstraint('kind', 'language', name='uq_messagetemplate_kind_language')
    )
    op.create_table('quietperiod',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country_iso2', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['country_iso2'], ['country.iso2'], name=op.f('fk_quietperiod_country_iso2_country')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quietperiod'))
    )
    with op.batch_alter_table('quietperiod', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quietperiod_country_iso2'), ['country_iso2'], unique=False)

    op.create_table('followuppause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_followuppause_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followuppause')),
    sa.UniqueConstraint('partner_id', name=op.f('uq_followuppause_partner_id'))
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_sealed', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('token_sealed')

    op.drop_table('followuppause')
    with op.batch_alter_table('quietperiod', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quietperiod_country_iso2'))

    op.drop_table('quietperiod')
    op.drop_table('messagetemplate')
    op.drop_table('followupsettings')
    with op.batch_alter_table('followupmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followupmessage_status'))
        batch_op.drop_index(batch_op.f('ix_followupmessage_partner_id'))
        batch_op.drop_index(batch_op.f('ix_followupmessage_kind'))
        batch_op.drop_index('ix_followupmessage_due_to_send')
        batch_op.drop_index(batch_op.f('ix_followupmessage_due_on'))
        batch_op.drop_index(batch_op.f('ix_followupmessage_assignment_id'))

    op.drop_table('followupmessage')
