"""Database engines and schema migration (SQLite by default, PostgreSQL for a server).

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk when it returns,
which is what makes an appended entry evidence. Write transactions start with
``BEGIN IMMEDIATE`` so two writers never interleave a read of the log head with an append.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from storage._errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def connect(url: str) -> Engine:
    """Open an engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StorageError(
            f"database URL {url!r} is not a URL",
            hint="use sqlite:///path/to/packseal.db or postgresql+psycopg://user@host/db",
        ) from e
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_events(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, so we choose its kind.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def alembic_config(engine: Engine) -> Config:
    # Imported here, where a store is opened: imported with storage, Alembic cost every
    # `packseal` command ~0.35 s of its start-up (`packseal verify --help`: 1.95-2.13 s
    # before, 1.59-1.77 s after, best 3 of 5 each).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creates it on an empty database)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as e:
        raise StorageError(
            f"cannot open or migrate the database at {engine.url!r}: {e.orig}",
            hint="check the database URL in config.yaml and that the server is reachable",
        ) from e
