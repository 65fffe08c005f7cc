"""Alembic environment: runs on the engine packseal hands it (see storage.db.migrate).

On SQLite, revisions alter tables in batch mode: a copy of the table, then the old one
dropped and the copy renamed. Dropping a table that others reference (clips, by
clip_tracking) fails while foreign keys are enforced, so, as Alembic's batch documentation
says, they are off while the revisions run; ``PRAGMA foreign_key_check`` then refuses to
commit a schema whose rows point nowhere, and enforcement is back on before the
connection returns to the pool.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, create_engine

from storage._errors import StorageError
from storage._schema import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    # Command-line use for new revisions: alembic -x url=sqlite:///dev.db revision --autogenerate
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])


def _foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite ignores this pragma inside a transaction: it goes to the driver's connection,
    outside SQLAlchemy's (storage.db lets no BEGIN happen implicitly), and is read back."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={int(on)}")
    (found,) = driver.execute("PRAGMA foreign_keys").fetchone()
    if found != on:
        raise StorageError(
            f"SQLite foreign keys should be {'on' if on else 'off'} around the migration, "
            f"found {'on' if found else 'off'} (a transaction was open)",
            hint="migrate on a connection of storage.db.connect",
        )


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if dangling:
                raise StorageError(
                    f"the migration left {len(dangling)} row(s) whose foreign key points "
                    f"nowhere (table, rowid, parent table): {[tuple(r[:3]) for r in dangling]}",
                    hint="nothing was committed; report this with the database's revision "
                    "(alembic_version)",
                )
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if sqlite:
            _foreign_keys(connection, on=True)
