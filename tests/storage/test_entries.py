from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import canonical, entries
from storage._errors import FormatError, SignatureError
from storage.footage import FootageSource, describe_source, network_source
from storage.note import Ed25519Signer, Ed25519Verifier
from tests import factories as f


def _all(station: Ed25519Signer, root: Ed25519Signer) -> list[entries.Entry]:
    segs = [f.segment(i) for i in range(3)]
    return [
        f.station_key(station, root),
        *segs,
        f.clip(station, segs),
        f.gap(f.T0, f.T0 + 5000),
        f.purge(0, 2),
    ]


def test_roundtrip_every_kind(station_signer: Ed25519Signer, root_signer: Ed25519Signer) -> None:
    for e in _all(station_signer, root_signer):
        data = e.to_bytes()
        back = entries.from_bytes(data)
        assert back == e
        assert back.to_bytes() == data
        assert json.loads(data)["kind"] == e.KIND


def test_prev_is_not_signed(station_signer: Ed25519Signer, root_signer: Ed25519Signer) -> None:
    c = f.clip(station_signer, [f.segment(0)])
    moved = c.with_prev("ab" * 32)
    moved.verify_signature(station_signer.verifier)
    sk = f.station_key(station_signer, root_signer).with_prev("cd" * 32)
    sk.verify_certification(root_signer.verifier)


def test_clip_signature_covers_every_field(station_signer: Ed25519Signer) -> None:
    c = f.clip(station_signer, [f.segment(0), f.segment(1)])
    for change in [
        {"order_id": "SO-2026-999999"},
        {"ended": c.ended + 1},
        {"tracking_ids": ()},
        {"status": "cancelled"},
        {"zone": "UTC"},
        {"segments": (dataclasses.replace(c.segments[0], sha256=f.sha("x")), c.segments[1])},
    ]:
        with pytest.raises(SignatureError, match="does not verify"):
            dataclasses.replace(c, **change).verify_signature(station_signer.verifier)


def test_clip_signed_by_other_key(
    station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    c = f.clip(root_signer, [f.segment(0)])
    with pytest.raises(SignatureError, match="names signing key"):
        c.verify_signature(station_signer.verifier)


def test_certification_by_other_root(
    station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    other = Ed25519Signer("acme-root", Ed25519PrivateKey.generate())
    sk = f.station_key(station_signer, other)
    with pytest.raises(SignatureError, match="expected the trusted root"):
        sk.verify_certification(root_signer.verifier)
    forged = dataclasses.replace(sk, root=root_signer.verifier.vkey)
    with pytest.raises(SignatureError, match="does not verify"):
        forged.verify_certification(root_signer.verifier)


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda d: d.update(extra=1), "unknown field"),
        (lambda d: d.pop("time"), "missing field"),
        (lambda d: d.update(time="1"), "expected an integer"),
        (lambda d: d.update(time=True), "expected an integer"),
        (lambda d: d.update(kind="video"), "entry kind"),
        (lambda d: d.update(sha256="ABC"), "64 lowercase hex"),
        (lambda d: d.update(end=0), "before start"),
        (lambda d: d.update(frames=-1), "negative"),
    ],
)
def test_segment_rejects(mutate: object, why: str) -> None:
    d = f.segment(1).to_dict()
    mutate(d)  # type: ignore[operator]
    with pytest.raises(FormatError, match=why):
        entries.from_bytes(canonical.dumps(d))


def test_clip_rejects_bad_segment_run(station_signer: Ed25519Signer) -> None:
    d = f.clip(station_signer, [f.segment(0), f.segment(1)]).to_dict()
    d["segments"][1]["seq"] = 5
    with pytest.raises(FormatError, match="not consecutive"):
        entries.from_bytes(canonical.dumps(d))
    d["segments"] = []
    with pytest.raises(FormatError, match="no segments"):
        entries.from_bytes(canonical.dumps(d))


@pytest.mark.parametrize(
    ("zone", "ok"),
    [
        ("", True),
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Etc/GMT+5", True),
        ("UTC", True),
        ("UTC+05:30", True),
        ("UTC-03:00", True),
        ("../../etc/passwd", False),
        ("Europe/", False),
        ("+05:30", False),
        ("Europe Berlin", False),
        ("x" * 65, False),
    ],
)
def test_clip_zone_is_a_zone_name(station_signer: Ed25519Signer, zone: str, ok: bool) -> None:
    d = f.clip(station_signer, [f.segment(0)]).to_dict()
    d["zone"] = zone
    data = canonical.dumps(d)
    if ok:
        assert entries.parse_as(entries.Clip, data).zone == zone
    else:
        with pytest.raises(FormatError, match="not an IANA zone name or UTC"):
            entries.from_bytes(data)


def test_clip_zone_is_required(station_signer: Ed25519Signer) -> None:
    d = f.clip(station_signer, [f.segment(0)]).to_dict()
    del d["zone"]
    with pytest.raises(FormatError, match="missing field 'zone'"):
        entries.from_bytes(canonical.dumps(d))


def test_parse_as_checks_kind() -> None:
    with pytest.raises(FormatError, match="expected a clip entry"):
        entries.parse_as(entries.Clip, f.segment(0).to_bytes())


@given(st.binary(max_size=300))
def test_hostile_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        entries.from_bytes(data)


@given(
    st.dictionaries(
        st.sampled_from(["kind", "prev", "time", "seq", "x"]), st.integers() | st.text()
    )
)
# On a loaded 2-core machine generating these took over 5 s (FailedHealthCheck); the test
# checks parsing, not generation speed.
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_hostile_objects(obj: dict[str, object]) -> None:
    try:
        data = canonical.dumps(obj)
    except (TypeError, ValueError):
        return
    with contextlib.suppress(FormatError):
        entries.from_bytes(data)


# -- the footage source (issue 13 item 3) ---------------------------------------------------

VECTORS = Path(__file__).parent / "vectors"
SOURCES = [
    FootageSource(
        "camera",
        device="/dev/video0",
        card="HD Pro Webcam C920",
        bus="usb-0000:00:14.0-2",
        serial="A1B2C3D4",
    ),
    FootageSource("camera", device="/dev/video2"),
    FootageSource("rtsp", host="192.168.1.20:554"),
    FootageSource("rtsp", host="[fe80::1]:8554"),
    FootageSource("file", name="packing.mp4", sha256=f.sha("file")),
    FootageSource("demo", name="demo:7"),
]


def test_an_entry_signed_before_sources_keeps_its_bytes_and_signature() -> None:
    # Written by the code before `source` existed: no "source" key, not even null.
    doc = json.loads((VECTORS / "clip-before-source.json").read_text())
    data = doc["entry"].encode()
    clip = entries.parse_as(entries.Clip, data)
    assert clip.source is None
    assert clip.to_bytes() == data
    clip.verify_signature(Ed25519Verifier.from_vkey(doc["vkey"]))


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.kind)
def test_a_clip_with_its_source_round_trips_and_signs_it(
    station_signer: Ed25519Signer, source: FootageSource
) -> None:
    c = dataclasses.replace(f.clip(station_signer, [f.segment(0)]), source=source)
    c = c.signed_by(station_signer)
    data = c.to_bytes()
    assert json.loads(data)["source"]["kind"] == source.kind
    back = entries.from_bytes(data)
    assert back == c
    assert back.to_bytes() == data
    back.verify_signature(station_signer.verifier)
    other = (
        FootageSource("file", name="x.mp4", sha256=f.sha("other")) if source.live else SOURCES[0]
    )
    with pytest.raises(SignatureError, match="does not verify"):
        dataclasses.replace(c, source=other).verify_signature(station_signer.verifier)
    with pytest.raises(SignatureError, match="does not verify"):
        dataclasses.replace(c, source=None).verify_signature(station_signer.verifier)


def test_a_null_source_is_a_second_encoding_and_refused(station_signer: Ed25519Signer) -> None:
    obj = json.loads(f.clip(station_signer, [f.segment(0)]).to_bytes())
    obj["source"] = None
    with pytest.raises(FormatError, match=r"clip\.source: null is not allowed"):
        entries.from_bytes(canonical.dumps(obj))


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"kind": "webcam"}, "is not one of"),
        ({"kind": "camera"}, "must name its device"),
        ({"kind": "camera", "device": "/dev/video0", "sha256": "ab" * 32}, "has no sha256"),
        ({"kind": "rtsp", "host": "admin:hunter2@10.0.0.5"}, "without credentials"),
        ({"kind": "rtsp", "host": "10.0.0.5/stream1"}, "without credentials"),
        ({"kind": "file", "name": "a.mp4", "sha256": "AB" * 32}, "64 lowercase hex"),
        ({"kind": "demo", "name": "demo:1", "host": "x"}, "has no host"),
        ({"kind": "demo", "name": "x" * 300}, "at most 256"),
    ],
)
def test_a_source_that_cannot_be_is_refused(
    station_signer: Ed25519Signer, fields: dict[str, str], why: str
) -> None:
    obj = json.loads(f.clip(station_signer, [f.segment(0)]).to_bytes())
    obj["source"] = {
        **dict.fromkeys(("device", "card", "bus", "serial", "host", "name", "sha256"), ""),
        **fields,
    }
    with pytest.raises(FormatError, match=why):
        entries.from_bytes(canonical.dumps(obj))


def test_source_labels_say_whether_it_is_live() -> None:
    labels = [describe_source(s) for s in SOURCES]
    assert labels[0] == (
        "live camera /dev/video0 (HD Pro Webcam C920, usb-0000:00:14.0-2, serial A1B2C3D4)"
    )
    assert "no identity reported" in labels[1]
    assert labels[2] == "live network camera (RTSP) at 192.168.1.20:554"
    assert "NOT live" in labels[4]
    assert f.sha("file") in labels[4]
    assert "NOT a camera" in labels[5]
    assert "not recorded" in describe_source(None)
    assert [s.live for s in SOURCES] == [True, True, True, True, False, False]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (
            "rtsp://admin:hunter2@10.0.0.5:554/Streaming/Channels/101",
            FootageSource("rtsp", host="10.0.0.5:554"),
        ),
        ("rtsps://cam.example/live?token=abc", FootageSource("rtsp", host="cam.example")),
        (
            "http://u:p@[fe80::1]:8080/video.mjpg?pwd=x",
            FootageSource("http", host="[fe80::1]:8080"),
        ),
        ("https://cam.example:99999/x", FootageSource("http", host="cam.example")),
    ],
)
def test_a_network_camera_is_named_by_host_and_port_only(url: str, source: FootageSource) -> None:
    assert network_source(url) == source
    assert source.live


# -- two camera views per station (issue 12) ---------------------------------------------


def test_entries_signed_before_views_keep_their_bytes_and_signature() -> None:
    # Written by the code before views existed (31a53f6): no "view"/"views" keys at all.
    doc = json.loads((VECTORS / "entries-before-views.json").read_text())
    for kind in ("segment", "gap", "clip"):
        data = doc[kind].encode()
        entry = entries.from_bytes(data)
        assert entry.to_bytes() == data
        assert b'"view' not in data
    clip = entries.parse_as(entries.Clip, doc["clip"].encode())
    assert clip.view is None
    assert clip.views is None
    assert clip.view_names() == ()
    clip.verify_signature(Ed25519Verifier.from_vkey(doc["vkey"]))


def test_a_two_view_clip_round_trips_and_its_signature_covers_every_view(
    station_signer: Ed25519Signer,
) -> None:
    segs = f.two_view_segments(3)
    c = f.two_view_clip(station_signer, segs)
    for e in (*segs, c, dataclasses.replace(f.gap(f.T0, f.T0 + 900), view="side")):
        data = e.to_bytes()
        back = entries.from_bytes(data)
        assert back == e
        assert back.to_bytes() == data
    obj = json.loads(c.to_bytes())
    assert obj["view"] == "top"
    assert [v["view"] for v in obj["views"]] == ["side"]
    assert "source" not in obj["views"][0]  # left out, never null
    assert [s.seq for s in c.segments] == [0, 2, 4]
    assert c.view_names() == ("top", "side")
    assert [v.view for v in c.all_views()] == ["top", "side"]
    assert [r.seq for r in c.all_segments()] == list(range(6))
    c.verify_signature(station_signer.verifier)
    (side,) = c.views or ()
    for change in [
        {"view": "front"},
        {"views": (dataclasses.replace(side, view="label"),)},
        {"views": (dataclasses.replace(side, init=f.sha("other")),)},
        {"views": (dataclasses.replace(side, segments=side.segments[:-1]),)},
        {"views": (dataclasses.replace(side, source=SOURCES[0]),)},
    ]:
        with pytest.raises(SignatureError, match="does not verify"):
            dataclasses.replace(c, **change).verify_signature(station_signer.verifier)


def _views_obj(station_signer: Ed25519Signer) -> dict[str, Any]:
    return json.loads(f.two_view_clip(station_signer, f.two_view_segments(3)).to_bytes())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda o: o.pop("view"), "does not name its primary view"),
        (lambda o: o.update(views=[]), "views is empty"),
        (lambda o: o.update(views=None), r"views: null is not allowed"),
        (lambda o: o["views"][0].update(view="top"), "a view is named twice"),
        (lambda o: o["views"][0].update(view="c2pa"), "is not a view name"),
        (lambda o: o["views"][0].update(view="Side"), "is not a view name"),
        (lambda o: o.update(view="x" * 17), "is not a view name"),
        (lambda o: o["views"][0].update(segments=[]), "view 'side' has no segments"),
        (lambda o: o["views"][0]["segments"].reverse(), "segment numbers do not increase"),
        (
            lambda o: o["views"][0]["segments"][0].update(seq=0),
            "segment 0 is in views top and side",
        ),
        (lambda o: o.update(views=o["views"] * 2), "a view is named twice"),
        (lambda o: o["views"][0].update(extra=1), "unknown field"),
    ],
)
def test_a_two_view_clip_that_cannot_be_is_refused(
    station_signer: Ed25519Signer, change: Callable[[dict[str, Any]], object], why: str
) -> None:
    obj = _views_obj(station_signer)
    change(obj)
    with pytest.raises(FormatError, match=why):
        entries.from_bytes(canonical.dumps(obj))


def test_more_views_than_the_format_allows_are_refused(station_signer: Ed25519Signer) -> None:
    obj = _views_obj(station_signer)
    extra = obj["views"][0]
    obj["views"] = [
        {**extra, "view": f"v{k}", "segments": [{**extra["segments"][0], "seq": 100 + k}]}
        for k in range(entries.MAX_VIEWS)
    ]
    with pytest.raises(FormatError, match=f"at most {entries.MAX_VIEWS}"):
        entries.from_bytes(canonical.dumps(obj))


def test_a_named_view_alone_may_interleave(station_signer: Ed25519Signer) -> None:
    # A clip one camera of two missed: its primary's segments interleave with the other's.
    segs = [f.segment(0), f.segment(2)]
    with pytest.raises(FormatError, match="not consecutive"):
        f.clip(station_signer, segs)
    one = f.clip(station_signer, segs, view="top")
    assert json.loads(one.to_bytes())["view"] == "top"
    assert "views" not in json.loads(one.to_bytes())
    assert one.view_names() == ("top",)
    with pytest.raises(FormatError, match="do not increase"):
        dataclasses.replace(one, segments=one.segments[::-1])


@pytest.mark.parametrize("kind", ["segment", "gap"])
def test_a_segment_or_gap_view_must_be_a_view_name(kind: str) -> None:
    e = f.segment(0) if kind == "segment" else f.gap(f.T0, f.T0 + 10)
    obj = json.loads(e.to_bytes())
    obj["view"] = "../side"
    with pytest.raises(FormatError, match="is not a view name"):
        entries.from_bytes(canonical.dumps(obj))
    obj["view"] = None
    with pytest.raises(FormatError, match="null is not allowed"):
        entries.from_bytes(canonical.dumps(obj))
