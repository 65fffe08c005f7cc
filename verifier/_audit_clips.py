"""The audit's clip checks: each clip entry against the station keys and the segments
logged before it.

A clip must be signed by a key a station-key entry before it certified, its footage may
not be dated after its seal, and every segment it binds must be in the log before it, in
its view, with the same hash, times, size, init section and run; a view's segments
between its first and last in the clip must all be bound. References older than the
audit's segment window are looked up through the segments index after the pass
(:meth:`Clips.check_deferred`). The clips' spans name the clips a segment finding
affects (:func:`name_affected_clips`).
"""

from __future__ import annotations

import bisect
import dataclasses

from storage import FormatError, PacksealError, SignatureError, Store
from storage.entries import Clip, ClipView, Segment, parse_as
from storage.facts import rfc3339
from storage.footage import describe_source
from storage.note import Ed25519Verifier
from verifier._audit_media import Seen
from verifier._audit_report import MAX_AFFECTED, Add, AuditStats, Finding
from verifier._timecheck import SEAL_SKEW_MS, footage_times


def name_affected_clips(
    findings: list[Finding], spans: list[tuple[int, int, str, str]]
) -> list[Finding]:
    """Each finding about segments, with the clips (order, clip id) that use them: a
    merchant needs to know which orders' evidence a missing or changed segment touches."""
    if not spans:
        return findings
    spans = sorted(spans)
    firsts = [first for first, _, _, _ in spans]
    widest = max(last - first for first, last, _, _ in spans)
    out = []
    for f in findings:
        if f.seqs is None or f.affects:
            out.append(f)
            continue
        lo, hi = f.seqs
        hit = []
        k = bisect.bisect_right(firsts, hi) - 1
        while k >= 0 and firsts[k] >= lo - widest:
            _, last, order, clip = spans[k]
            if last >= lo:
                hit.append((order, clip))
            k -= 1
        hit.reverse()
        out.append(
            dataclasses.replace(
                f, affects=tuple(hit[:MAX_AFFECTED]), more_affected=max(0, len(hit) - MAX_AFFECTED)
            )
        )
    return out


class Clips:
    """The clip checks of one audit pass; ``certified`` and ``window`` are the pass's own
    (station keys certified so far; the most recent segments by number), read as it goes."""

    def __init__(
        self,
        store: Store,
        add: Add,
        stats: AuditStats,
        certified: dict[str, Ed25519Verifier],
        window: dict[int, Seen],
        require_live_source: bool,
    ) -> None:
        self.store = store
        self.add = add
        self.stats = stats
        self.certified = certified
        self.window = window
        self.require_live_source = require_live_source
        # clip refs older than the window: (entry index, clip, view position, ref position)
        self.deferred: list[tuple[int, Clip, int, int]] = []
        # (first seq, last seq, order id, clip id) of every clip, to name the clips a
        # segment finding affects; ~100 bytes a clip.
        self.spans: list[tuple[int, int, str, str]] = []

    def check(self, index: int, clip: Clip, max_seq: int) -> None:
        """``max_seq``: the highest segment number logged before the clip."""
        self.stats.clips += 1
        self._source(index, clip)
        refs = clip.all_segments()
        self.spans.append((refs[0].seq, refs[-1].seq, clip.order_id, clip.clip_id))
        station = self.certified.get(clip.key)
        if station is None:
            self.add(
                "clips",
                "error",
                index,
                f"clip {clip.clip_id} (entry {index}) is signed by key {clip.key!r}, which no "
                "station-key entry before it certifies",
                clip=clip,
            )
        else:
            try:
                clip.verify_signature(station)
            except (SignatureError, FormatError) as e:
                self.add(
                    "clips",
                    "error",
                    index,
                    f"entry {index}: {e}",
                    clip=clip,
                )
        label, latest = max(footage_times(clip), key=lambda lt: lt[1])
        if latest > clip.time + SEAL_SKEW_MS:
            self.add(
                "clips",
                "error",
                index,
                f"clip {clip.clip_id} (entry {index}): {label} is dated "
                f"{rfc3339(latest, ms=True)}, "
                f"{(latest - clip.time) / 1000:.0f} s after the station sealed the clip "
                f"({rfc3339(clip.time, ms=True)}): its times are not true",
                clip=clip,
            )
        parts = clip.all_views()
        for v, part in enumerate(parts):
            for n, ref in enumerate(part.segments):
                seen = self.window.get(ref.seq)
                if seen is not None and seen[0] < index:
                    self._compare_ref(index, clip, part, n, seen)
                elif ref.seq > max_seq:
                    self.add(
                        "clips",
                        "error",
                        index,
                        f"clip {clip.clip_id} (entry {index}): segment {ref.seq}"
                        f"{of_view(part.view or None)} is not in the log before the clip (last "
                        f"logged segment: {max_seq})",
                        clip=clip,
                    )
                else:
                    self.deferred.append((index, clip, v, n))
            if clip.view is not None:
                self._left_out(index, clip, part)

    def _left_out(self, index: int, clip: Clip, part: ClipView) -> None:
        """A view's segment numbers interleave with the other views' (they are
        station-wide): each segment of the view between its first and last in the clip
        must be in it."""
        named = {r.seq for r in part.segments}
        lo, hi = part.segments[0].seq, part.segments[-1].seq
        for seq in range(lo, hi + 1):
            seen = self.window.get(seq)
            if seq in named or seen is None or seen[0] > index or seen[1].view != part.view:
                continue
            self.add(
                "clips",
                "error",
                index,
                f"clip {clip.clip_id} (entry {index}) leaves out segment {seq} of view "
                f"{part.view} (entry {seen[0]}), between the view's segments {lo} and {hi} "
                "it binds",
                seqs=(seq, seq),
                clip=clip,
            )

    def _source(self, index: int, clip: Clip) -> None:
        source = clip.source
        if source is not None and source.live:
            self.stats.live_clips += 1
            return
        if source is None:
            self.stats.unsourced_clips += 1
        elif source.kind == "file":
            self.stats.file_clips += 1
        else:
            self.stats.demo_clips += 1
        if self.require_live_source:
            # Counted in the stats either way; a finding only where the trust file accepts
            # nothing but live footage (a demo store would otherwise list every clip).
            self.add(
                "clips",
                "error",
                index,
                f"clip {clip.clip_id} (entry {index}) is not live footage, which the trust "
                f"file requires: {describe_source(source)}",
                clip=clip,
            )

    def _compare_ref(self, index: int, clip: Clip, part: ClipView, n: int, seen: Seen) -> None:
        ref, (at, seg) = part.segments[n], seen
        where = f"clip {clip.clip_id} (entry {index}), segment {ref.seq}"
        view = part.view or None
        if seg.view != view:
            self.add(
                "clips",
                "error",
                index,
                f"{where}: the clip puts it in {_view_label(view)}, the segment entry {at} "
                f"is {_view_label(seg.view)}'s",
                clip=clip,
            )
        elif ref.sha256 != seg.sha256:
            self.add(
                "clips",
                "error",
                index,
                f"{where}: sha256 {ref.sha256[:16]}… differs from the segment entry {at} "
                f"({seg.sha256[:16]}…)",
                clip=clip,
            )
        elif (ref.start, ref.end, ref.bytes) != (seg.start, seg.end, seg.bytes):
            self.add(
                "clips",
                "error",
                index,
                f"{where}: times/size {ref.start}..{ref.end}/{ref.bytes} differ from the "
                f"segment entry {at} ({seg.start}..{seg.end}/{seg.bytes})",
                clip=clip,
            )
        elif n == 0 and (part.init, part.run) != (seg.init, seg.run):
            self.add(
                "clips",
                "error",
                index,
                f"{where}: the clip's init section / run{of_view(view)} {part.init[:16]}…/"
                f"{part.run} differ from the segment's {seg.init[:16]}…/{seg.run}",
                clip=clip,
            )

    def check_deferred(self) -> None:
        """Clip references older than the window: looked up through the segments index."""
        for index, clip, v, n in self.deferred:
            part = clip.all_views()[v]
            ref = part.segments[n]
            rows = self.store.segments(ref.seq, ref.seq)
            seen: Seen | None = None
            if rows and rows[0].idx < index:
                try:
                    entry = parse_as(Segment, self.store.entry(rows[0].idx))
                except PacksealError:
                    entry = None
                if entry is not None and entry.seq == ref.seq:
                    seen = (rows[0].idx, entry)
            if seen is None:
                self.add(
                    "clips",
                    "error",
                    index,
                    f"clip {clip.clip_id} (entry {index}): segment {ref.seq} is not in the log",
                    clip=clip,
                )
            else:
                self._compare_ref(index, clip, part, n, seen)
        self.deferred.clear()


def of_view(view: str | None) -> str:
    """ " of view <name>" for a station with several cameras; "" for one."""
    return "" if view is None else f" of view {view}"


def _view_label(view: str | None) -> str:
    return "the unnamed view" if view is None else f"view {view}"
