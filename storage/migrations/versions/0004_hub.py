"""the hub: enrolled stations, misbehaviour proofs, a station's outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Issue 9. A station's mirrored log on the hub is an ordinary ``logs`` row; these tables
say which station it belongs to (with its hashed enrolment token), keep refused pushes'
proofs of misbehaviour, and, on a station, how far the hub acknowledged its log and blobs.
Two indexes let the hub check that a pushed blob is named by the station's entries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hub_stations',
    sa.Column('station', sa.String(length=128), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('revoked_ms', sa.BigInteger(), nullable=True),
    sa.Column('log_id', sa.Integer(), nullable=True),
    sa.Column('last_push_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_blob_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_refusal', sa.Text(), nullable=True),
    sa.Column('last_refusal_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['log_id'], ['logs.id'], name=op.f('fk_hub_stations_log_id_logs')),
    sa.PrimaryKeyConstraint('station', name=op.f('pk_hub_stations')),
    sa.UniqueConstraint('log_id', name=op.f('uq_hub_stations_log_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_hub_stations_token_hash'))
    )
    op.create_table('hub_misbehaviour',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('station', sa.String(length=128), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.Column('proof', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_misbehaviour'))
    )
    op.create_index(op.f('ix_hub_misbehaviour_station_id'), 'hub_misbehaviour', ['station', 'id'], unique=False)
    op.create_table('outbox',
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('acked_size', sa.BigInteger(), nullable=False),
    sa.Column('acked_ms', sa.BigInteger(), nullable=True),
    sa.Column('blobs_done_idx', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['log_id'], ['logs.id'], name=op.f('fk_outbox_log_id_logs')),
    sa.PrimaryKeyConstraint('log_id', name=op.f('pk_outbox'))
    )
    op.create_table('hub_acked_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('acked_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_hub_acked_blobs'))
    )
    op.create_index('ix_segments_log_id_sha256', 'segments', ['log_id', 'sha256'], unique=False)
    op.create_index('ix_segments_log_id_init', 'segments', ['log_id', 'init'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_segments_log_id_init', table_name='segments')
    op.drop_index('ix_segments_log_id_sha256', table_name='segments')
    op.drop_table('hub_acked_blobs')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_hub_misbehaviour_station_id'), table_name='hub_misbehaviour')
    op.drop_table('hub_misbehaviour')
    op.drop_table('hub_stations')
