"""per-minute interaction samples

One row per worker and wall-clock minute of a live meeting: the sockets online
(phones, screens, panel tablets, host consoles) and the likes taken. The 简报 and
the interaction export read the per-minute series from it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'interaction_sample',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meeting.id'), nullable=False),
        sa.Column('minute_ms', sa.BigInteger(), nullable=False),
        sa.Column('worker', sa.String(length=40), nullable=False),
        sa.Column('audience', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('screens', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('panel', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('hosts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('likes', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
        sa.UniqueConstraint('meeting_id', 'minute_ms', 'worker', name='uq_sample_meeting_minute_worker'),
    )
    op.create_index('ix_interaction_sample_meeting_id', 'interaction_sample', ['meeting_id'])


def downgrade() -> None:
    op.drop_index('ix_interaction_sample_meeting_id', table_name='interaction_sample')
    op.drop_table('interaction_sample')
