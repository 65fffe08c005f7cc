"""The store's index rows of a station with two camera views (issue 12), on both backends."""

from __future__ import annotations

from storage import Ed25519Signer, Store
from tests import factories as f


def test_two_view_segments_and_clips_are_indexed_per_view(
    store: Store, station_signer: Ed25519Signer
) -> None:
    segs = f.two_view_segments(3)  # seq 0..5: top, side, top, side, top, side
    clip = f.two_view_clip(station_signer, segs)
    store.append([*segs, clip])

    top = store.view_segments("top", 0, 5)
    side = store.view_segments("side", 0, 5)
    assert [s.seq for s in top] == [0, 2, 4]
    assert [s.seq for s in side] == [1, 3, 5]
    assert {s.view for s in side} == {"side"}
    assert [s.seq for s in store.view_segments("side", 2, 4)] == [3]
    assert store.view_segments(None, 0, 5) == []
    assert [s.seq for s in store.segments(0, 5)] == list(range(6))  # every view, as before
    last_top, last_side = store.last_view_segment("top"), store.last_view_segment("side")
    assert last_top is not None
    assert last_top.seq == 4
    assert last_side is not None
    assert last_side.seq == 5
    assert store.last_view_segment(None) is None

    row = store.clip(clip.clip_id)
    assert row is not None
    assert row.views == ("top", "side")
    # Each view's count, from the entry (the span 0..5 holds both views' numbers).
    assert row.view_segments == (3, 3)
    assert row.segment_count == 3
    # Retention protects first_seq..last_seq of a held clip: every view's segments.
    assert (row.first_seq, row.last_seq) == (0, 5)
    assert row.bytes == sum(s.bytes for s in segs)
    assert (row.start_ms, row.end_ms) == (clip.segments[0].start, clip.segments[-1].end)


def test_a_one_camera_station_is_indexed_as_before(
    store: Store, station_signer: Ed25519Signer
) -> None:
    segs = [f.segment(i) for i in range(3)]
    clip = f.clip(station_signer, segs)
    store.append([*segs, clip])
    assert [s.view for s in store.segments(0, 2)] == [None] * 3
    assert [s.seq for s in store.view_segments(None, 0, 2)] == [0, 1, 2]
    last = store.last_view_segment(None)
    assert last is not None
    assert last.seq == 2
    row = store.clip(clip.clip_id)
    assert row is not None
    assert row.views == ()
    assert row.view_segments == ()
    assert row.segment_count == 3
