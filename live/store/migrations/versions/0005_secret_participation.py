"""secret participation, panel device binding and PIN

The one-per-voter rule of a secret meeting moves to its own table, which holds no
choice; a panel link remembers the device that first claimed it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('participation',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('voter_key', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'voter_key'),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('panel_member') as batch:
        batch.add_column(sa.Column('bound_device', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('pin_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('panel_member') as batch:
        batch.drop_column('pin_version')
        batch.drop_column('bound_device')
    op.drop_table('participation')
