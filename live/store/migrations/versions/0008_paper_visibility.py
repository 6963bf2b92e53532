"""paper ballots and results visibility

Ballots get their ``source`` (online or paper); paper entries wait in ``paper_entry``
for their second keying. Meetings get their results visibility and small-group guard;
items keep the result as screens may show it, and whether it is still hidden.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('ballot', sa.Column('source', sa.String(length=8), nullable=False, server_default='online'))
    op.add_column('meeting', sa.Column('results_visibility', sa.String(length=8), nullable=False,
                                       server_default='live'))
    op.add_column('meeting', sa.Column('small_group_k', sa.Integer(), nullable=False, server_default='3'))
    op.add_column('agenda_item', sa.Column('result_public_json', sa.Text(), nullable=True))
    op.add_column('agenda_item', sa.Column('result_hidden', sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    # Results frozen before this revision were shown whole: keep showing them so.
    op.execute("UPDATE agenda_item SET result_public_json = result_json WHERE result_json IS NOT NULL")
    op.create_table('paper_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sheet', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('figures_json', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=60), nullable=False),
    sa.Column('entrant_name', sa.String(length=20), nullable=False),
    sa.Column('second_json', sa.Text(), nullable=True),
    sa.Column('second_by', sa.String(length=60), nullable=True),
    sa.Column('second_name', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ballots', sa.Integer(), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_paper_entry_meeting_id', 'paper_entry', ['meeting_id'])
    op.create_index('ix_paper_entry_item', 'paper_entry', ['item_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_paper_entry_item', table_name='paper_entry')
    op.drop_index('ix_paper_entry_meeting_id', table_name='paper_entry')
    op.drop_table('paper_entry')
    with op.batch_alter_table('agenda_item') as batch:
        batch.drop_column('result_hidden')
        batch.drop_column('result_public_json')
    with op.batch_alter_table('meeting') as batch:
        batch.drop_column('small_group_k')
        batch.drop_column('results_visibility')
    with op.batch_alter_table('ballot') as batch:
        batch.drop_column('source')
