"""A clip's own timeline: the bundle's video plays from 0 for the clip's length, and the
verifier restores the sealed bytes before hashing them.

The station encodes one continuous run; a clip is a range of its fragments, so each
fragment keeps its decode time in the run (``tfdt``) and the init section keeps the
encoder's leading empty edit (``elst``, two frames of B-frame delay). Players then show
the clip's place in the run: FFmpeg reported ``start 26.13, duration 60.0`` for a 34 s
clip cut 26 s into a run. An edit list alone moved the start to 0 but left the duration
(FFmpeg takes it from the fragments' decode times); rebasing every ``tfdt`` gave 34.00 s.

:func:`rebase` (at export) subtracts each track's first decode time from every fragment's
``tfdt`` and sets the leading empty edit's duration to 0. Both are overwritten in place,
with the same field widths, so every box keeps its size and offset. The bundle's manifest
records the numbers (:class:`Timeline`); :func:`restore_sealed` (at verify) adds them back
and the verifier hashes the result against the signed entry. Nothing else may differ: a
wrong number, or a ``tfdt`` changed by anything but the track's one offset, changes a
hash, and a shipped empty edit that is not 0 is refused (it would shift the picture while
the restored bytes still matched).

Pure functions over bytes (the init section; a fragment's ``styp`` + ``moof``, which may
run on into its ``mdat``); web-verify/src/timeline.js is the same in the browser.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from verifier._errors import MediaFormatError
from verifier.fmp4 import Box, iter_boxes

__all__ = [
    "Field",
    "Timeline",
    "TrackShift",
    "decode_times",
    "empty_edits",
    "rebase",
    "restore_sealed",
    "timeline_of",
]

MAX_TRACKS = 16
_HINT = (
    "a bundle's clip.mp4 is the sealed clip with each fragment's decode time moved by its "
    "track's offset in manifest.json (video.timeline) and the leading empty edit set to 0; "
    "nothing else may differ"
)


@dataclass(frozen=True, slots=True)
class TrackShift:
    track: int  # track_ID (tkhd, tfhd)
    decode: int  # subtracted from every fragment's tfdt, in the track's media timescale
    empty_edit: int  # the sealed init's leading empty edit, movie timescale; 0 in the bundle


@dataclass(frozen=True, slots=True)
class Timeline:
    """What :func:`rebase` changed, per track: enough to put the sealed bytes back."""

    tracks: tuple[TrackShift, ...]

    def shift(self, track: int) -> TrackShift | None:
        return next((t for t in self.tracks if t.track == track), None)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {str(t.track): {"decode": t.decode, "empty_edit": t.empty_edit} for t in self.tracks}


@dataclass(frozen=True, slots=True)
class Field:
    """An integer field of a box: ``width`` bytes (4 or 8, big-endian) at offset ``at``."""

    track: int
    at: int
    width: int
    value: int


def _boxes(data: bytes, parent: Box | None = None) -> list[Box]:
    f = io.BytesIO(data)
    if parent is None:
        return list(iter_boxes(f))
    return list(iter_boxes(f, start=parent.offset + parent.header, end=parent.end))


def _child(data: bytes, parent: Box, kind: str) -> list[Box]:
    return [b for b in _boxes(data, parent) if b.type == kind]


def _full_box(data: bytes, box: Box, need: int) -> tuple[int, int]:
    """(version, payload offset) of a full box whose payload needs ``need`` bytes."""
    body = box.offset + box.header
    if box.end - body < 4 + need:
        raise MediaFormatError(
            f"offset {box.offset}: '{box.type}' box of {box.size} bytes is too short",
            offset=box.offset,
            box=box.type,
            hint=_HINT,
        )
    return data[body], body + 4


def _top(data: bytes) -> list[Box]:
    """The whole top-level boxes at the start of ``data`` (a fragment's bytes may stop
    inside its mdat: the boxes before it are all that is read)."""
    out: list[Box] = []
    pos = 0
    while pos + 8 <= len(data):
        size, _ = struct.unpack_from(">I4s", data, pos)
        if size == 1 and pos + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, pos + 8)
        if size < 8 or pos + size > len(data):
            break
        out += iter_boxes(io.BytesIO(data), start=pos, end=pos + size)
        pos += size
    return out


def decode_times(head: bytes) -> list[Field]:
    """Every ``tfdt`` of a fragment (its ``styp`` + ``moof``, maybe more): one per track."""
    fields = []
    moofs = [b for b in _top(head) if b.type == "moof"]
    if len(moofs) != 1:
        raise MediaFormatError(
            f"a fragment starts with one whole 'moof', found {len(moofs)} in its first "
            f"{len(head)} bytes",
            hint=_HINT,
        )
    for moof in moofs:
        for traf in _child(head, moof, "traf"):
            tfhd = _child(head, traf, "tfhd")
            tfdt = _child(head, traf, "tfdt")
            if len(tfhd) != 1 or len(tfdt) > 1:
                raise MediaFormatError(
                    f"offset {traf.offset}: a 'traf' needs one 'tfhd' and at most one 'tfdt', "
                    f"found {len(tfhd)} and {len(tfdt)}",
                    offset=traf.offset,
                    box="traf",
                    hint=_HINT,
                )
            _, at = _full_box(head, tfhd[0], 4)
            (track,) = struct.unpack_from(">I", head, at)
            if not tfdt:
                continue
            version, at = _full_box(head, tfdt[0], 4)
            width = 8 if version == 1 else 4
            _full_box(head, tfdt[0], width)
            value = int.from_bytes(head[at : at + width], "big")
            fields.append(Field(track, at, width, value))
    return fields


def empty_edits(init: bytes) -> list[Field]:
    """Each track's leading empty edit (the first ``elst`` entry, ``media_time`` -1): the
    field of its duration."""
    fields = []
    for moov in (b for b in _boxes(init) if b.type == "moov"):
        for trak in _child(init, moov, "trak"):
            tkhd = _child(init, trak, "tkhd")
            if len(tkhd) != 1:
                raise MediaFormatError(
                    f"offset {trak.offset}: a 'trak' needs one 'tkhd', found {len(tkhd)}",
                    offset=trak.offset,
                    box="trak",
                    hint=_HINT,
                )
            version, at = _full_box(init, tkhd[0], 24)
            (track,) = struct.unpack_from(">I", init, at + (16 if version == 1 else 8))
            for edts in _child(init, trak, "edts"):
                for elst in _child(init, edts, "elst"):
                    version, at = _full_box(init, elst, 4)
                    width = 8 if version == 1 else 4
                    (count,) = struct.unpack_from(">I", init, at)
                    if count == 0:
                        continue
                    _full_box(init, elst, 4 + 2 * width + 4)
                    duration = int.from_bytes(init[at + 4 : at + 4 + width], "big")
                    media_time = int.from_bytes(
                        init[at + 4 + width : at + 4 + 2 * width], "big", signed=True
                    )
                    if media_time == -1:
                        fields.append(Field(track, at + 4, width, duration))
    return fields


def timeline_of(init: bytes, first_head: bytes) -> Timeline:
    """The numbers :func:`rebase` takes out of a clip whose first fragment is ``first_head``."""
    edits = {f.track: f.value for f in empty_edits(init)}
    times = decode_times(first_head)
    if len(times) > MAX_TRACKS:
        raise MediaFormatError(f"{len(times)} tracks in one fragment, at most {MAX_TRACKS}")
    shifts = (TrackShift(f.track, f.value, edits.get(f.track, 0)) for f in times)
    return Timeline(tuple(sorted(shifts, key=lambda t: t.track)))


def _put(data: bytearray, f: Field, value: int) -> None:
    if not 0 <= value < 1 << (8 * f.width):
        raise MediaFormatError(
            f"offset {f.at}: track {f.track}'s value {value} does not fit its {f.width}-byte field",
            offset=f.at,
            hint=_HINT,
        )
    data[f.at : f.at + f.width] = value.to_bytes(f.width, "big")


def rebase(part: bytes, timeline: Timeline) -> bytes:
    """The bundle's bytes of one sealed part (the init section, or a fragment's head)."""
    out = bytearray(part)
    if part[4:8] == b"ftyp":
        for f in empty_edits(part):
            t = timeline.shift(f.track)
            if t is not None and t.empty_edit:
                _put(out, f, 0)
        return bytes(out)
    for f in decode_times(part):
        t = timeline.shift(f.track)
        if t is not None:
            if f.value < t.decode:
                raise MediaFormatError(
                    f"offset {f.at}: track {f.track}'s decode time {f.value} is before the "
                    f"clip's first ({t.decode})",
                    offset=f.at,
                    hint=_HINT,
                )
            _put(out, f, f.value - t.decode)
    return bytes(out)


def restore_sealed(part: bytes, timeline: Timeline) -> bytes:
    """The sealed bytes of one part of a bundle's video: :func:`rebase` undone.

    Raises :class:`MediaFormatError` when the part cannot have come from :func:`rebase`
    with these numbers (a shipped empty edit that is not 0, a track's empty edit the init
    does not have, a value that overflows its field). Any other difference is left for
    the hash to catch.
    """
    out = bytearray(part)
    if part[4:8] == b"ftyp":
        edits = {f.track: f for f in empty_edits(part)}
        for t in timeline.tracks:
            if not t.empty_edit:
                continue
            f = edits.get(t.track)
            if f is None:
                raise MediaFormatError(
                    f"the timeline restores an empty edit of {t.empty_edit} on track "
                    f"{t.track}, but the init section has none there",
                    hint=_HINT,
                )
            if f.value != 0:
                raise MediaFormatError(
                    f"offset {f.at}: track {t.track}'s leading empty edit lasts {f.value}; a "
                    "rebased clip carries 0 (anything else delays the picture)",
                    offset=f.at,
                    hint=_HINT,
                )
            _put(out, f, t.empty_edit)
        return bytes(out)
    for f in decode_times(part):
        shift = timeline.shift(f.track)
        if shift is not None:
            _put(out, f, f.value + shift.decode)
    return bytes(out)
