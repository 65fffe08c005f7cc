"""The push API on a real hub (PostgreSQL + SeaweedFS) with a station that really recorded."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from packseal.config import HubLinkConfig
from packseal.hub.exports import export_mirrored
from packseal.hub.pusher import HubError, Pusher
from recorder.clock import SystemClock
from storage import Store
from storage.checkpoint import Checkpoint
from storage.mirror import Accepted
from storage.note import parse
from storage.outbox import Outbox
from storage.s3blobs import BlobLockedError
from tests.packseal.hub.conftest import copy_recorded, station_app
from verifier.verify import verify_bundle


def _fast(url: str, **kw: Any) -> HubLinkConfig:
    return HubLinkConfig(
        url=url, token="x" * 20, push_interval_seconds=0.05, retry_seconds=0.05, **kw
    )


def _pusher(store: Store, url: str, token: str, **kw: Any) -> Pusher:
    return Pusher(store, _fast(url, **kw), token, SystemClock())


def _enrolled(recorded: Path, tmp_path: Path, start_hub: Any) -> tuple[Any, str, Any]:
    """A hub, station-01's enrolment token on it, and the station (a copy of the recording)."""
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    token = hub.hub.mirror.enrol("station-01", 0).token
    return hub, token, station_app(data, root, "station-01")


def test_a_station_replicates_and_the_hub_exports_the_same_bundle(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    hub, token, app = _enrolled(recorded, tmp_path, start_hub)
    pusher = _pusher(app.store, hub.url, token, batch_entries=7)
    report = pusher.cycle()
    assert report.done
    assert report.acked_size == app.store.size()
    view = hub.hub.mirror.store_of("station-01")
    assert view.root() == app.store.root()
    assert [d for _, d in view.entries()] == [d for _, d in app.store.entries()]
    # every blob the station holds is in the object store, and acknowledged
    for sha in app.store._blobs:
        assert hub.hub.blobs.exists(sha)
        assert Outbox(app.store).hub_holds(sha)
    assert Outbox(app.store).backlog().blobs == 0
    # the hub cosigned the latest checkpoint, and the station kept the cosignature
    from storage.anchors import Anchors

    size = app.store.size()
    assert [s.name for s in Anchors(app.store._engine, app.store._log).cosignatures(size)] == [
        hub.hub.witness_name
    ]
    for row in app.store.clips():
        mine = app.export(row.clip_id, tmp_path / f"station-{row.clip_id}.zip")
        theirs = export_mirrored(view, row.clip_id, tmp_path / f"hub-{row.clip_id}.zip")
        assert theirs.path.read_bytes() == mine.path.read_bytes()
        verify_bundle(theirs.path, app.trust_file())
    # a second cycle has nothing to send
    again = pusher.cycle()
    assert (again.entries, again.blobs, again.done) == (0, 0, True)
    pusher.close()
    app.close()


def test_routes_need_a_live_token(recorded: Path, tmp_path: Path, start_hub: Any) -> None:
    _data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    for method, path in [
        ("POST", "/hub/v1/push"),
        ("GET", "/hub/v1/size"),
        ("PUT", "/hub/v1/blobs/" + "a" * 64),
        ("HEAD", "/hub/v1/blobs/" + "a" * 64),
    ]:
        assert httpx.request(method, hub.url + path).status_code == 401
        bad = {"Authorization": "Bearer psh_not-a-token"}
        assert httpx.request(method, hub.url + path, headers=bad).status_code == 403
    token = hub.hub.mirror.enrol("station-01", 0).token
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(hub.url + "/hub/v1/size", headers=auth).json() == {"size": 0}
    hub.hub.mirror.revoke("station-01", 0)
    got = httpx.get(hub.url + "/hub/v1/size", headers=auth)
    assert got.status_code == 403
    assert "revoked" in got.json()["error"]["message"]


def test_an_unenrolled_or_uncertified_station_is_refused(
    recorded: Path, tmp_path: Path, start_hub: Any, merchant_root: Path
) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(merchant_root)  # trusts another merchant's root
    token = hub.hub.mirror.enrol("station-01", 0).token
    app = station_app(data, root, "station-01")
    pusher = _pusher(app.store, hub.url, token)
    with pytest.raises(HubError, match="certified by a merchant root this hub trusts") as e:
        pusher.cycle()
    pusher.close()
    assert e.value.status == 403
    # enrolled under another name: its station-key entry names station-01
    token2 = hub.hub.mirror.enrol("station-02", 0).token
    pusher = _pusher(app.store, hub.url, token2)
    with pytest.raises(HubError) as e:
        pusher.cycle()
    pusher.close()
    assert e.value.status == 403
    assert hub.hub.mirror.size("station-01") == 0
    app.close()


def test_blob_refusals(recorded: Path, tmp_path: Path, start_hub: Any) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    token = hub.hub.mirror.enrol("station-01", 0).token
    auth = {"Authorization": f"Bearer {token}"}
    app = station_app(data, root, "station-01")
    seg = app.store.segments(0, 0)[0]
    blob = app.store.read_blob(seg.sha256)
    url = f"{hub.url}/hub/v1/blobs/{seg.sha256}"
    assert httpx.put(url, content=blob, headers=auth).status_code == 404  # entries first
    pusher = _pusher(app.store, hub.url, token)
    pusher._entries()  # the log only
    got = httpx.put(url, content=blob[:-1] + b"\x00", headers=auth)
    assert got.status_code == 422
    assert "hash to" in got.json()["error"]["message"]
    assert httpx.head(url, headers=auth).status_code == 404
    assert httpx.put(url, content=blob, headers=auth).status_code == 200
    assert httpx.head(url, headers=auth).status_code == 200
    assert httpx.put(hub.url + "/hub/v1/blobs/nothex", content=b"", headers=auth).status_code == 404
    # object-locked: the hub cannot delete what it stored
    with pytest.raises(BlobLockedError):
        hub.hub.blobs.delete(seg.sha256)
    assert hub.hub.blobs.read(seg.sha256) == blob
    pusher.close()
    app.close()


def test_object_store_down_is_503_and_the_station_backs_off(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root, endpoint=dead)
    token = hub.hub.mirror.enrol("station-01", 0).token
    app = station_app(data, root, "station-01")
    auth = {"Authorization": f"Bearer {token}"}
    pusher = _pusher(app.store, hub.url, token, max_retry_seconds=0.4)
    pusher._entries()  # the log goes to PostgreSQL: fine without the object store
    seg = app.store.segments(0, 0)[0]
    got = httpx.put(
        f"{hub.url}/hub/v1/blobs/{seg.sha256}",
        content=app.store.read_blob(seg.sha256),
        headers=auth,
    )
    assert got.status_code == 503
    assert got.headers["Retry-After"]
    pusher.start()
    import time

    deadline = time.monotonic() + 20
    while pusher.failures < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    pusher.stop()
    assert pusher.failures >= 4
    assert "503" in (pusher.last_error or "")
    assert Outbox(app.store).state().last_error is not None
    assert Outbox(app.store).backlog().blobs > 0  # nothing acknowledged
    app.close()


def test_a_rewritten_station_log_is_refused_with_a_misbehaviour_proof(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    hub, token, app = _enrolled(recorded, tmp_path, start_hub)
    first = _pusher(app.store, hub.url, token)
    first.cycle()
    first.close()
    held = app.store.size()
    # Rewrite the station's log from entry 2 on (an edit, re-chained and re-signed with
    # the station's key): a new store with the altered history.
    from storage.entries import Segment, from_bytes

    entries = [from_bytes(d) for _, d in app.store.entries()]
    idx = next(i for i, e in enumerate(entries) if isinstance(e, Segment))
    entries[idx] = dataclasses.replace(entries[idx], dropped=7)  # type: ignore[call-arg]
    forged = Store.open(
        f"sqlite:///{tmp_path / 'forged.db'}", tmp_path / "fb", app.store.origin, create=True
    )
    forged.append(entries)
    forged.append([dataclasses.replace(entries[idx], seq=10_000)])  # type: ignore[call-arg]
    forged.sign_checkpoint(app.station_signer, 0)
    with forged._engine.begin() as conn:  # it believes the hub holds its old size
        from storage._schema import outbox

        conn.execute(
            outbox.insert().values(log_id=forged._log.log_id, acked_size=held, blobs_done_idx=0)
        )
    pusher = _pusher(forged, hub.url, token)
    with pytest.raises(HubError) as e:
        pusher.cycle()
    pusher.close()
    assert e.value.status == 409
    proofs = hub.hub.mirror.misbehaviour("station-01")
    assert len(proofs) == 1
    assert proofs[0].first_size == held
    assert hub.hub.mirror.size("station-01") == held  # nothing of the rewrite was taken
    # the proof is in the format `packseal audit --against` writes, and checks out
    from storage import merkle
    from storage.checkpoint import open_checkpoint

    p = proofs[0]
    second = open_checkpoint(p.second, [app.station_signer.verifier]).checkpoint
    assert p.root_at_first_size is not None
    merkle.verify_consistency(
        p.first_size, second.size, p.proof, p.root_at_first_size, second.root_hash
    )
    assert p.to_dict()["format"] == "packseal-misbehaviour/v1"
    forged.close()
    app.close()


def test_a_kept_cosignature_that_does_not_verify_is_signed_again(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    # A hub before 1ddbfe8 could keep its cosignature of an older checkpoint's body under
    # a newer size, and handed that same signature out for every later request there.
    hub, token, app = _enrolled(recorded, tmp_path, start_hub)
    pusher = _pusher(app.store, hub.url, token)
    assert pusher.cycle().done
    pusher.close()
    latest = app.store.latest_checkpoint()
    assert latest is not None
    text = parse(latest.note)[0]
    anchors = hub.hub.mirror.anchors_of(app.store.origin)
    me = hub.hub.cosigner.verifier
    older = Checkpoint(app.store.origin, 1, b"\x07" * 32).to_text()
    anchors.drop_cosignature(latest.size, me.name, me.key_id)
    anchors.add_cosignatures(latest.size, [hub.hub.cosigner.cosign(older, 1)], 0)
    cp = Checkpoint.from_text(text)
    sig = hub.hub.cosign(Accepted(latest.size, cp.root_hash, 0, cp, text))
    assert me.verify(text.encode("utf-8"), sig.signature)
    assert anchors.cosignatures(latest.size) == [sig]  # the bad one is gone
    assert hub.hub.cosign(Accepted(latest.size, cp.root_hash, 0, cp, text)) == sig
    app.close()


def test_a_station_forgets_a_bad_hub_cosignature_it_kept(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    # Given by a hub before 1ddbfe8 (another checkpoint's body signed under this size) and
    # kept: the station sent it back with its anchors and the hub refused them, 422, on
    # every cycle. The push answer names the hub's key; the station checks what it kept.
    hub, token, app = _enrolled(recorded, tmp_path, start_hub)
    me = hub.hub.cosigner
    first = app.store.checkpoints()[0]
    bad = me.cosign(Checkpoint(app.store.origin, 1, b"\x07" * 32).to_text(), 1)
    app.store.anchors.add_cosignatures(first.size, [bad], 0)
    pusher = _pusher(app.store, hub.url, token)
    assert pusher.cycle().done
    pusher.close()
    kept = app.store.anchors.cosignatures(first.size)
    assert bad not in kept
    text = parse(first.note)[0].encode("utf-8")
    assert all(me.verifier.verify(text, s.signature) for s in kept)
    latest = app.store.latest_checkpoint()
    assert latest is not None
    (sig,) = app.store.anchors.cosignatures(latest.size)  # the good ones are kept
    assert me.verifier.verify(parse(latest.note)[0].encode("utf-8"), sig.signature)
    app.close()
