"""meeting spine

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:02:15.800941
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('scheme_json', sa.Text(), nullable=False),
    sa.Column('durations_json', sa.Text(), nullable=False),
    sa.Column('host_password_hash', sa.String(length=255), nullable=False),
    sa.Column('host_session_version', sa.Integer(), nullable=False),
    sa.Column('current_item_id', sa.Integer(), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.String(length=10), nullable=False),
    sa.Column('stream_url', sa.String(length=500), nullable=True),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('started_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('ended_at_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_code'), ['code'], unique=True)

    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('presenter_name', sa.String(length=50), nullable=False),
    sa.Column('presenter_post', sa.String(length=100), nullable=False),
    sa.Column('presenter_unit', sa.String(length=100), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('timer_duration_s', sa.Integer(), nullable=False),
    sa.Column('timer_running', sa.Boolean(), nullable=False),
    sa.Column('timer_ends_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('timer_remaining_ms', sa.BigInteger(), nullable=False),
    sa.Column('voting_opened_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('closed_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('event',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('meeting_id', 'seq')
    )
    op.create_table('panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_member_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('ballot',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('voter_key', sa.String(length=80), nullable=True),
    sa.Column('voter_group', sa.String(length=40), nullable=False),
    sa.Column('choice_json', sa.Text(), nullable=False),
    sa.Column('cast_at_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'voter_key', name='uq_ballot_item_voter')
    )
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.create_index('ix_ballot_item', ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_item')

    op.drop_table('ballot')
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_member_meeting_id'))

    op.drop_table('panel_member')
    op.drop_table('event')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_item_meeting_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_code'))

    op.drop_table('meeting')
