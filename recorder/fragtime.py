"""The camera's own times in a stream-copied fMP4 segment: pure functions over bytes.

In stream-copy mode no frame passes through Python, so a segment's frames, times and
drops are read from what ffmpeg copied: the init section's video ``mdhd`` timescale,
and in the fragment ``tfdt`` (decode time of its first sample) and ``trun`` (sample
count and durations, or ``tfhd``'s default duration). The durations are the camera's
timestamps: a duration of ``k`` frame intervals means ``k - 1`` frames never arrived.

ISO/IEC 14496-12: 8.4.2 mdhd, 8.8.7 tfhd, 8.8.8 trun, 8.8.12 tfdt. Only what ffmpeg's
HLS muxer writes for one video track is handled; anything else raises ``ValueError``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["FragmentTimes", "fragment_times", "init_timescale"]

_CONTAINERS = frozenset({"moov", "trak", "mdia", "moof", "traf"})


@dataclass(frozen=True, slots=True)
class FragmentTimes:
    start: int  # decode time of the first sample, in timescale units
    durations: tuple[int, ...]  # per sample, in timescale units

    @property
    def end(self) -> int:
        return self.start + sum(self.durations)

    def dropped(self, frame_units: float) -> int:
        """Frames missing between samples: a duration of k frame intervals hides k - 1."""
        if frame_units <= 0:
            raise ValueError(f"frame interval must be positive, got {frame_units}")
        return sum(max(0, round(d / frame_units) - 1) for d in self.durations)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of the boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ValueError(f"box at {pos}: truncated 64-bit size")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at {pos}: size {size} runs past {end}")
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size
    if pos != end:
        raise ValueError(f"{end - pos} trailing bytes at {pos}")


def _find(data: bytes, path: tuple[str, ...], start: int = 0, end: int | None = None) -> list[int]:
    """Payload starts of the boxes at ``path`` (containers walked, first match per level)."""
    end = len(data) if end is None else end
    found: list[int] = []
    for kind, body, box_end in _boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            found.append(body)
        elif kind in _CONTAINERS:
            found += _find(data, path[1:], body, box_end)
    return found


def init_timescale(init: bytes) -> int:
    """The video track's timescale (units per second) from an init section."""
    for trak in _trak_bodies(init):
        handler = _find(init, ("mdia", "hdlr"), *trak)
        mdhd = _find(init, ("mdia", "mdhd"), *trak)
        if handler and mdhd and init[handler[0] + 8 : handler[0] + 12] == b"vide":
            version = init[mdhd[0]]
            at = mdhd[0] + (20 if version == 1 else 12)
            (scale,) = struct.unpack_from(">I", init, at)
            if scale == 0:
                raise ValueError("mdhd timescale is 0")
            return int(scale)
    raise ValueError("no video track in the init section")


def _trak_bodies(init: bytes) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for kind, body, end in _boxes(init, 0, len(init)):
        if kind == "moov":
            out += [(b, e) for k, b, e in _boxes(init, body, end) if k == "trak"]
    return out


def fragment_times(segment: bytes) -> FragmentTimes:
    """Decode times of a one-track fragment (``[styp] moof mdat``)."""
    tfdt = _find(segment, ("moof", "traf", "tfdt"))
    tfhd = _find(segment, ("moof", "traf", "tfhd"))
    truns = _find(segment, ("moof", "traf", "trun"))
    if len(tfdt) != 1 or len(tfhd) != 1 or not truns:
        raise ValueError("expected one track fragment with tfhd, tfdt and trun")
    at = tfdt[0]
    start = int(
        struct.unpack_from(">Q", segment, at + 4)[0]
        if segment[at] == 1
        else struct.unpack_from(">I", segment, at + 4)[0]
    )
    at = tfhd[0]
    (flags,) = struct.unpack_from(">I", segment, at)
    flags &= 0xFFFFFF
    pos = at + 8  # version/flags, track_ID
    if flags & 0x01:
        pos += 8  # base_data_offset
    if flags & 0x02:
        pos += 4  # sample_description_index
    default = struct.unpack_from(">I", segment, pos)[0] if flags & 0x08 else None
    durations: list[int] = []
    for at in truns:
        (flags,) = struct.unpack_from(">I", segment, at)
        flags &= 0xFFFFFF
        (count,) = struct.unpack_from(">I", segment, at + 4)
        pos = at + 8
        if flags & 0x001:
            pos += 4  # data_offset
        if flags & 0x004:
            pos += 4  # first_sample_flags
        fields = [0x100, 0x200, 0x400, 0x800]
        width = 4 * sum(1 for f in fields if flags & f)
        for i in range(count):
            if flags & 0x100:
                durations.append(int(struct.unpack_from(">I", segment, pos + i * width)[0]))
            elif default is not None:
                durations.append(int(default))
            else:
                raise ValueError("trun has no sample durations and tfhd no default")
    return FragmentTimes(start, tuple(durations))
