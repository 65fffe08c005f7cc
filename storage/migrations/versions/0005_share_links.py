"""share links

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Issue 11. A merchant shares one clip with a reviewer: an anonymous link that opens the
verify page with that clip's bundle and the merchant's trust file. Only the hash of the
link's secret is stored; links expire and can be revoked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('share_links',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('clip_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('expires_ms', sa.BigInteger(), nullable=False),
    sa.Column('revoked_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_share_links_token_hash'))
    )
    op.create_index(op.f('ix_share_links_clip_id_id'), 'share_links', ['clip_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_share_links_clip_id_id'), table_name='share_links')
    op.drop_table('share_links')
