"""public voting credentials

The meeting's public voting mode (open, ticket, roster), the voter identities minted
in open mode (with the network prefix only), and tickets and roster voters.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meeting') as batch:
        batch.add_column(sa.Column('public_mode', sa.String(length=8), nullable=False, server_default='open'))
    op.create_table(
        'voter_identity',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meeting.id'), nullable=False),
        sa.Column('device_id', sa.String(length=40), nullable=False),
        sa.Column('ip_prefix', sa.String(length=50), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.UniqueConstraint('meeting_id', 'device_id', name='uq_identity_meeting_device'),
    )
    op.create_index('ix_identity_meeting_prefix', 'voter_identity', ['meeting_id', 'ip_prefix'])
    op.create_table(
        'credential',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meeting.id'), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('batch', sa.Integer(), nullable=False),
        sa.Column('voter_group', sa.String(length=20), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('unit', sa.String(length=100), nullable=False),
        sa.Column('contact', sa.String(length=30), nullable=False),
        sa.Column('device_id', sa.String(length=40), nullable=True),
        sa.Column('bound_at_ms', sa.BigInteger(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.UniqueConstraint('meeting_id', 'kind', 'number', name='uq_credential_number'),
        sa.UniqueConstraint('code_hash', name='uq_credential_code_hash'),
    )
    op.create_index('ix_credential_meeting_id', 'credential', ['meeting_id'])


def downgrade() -> None:
    op.drop_index('ix_credential_meeting_id', table_name='credential')
    op.drop_table('credential')
    op.drop_index('ix_identity_meeting_prefix', table_name='voter_identity')
    op.drop_table('voter_identity')
    with op.batch_alter_table('meeting') as batch:
        batch.drop_column('public_mode')
