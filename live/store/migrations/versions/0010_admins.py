"""installation administrators and their sign-in sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'admin_user',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
    )
    op.create_index('ix_admin_user_name', 'admin_user', ['name'], unique=True)
    op.create_table(
        'admin_session',
        sa.Column('id_hash', sa.String(length=64), primary_key=True),
        sa.Column('admin_id', sa.Integer(), sa.ForeignKey('admin_user.id'), nullable=False),
        sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('last_seen_ms', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('revoked', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_admin_session_admin_id', 'admin_session', ['admin_id'])
    op.create_table(
        'saved_scheme',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=60), nullable=False, unique=True),
        sa.Column('scheme_json', sa.Text(), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venue', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('setup_done', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('archived_at_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('presenter_link_version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('presenter_kind', sa.String(length=30), nullable=False, server_default=''))
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact', sa.String(length=30), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_column('contact')
        batch_op.drop_column('unit')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_column('presenter_kind')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('presenter_link_version')
        batch_op.drop_column('archived_at_ms')
        batch_op.drop_column('setup_done')
        batch_op.drop_column('venue')
    op.drop_table('saved_scheme')
    op.drop_index('ix_admin_session_admin_id', table_name='admin_session')
    op.drop_table('admin_session')
    op.drop_index('ix_admin_user_name', table_name='admin_user')
    op.drop_table('admin_user')
