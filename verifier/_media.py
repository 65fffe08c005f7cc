"""The ``media`` check: the video's init section and fragments, hashed in one pass and
matched with the clip entry's segments; or a derived copy, named as such."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO, cast

from storage.entries import Clip, ClipView, SegmentRef
from verifier._errors import MediaFormatError
from verifier._layout import (
    CAPS,
    CLIP,
    DERIVED,
    MAX_VIDEO_BYTES,
    VIDEOS,
    view_member,
    view_of,
    view_span,
)
from verifier._manifest import Manifest
from verifier._report import Check, failed
from verifier._zip import BundleZip, MemberError, Problem, Readable, find
from verifier.fmp4 import Range, iter_boxes, split_fragments
from verifier.timeline import Timeline, restore_sealed

_CHUNK = 1 << 20
# The entry names every segment's size but not the init section's; ffmpeg's are ~1 kB.
# A video larger than its segments plus this is refused before its boxes are walked, so
# a bundle cannot make the verifier parse gigabytes of tiny boxes.
MAX_INIT_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ViewSpan:
    """A further view's video in the bundle: which of the view's segments it holds."""

    view: str
    member: str
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Span:
    """Which of the entry's segments the video holds (positions, inclusive)."""

    first: int
    last: int
    video: str | None = None
    derived: bool = False
    views: tuple[ViewSpan, ...] = ()  # a clip filmed by several cameras: the others


def check_media(z: BundleZip, clip: Clip, m: Manifest | None) -> tuple[Check, Span | None]:
    n = len(clip.segments)
    first, last = (0, n - 1) if m is None else (m.first, m.last)
    if m is not None and (m.segment_count != n or last >= n):
        return Check(
            "media",
            False,
            f"the manifest declares segments {first + 1}..{last + 1} of {m.segment_count}; "
            f"the signed entry has {n}",
            f"segments within 1..{n}",
            f"{first + 1}..{last + 1} of {m.segment_count}",
        ), None
    name = next((v for v in VIDEOS if find(z.infos, v) is not None), None)
    info = None if name is None else find(z.infos, name)
    if name is None or info is None:
        return Check("media", False, "the bundle holds no video", CLIP, "nothing"), None
    try:
        video = z.open_video(info, CAPS[name])
    except MemberError as e:
        return failed("media", [e.problem]), None
    extra = _not_views(z, clip)
    if name == DERIVED:
        derived = _derived(video, clip, m, first, last)
        if extra:
            return failed("media", extra), Span(first, last, name, True)
        return derived, Span(first, last, name, True)
    span = Span(first, last, name)
    parts = clip.all_views()
    several = len(parts) > 1
    timeline = None if m is None else m.timeline
    problems, said = _sealed(video, name, parts[0], first, last, timeline, several)
    if not several:
        problems += extra
        if problems:
            return failed("media", problems), span
        return Check("media", True, said), span
    spans, view_said = [], [f"{parts[0].view} ({name}): {said}"]
    for part in parts[1:]:
        lo, hi = view_span(part, parts[0], first, last)
        member = view_member(part.view)
        spans.append(ViewSpan(part.view, member, lo, hi))
        found, said = _view(z, m, part, member, lo, hi)
        problems += found
        view_said.append(f"{part.view} ({member}): {said}")
    problems += extra
    span = Span(first, last, name, views=tuple(spans))
    if problems:
        return failed("media", problems), span
    return Check("media", True, f"{len(parts)} views; " + "; ".join(view_said)), span


def _not_views(z: BundleZip, clip: Clip) -> list[Problem]:
    """A view-shaped member (clip.<name>.mp4) the signed entry does not name."""
    named = set(clip.view_names()[1:])
    said = (
        f"its signed entry names: {', '.join(clip.view_names())}"
        if named
        else "its signed entry names no further views"
    )
    return [
        Problem(
            f"{info.filename} is not a view of this clip ({said})",
            ", ".join(view_member(v) for v in sorted(named)) or "no clip.<view>.mp4 member",
            info.filename,
        )
        for info in z.infos
        if (other := view_of(info.filename)) is not None and other not in named
    ]


def _view(
    z: BundleZip, m: Manifest | None, part: ClipView, member: str, first: int, last: int
) -> tuple[list[Problem], str]:
    """A further view's video: where the manifest says, holding what the entry names."""
    where = f"view {part.view} ({member})"
    info = find(z.infos, member)
    if info is None:
        return [
            Problem(
                f"{where}: the view's video is missing from the bundle (the signed entry "
                f"names view {part.view})",
                member,
                "nothing",
            )
        ], ""
    said = None if m is None else next((v for v in m.views if v.view == part.view), None)
    if m is not None and (said is None or said.member != member):
        return [
            Problem(
                f"{where}: manifest.json does not describe this view",
                f"a views item for {part.view} naming {member}",
                "none" if said is None else said.member,
            )
        ], ""
    n = len(part.segments)
    if said is not None and (said.first, said.last, said.segment_count) != (first, last, n):
        return [
            Problem(
                f"{where}: the manifest declares segments {said.first + 1}..{said.last + 1} of "
                f"{said.segment_count}; beside the primary view's segments the bundle carries "
                f"the view's {first + 1}..{last + 1} of {n}",
                f"segments {first + 1}..{last + 1} of {n}",
                f"{said.first + 1}..{said.last + 1} of {said.segment_count}",
            )
        ], ""
    try:
        video = z.open_video(info, MAX_VIDEO_BYTES)
    except MemberError as e:
        return [dataclasses.replace(e.problem, message=f"{where}: {e.problem.message}")], ""
    return _sealed(video, member, part, first, last, None if said is None else said.timeline, True)


def _sealed(
    video: Readable,
    name: str,
    part: ClipView,
    first: int,
    last: int,
    timeline: Timeline | None,
    several: bool,
) -> tuple[list[Problem], str]:
    """One view's video against its signed init and segments: the problems, else what
    passed. ``several``: the clip has several views (messages name this one)."""
    prefix = f"view {part.view} ({name}): " if several else ""
    n = len(part.segments)
    size = video.seek(0, io.SEEK_END)
    segments = sum(r.bytes for r in part.segments[first : last + 1])
    if size > segments + MAX_INIT_BYTES:
        return [
            Problem(
                f"{prefix}{name} is {size} bytes, but segments {first + 1}..{last + 1} total "
                f"{segments} bytes (plus an init section of about a kilobyte): bytes were added",
                f"at most {segments + MAX_INIT_BYTES} bytes",
                f"{size} bytes",
            )
        ], ""
    try:
        layout = split_fragments(cast(BinaryIO, video))
        ranges = [layout.init, *layout.fragments]
        if timeline is None:
            hashes = hash_ranges(video, ranges)
        else:
            hashes = hash_restored(video, ranges, timeline)
    except MediaFormatError as e:
        found = f"offset {e.offset}" if e.offset is not None else None
        return [Problem(f"{prefix}{name}: {e.message}", "init + whole fragments", found)], ""
    init_hash, found_hashes = hashes[0], hashes[1:]
    problems: list[Problem] = []
    if init_hash != part.init:
        problems.append(
            Problem(
                f"{prefix}init section (bytes 0-{layout.init.end}): sha256 does not match the "
                "entry",
                part.init,
                init_hash,
            )
        )
    mismatched, after = match_fragments(part.segments, first, found_hashes, layout.fragments)
    problems += [dataclasses.replace(p, message=prefix + p.message) for p in mismatched]
    got_last = after - 1
    if not problems and got_last != last:
        problems.append(
            Problem(
                f"{prefix}{name} holds segments {first + 1}..{got_last + 1} of {n}; the manifest "
                f"declares {first + 1}..{last + 1}: "
                + ("segments are missing" if got_last < last else "segments were added"),
                f"segments {first + 1}..{last + 1}",
                f"segments {first + 1}..{got_last + 1}",
            )
        )
    if problems:
        return problems, ""
    what = (
        f"excerpt: segments {first + 1}..{last + 1} of {n}"
        if (first, last) != (0, n - 1)
        else f"all {n} segments"
    )
    moved = (
        ""
        if timeline is None
        else " (with their decode times put back where the recording had them: "
        f"{_moved(timeline)}; {name} plays from 0)"
    )
    return [], (
        f"{what}; the init section and every fragment match the signed entry{moved}, in "
        f"order, and nothing else is in {name}"
    )


def _moved(timeline: Timeline) -> str:
    return ", ".join(
        f"track {t.track} +{t.decode}" + (f", empty edit {t.empty_edit}" if t.empty_edit else "")
        for t in timeline.tracks
    )


def _derived(video: Readable, clip: Clip, m: Manifest | None, first: int, last: int) -> Check:
    digest = hash_ranges(video, None)[0]
    if m is not None and m.derived is not None and m.derived.sha256 != digest:
        return Check(
            "media",
            False,
            f"{DERIVED}: sha256 differs from the manifest's (changed after export)",
            m.derived.sha256,
            digest,
        )
    sealed = "" if m is None else f" (sealed bytes: sha256 {m.sealed_sha256})"
    return Check(
        "media",
        None,
        f"derived copy — not the sealed bytes: {DERIVED} (sha256 {digest}) is a re-encoded "
        f"copy of segments {first + 1}..{last + 1} of sealed clip {clip.clip_id}{sealed}; "
        "its bytes cannot match the signed entry and are not verified",
        "the sealed bytes (clip.mp4)",
        "a derived copy (derived.mp4)",
    )


def hash_ranges(f: Readable, ranges: list[Range] | None) -> list[str]:
    """SHA-256 of each range, reading once, front to back, straight into one buffer.

    The ranges from :func:`split_fragments` tile the file; ``None`` hashes the whole file.
    """
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    out = []
    if ranges is None:
        f.seek(0)
        h = hashlib.sha256()
        while n := f.readinto(view) or 0:
            h.update(view[:n])
        return [h.hexdigest()]
    f.seek(ranges[0].start)
    for r in ranges:
        h = hashlib.sha256()
        left = r.size
        while left:
            n = f.readinto(view[: min(left, _CHUNK)]) or 0
            if not n:
                raise MediaFormatError(
                    f"the file ended inside the part at offset {r.start}", offset=r.start
                )
            h.update(view[:n])
            left -= n
        out.append(h.hexdigest())
    return out


def hash_restored(f: Readable, ranges: list[Range], timeline: Timeline) -> list[str]:
    """SHA-256 of each range of a rebased video with the sealed bytes put back
    (:func:`verifier.timeline.restore_sealed`): the init section whole, each fragment's
    ``styp`` + ``moof`` restored and its ``mdat`` as it is."""
    out = []
    for k, r in enumerate(ranges):
        if k == 0:
            head_end = r.end
        else:
            boxes = iter_boxes(cast(BinaryIO, f), start=r.start, end=r.end)
            head_end = next(b.offset for b in boxes if b.type == "mdat")
        if head_end - r.start > MAX_INIT_BYTES:
            raise MediaFormatError(
                f"the part at offset {r.start} has {head_end - r.start} bytes of boxes before "
                f"its media, more than {MAX_INIT_BYTES}",
                offset=r.start,
            )
        f.seek(r.start)
        head = _read(f, head_end - r.start)
        h = hashlib.sha256(restore_sealed(head, timeline))
        f.seek(head_end)
        left = r.end - head_end
        while left:
            chunk = _read(f, min(left, _CHUNK))
            h.update(chunk)
            left -= len(chunk)
        out.append(h.hexdigest())
    return out


def _read(f: Readable, n: int) -> bytes:
    buf = bytearray(n)
    got = 0
    view = memoryview(buf)
    while got < n:
        k = f.readinto(view[got:]) or 0
        if not k:
            raise MediaFormatError(f"the file ended {n - got} bytes early", offset=None)
        got += k
    return bytes(buf)


def match_fragments(
    refs: tuple[SegmentRef, ...], first: int, found: list[str], ranges: list[Range]
) -> tuple[list[Problem], int]:
    """Compare the file's fragments with the entry's segments from position ``first``.

    After a mismatch the comparison re-aligns on the segment the fragment turned out to be,
    so one dropped, repeated or inserted fragment is reported once, not as a cascade.
    Returns the problems and the position after the last segment matched.
    """
    position = {r.sha256: i for i, r in enumerate(refs)}
    problems = []
    n = len(refs)
    want = first
    for k, (h, r) in enumerate(zip(found, ranges, strict=True)):
        if want < n and h == refs[want].sha256:
            want += 1
            continue
        where = f"fragment {k + 1} (bytes {r.start}-{r.end})"
        expected = refs[want].sha256 if want < n else "the end of the file"
        j = position.get(h)
        if j is None:
            what = f"is not a segment of this clip (expected segment {want + 1} of {n})"
        elif j < want:
            what = f"is segment {j + 1} again: duplicated or out of order (expected {want + 1})"
        else:
            what = f"is segment {j + 1}: segment(s) {want + 1}..{j} are missing or out of order"
            want = j + 1
        if expected == "the end of the file" and j is None:
            what = f"is extra: the entry's {n} segments ended before it"
        problems.append(Problem(f"{where} {what}", expected, h))
    return problems, want
