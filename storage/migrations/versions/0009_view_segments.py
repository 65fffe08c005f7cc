"""view_segments: each view's segment count of a clip filmed by several cameras

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A two-view clip's segment numbers interleave (they are station-wide), so the span
first_seq..last_seq counted both views' segments (24 for 12 + 12). The index now keeps
each view's count, from the entry. Rows indexed before are filled from the segments index
(each view's segments in the clip's span, as the portal plays them); one-view rows stay
NULL (their span is their count).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clips', sa.Column('view_segments', sa.String(length=48), nullable=True))
    conn = op.get_bind()
    clips = sa.table(
        'clips',
        sa.column('clip_id', sa.String),
        sa.column('log_id', sa.Integer),
        sa.column('first_seq', sa.BigInteger),
        sa.column('last_seq', sa.BigInteger),
        sa.column('views', sa.String),
        sa.column('view_segments', sa.String),
    )
    segments = sa.table(
        'segments',
        sa.column('log_id', sa.Integer),
        sa.column('seq', sa.BigInteger),
        sa.column('view', sa.String),
    )
    rows = conn.execute(sa.select(clips).where(clips.c.views.is_not(None))).all()
    for row in rows:
        counts = [
            conn.execute(
                sa.select(sa.func.count()).where(
                    segments.c.log_id == row.log_id,
                    segments.c.view == view,
                    segments.c.seq.between(row.first_seq, row.last_seq),
                )
            ).scalar_one()
            for view in row.views.split()
        ]
        conn.execute(
            clips.update()
            .where(clips.c.clip_id == row.clip_id)
            .values(view_segments=' '.join(map(str, counts)))
        )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): a batch copy of the table trips the foreign key
    # of clip_tracking on a database that holds clips.
    op.drop_column('clips', 'view_segments')
