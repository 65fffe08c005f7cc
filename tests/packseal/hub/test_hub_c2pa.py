"""A station with C2PA (and a TSA and a witness): the hub signs clip.c2pa.mp4 with its
own certificate under the merchant's C2PA CA, so its bundle verifies against the
merchant's trust file; every other member equals the station's bundle byte for byte but
the lines of manifest.json and SHA256SUMS that hash it (C2PA signing is not
deterministic: two station exports differ there too). Without a certificate the hub
refuses the export instead of serving a bundle that fails verify."""

from __future__ import annotations

import contextlib
import io
import json
import stat
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
from storage.hubanchors import export_policy_of
from tests.anchored import WITNESS, station_config
from tests.recording import record_demo
from tests.servers import make_tsa_keys, serve_tsa, serve_witness
from verifier import verify_bundle
from verifier.c2pa import read_credentials

C2PA_CLIP = "clip.c2pa.mp4"


@pytest.fixture
def c2pa_station(tmp_path: Path, start_hub: Any) -> Any:
    with contextlib.ExitStack() as stack:
        tsa = stack.enter_context(serve_tsa(make_tsa_keys()))
        tsa_root = tmp_path / "tsa-root.pem"
        tsa_root.write_text(tsa.keys.root_pem)
        state = tmp_path / "witness"
        init_witness(state, WITNESS, [])
        witness = stack.enter_context(serve_witness(state))
        config = tmp_path / "config.yaml"
        doc = station_config(tmp_path, tsa, witness, tsa_root)  # c2pa.enabled
        doc["station"]["id"] = "station-01"
        config.write_text(yaml.safe_dump(doc))
        app = App(load_config(config), clock=SystemClock())
        app.init()
        add_log(state, app.station_signer.verifier.vkey)
        witness.witness.reload()
        app.issue_c2pa()
        record_demo(app.config.data_dir, orders=1, app=app)
        yield app, start_hub
        app.close()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _get(hub: Any, clip_id: str, user: str) -> httpx.Response:
    hub.hub.accounts.add_user(user, "merchant", "x" * 20, at_ms=0)
    token = hub.hub.accounts.issue_token(user, label="t", at_ms=0)
    return httpx.get(
        f"{hub.url}/hub/clips/station-01/{clip_id}/bundle.zip",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def test_a_c2pa_stations_bundle_from_the_hub_is_signed_by_the_hub_and_verifies(
    c2pa_station: Any, tmp_path: Path
) -> None:
    app, start_hub = c2pa_station
    # where the merchant root key is: the hub's own certificate under the merchant CA
    out = tmp_path / "hub-c2pa"
    files, creds = app.issue_hub_c2pa(out, "packseal-hub/test")
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert "CN=packseal-hub/test" in creds.certificate.subject.rfc4514_string()
    hub = start_hub(app.config.root_key, c2pa={"chain": str(files.chain), "key": str(files.key)})
    assert hub.hub.check().problems == ()
    token = hub.hub.mirror.enrol("station-01", 0).token
    link = HubLinkConfig(url=hub.url, token=token)
    pusher = Pusher(app.store, link, token, SystemClock(), policy=app.export_policy())
    try:
        assert pusher.cycle().done
    finally:
        pusher.close()
    assert export_policy_of(hub.hub.mirror, "station-01") == {
        "c2pa": True,
        "language": "en",
        "quorum": 1,
        "stamped": True,
        "verify_url": None,
        "witnesses": [WITNESS],
    }
    trust = app.trust_file()
    assert trust.c2pa_roots
    assert trust.tsa_roots
    assert trust.witness_quorum == 1
    clip_id = next(iter(app.store.clips())).clip_id
    mine = app.export(clip_id, tmp_path / "mine.zip").path.read_bytes()
    again = app.export(clip_id, tmp_path / "again.zip").path.read_bytes()
    got = _get(hub, clip_id, "ann")
    assert got.status_code == 200, got.text[:300]
    (tmp_path / "hub.zip").write_bytes(got.content)
    verify_bundle(tmp_path / "hub.zip", trust)  # raises unless every check passes

    ours, theirs, twice = _members(got.content), _members(mine), _members(again)
    assert set(ours) == set(theirs)
    differ = {n for n in ours if ours[n] != theirs[n]}
    # the station's own two exports differ in exactly the same members
    assert {n for n in twice if twice[n] != theirs[n]} == differ
    assert differ == {C2PA_CLIP, "manifest.json", "SHA256SUMS"}
    # SHA256SUMS differs only in the lines of clip.c2pa.mp4 and of the manifest that hashes it
    lines = [set(m["SHA256SUMS"].decode().splitlines()) for m in (ours, theirs)]
    assert {line.split()[-1] for line in lines[0] ^ lines[1]} == {C2PA_CLIP, "manifest.json"}
    # the manifest differs only in clip.c2pa.mp4's member line (its hash; its size too
    # when the manifests differ in length)
    hub_manifest, station_manifest = (json.loads(m["manifest.json"]) for m in (ours, theirs))
    assert hub_manifest["members"].pop(C2PA_CLIP) != station_manifest["members"].pop(C2PA_CLIP)
    assert hub_manifest == station_manifest
    # the hub's Content Credentials name the hub; the station's name the station
    signer = read_credentials(io.BytesIO(ours[C2PA_CLIP]), trust.c2pa_roots[0]).signer
    station = read_credentials(io.BytesIO(theirs[C2PA_CLIP]), trust.c2pa_roots[0]).signer
    assert (signer, station) == ("packseal-hub/test", "station-01")

    # a hub without a certificate refuses to export it, and says how to fix that
    bare = start_hub(app.config.root_key, object_store=hub.hub.settings.object_store.model_dump())
    refused = _get(bare, clip_id, "bob")
    assert refused.status_code == 409
    for words in ("has no C2PA certificate", "packseal keys x509-hub", "hub_server.c2pa"):
        assert words in refused.text


def test_a_hub_from_before_the_c2pa_field_still_mirrors_a_c2pa_station(
    c2pa_station: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, start_hub = c2pa_station
    # an older hub: its policy has exactly the keys from before, and refuses `c2pa`
    monkeypatch.setattr("storage.push.OPTIONAL_POLICY_KEYS", frozenset())
    hub = start_hub(app.config.root_key)
    token = hub.hub.mirror.enrol("station-01", 0).token
    link = HubLinkConfig(url=hub.url, token=token)
    pusher = Pusher(app.store, link, token, SystemClock(), policy=app.export_policy())
    try:
        assert pusher.cycle().done  # the pusher resent its policy without the field
    finally:
        pusher.close()
    policy = export_policy_of(hub.hub.mirror, "station-01")
    assert policy is not None
    assert "c2pa" not in policy
    store = hub.hub.mirror.store_of("station-01")
    assert {cp.size for cp in store.checkpoints()} == {cp.size for cp in app.store.checkpoints()}
