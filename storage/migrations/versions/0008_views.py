"""views: the camera of each segment, the views of each clip (two cameras per station)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A station with several cameras names each segment's view (Segment.view) and each clip
binds every view's segments (Clip.view, Clip.views). The index keeps a segment's view,
with an index to read one view's segments in a range of (station-wide) segment numbers,
and a clip's view names. Both NULL for a one-camera station and every earlier row, which
is what their entries say.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('segments', sa.Column('view', sa.String(length=16), nullable=True))
    op.create_index(
        'ix_segments_log_id_view_seq', 'segments', ['log_id', 'view', 'seq'], unique=False
    )
    op.add_column('clips', sa.Column('views', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clips') as batch:
        batch.drop_column('views')
    op.drop_index('ix_segments_log_id_view_seq', table_name='segments')
    with op.batch_alter_table('segments') as batch:
        batch.drop_column('view')
