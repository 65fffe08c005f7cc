"""Log entries: frozen values whose bytes are canonical JSON.

Every entry has ``kind``, ``prev`` (hex leaf hash of the entry before it; 64 zeros for the
first) and ``time`` (ms since the epoch, UTC, when the station wrote it). Kinds:

``station-key``  the merchant root certifies a station key for a log origin
``segment``      one closed video segment of a recording run, hashed and stored
``clip``         one order: a range of segments, its scans and facts, signed by the station
``gap``          a span with no footage, and why (camera lost, restart, crash, ...)
``purge``        retention deleted the media of a range of segments (never the entries)

Signatures exclude ``prev`` and the signature field itself, so a statement can be signed
before its position in the log is known; the log binds position through its checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, Union

from storage import canonical
from storage._errors import FormatError, SignatureError
from storage.note import Ed25519Verifier, NoteSigner

GENESIS = "0" * 64
MAX_ENTRY_BYTES = 4 << 20
MAX_TEXT = 512
_HEX64 = re.compile(r"[0-9a-f]{64}")

CLIP_STATUSES = ("sealed", "cancelled", "interrupted")
END_REASONS = (
    "next-order",
    "rescan",
    "stop",
    "cancel",
    "idle",
    "max-length",
    "shutdown",
    "source-lost",
    "encoder-died",
    "crash",
)
GAP_REASONS = ("camera-lost", "encoder-died", "restart", "crash", "disk-full", "not-recording")


def _hex64(value: str, what: str) -> None:
    if not _HEX64.fullmatch(value):
        raise FormatError(f"{what} must be 64 lowercase hex digits, found {value[:70]!r}")


def _text(value: str, what: str, *, empty: bool = False) -> None:
    if not empty and not value:
        raise FormatError(f"{what} must not be empty")
    if len(value) > MAX_TEXT:
        raise FormatError(f"{what} is {len(value)} characters, at most {MAX_TEXT}")


def _span(start: int, end: int, what: str) -> None:
    if start < 0 or end < start:
        raise FormatError(f"{what}: end {end} is before start {start}")


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise FormatError(f"{what} is not base64") from e


@dataclass(frozen=True, slots=True)
class _Entry:
    KIND: ClassVar[str]
    SIGNED_BY: ClassVar[str | None] = None  # name of the signature field, if any
    prev: str
    time: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND}
        for f in dataclasses.fields(self):
            out[f.name] = _to_json(getattr(self, f.name))
        return out

    def to_bytes(self) -> bytes:
        return canonical.dumps(self.to_dict())

    def signing_bytes(self) -> bytes:
        """What a signature covers: the entry without ``prev`` and the signature field."""
        body = self.to_dict()
        body.pop("prev")
        if self.SIGNED_BY:
            body.pop(self.SIGNED_BY)
        return f"packseal/{self.KIND}/v1\n".encode() + canonical.dumps(body)

    def with_prev(self: _E, prev: str) -> _E:
        return dataclasses.replace(self, prev=prev)


_E = TypeVar("_E", bound=_Entry)


@dataclass(frozen=True, slots=True)
class StationKey(_Entry):
    """The merchant root key certifies ``vkey`` as the key of log ``origin``."""

    KIND: ClassVar[str] = "station-key"
    SIGNED_BY: ClassVar[str | None] = "cert"
    origin: str
    station: str
    station_name: str
    merchant: str
    vkey: str  # the station's note verifier key; its name is the origin
    root: str  # the merchant root verifier key that signs ``cert``
    cert: str = ""  # base64 Ed25519 signature by ``root`` over signing_bytes()

    def __post_init__(self) -> None:
        _hex64(self.prev, "station-key prev")
        for name in ("origin", "station", "station_name", "merchant", "vkey", "root"):
            _text(getattr(self, name), f"station-key {name}")
        verifier = self.station_verifier()
        if verifier.name != self.origin:
            raise FormatError(
                f"station-key vkey is named {verifier.name!r}, expected the origin {self.origin!r}"
            )

    def station_verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.vkey)

    def root_verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.root)

    def certified_by(self, root: NoteSigner) -> StationKey:
        return dataclasses.replace(
            self, cert=base64.b64encode(root.sign(self.signing_bytes())).decode()
        )

    def verify_certification(self, trusted_root: Ed25519Verifier) -> None:
        """Raise unless ``trusted_root`` (from the trust file, not the entry) certified it."""
        if self.root != trusted_root.vkey:
            raise SignatureError(
                f"station key for {self.origin} is certified by root {self.root!r}, "
                f"expected the trusted root {trusted_root.vkey!r}",
                hint="the station was certified by another merchant root than the trust file's",
            )
        sig = _b64(self.cert, "station-key cert")
        if not trusted_root.verify(self.signing_bytes(), sig):
            raise SignatureError(
                f"station key for {self.origin}: the root's certification signature does not verify"
            )


@dataclass(frozen=True, slots=True)
class Segment(_Entry):
    KIND: ClassVar[str] = "segment"
    seq: int  # station-wide segment number, never reused
    run: str  # one encoder run: one init section, consecutive fragments
    index: int  # fragment number within the run
    sha256: str
    init: str  # sha256 of the run's init section
    start: int  # ms, capture time of the first frame
    end: int  # ms, capture time just after the last frame
    frames: int
    dropped: int
    bytes: int

    def __post_init__(self) -> None:
        _hex64(self.prev, "segment prev")
        _hex64(self.sha256, f"segment {self.seq} sha256")
        _hex64(self.init, f"segment {self.seq} init")
        _text(self.run, "segment run")
        _span(self.start, self.end, f"segment {self.seq}")
        if min(self.seq, self.index, self.frames, self.dropped, self.bytes) < 0:
            raise FormatError(f"segment {self.seq}: counts must not be negative")


@dataclass(frozen=True, slots=True)
class SegmentRef:
    seq: int
    sha256: str
    start: int
    end: int
    bytes: int

    def __post_init__(self) -> None:
        _hex64(self.sha256, f"clip segment {self.seq} sha256")
        _span(self.start, self.end, f"clip segment {self.seq}")


@dataclass(frozen=True, slots=True)
class Scan:
    t: int
    text: str
    kind: Literal["order", "tracking", "control", "other"]
    symbology: str
    source: Literal["camera", "gun", "web"]
    box: tuple[int, int, int, int] | None = None  # x, y, w, h in frame pixels

    def __post_init__(self) -> None:
        _text(self.text, "scan text")


@dataclass(frozen=True, slots=True)
class Video:
    codec: str
    width: int
    height: int
    fps_num: int
    fps_den: int
    pix_fmt: str
    segment_ms: int
    encoder: str  # e.g. "libx264 veryfast crf=28"


@dataclass(frozen=True, slots=True)
class Clip(_Entry):
    KIND: ClassVar[str] = "clip"
    SIGNED_BY: ClassVar[str | None] = "sig"
    clip_id: str
    order_id: str
    status: Literal["sealed", "cancelled", "interrupted"]
    end_reason: str
    started: int  # ms: the confirmed order scan
    ended: int  # ms: the event that closed the clip
    pre_roll: int  # ms requested before ``started``
    post_roll: int  # ms requested after ``ended``
    station: str
    operator: str
    run: str
    init: str  # sha256 of the init section
    segments: tuple[SegmentRef, ...]
    scans: tuple[Scan, ...]
    video: Video
    tracking_ids: tuple[str, ...] = ()
    repeat_of: str | None = None
    key: str = ""  # "<name>+<hex key id>" of the signing station key
    sig: str = ""  # base64 Ed25519 over signing_bytes()

    def __post_init__(self) -> None:
        _hex64(self.prev, "clip prev")
        _hex64(self.init, "clip init")
        _text(self.clip_id, "clip id")
        _text(self.order_id, "clip order id")
        _text(self.station, "clip station")
        _text(self.operator, "clip operator", empty=True)
        if self.status not in CLIP_STATUSES:
            raise FormatError(f"clip status {self.status!r} is not one of {CLIP_STATUSES}")
        if self.end_reason not in END_REASONS:
            raise FormatError(f"clip end reason {self.end_reason!r} is not one of {END_REASONS}")
        _span(self.started, self.ended, f"clip {self.clip_id}")
        if not self.segments:
            raise FormatError(f"clip {self.clip_id} has no segments")
        seqs = [s.seq for s in self.segments]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            raise FormatError(
                f"clip {self.clip_id}: segment numbers are not consecutive: {seqs[:8]}…"
            )

    @property
    def start_ms(self) -> int:
        return self.segments[0].start

    @property
    def end_ms(self) -> int:
        return self.segments[-1].end

    def signed_by(self, signer: NoteSigner) -> Clip:
        unsigned = dataclasses.replace(self, key=f"{signer.name}+{signer.key_id:08x}", sig="")
        sig = base64.b64encode(signer.sign(unsigned.signing_bytes())).decode()
        return dataclasses.replace(unsigned, sig=sig)

    def verify_signature(self, station: Ed25519Verifier) -> None:
        expected = f"{station.name}+{station.key_id:08x}"
        if self.key != expected:
            raise SignatureError(
                f"clip {self.clip_id} names signing key {self.key!r}, expected {expected!r}"
            )
        if not station.verify(self.signing_bytes(), _b64(self.sig, "clip sig")):
            raise SignatureError(f"clip {self.clip_id}: station signature does not verify")


@dataclass(frozen=True, slots=True)
class Gap(_Entry):
    KIND: ClassVar[str] = "gap"
    start: int
    end: int
    reason: str
    after_seq: int | None  # last segment before the gap (None: none yet)
    detail: str = ""

    def __post_init__(self) -> None:
        _hex64(self.prev, "gap prev")
        _span(self.start, self.end, "gap")
        if self.reason not in GAP_REASONS:
            raise FormatError(f"gap reason {self.reason!r} is not one of {GAP_REASONS}")
        _text(self.detail, "gap detail", empty=True)


@dataclass(frozen=True, slots=True)
class Purge(_Entry):
    """Retention deleted the media of segments ``first_seq..last_seq`` (inclusive)."""

    KIND: ClassVar[str] = "purge"
    first_seq: int
    last_seq: int
    policy: str

    def __post_init__(self) -> None:
        _hex64(self.prev, "purge prev")
        if not 0 <= self.first_seq <= self.last_seq:
            raise FormatError(f"purge range {self.first_seq}..{self.last_seq} is empty")
        _text(self.policy, "purge policy")


Entry = StationKey | Segment | Clip | Gap | Purge
KINDS: dict[str, type[_Entry]] = {c.KIND: c for c in (StationKey, Segment, Clip, Gap, Purge)}


def from_bytes(data: bytes) -> Entry:
    """Parse an entry: canonical JSON with exactly the fields of its kind."""
    if len(data) > MAX_ENTRY_BYTES:
        raise FormatError(f"entry is {len(data)} bytes, more than {MAX_ENTRY_BYTES}")
    obj = canonical.loads(data)
    if not isinstance(obj, dict):
        raise FormatError(f"entry must be a JSON object, found {type(obj).__name__}")
    kind = obj.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise FormatError(f"entry kind {kind!r} is not one of {sorted(KINDS)}")
    body = {k: v for k, v in obj.items() if k != "kind"}
    value = _from_json(cls, body, str(kind))
    return typing.cast(Entry, value)


def parse_as(cls: type[_E], data: bytes) -> _E:
    entry = from_bytes(data)
    if not isinstance(entry, cls):
        raise FormatError(f"expected a {cls.KIND} entry, found a {entry.KIND} entry")
    return entry


# -- JSON <-> dataclass, driven by the annotations --------------------------------------


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _from_json(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise FormatError(f"{path}: expected an object, found {type(value).__name__}")
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise FormatError(f"{path}: unknown field(s) {unknown}")
        hints = _hints(tp)
        kwargs = {}
        for name, f in fields.items():
            if name not in value:
                if f.default is dataclasses.MISSING:
                    raise FormatError(f"{path}: missing field {name!r}")
                continue
            kwargs[name] = _from_json(hints[name], value[name], f"{path}.{name}")
        try:
            return tp(**kwargs)
        except FormatError as e:
            raise FormatError(f"{path}: {e}") from e
        except (TypeError, ValueError) as e:
            raise FormatError(f"{path}: {e}") from e
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union {tp}")
        return _from_json(inner[0], value, path)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise FormatError(f"{path}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise FormatError(f"{path}: expected a list, found {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise FormatError(f"{path}: expected {len(args)} items, found {len(value)}")
        return tuple(
            _from_json(a, v, f"{path}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError(f"{path}: expected an integer, found {type(value).__name__}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise FormatError(f"{path}: expected a string, found {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise FormatError(f"{path}: expected true/false, found {type(value).__name__}")
        return value
    raise TypeError(f"unsupported field type {tp!r} at {path}")


__all__ = [
    "CLIP_STATUSES",
    "END_REASONS",
    "GAP_REASONS",
    "GENESIS",
    "KINDS",
    "Clip",
    "Entry",
    "Gap",
    "Purge",
    "Scan",
    "Segment",
    "SegmentRef",
    "StationKey",
    "Video",
    "from_bytes",
    "parse_as",
]
