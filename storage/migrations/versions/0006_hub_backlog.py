"""hub: the backlog each station reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

The station's own count of what it has not sent (entries, blobs, bytes, oldest), sent
with every push so the fleet page shows backlogs the hub cannot see by itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hub_stations', sa.Column('reported_backlog', sa.String(length=200), nullable=True))
    op.add_column('hub_stations', sa.Column('reported_ms', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('hub_stations', 'reported_ms')
    op.drop_column('hub_stations', 'reported_backlog')
