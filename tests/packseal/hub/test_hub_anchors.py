"""A station that time-stamps (RFC 3161) and witnesses its checkpoints: the hub mirrors
every checkpoint, stamp and cosignature and the station's export policy, so its bundle of
a clip equals the station's byte for byte and verifies against the merchant's trust file.
The TSA and the witness are the test-suite's real servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from packseal.app import App
from packseal.config import HubLinkConfig, load_config
from packseal.hub.pusher import Pusher
from packseal.witness import add_log, init_witness
from recorder.clock import SystemClock
from storage.checkpoint import Checkpoint, sign_checkpoint
from storage.hubanchors import add_anchors
from storage.mirror import MirrorFork, PushInvalid
from storage.note import Signature
from storage.push import AnchorPush
from tests.anchored import WITNESS, station_config
from tests.recording import record_demo
from tests.servers import make_tsa_keys, serve_tsa, serve_witness
from verifier import verify_bundle


@pytest.fixture
def anchored_station(tmp_path: Path, start_hub: Any) -> Any:
    with contextlib.ExitStack() as stack:
        tsa = stack.enter_context(serve_tsa(make_tsa_keys()))
        tsa_root = tmp_path / "tsa-root.pem"
        tsa_root.write_text(tsa.keys.root_pem)
        state = tmp_path / "witness"
        init_witness(state, WITNESS, [])
        witness = stack.enter_context(serve_witness(state))
        config = tmp_path / "config.yaml"
        doc = station_config(tmp_path, tsa, witness, tsa_root, c2pa={"enabled": False})
        doc["station"]["id"] = "station-01"
        config.write_text(yaml.safe_dump(doc))
        app = App(load_config(config), clock=SystemClock())
        app.init()
        add_log(state, app.station_signer.verifier.vkey)
        witness.witness.reload()
        record_demo(app.config.data_dir, orders=2, app=app)
        hub = start_hub(app.config.root_key)
        yield app, hub
        app.close()


def _push(app: App, hub: Any, token: str) -> None:
    link = HubLinkConfig(url=hub.url, token=token)
    pusher = Pusher(app.store, link, token, SystemClock(), policy=app.export_policy())
    try:
        assert pusher.cycle().done
    finally:
        pusher.close()


def test_a_tsa_and_witness_stations_bundle_is_the_same_from_the_hub(
    anchored_station: Any, tmp_path: Path
) -> None:
    app, hub = anchored_station
    token = hub.hub.mirror.enrol("station-01", 0).token
    _push(app, hub, token)
    mine_ids = [r.clip_id for r in app.store.clips()]
    hub.hub.accounts.add_user("ann", "merchant", "x" * 20, at_ms=0)
    auth = {"Authorization": f"Bearer {hub.hub.accounts.issue_token('ann', label='t', at_ms=0)}"}
    trust = app.trust_file()
    assert trust.tsa_roots
    assert trust.witness_quorum == 1
    for clip_id in mine_ids:
        mine = app.export(clip_id, tmp_path / f"{clip_id}.zip").path.read_bytes()
        got = httpx.get(
            f"{hub.url}/hub/clips/station-01/{clip_id}/bundle.zip", headers=auth, timeout=120
        )
        assert got.status_code == 200, got.text[:300]
        with zipfile.ZipFile(io.BytesIO(mine)) as z:
            assert "entries/checkpoint.tsr" in z.namelist()  # the station's is stamped
        assert got.content == mine
        (tmp_path / "hub.zip").write_bytes(got.content)
        verify_bundle(tmp_path / "hub.zip", trust)  # raises unless every check passes
    # the station kept the checkpoints the pushes did not target: the hub holds them all
    station_sizes = {cp.size for cp in app.store.checkpoints()}
    hub_sizes = {cp.size for cp in hub.hub.mirror.store_of("station-01").checkpoints()}
    assert station_sizes == hub_sizes


def test_anchors_the_hub_refuses(anchored_station: Any) -> None:
    app, hub = anchored_station
    token = hub.hub.mirror.enrol("station-01", 0).token
    mirror = hub.hub.mirror
    cps = list(app.store.checkpoints())
    policy = {"language": "en", "quorum": 0, "stamped": False, "verify_url": None, "witnesses": []}
    # before any entries: nothing to anchor to
    with pytest.raises(PushInvalid, match="no entries yet"):
        add_anchors(mirror, "station-01", AnchorPush((cps[0].note,), (), (), policy), 0)
    _push(app, hub, token)
    # a checkpoint signed by the station's key but of another tree: a fork, kept
    forged = Checkpoint(app.store.origin, cps[0].size, b"\x07" * 32)
    note = sign_checkpoint(forged, app.station_signer)
    with pytest.raises(MirrorFork):
        add_anchors(mirror, "station-01", AnchorPush((note,), (), (), policy), 0)
    assert len(mirror.misbehaviour("station-01")) == 1
    # a cosignature in the hub's own name that the hub never made
    own = hub.hub.cosigner.verifier
    bogus = Signature(own.name, own.key_id, b"x" * 72).line()
    with pytest.raises(PushInvalid, match="hub's own name"):
        add_anchors(
            mirror, "station-01", AnchorPush((), (), ((cps[-1].size, bogus),), policy), 0, own
        )
