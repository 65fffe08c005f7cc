"""Alembic environment: runs on the engine packseal hands it (see storage.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from storage._schema import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    # Command-line use for new revisions: alembic -x url=sqlite:///dev.db revision --autogenerate
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
