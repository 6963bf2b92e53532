"""the 整改 office: owner links, escalation, attachments

Each problem gets the version of its owner's link (bumped to revoke it) and its
escalation level (提醒, 函询, 挂牌督办) with the date of the last step; a progress
note may record an escalation step. Attachments of the owner's reports are files
under the data dir; the table keeps their name, type, size and hash.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_link_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('escalation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('escalated_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('progress_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation', sa.Integer(), nullable=True))
    op.create_table(
        'problem_attachment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('problem_id', sa.Integer(), sa.ForeignKey('problem.id'), nullable=False),
        sa.Column('note_id', sa.Integer(), sa.ForeignKey('progress_note.id'), nullable=True),
        sa.Column('filename', sa.String(length=120), nullable=False),
        sa.Column('media_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('stored_name', sa.String(length=80), nullable=False),
        sa.Column('author', sa.String(length=20), nullable=False, server_default='owner'),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False, server_default='0'),
    )
    op.create_index('ix_problem_attachment_problem_id', 'problem_attachment', ['problem_id'])


def downgrade() -> None:
    op.drop_index('ix_problem_attachment_problem_id', table_name='problem_attachment')
    op.drop_table('problem_attachment')
    with op.batch_alter_table('progress_note', schema=None) as batch_op:
        batch_op.drop_column('escalation')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_column('closed_on')
        batch_op.drop_column('escalated_on')
        batch_op.drop_column('escalation')
        batch_op.drop_column('owner_link_version')
