"""hub: what each station's bundles carry (its export policy); key entries indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A station's bundles carry the anchors its trust file asks for (witness quorum, an RFC
3161 time-stamp), its verify page and its sheet language. The station sends these with
its anchors, so the hub exports the same bundle byte for byte. The key history of a
log (station-key and key-revocation entries) is read at every push the hub checks: an
index on (log_id, kind) keeps that from reading every entry of a growing log.
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
    op.create_index('ix_entries_log_id_kind', 'entries', ['log_id', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_entries_log_id_kind', table_name='entries')
    op.drop_column('hub_stations', 'export_policy')
