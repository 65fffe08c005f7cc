"""Sample log entries for tests (valid by construction; tests mutate them to attack)."""

from __future__ import annotations

import dataclasses
import hashlib

from storage.entries import (
    Clip,
    ClipView,
    Gap,
    Purge,
    Scan,
    Segment,
    SegmentRef,
    StationKey,
    Video,
)
from storage.note import Ed25519Signer

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def sha(label: str | int) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()


def station_key(station: Ed25519Signer, root: Ed25519Signer, *, time: int = T0) -> StationKey:
    return StationKey(
        time=time,
        origin=station.name,
        station="station-01",
        station_name="Packing station 1",
        merchant="Acme Shop",
        vkey=station.verifier.vkey,
        root=root.verifier.vkey,
    ).certified_by(root)


def segment(seq: int, *, run: str = "run-1", start: int | None = None, dur: int = 2000) -> Segment:
    start = T0 + seq * dur if start is None else start
    return Segment(
        time=start + dur + 300,
        seq=seq,
        run=run,
        index=seq,
        sha256=sha(f"seg{seq}"),
        init=sha("init"),
        start=start,
        end=start + dur,
        frames=60,
        dropped=0,
        bytes=250_000,
    )


VIDEO = Video("h264", 1280, 720, 30, 1, "yuv420p", 2000, "libx264 veryfast crf=28")


def clip(
    signer: Ed25519Signer, segs: list[Segment], *, order: str = "SO-2026-000123", **extra: object
) -> Clip:
    refs = tuple(SegmentRef(s.seq, s.sha256, s.start, s.end, s.bytes) for s in segs)
    return Clip(
        time=segs[-1].end + 500,
        clip_id=f"clip-{order}-{segs[0].seq}",
        order_id=order,
        status="sealed",
        end_reason="next-order",
        started=segs[0].start + 500,
        ended=segs[-1].end - 500,
        pre_roll=2000,
        post_roll=2000,
        station="station-01",
        operator="alice",
        run=segs[0].run,
        init=segs[0].init,
        segments=refs,
        scans=(
            Scan(segs[0].start + 500, order, "order", "Code128", "camera", (100, 200, 300, 80)),
            Scan(segs[-1].end - 600, "TRK-1234-5678", "tracking", "keyboard", "gun", None),
        ),
        video=VIDEO,
        zone="Europe/Berlin",
        tracking_ids=("TRK-1234-5678",),
        **extra,  # type: ignore[arg-type]
    ).signed_by(signer)


def gap(start: int, end: int) -> Gap:
    return Gap(end, start, end, "camera-lost", 3, "camera unplugged")


def purge(first: int, last: int) -> Purge:
    return Purge(T0 + 10**9, first, last, "retention 90 days")


def ref(s: Segment) -> SegmentRef:
    return SegmentRef(s.seq, s.sha256, s.start, s.end, s.bytes)


def two_view_segments(pairs: int) -> list[Segment]:
    """Segments of a two-camera station: ``top`` and ``side`` interleaved, seq station-wide."""
    out = []
    for k in range(pairs):
        for j, view in enumerate(("top", "side")):
            s = segment(2 * k + j, run=f"run-{view}", start=T0 + k * 2000 + j * 300)
            out.append(
                dataclasses.replace(
                    s, view=view, index=k, init=sha(f"init-{view}"), sha256=sha(f"{view}{k}")
                )
            )
    return out


def two_view_clip(signer: Ed25519Signer, segs: list[Segment]) -> Clip:
    """A clip of ``top`` (primary) and ``side`` from :func:`two_view_segments`."""
    top = [s for s in segs if s.view == "top"]
    side = [s for s in segs if s.view == "side"]
    side_view = ClipView("side", "run-side", side[0].init, tuple(ref(s) for s in side), VIDEO)
    return clip(signer, top, view="top", views=(side_view,))
