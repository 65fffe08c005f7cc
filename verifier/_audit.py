"""The audit's one pass: the log scan's entries and checkpoints, the blobs, then the rest.

See :mod:`verifier.audit` for the checks. The scan (:meth:`storage.Store.scan_log`) hands
over every entry it read, parsed; this module checks what the entries say (station keys,
segments, gaps, purges; clips in :mod:`verifier._audit_clips`) and, through
:mod:`verifier._audit_media`, what the blob store holds. Checkpoints and forks are
:mod:`verifier._audit_log`'s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from storage import FormatError, SignatureError, StorageError, Store
from storage.entries import (
    Clip,
    Gap,
    Purge,
    Segment,
    StationKey,
    from_parsed,
    parse_as,
)
from storage.facts import rfc3339
from storage.note import Ed25519Verifier, NoteVerifier
from verifier._audit_clips import Clips, name_affected_clips, of_view
from verifier._audit_log import LogElsewhere, LogResult, check_log
from verifier._audit_media import Media, Range, Ranges, Seen, seqs
from verifier._audit_report import AuditReport, Findings, Severity
from verifier._timecheck import SEAL_SKEW_MS

Progress = Callable[[int, int], None]

# Recent segments kept for checking clips against: 8192 x 2 s is 4.5 hours of footage.
SEGMENT_WINDOW = 8192
# From this many entries the log half runs in a second process (starting one costs ~1 s).
PARALLEL_FROM = 100_000


_SEGMENT_TYPES = {
    "seq": int,
    "run": str,
    "index": int,
    "sha256": str,
    "init": str,
    "start": int,
    "end": int,
    "frames": int,
    "dropped": int,
    "bytes": int,
    "prev": str,
    "time": int,
}
_SEGMENT_KEYS = frozenset({"kind", *_SEGMENT_TYPES})
_VIEW_SEGMENT_KEYS = _SEGMENT_KEYS | {"view"}


def _segment(obj: dict[str, Any]) -> Segment:
    """:func:`storage.entries.from_parsed` for a segment, ~4x faster on the common case.

    A segment's fields are flat ints and strings: when the keys and types are exactly
    those, building the dataclass (whose ``__post_init__`` validates values) is all
    :func:`storage.entries.from_parsed` would do. Anything else takes that parser,
    which raises the precise error.
    """
    keys = obj.keys()
    if keys == _SEGMENT_KEYS or (keys == _VIEW_SEGMENT_KEYS and type(obj["view"]) is str):
        for name, tp in _SEGMENT_TYPES.items():
            if type(obj[name]) is not tp:
                break
        else:
            return Segment(**{name: obj[name] for name in _SEGMENT_TYPES}, view=obj.get("view"))
    entry = from_parsed(obj)
    if not isinstance(entry, Segment):
        raise FormatError(f"expected a segment entry, found a {entry.KIND} entry")
    return entry


class Auditor:
    def __init__(
        self,
        store: Store,
        verifiers: list[NoteVerifier],
        root: Ed25519Verifier | None,
        hash_blobs: bool,
        gap_tolerance_ms: int,
        require_live_source: bool = False,
    ) -> None:
        self.store = store
        self.log = store  # the log's half of the store's methods
        self.verifiers = verifiers
        self.root = root
        self.hash_blobs = hash_blobs
        self.tolerance = gap_tolerance_ms
        self.report = AuditReport(store.origin, 0, hashed_blobs=hash_blobs)
        self.stats = self.report.stats
        self.found = Findings()
        blob_dir = store.blob_dir()
        if blob_dir is None:
            raise StorageError(
                "the audit reads blobs as files, and this store keeps them elsewhere",
                hint="audit the station's own store, or a copy of its blob directory",
            )
        self.blob_dir = blob_dir
        self.media = Media(blob_dir, hash_blobs, self.add, self.stats)
        # station keys the log certified so far: "<name>+<hex key id>" -> verifier
        self.certified: dict[str, Ed25519Verifier] = {}
        self.window: dict[int, Seen] = {}  # seq -> the last SEGMENT_WINDOW segments
        # Per view (None: a one-camera station's): its last segment, and the gap entries
        # since then (a station-wide gap counts for every view). Segment numbers are
        # station-wide, so their jumps are checked across views; capture times per view.
        self.last: dict[str | None, Seen] = {}
        self.gaps_since: dict[str | None, list[Gap]] = {}
        self.last_seq = -1
        self.max_seq = -1
        self.purged = Ranges()
        self.purges: list[tuple[int, Purge]] = []
        self.clips = Clips(
            store, self.add, self.stats, self.certified, self.window, require_live_source
        )

    def add(
        self,
        check: str,
        severity: Severity,
        index: int | None,
        message: str,
        *,
        seqs: tuple[int, int] | None = None,
        clip: Clip | None = None,
    ) -> None:
        named = None if clip is None else (clip.order_id, clip.clip_id)
        self.found.add(check, severity, index, message, seqs=seqs, clip=named)

    # -- the pass ------------------------------------------------------------------------

    def run(
        self, against: bytes | None, progress: Progress | None, parallel: bool | None
    ) -> AuditReport:
        started = time.perf_counter()
        if self.root is None:
            self.add(
                "station-keys",
                "info",
                None,
                "no trusted merchant root given: station-key certifications were checked "
                "against the root each entry names, not against the merchant's published root",
            )
        if parallel is None:
            parallel = self.log.size() >= PARALLEL_FROM
        # A second process needs a database it can open by itself.
        url = self.store.reopen_url()
        parallel = parallel and url is not None
        with self.media:
            if parallel and url is not None:
                result, content_size = self._both_halves(url, against, progress)
            else:
                result = check_log(
                    self.log, self.verifiers, against, on_entry=self._on_entry, progress=progress
                )
                content_size = result.size
            self.media.flush()
        self.found.merge(result.findings)
        self.report.evidence.extend(result.evidence)
        self.report.size = self.stats.entries = result.size
        self.stats.checkpoints = result.checkpoints
        self.clips.check_deferred()
        self.media.reconcile(
            self.purged.merged(),
            self.purges,
            lambda: self._purged_after(content_size),
            content_size,
        )
        self.report.findings = name_affected_clips(self.found.report_order(), self.clips.spans)
        self.report.counts = dict(self.found.counts)
        self.stats.seconds = time.perf_counter() - started
        return self.report

    def _both_halves(
        self, url: str, against: bytes | None, progress: Progress | None
    ) -> tuple[LogResult, int]:
        """The log half in a second process, the content half here: two cores.

        Each half costs about the same (parsing and hashing every entry and the tree;
        reading and checking what every entry says), and they share nothing but the
        database, so the audit takes about as long as either.
        """
        log_half = LogElsewhere(url, self.blob_dir, self.log.origin, self.verifiers, against)
        try:
            total = self.log.size()
            size = 0
            for index, data in self.log.entries():
                size = index + 1
                try:
                    # Only what the entry says: whether its bytes are canonical, hash
                    # right and chain is the log half's to check and report.
                    obj = json.loads(data)
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict):
                    self._on_entry(index, data, obj)
                if progress is not None and size % 4096 == 0:
                    progress(size, max(total, size))
        except BaseException:
            log_half.kill()
            raise
        return log_half.result(), size

    def _on_entry(self, index: int, data: bytes, obj: dict[str, Any]) -> None:
        kind = obj.get("kind")
        try:
            if kind == "segment":
                self._segment(index, _segment(obj))
                return
            entry = from_parsed(obj)
        except FormatError as e:
            self.add("entries", "error", index, f"entry {index} is not a valid {kind} entry: {e}")
            return
        if isinstance(entry, Clip):
            self.clips.check(index, entry, self.max_seq)
        elif isinstance(entry, Gap):
            self._gap(index, entry)
        elif isinstance(entry, Purge):
            self._purge(index, entry)
        elif isinstance(entry, StationKey):
            self._station_key(index, entry)

    # -- station keys --------------------------------------------------------------------

    def _station_key(self, index: int, entry: StationKey) -> None:
        if entry.origin != self.log.origin:
            self.add(
                "station-keys",
                "error",
                index,
                f"entry {index}: station key certified for origin {entry.origin!r}, "
                f"but this log is {self.log.origin!r}",
            )
            return
        try:
            entry.verify_certification(self.root or entry.root_verifier())
        except (SignatureError, FormatError) as e:
            self.add("station-keys", "error", index, f"entry {index}: {e}")
            return
        station = entry.station_verifier()
        self.certified[f"{station.name}+{station.key_id:08x}"] = station
        if not any(v.name == station.name and v.key_id == station.key_id for v in self.verifiers):
            self.add(
                "station-keys",
                "warning",
                index,
                f"entry {index}: the certified station key {entry.vkey} is not one of the "
                "log keys the audit was given",
            )

    # -- segments and their blobs --------------------------------------------------------

    def _segment(self, index: int, seg: Segment) -> None:
        self.stats.segments += 1
        seen = (index, seg)
        expected = self.last_seq + 1
        if seg.seq > expected:
            self.add(
                "segments",
                "error",
                index,
                f"entry {index}: segment numbers jump from {self.last_seq} to {seg.seq}: "
                f"{seqs(expected, seg.seq - 1)} {'is' if seg.seq - 1 == expected else 'are'} "
                "not in the log (entries deleted or moved)",
                seqs=(expected, seg.seq - 1),
            )
        elif seg.seq < expected:
            self.add(
                "segments",
                "error",
                index,
                f"entry {index}: segment {seg.seq} follows segment {self.last_seq}: "
                "numbers repeat or go back (entries inserted or moved)",
                seqs=(seg.seq, seg.seq),
            )
        elif seg.view in self.last:
            self._time_step(index, self.last[seg.view][1], seg)
        if seg.end > seg.time + SEAL_SKEW_MS:
            self.add(
                "segments",
                "error",
                index,
                f"entry {index}: segment {seg.seq} ends {rfc3339(seg.end, ms=True)}, "
                f"{(seg.end - seg.time) / 1000:.0f} s after the station logged it "
                f"({rfc3339(seg.time, ms=True)}): footage cannot be logged before it was "
                "recorded, so its times are not true (a source with a chosen epoch, or a clock "
                "that jumped)",
                seqs=(seg.seq, seg.seq),
            )
        self.gaps_since[seg.view] = []
        self.last[seg.view], self.last_seq = seen, seg.seq
        if seg.seq > self.max_seq:
            self.max_seq = seg.seq
        self.window[seg.seq] = seen
        self.window.pop(seg.seq - SEGMENT_WINDOW, None)
        self.media.segment(seen)

    def _time_step(self, index: int, last: Segment, seg: Segment) -> None:
        gap = seg.start - last.end
        if gap > self.tolerance:
            explained = any(
                g.start <= last.end + self.tolerance and g.end + self.tolerance >= seg.start
                for g in self.gaps_since.get(seg.view, ())
            )
            if not explained:
                self.add(
                    "gaps",
                    "error",
                    index,
                    f"entry {index}: {gap / 1000:.1f} s without footage{of_view(seg.view)} between "
                    f"segment {last.seq} (ends {rfc3339(last.end, ms=True)}) and segment "
                    f"{seg.seq} (starts {rfc3339(seg.start, ms=True)}), and no gap entry "
                    "explains it: footage was cut",
                    seqs=(last.seq, seg.seq),
                )
        elif -gap > self.tolerance:
            self.add(
                "segments",
                "warning",
                index,
                f"entry {index}: segment {seg.seq}{of_view(seg.view)} starts {-gap / 1000:.1f} s "
                f"before segment {last.seq} ends (the station clock went back?)",
                seqs=(last.seq, seg.seq),
            )

    # -- gaps, purges --------------------------------------------------------------------

    def _gap(self, index: int, gap: Gap) -> None:
        self.stats.gaps += 1
        if gap.view is None:
            for gaps in self.gaps_since.values():
                gaps.append(gap)
        else:
            self.gaps_since.setdefault(gap.view, []).append(gap)
        after = "" if gap.after_seq is None else f" after segment {gap.after_seq}"
        detail = f" ({gap.detail})" if gap.detail else ""
        self.add(
            "gaps",
            "info",
            index,
            f"entry {index}: {(gap.end - gap.start) / 1000:.1f} s without footage"
            f"{of_view(gap.view)}{after}, from "
            f"{rfc3339(gap.start, ms=True)}: {gap.reason}{detail}",
        )

    def _purge(self, index: int, purge: Purge) -> None:
        if purge.last_seq > self.max_seq:
            self.add(
                "purges",
                "error",
                index,
                f"entry {index}: purge of {seqs(purge.first_seq, purge.last_seq)} covers "
                f"segments not logged before it (last logged: {self.max_seq}): a purge can "
                "only excuse media that already existed",
            )
            if purge.first_seq > self.max_seq:
                return
        self.purged.add_range(purge.first_seq, min(purge.last_seq, self.max_seq), index)
        self.purges.append((index, purge))

    # -- after the pass ------------------------------------------------------------------

    def _purged_after(self, size: int) -> list[Range]:
        """Purges appended after the audited snapshot (retention logs before it deletes)."""
        out = Ranges()
        for index, data in self.log.entries(size):
            if b'"kind":"purge"' in data:
                try:
                    purge = parse_as(Purge, data)
                except FormatError:
                    continue
                out.add_range(purge.first_seq, purge.last_seq, index)
        return out.merged()
