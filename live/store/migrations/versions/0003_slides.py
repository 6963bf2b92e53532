"""slides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:52:58.642811
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deck_pages', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deck_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('slide_page', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_column('slide_page')
        batch_op.drop_column('deck_version')
        batch_op.drop_column('deck_pages')

