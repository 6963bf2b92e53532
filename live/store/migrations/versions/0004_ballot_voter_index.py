"""ballot voter index

A phone that joins or reconnects reads its own ballots by (meeting, voter); without
this index every join after a vote scanned the whole ballot table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_ballot_meeting_voter', 'ballot', ['meeting_id', 'voter_key'])


def downgrade() -> None:
    op.drop_index('ix_ballot_meeting_voter', table_name='ballot')
