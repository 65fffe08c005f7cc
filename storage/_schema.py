"""The database tables. Changes go through an Alembic revision in ``storage/migrations``.

The log tables (``logs``, ``entries``, ``nodes``, ``checkpoints``) are the evidence. The
others (``blobs``, ``segments``, ``clips``, ``clip_tracking``) are indexes derived from
entries, written in the same transaction, so they can always be rebuilt from the log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

logs = Table(
    "logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("head", LargeBinary(32), nullable=False),  # leaf hash of the last entry
)

entries = Table(
    "entries",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Hash of every perfect subtree (level 0 = leaves): what makes proofs O(log n).
nodes = Table(
    "nodes",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", LargeBinary, nullable=False),
    Column("signed_ms", BigInteger, nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("stored_ms", BigInteger, nullable=False),
    Column("purged_ms", BigInteger, nullable=True),
)

segments = Table(
    "segments",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, nullable=False),
    Column("run", String(64), nullable=False),
    Column("run_index", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("init", String(64), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("dropped", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Index(None, "log_id", "start_ms"),
    Index(None, "log_id", "run"),
)

clips = Table(
    "clips",
    metadata,
    Column("clip_id", String(64), primary_key=True),
    Column("log_id", Integer, ForeignKey("logs.id"), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("end_reason", String(32), nullable=False),
    Column("station", String(128), nullable=False),
    Column("operator", String(128), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger, nullable=False),
    Column("start_ms", BigInteger, nullable=False),  # first segment start
    Column("end_ms", BigInteger, nullable=False),  # last segment end
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("repeat_of", String(64), nullable=True),
    Index(None, "order_id"),
    Index(None, "started_ms"),
    Index(None, "station", "started_ms"),
)

clip_tracking = Table(
    "clip_tracking",
    metadata,
    Column("clip_id", String(64), ForeignKey("clips.clip_id"), primary_key=True),
    Column("tracking_id", String(128), primary_key=True),
    Index(None, "tracking_id"),
)
