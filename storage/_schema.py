"""The database tables. Changes go through an Alembic revision in ``storage/migrations``.

The log tables (``logs``, ``entries``, ``nodes``, ``checkpoints``) are the evidence. The
others (``blobs``, ``segments``, ``clips``, ``clip_tracking``) are indexes derived from
entries, written in the same transaction, so they can always be rebuilt from the log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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
    # The camera of a station with several (Segment.view); NULL: a one-camera station.
    Column("view", String(16), nullable=True),
    Index(None, "log_id", "start_ms"),
    Index(None, "log_id", "run"),
    Index(None, "log_id", "view", "seq"),
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
    # A clip of several views: their names, the primary first, space-separated; NULL for
    # one view. first_seq/last_seq and bytes then span every view.
    Column("views", String(80), nullable=True),
    # Each view's segment count, space-separated, in the order of ``views`` (the entry's
    # own counts: the views' segment numbers interleave, so the span is not a count).
    Column("view_segments", String(48), nullable=True),
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

# -- accounts of the web portal (storage/accounts.py) ----------------------------------
# Not evidence and not derived from the log: who may look at it, and who did.

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# Session and API tokens are stored as SHA-256 of the secret: a copy of the database
# does not give anyone a live login.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("client_ip", String(64), nullable=False),
    Index(None, "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_used_ms", BigInteger, nullable=True),
    Column("revoked_ms", BigInteger, nullable=True),
)

# Append-only: migration 0002 adds triggers that refuse UPDATE and DELETE.
custody_events = Table(
    "custody_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("clip_id", String(64), nullable=True),
    Column("order_id", String(128), nullable=True),
    Column("client_ip", String(64), nullable=False),
    Column("detail", String(255), nullable=False),
    Index(None, "clip_id", "id"),
)

audit_runs = Table(
    "audit_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # running, clean, findings, failed, abandoned
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=True),
    Column("done", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),  # JSON: stats and findings of the report
    Column("error", Text, nullable=True),
)

# RFC 3161 stamps of checkpoint bodies: the request (with the station's nonce) and the
# TSA's response, both DER, as received; gen_ms is the TSA's genTime, for queries.
checkpoint_stamps = Table(
    "checkpoint_stamps",
    metadata,
    Column("log_id", Integer, primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("tsa", String(255), primary_key=True),
    Column("request", LargeBinary, nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("gen_ms", BigInteger, nullable=False),
    Column("stored_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(["log_id", "size"], ["checkpoints.log_id", "checkpoints.size"]),
)

# Witness cosignatures (c2sp.org/tlog-cosignature), one row per witness key.
checkpoint_cosignatures = Table(
    "checkpoint_cosignatures",
    metadata,
    Column("log_id", Integer, primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(255), primary_key=True),
    Column("key_id", BigInteger, primary_key=True, autoincrement=False),
    Column("signature", LargeBinary, nullable=False),
    Column("stored_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(["log_id", "size"], ["checkpoints.log_id", "checkpoints.size"]),
)

# -- the hub (storage/mirror.py): enrolled stations and what they pushed ------------------
# A station's mirrored log is an ordinary row of ``logs`` (with its entries, nodes,
# checkpoints and indexes), so the station's own Store code reads it on the hub.

hub_stations = Table(
    "hub_stations",
    metadata,
    Column("station", String(128), primary_key=True),
    # SHA-256 of the enrolment token, as for API tokens: a database copy logs no one in.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
    Column("log_id", Integer, ForeignKey("logs.id"), nullable=True, unique=True),
    Column("last_push_ms", BigInteger, nullable=True),
    Column("last_blob_ms", BigInteger, nullable=True),
    Column("last_refusal", Text, nullable=True),
    Column("last_refusal_ms", BigInteger, nullable=True),
    # what the station last said it has not sent yet (X-Packseal-Backlog), and when
    Column("reported_backlog", String(200), nullable=True),
    Column("reported_ms", BigInteger, nullable=True),
    # what the station's bundles carry (storage.push.AnchorPush.policy, canonical JSON)
    Column("export_policy", Text, nullable=True),
)

# Proofs that a station signed two checkpoints no append-only log can have produced, in
# the packseal-misbehaviour/v1 format `packseal audit --against` writes.
hub_misbehaviour = Table(
    "hub_misbehaviour",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station", String(128), nullable=False),
    Column("origin", String(255), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("proof", LargeBinary, nullable=False),
    Index(None, "station", "id"),
)

# A station's outbox: how much of its log, and which blobs, the hub acknowledged.
outbox = Table(
    "outbox",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("acked_size", BigInteger, nullable=False),
    Column("acked_ms", BigInteger, nullable=True),
    Column("blobs_done_idx", BigInteger, nullable=False),  # every blob named before: acked
    Column("last_error", Text, nullable=True),
    Column("last_error_ms", BigInteger, nullable=True),
)

hub_acked_blobs = Table(
    "hub_acked_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("acked_ms", BigInteger, nullable=False),
)

# Blob names the hub accepts from a station: what its segment entries name.
Index("ix_segments_log_id_sha256", segments.c.log_id, segments.c.sha256)
Index("ix_segments_log_id_init", segments.c.log_id, segments.c.init)
# The key history (station-key, key-revocation entries) of a log, read at every push the
# hub checks: without it each push read every entry of the mirrored log.
Index("ix_entries_log_id_kind", entries.c.log_id, entries.c.kind)

# Share links: one clip, anonymous, until expires_ms or revoked_ms. Only the SHA-256 of
# a link's secret is kept (a 256-bit random token: a fast hash suffices, as for API
# tokens); every use is a custody event of the clip.
share_links = Table(
    "share_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("clip_id", String(64), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
    Index(None, "clip_id", "id"),
)
