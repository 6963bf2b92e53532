"""meeting record: the hash-chained audit log and the signed record root

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('meeting_id', 'seq')
    )
    op.create_table('meeting_record',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=120), nullable=True),
    sa.Column('public_key', sa.String(length=64), nullable=True),
    sa.Column('key_fingerprint', sa.String(length=16), nullable=True),
    sa.Column('signed_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('published_at_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('meeting_id')
    )


def downgrade() -> None:
    op.drop_table('meeting_record')
    op.drop_table('audit_entry')
