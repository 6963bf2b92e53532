"""meeting spine

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:02:15.800941
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('scheme_json', sa.Text(), nullable=False),
    sa.Column('durations_json', sa.Text(), nullable=False),
    sa.Column('host_password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('host_session_version', sa.Integer(), nullable=False),
    sa.Column('current_item_id', sa.Integer(), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('held_on', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('stream_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
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
    sa.Column('presenter_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('presenter_post', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('presenter_unit', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('timer_duration_s', sa.Integer(), nullable=False),
    sa.Column('timer_running', sa.Boolean(), nullable=False),
    sa.Column('timer_ends_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('timer_remaining_ms', sa.BigInteger(), nullable=False),
    sa.Column('voting_opened_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('closed_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('event',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('meeting_id', 'seq')
    )
    op.create_table('panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_member_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('ballot',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('voter_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('voter_group', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
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
