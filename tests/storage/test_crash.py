"""SIGKILL during batched appends: the log must verify and hold whole batches only."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from storage import Ed25519Signer, Store
from storage.entries import Gap, from_bytes
from tests.conftest import ORIGIN

BATCH = 25

CHILD = """
import sys
from cryptography.hazmat.primitives import serialization
from storage import Ed25519Signer, Store
from storage.entries import GENESIS, Gap
url, blobs, origin, key = sys.argv[1:5]
BATCH = int(sys.argv[5])
signer = Ed25519Signer(origin, serialization.load_pem_private_key(key.encode(), None))
store = Store.open(url, blobs, origin)
batch = store.size() // BATCH
print("ready", flush=True)
while True:
    store.append([Gap(batch, batch, batch + 1, "restart", None, f"batch {batch} item {j}")
                  for j in range(BATCH)])
    if batch % 7 == 0:
        store.sign_checkpoint(signer, batch)
    print(batch, flush=True)
    batch += 1
"""


@pytest.mark.slow
def test_sigkill_leaves_a_prefix_of_whole_batches(
    db_url: str, tmp_path: Path, station_signer: Ed25519Signer
) -> None:
    Store.open(db_url, tmp_path / "blobs", ORIGIN, create=True).close()
    key = station_signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    rng = random.Random(20261129)
    root = Path(__file__).resolve().parents[2]
    last_printed = -1
    batches = 0
    for _trial in range(20):
        before = batches
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, str(tmp_path / "blobs"), ORIGIN, key, str(BATCH)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        printed = [int(x) for x in out.split()]
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
