"""interaction: questions, upvotes, comments, bans, lexicon, 点评, problems, 整改 notes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:27:45.692245
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('banned_word',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=50), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'term', name='uq_banned_word_meeting_term')
    )
    op.create_table('device_ban',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'device_id', name='uq_ban_meeting_device')
    )
    op.create_table('meeting_interaction',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('comment_mode', sa.String(length=8), nullable=False),
    sa.Column('overlay', sa.Boolean(), nullable=False),
    sa.Column('current_question_id', sa.Integer(), nullable=True),
    sa.Column('answer_seconds', sa.Integer(), nullable=False),
    sa.Column('answer_duration_s', sa.Integer(), nullable=False),
    sa.Column('answer_running', sa.Boolean(), nullable=False),
    sa.Column('answer_ends_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('answer_remaining_ms', sa.BigInteger(), nullable=False),
    sa.Column('likes', sa.BigInteger(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('meeting_id')
    )
    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('shown_order', sa.Integer(), nullable=True),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index('ix_comment_meeting_order', ['meeting_id', 'shown_order'], unique=False)
        batch_op.create_index('ix_comment_meeting_status', ['meeting_id', 'status'], unique=False)

    op.create_table('item_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('commenter', sa.String(length=50), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', name='uq_item_review_item')
    )
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_review_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('asker', sa.String(length=50), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('upvotes', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('answered_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('picked_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['panel_member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_question_meeting_status', ['meeting_id', 'status'], unique=False)

    op.create_table('problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=50), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index('ix_problem_meeting_item', ['meeting_id', 'item_id'], unique=False)

    op.create_table('question_upvote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'device_id', name='uq_upvote_question_device')
    )
    op.create_table('progress_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('author', sa.String(length=20), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('progress_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_note_problem_id'), ['problem_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('progress_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_note_problem_id'))

    op.drop_table('progress_note')
    op.drop_table('question_upvote')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_meeting_item')

    op.drop_table('problem')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index('ix_question_meeting_status')
        batch_op.drop_index(batch_op.f('ix_question_item_id'))

    op.drop_table('question')
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_review_meeting_id'))

    op.drop_table('item_review')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_meeting_status')
        batch_op.drop_index('ix_comment_meeting_order')

    op.drop_table('comment')
    op.drop_table('meeting_interaction')
    op.drop_table('device_ban')
    op.drop_table('banned_word')
