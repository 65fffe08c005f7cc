"""SIGKILL during batched appends: the log must verify and hold whole batches only."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from storage import Ed25519Signer, Store
from storage.entries import Gap, from_bytes
from tests.conftest import ORIGIN
from tests.forked import forked
from tests.storage.appender import append_batches

BATCH = 25


@pytest.mark.slow
def test_sigkill_leaves_a_prefix_of_whole_batches(
    db_url: str, tmp_path: Path, station_signer: Ed25519Signer
) -> None:
    Store.open(db_url, tmp_path / "blobs", ORIGIN, create=True).close()
    key = station_signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    rng = random.Random(20261129)
    last_printed = -1
    batches = 0
    for trial in range(20):
        before = batches
        # Forked from a server that imported storage once (tests/forked.py): a fresh
        # interpreter spent ~0.65 s of each ~0.85 s trial importing.
        out = tmp_path / f"child-{trial}.out"
        child = forked(
            append_batches, db_url, str(tmp_path / "blobs"), ORIGIN, key, BATCH, output=out
        )
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text().startswith("ready\n")):
            assert child.is_alive(), out.read_text() if out.exists() else "no output"
            assert time.monotonic() < deadline, "the child never opened the store"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.25))
        child.kill()
        child.join()
        assert child.exitcode == -signal.SIGKILL
        printed = [int(x) for x in out.read_text().split()[1:]]
        if printed:
            last_printed = printed[-1]
        # this child started at batch `before`; it printed every batch it committed
        # except, perhaps, the one in flight when it was killed
        seen = printed[-1] + 1 if printed else before

        store = Store.open(db_url, tmp_path / "blobs", ORIGIN)
        try:
            report = store.verify_log([station_signer.verifier])
            assert report.size % BATCH == 0, f"torn batch: {report.size} entries"
            batches = report.size // BATCH
            assert seen <= batches <= seen + 1, (before, printed[-1:], batches)
            for index, data in store.entries(report.size - BATCH if batches else 0):
                entry = from_bytes(data)
                assert isinstance(entry, Gap)
                assert entry.detail == f"batch {index // BATCH} item {index % BATCH}"
        finally:
            store.close()
    assert last_printed > 5, "the child never got going; the test proved nothing"
