"""The Alembic revisions build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
