"""login sessions; unguessable slide paths

Host and recorder logins become server-side rows: logout revokes one, an idle
timeout ends an unused one, for every worker. Each slide deck gets a random key
that its page images' paths carry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
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
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deck_key', sa.String(length=32), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_column('deck_key')
    op.drop_index('ix_login_session_meeting_id', table_name='login_session')
    op.drop_table('login_session')
