"""partner role flags, role conditions on applicability, question texts per entity type with checks

Revision ID: 0004
Revises: names01
Create Date: 2026-12-06 10:00:00

Partners get four nullable role flags (NULL = the entity type's default, seed/entity-roles.csv, so existing
partners follow their type and country until someone sets a flag). Applicability rows get the role condition and
one row per (criterion, entity type). The question-text table is rebuilt with an entity type in its key and the
checks and recommended parts; reference.loader refills it and refreshes the shipped applicability rows (admin
overrides stay) on the next start.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0004'
down_revision: str | None = 'names01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLAGS = ('crosses_land_border', 'stuffs_containers', 'operates_conveyances', 'handles_cargo')


def upgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        for flag in _FLAGS:
            batch_op.add_column(sa.Column(flag, sa.Boolean(), nullable=True))

    # Pairs written twice would be counted twice; keep the lowest id of each (admin rows were created last).
    op.execute(
        "DELETE FROM criterionapplicability WHERE id NOT IN "
        "(SELECT keep FROM (SELECT min(id) AS keep FROM criterionapplicability "
        "GROUP BY criterion_id, entity_type) AS kept)"
    )
    with op.batch_alter_table('criterionapplicability', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role_condition', sqlmodel.sql.sqltypes.AutoString(length=120),
                                      nullable=False, server_default=''))
        batch_op.create_unique_constraint('uq_criterionapplicability_pair', ['criterion_id', 'entity_type'])
    with op.batch_alter_table('criterionapplicability', schema=None) as batch_op:
        batch_op.alter_column('role_condition', server_default=None)

    op.drop_table('criteriontext')
    op.create_table('criteriontext',
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('checks', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recommended', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'],
                            name=op.f('fk_criteriontext_criterion_id_criterion')),
    sa.PrimaryKeyConstraint('criterion_id', 'language', 'entity_type', name=op.f('pk_criteriontext'))
    )


def downgrade() -> None:
    op.drop_table('criteriontext')
    op.create_table('criteriontext',
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.criterion_id'],
                            name=op.f('fk_criteriontext_criterion_id_criterion')),
    sa.PrimaryKeyConstraint('criterion_id', 'language', name=op.f('pk_criteriontext'))
    )
    with op.batch_alter_table('criterionapplicability', schema=None) as batch_op:
        batch_op.drop_constraint('uq_criterionapplicability_pair', type_='unique')
        batch_op.drop_column('role_condition')
    with op.batch_alter_table('partner', schema=None) as batch_op:
        for flag in reversed(_FLAGS):
            batch_op.drop_column(flag)
