"""The Alembic revisions build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from storage import Ed25519Signer, Store
from storage._schema import metadata
from storage.db import alembic_config, connect, migrate
from tests import factories as f


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = connect(db_url)
    try:
        migrate(engine)
        migrate(engine)  # idempotent
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_a_two_view_clip_indexed_before_0009_gets_each_views_count(
    store: Store, station_signer: Ed25519Signer
) -> None:
    segs = f.two_view_segments(3)
    clip = f.two_view_clip(station_signer, segs)
    store.append([*segs, clip])
    engine = store._engine  # the index as 0008 left it: no counts, then 0009 fills them
    command.downgrade(alembic_config(engine), "0008")
    command.upgrade(alembic_config(engine), "head")
    row = store.clip(clip.clip_id)
    assert row is not None
    assert (row.views, row.view_segments, row.segment_count) == (("top", "side"), (3, 3), 3)


def test_downgrading_a_store_with_clips_keeps_them_and_goes_to_the_start(
    store: Store, station_signer: Ed25519Signer
) -> None:
    """0008's downgrade rebuilds `clips` and `segments` on SQLite (batch mode): with clips
    indexed, dropping the old `clips` tripped clip_tracking's foreign key. Every index row
    stays through the downgrade to 0007, and the whole chain goes down to an empty database."""
    segs = f.two_view_segments(3)
    clip = f.two_view_clip(station_signer, segs)
    store.append([*segs, clip])
    engine = store._engine
    tables = ("clips", "clip_tracking", "segments")

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                t: conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar_one()
                for t in tables
            }

    before = counts()
    assert before == {"clips": 1, "clip_tracking": 1, "segments": 6}
    command.downgrade(alembic_config(engine), "0007")
    assert counts() == before
    with engine.connect() as conn:
        assert "views" not in {c["name"] for c in inspect(conn).get_columns("clips")}
        (tracked,) = conn.execute(text("select clip_id, tracking_id from clip_tracking")).all()
    assert tuple(tracked) == (clip.clip_id, "TRK-1234-5678")
    if engine.dialect.name == "sqlite":  # enforced again on the connection the store reuses
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    command.downgrade(alembic_config(engine), "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
