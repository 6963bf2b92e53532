"""login sessions

Host and recorder logins become server-side rows: logout revokes one, an idle
timeout ends an unused one, for every worker.

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-30 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'login_session',
        sa.Column('id_hash', sa.String(length=64), primary_key=True),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meeting.id'), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False, server_default='host'),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('last_seen_ms', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('revoked', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_login_session_meeting_id', 'login_session', ['meeting_id'])


def downgrade() -> None:
    op.drop_index('ix_login_session_meeting_id', table_name='login_session')
    op.drop_table('login_session')
