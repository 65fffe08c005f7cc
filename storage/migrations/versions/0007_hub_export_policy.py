"""hub: what each station's bundles carry (its export policy)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A station's bundles carry the anchors its trust file asks for (witness quorum, an RFC
3161 time-stamp), its verify page and its sheet language. The station sends these with
its anchors, so the hub exports the same bundle byte for byte.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hub_stations', sa.Column('export_policy', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('hub_stations', 'export_policy')
