"""The station's anchoring: TSA and witness work beside the main loop, with backoff."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from packseal.witness import init_witness
from recorder.anchor import Anchorer, AnchorSettings, WitnessTarget
from recorder.clock import ManualClock
from storage import Ed25519Signer, Store
from tests.factories import segment
from tests.servers import Tsa, WitnessServer, serve_tsa, serve_witness

ORIGIN = "example.com/acme/station-01"


@pytest.fixture
def log(tmp_path: Path) -> Iterator[tuple[Store, Ed25519Signer]]:
    store = Store.open(f"sqlite:///{tmp_path / 'db'}", tmp_path / "blobs", ORIGIN, create=True)
    signer = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    store.append([segment(i) for i in range(3)])
    store.sign_checkpoint(signer, 0)
    yield store, signer
    store.close()


@pytest.fixture
def tsa() -> Iterator[Tsa]:
    with serve_tsa() as server:
        yield server


@pytest.fixture
def witness(tmp_path: Path, log: tuple[Store, Ed25519Signer]) -> Iterator[WitnessServer]:
    init_witness(tmp_path / "w", "witness.test/w1", [log[1].verifier.vkey])
    with serve_witness(tmp_path / "w") as server:
        yield server


def settle(anchorer: Anchorer, outcomes: int, seconds: float = 10.0) -> None:
    """Poll as the main loop does until ``outcomes`` attempts have ended."""
    deadline = time.monotonic() + seconds
    while len(anchorer.stats.outcomes) < outcomes:
        assert time.monotonic() < deadline, anchorer.stats.outcomes
        anchorer.poll()
        anchorer.clock.advance(0.3)  # type: ignore[attr-defined]
        time.sleep(0.01)


def test_stamps_and_cosigns_the_latest_checkpoint(
    log: tuple[Store, Ed25519Signer], tsa: Tsa, witness: WitnessServer
) -> None:
    store, signer = log
    settings = AnchorSettings(
        (tsa.url,), (tsa.keys.root_pem,), (WitnessTarget(witness.url, witness.vkey),)
    )
    anchorer = Anchorer(store, settings, ManualClock())
    settle(anchorer, 2)
    anchors = store.anchors
    assert len(anchors.stamps(3)) == 1
    assert [s.name for s in anchors.cosignatures(3)] == ["witness.test/w1"]
    assert anchorer.owed() == 0
    # The log grows: the witness is sent a consistency proof from the size it cosigned.
    store.append([segment(i) for i in range(3, 8)])
    store.sign_checkpoint(signer, 1)
    settle(anchorer, 4)
    assert anchors.cosignatures(8)
    assert anchors.stamps(8)
    assert anchors.best_checkpoint(1, witnesses=["witness.test/w1"], quorum=1, stamped=True)
    anchorer.close()


def test_an_offline_tsa_is_retried_with_backoff(log: tuple[Store, Ed25519Signer], tsa: Tsa) -> None:
    store, _ = log
    tsa.down = True
    clock = ManualClock()
    settings = AnchorSettings((tsa.url,), (tsa.keys.root_pem,), retry_seconds=10.0)
    anchorer = Anchorer(store, settings, clock)
    settle(anchorer, 1)
    assert not anchorer.stats.outcomes[-1].ok
    asked = len(tsa.requests)
    for _ in range(20):  # 6 s of station time: inside the 10 s backoff, nothing is sent
        anchorer.poll()
        clock.advance(0.3)
    time.sleep(0.1)
    assert len(tsa.requests) == asked
    tsa.down = False
    clock.advance(5)
    settle(anchorer, 2)
    assert anchorer.stats.outcomes[-1].ok
    assert store.anchors.stamps(3)
    anchorer.close()


def test_polling_never_waits_for_the_network(log: tuple[Store, Ed25519Signer], tsa: Tsa) -> None:
    store, _ = log
    tsa.delay = 1.0
    anchorer = Anchorer(store, AnchorSettings((tsa.url,)), ManualClock())
    slowest = 0.0
    for _ in range(20):
        start = time.perf_counter()
        anchorer.poll()
        slowest = max(slowest, time.perf_counter() - start)
        anchorer.clock.advance(0.3)  # type: ignore[attr-defined]
        time.sleep(0.01)
    assert slowest < 0.5  # a request is in flight for 1 s meanwhile
    settle(anchorer, 1)
    assert anchorer.stats.outcomes[-1].ok  # no roots configured: imprint and nonce checked
    anchorer.close()


def test_an_unreachable_witness_is_an_outcome_not_an_error(
    log: tuple[Store, Ed25519Signer], witness: WitnessServer
) -> None:
    store, _ = log
    dead = WitnessTarget("http://127.0.0.1:9", witness.vkey)  # discard port: refused
    anchorer = Anchorer(store, AnchorSettings(witnesses=(dead,)), ManualClock())
    settle(anchorer, 1)
    assert "unreachable" in anchorer.stats.outcomes[-1].message
    anchorer.close()
