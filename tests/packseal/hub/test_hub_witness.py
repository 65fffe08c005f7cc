"""The hub as one of a station's witnesses (c2sp.org/tlog-witness ``/add-checkpoint``),
driven by the station's own witness client (recorder.anchor.Anchorer), and the refusals
the spec names, over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from packseal.config import HubLinkConfig
from packseal.hub.pusher import Pusher
from recorder.clock import SystemClock
from storage import generate_key_file, load_signer
from storage.checkpoint import Checkpoint, sign_checkpoint
from storage.cosignature import AddCheckpoint, cosignatures
from storage.cosignature import with_cosignatures as cosigned
from storage.entries import Gap
from tests.packseal.hub.conftest import copy_recorded, station_app


def _pusher(app: Any, url: str, token: str) -> Pusher:
    pusher = Pusher(app.store, HubLinkConfig(url=url, token=token), token, SystemClock())
    # The push answer carries the hub's cosignature; drop it, so the station's witness
    # client has to ask the hub the standard way.
    pusher._keep_cosignature = lambda *_: None  # type: ignore[method-assign]
    return pusher


def test_the_stations_witness_client_gets_the_hubs_cosignature(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    token = hub.hub.mirror.enrol("station-01", 0).token
    me = hub.hub.cosigner.verifier
    app = station_app(
        data,
        root,
        "station-01",
        witnesses=[{"url": hub.url, "vkey": me.vkey}],
        time={"retry_seconds": 0.1, "max_retry_seconds": 0.2},
    )
    anchorer = app.anchorer()
    assert anchorer is not None
    try:
        # nothing mirrored yet: the hub witnesses no such log (404), the client keeps it owed
        assert anchorer.drain(3) == 1
        assert "HTTP 404" in anchorer.stats.outcomes[-1].message
        pusher = _pusher(app, hub.url, token)
        assert pusher.cycle().done
        latest = app.store.latest_checkpoint()
        assert latest is not None
        assert app.store.anchors.cosignatures(latest.size) == []
        # old 0 -> 409 with the size the hub cosigned -> again from there -> 200
        assert anchorer.drain(30) == 0
        (sig,) = app.store.anchors.cosignatures(latest.size)
        assert cosignatures(cosigned(latest.note, [sig]), [me])
        assert sig == hub.hub.mirror.anchors_of(app.store.origin).cosignatures(latest.size)[0]
        # a checkpoint past what the hub mirrors: 503, retried after the push
        app.store.append([Gap(time=1, start=1, end=2, reason="restart", after_seq=None)])
        newer = app.store.sign_checkpoint(app.station_signer, 0)
        assert anchorer.drain(2) == 1
        assert "HTTP 503" in anchorer.stats.outcomes[-1].message
        assert pusher.cycle().done
        assert anchorer.drain(30) == 0  # old = the last size, a real consistency proof
        (sig,) = app.store.anchors.cosignatures(newer.size)
        assert cosignatures(cosigned(newer.note, [sig]), [me])
        pusher.close()
    finally:
        anchorer.close()
    # The spec's refusals, over HTTP.
    url = hub.url + "/add-checkpoint"
    size = newer.size

    def post(old: int, note: bytes, proof: tuple[bytes, ...] = ()) -> httpx.Response:
        return httpx.post(url, content=AddCheckpoint(old, proof, note).to_bytes(), timeout=60)

    assert httpx.post(url, content=b"hello", timeout=60).status_code == 400
    assert post(size + 1, newer.note).status_code == 400  # old past the checkpoint
    other = load_signer(_key(tmp_path / "other.pem"), "other.example/log")  # not mirrored
    unknown = sign_checkpoint(Checkpoint("other.example/log", 1, b"\x01" * 32), other)
    assert post(0, unknown).status_code == 404
    stranger = load_signer(_key(tmp_path / "stranger.pem"), app.store.origin)
    forged_key = sign_checkpoint(Checkpoint(app.store.origin, size, newer.root_hash), stranger)
    assert post(size, forged_key).status_code == 403
    conflict = post(0, newer.note)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("text/x.tlog.size")
    assert conflict.text == f"{size}\n"
    assert post(size, newer.note, (b"\x00" * 32,)).status_code == 422  # same size, a proof
    again = post(size, newer.note)  # idempotent: the same cosignature
    assert again.status_code == 200
    assert again.text == sig.line()
    # the station's key signs another root at a size the hub holds: refused and kept
    fork = sign_checkpoint(Checkpoint(app.store.origin, size, b"\x07" * 32), app.station_signer)
    assert post(size, fork).status_code == 422
    assert len(hub.hub.mirror.misbehaviour("station-01")) == 1
    app.close()


def _key(path: Path) -> Path:
    generate_key_file(path)
    return path
