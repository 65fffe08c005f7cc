"""Log entries: frozen values whose bytes are canonical JSON.

Every entry has ``kind``, ``prev`` (hex leaf hash of the entry before it; 64 zeros for the
first) and ``time`` (ms since the epoch, UTC, when the station wrote it). Kinds:

``station-key``  the merchant root certifies a station key for a log origin
``segment``      one closed video segment of a recording run, hashed and stored
``clip``         one order: a range of segments, its scans and facts, signed by the station
``gap``          a span with no footage, and why (camera lost, restart, crash, ...)
``purge``        retention deleted the media of a range of segments (never the entries)
``key-revocation`` the merchant root retires a station key (rotated, compromised or
                 retired): its signatures after a log index no longer count

Signatures exclude ``prev`` and the signature field itself, so a statement can be signed
before its position in the log is known; the log binds position through its checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, Union

from storage import canonical
from storage._errors import FormatError, SignatureError
from storage.footage import FootageSource
from storage.note import Ed25519Verifier, NoteSigner
from storage.zones import is_zone_name

GENESIS = "0" * 64
MAX_ENTRY_BYTES = 4 << 20
MAX_TEXT = 512
# A scan is recorded exactly as read, whatever it is: a QR code holds up to 7,089
# characters (numeric mode, version 40); longer reads were dropped unrecorded before.
MAX_SCAN_TEXT = 7089
_HEX64 = re.compile(r"[0-9a-f]{64}")
# A field added to a kind after entries of it were signed: left out of the JSON when it is
# None (never written as null), so every earlier entry keeps its exact bytes and signature.
OMIT_IF_NONE = types.MappingProxyType({"omit_if_none": True})

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
# Views (cameras) of one station: a clip binds at most this many (its primary and the
# ``views`` after it). "c2pa" is reserved: a bundle's view file clip.<view>.mp4 would be
# the Content Credentials copy's name.
MAX_VIEWS = 4
_VIEW_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,15}")
RESERVED_VIEWS = frozenset({"c2pa"})


def _hex64(value: str, what: str) -> None:
    if not _HEX64.fullmatch(value):
        raise FormatError(f"{what} must be 64 lowercase hex digits, found {value[:70]!r}")


def _text(value: str, what: str, *, empty: bool = False, most: int = MAX_TEXT) -> None:
    if not empty and not value:
        raise FormatError(f"{what} must not be empty")
    if len(value) > most:
        raise FormatError(f"{what} is {len(value)} characters, at most {most}")


def _span(start: int, end: int, what: str) -> None:
    if start < 0 or end < start:
        raise FormatError(f"{what}: end {end} is before start {start}")


def is_view_name(value: str) -> bool:
    """A camera view's name: ``[a-z0-9][a-z0-9-]{0,15}``, not a reserved one."""
    return bool(_VIEW_NAME.fullmatch(value)) and value not in RESERVED_VIEWS


def _view(value: str | None, what: str) -> None:
    if value is not None and not is_view_name(value):
        raise FormatError(
            f"{what} {value[:40]!r} is not a view name ([a-z0-9][a-z0-9-]{{0,15}}, not "
            f"{'/'.join(sorted(RESERVED_VIEWS))})"
        )


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise FormatError(f"{what} is not base64") from e


@dataclass(frozen=True, slots=True)
class _Entry:
    KIND: ClassVar[str]
    SIGNED_BY: ClassVar[str | None] = None  # name of the signature field, if any
    # The leaf hash of the entry before: GENESIS until the log sets it (Log.append), so a
    # statement is made and signed without it (signatures exclude it).
    prev: str = field(default=GENESIS, kw_only=True)
    time: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND}
        omitted = _omitted(type(self))
        for name in _field_names(type(self)) or ():
            value = getattr(self, name)
            if value is None and name in omitted:
                continue
            out[name] = _to_json(value)
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
    # The camera (view) of a station with several: every segment of such a station names
    # its view, the primary's too; absent for a one-camera station (and older entries).
    view: str | None = field(default=None, metadata=OMIT_IF_NONE)

    def __post_init__(self) -> None:
        _hex64(self.prev, "segment prev")
        _view(self.view, f"segment {self.seq} view")
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
        _text(self.text, "scan text", most=MAX_SCAN_TEXT)


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
class ClipView:
    """One camera's footage of a clip: its encoder run, init section and segments.

    A clip's further views (``Clip.views``) are these; :meth:`Clip.all_views` gives the
    primary as one too (``view`` then ``clip.view or ""``).
    """

    view: str
    run: str
    init: str  # sha256 of the view's init section
    segments: tuple[SegmentRef, ...]
    video: Video
    source: FootageSource | None = field(default=None, metadata=OMIT_IF_NONE)

    def __post_init__(self) -> None:
        _hex64(self.init, f"view {self.view} init")
        _text(self.run, f"view {self.view} run")
        if not self.segments:
            raise FormatError(f"view {self.view!r} has no segments")

    @property
    def start_ms(self) -> int:
        return self.segments[0].start

    @property
    def end_ms(self) -> int:
        return self.segments[-1].end


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
    zone: str  # the burned-in clock's zone (storage.zones); "" = the station did not know it
    tracking_ids: tuple[str, ...] = ()
    repeat_of: str | None = None
    key: str = ""  # "<name>+<hex key id>" of the signing station key
    sig: str = ""  # base64 Ed25519 over signing_bytes()
    # Where the footage came from (storage.footage). Added after entries were first
    # signed: absent rather than null when unknown, so those entries keep their bytes.
    source: FootageSource | None = field(default=None, metadata=OMIT_IF_NONE)
    # A station with several cameras: ``view`` names the primary (whose footage is the
    # fields above), ``views`` the others. Both absent for a one-camera station, so its
    # entries (and every earlier one) keep their bytes.
    view: str | None = field(default=None, metadata=OMIT_IF_NONE)
    views: tuple[ClipView, ...] | None = field(default=None, metadata=OMIT_IF_NONE)

    def __post_init__(self) -> None:
        _hex64(self.prev, "clip prev")
        _hex64(self.init, "clip init")
        _text(self.clip_id, "clip id")
        _text(self.order_id, "clip order id")
        _text(self.station, "clip station")
        _text(self.operator, "clip operator", empty=True)
        if self.zone and not is_zone_name(self.zone):
            raise FormatError(f"clip zone {self.zone[:80]!r} is not an IANA zone name or UTC+HH:MM")
        if self.status not in CLIP_STATUSES:
            raise FormatError(f"clip status {self.status!r} is not one of {CLIP_STATUSES}")
        if self.end_reason not in END_REASONS:
            raise FormatError(f"clip end reason {self.end_reason!r} is not one of {END_REASONS}")
        _span(self.started, self.ended, f"clip {self.clip_id}")
        if not self.segments:
            raise FormatError(f"clip {self.clip_id} has no segments")
        if self.view is None and self.views is None:
            seqs = [s.seq for s in self.segments]
            if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                raise FormatError(
                    f"clip {self.clip_id}: segment numbers are not consecutive: {seqs[:8]}…"
                )
        else:
            self._check_views()

    def _check_views(self) -> None:
        # A station with several cameras numbers segments station-wide, so its views'
        # segments interleave (even in a clip one camera missed): each view's increase;
        # the audit checks that none of the view's was left out.
        if self.views is not None and not self.views:
            raise FormatError(f"clip {self.clip_id}: views is empty; it is left out instead")
        views = self.views or ()
        if self.view is None:
            raise FormatError(f"clip {self.clip_id} has views but does not name its primary view")
        names = [self.view, *(v.view for v in views)]
        for name in names:
            _view(name, f"clip {self.clip_id} view")
        if len(set(names)) != len(names):
            raise FormatError(f"clip {self.clip_id}: a view is named twice: {names}")
        if len(names) > MAX_VIEWS:
            raise FormatError(f"clip {self.clip_id} has {len(names)} views, at most {MAX_VIEWS}")
        seen: dict[int, str] = {}
        for part in self.all_views():
            seqs = [s.seq for s in part.segments]
            if any(b <= a for a, b in itertools.pairwise(seqs)):
                raise FormatError(
                    f"clip {self.clip_id}: view {part.view}'s segment numbers do not increase: "
                    f"{seqs[:8]}…"
                )
            for seq in seqs:
                other = seen.setdefault(seq, part.view)
                if other != part.view:
                    raise FormatError(
                        f"clip {self.clip_id}: segment {seq} is in views {other} and {part.view}"
                    )

    def all_views(self) -> tuple[ClipView, ...]:
        """Every view's footage, the primary first (named ``self.view or ""``)."""
        primary = ClipView(
            self.view or "", self.run, self.init, self.segments, self.video, self.source
        )
        return (primary, *(self.views or ()))

    def view_names(self) -> tuple[str, ...]:
        """The views' names, the primary first; ``()`` for a one-camera station's clip."""
        return () if self.view is None else tuple(v.view for v in self.all_views())

    def all_segments(self) -> tuple[SegmentRef, ...]:
        """Every view's segment references, by segment number."""
        if self.views is None:
            return self.segments
        return tuple(sorted((r for v in self.all_views() for r in v.segments), key=lambda r: r.seq))

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
    # Only this view (camera) had no footage; absent: the whole station had none.
    view: str | None = field(default=None, metadata=OMIT_IF_NONE)

    def __post_init__(self) -> None:
        _hex64(self.prev, "gap prev")
        _view(self.view, "gap view")
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


@dataclass(frozen=True, slots=True)
class KeyRevocation(_Entry):
    """The merchant root retires station key ``vkey`` of log ``origin`` after ``after``.

    Signatures by that key on entries at log index ``after`` or before, and on
    checkpoints of at most ``after + 1`` entries, still count; any later one does not. A
    rotation is a new ``station-key`` entry plus this entry with reason ``rotated``
    and ``after`` the last index the old key signed; after a key was stolen the merchant
    picks the last index it still vouches for (reason ``compromised``).
    """

    KIND: ClassVar[str] = "key-revocation"
    SIGNED_BY: ClassVar[str | None] = "cert"
    origin: str
    vkey: str  # the station key being retired
    after: int  # last log index whose signatures by ``vkey`` count
    reason: Literal["rotated", "compromised", "retired"]
    root: str  # the merchant root verifier key that signs ``cert``
    cert: str = ""  # base64 Ed25519 signature by ``root`` over signing_bytes()

    def __post_init__(self) -> None:
        _hex64(self.prev, "key-revocation prev")
        for name in ("origin", "vkey", "root"):
            _text(getattr(self, name), f"key-revocation {name}")
        if self.after < 0:
            raise FormatError(f"key-revocation after {self.after} is negative")
        if self.reason not in ("rotated", "compromised", "retired"):
            raise FormatError(f"key-revocation reason {self.reason!r} is not known")
        if Ed25519Verifier.from_vkey(self.vkey).name != self.origin:
            raise FormatError(f"key-revocation vkey is not a key of origin {self.origin!r}")

    def certified_by(self, root: NoteSigner) -> KeyRevocation:
        return dataclasses.replace(
            self, cert=base64.b64encode(root.sign(self.signing_bytes())).decode()
        )

    def verify_certification(self, trusted_root: Ed25519Verifier) -> None:
        """Raise unless ``trusted_root`` (from the trust file) signed this revocation."""
        if self.root != trusted_root.vkey:
            raise SignatureError(
                f"revocation of {self.vkey} names root {self.root!r}, expected the trusted "
                f"root {trusted_root.vkey!r}"
            )
        if not trusted_root.verify(self.signing_bytes(), _b64(self.cert, "key-revocation cert")):
            raise SignatureError(f"revocation of {self.vkey}: the root's signature does not verify")


Entry = StationKey | Segment | Clip | Gap | Purge | KeyRevocation
KINDS: dict[str, type[_Entry]] = {
    c.KIND: c for c in (StationKey, Segment, Clip, Gap, Purge, KeyRevocation)
}


def from_bytes(data: bytes) -> Entry:
    """Parse an entry: canonical JSON with exactly the fields of its kind."""
    if len(data) > MAX_ENTRY_BYTES:
        raise FormatError(f"entry is {len(data)} bytes, more than {MAX_ENTRY_BYTES}")
    return from_parsed(canonical.loads(data))


def from_parsed(obj: Any) -> Entry:
    """:func:`from_bytes` for a value already parsed by :func:`storage.canonical.loads`.

    For a caller that has parsed the entry's canonical JSON anyway (a log scan) and
    would otherwise pay for it twice.
    """
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
# Each type's converter is worked out once from its annotations and cached: reflecting
# on every value cost ~300 us per clip entry, which an audit of a million entries pays
# ~40,000 times. The rules and messages are those of the annotations, as before.

_SCALARS = (str, int, bool, type(None))


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}
_OMITTED: dict[type, frozenset[str]] = {}


def _omitted(cls: type) -> frozenset[str]:
    if cls not in _OMITTED:
        _OMITTED[cls] = frozenset(
            f.name for f in dataclasses.fields(cls) if f.metadata.get("omit_if_none")
        )
    return _OMITTED[cls]


def _field_names(cls: type) -> tuple[str, ...] | None:
    if cls not in _FIELD_NAMES:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else None
        _FIELD_NAMES[cls] = None if fields is None else tuple(f.name for f in fields)
    return _FIELD_NAMES[cls]


def _to_json(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    names = _field_names(type(value))
    if names is not None:
        omitted = _omitted(type(value))
        return {
            name: _to_json(v)
            for name in names
            if (v := getattr(value, name)) is not None or name not in omitted
        }
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


_Decoder = Callable[[Any, str], Any]
_DECODERS: dict[Any, _Decoder] = {}


def _from_json(tp: Any, value: Any, path: str) -> Any:
    decoder = _DECODERS.get(tp)
    if decoder is None:
        decoder = _DECODERS[tp] = _decoder(tp)
    return decoder(value, path)


def _decoder(tp: Any) -> _Decoder:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_decoder(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        inner = [o for o in options if o is not type(None)]
        nullable = type(None) in options

        def union(value: Any, path: str) -> Any:
            if value is None and nullable:
                return None
            if len(inner) != 1:
                raise TypeError(f"unsupported union {tp}")
            return _from_json(inner[0], value, path)

        return union
    if origin is Literal:
        allowed = typing.get_args(tp)

        def literal(value: Any, path: str) -> Any:
            if value not in allowed:
                raise FormatError(f"{path}: {value!r} is not one of {allowed}")
            return value

        return literal
    if origin is tuple:
        return _tuple_decoder(typing.get_args(tp))
    if tp is int:

        def integer(value: Any, path: str) -> Any:
            if not isinstance(value, int) or isinstance(value, bool):
                raise FormatError(f"{path}: expected an integer, found {type(value).__name__}")
            return value

        return integer
    if tp is str:

        def string(value: Any, path: str) -> Any:
            if not isinstance(value, str):
                raise FormatError(f"{path}: expected a string, found {type(value).__name__}")
            return value

        return string
    if tp is bool:

        def boolean(value: Any, path: str) -> Any:
            if not isinstance(value, bool):
                raise FormatError(f"{path}: expected true/false, found {type(value).__name__}")
            return value

        return boolean

    def unsupported(value: Any, path: str) -> Any:
        raise TypeError(f"unsupported field type {tp!r} at {path}")

    return unsupported


def _dataclass_decoder(tp: type) -> _Decoder:
    fields = {f.name: f for f in dataclasses.fields(tp)}
    hints = _hints(tp)
    plan = [(name, f.default is dataclasses.MISSING, hints[name]) for name, f in fields.items()]
    omitted = _omitted(tp)

    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            raise FormatError(f"{path}: expected an object, found {type(value).__name__}")
        unknown = sorted(set(value) - fields.keys())
        if unknown:
            raise FormatError(f"{path}: unknown field(s) {unknown}")
        kwargs = {}
        for name, required, hint in plan:
            if name not in value:
                if required:
                    raise FormatError(f"{path}: missing field {name!r}")
                continue
            if name in omitted and value[name] is None:
                # Its encoding is the field's absence: a null would be a second encoding.
                raise FormatError(f"{path}.{name}: null is not allowed; the field is left out")
            kwargs[name] = _from_json(hint, value[name], f"{path}.{name}")
        try:
            return tp(**kwargs)
        except FormatError as e:
            raise FormatError(f"{path}: {e}") from e
        except (TypeError, ValueError) as e:
            raise FormatError(f"{path}: {e}") from e

    return decode


def _tuple_decoder(args: tuple[Any, ...]) -> _Decoder:
    variadic = len(args) == 2 and args[1] is Ellipsis

    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise FormatError(f"{path}: expected a list, found {type(value).__name__}")
        if variadic:
            return tuple(_from_json(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise FormatError(f"{path}: expected {len(args)} items, found {len(value)}")
        return tuple(
            _from_json(a, v, f"{path}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )

    return decode


__all__ = [
    "CLIP_STATUSES",
    "END_REASONS",
    "GAP_REASONS",
    "GENESIS",
    "KINDS",
    "MAX_SCAN_TEXT",
    "MAX_VIEWS",
    "Clip",
    "ClipView",
    "Entry",
    "FootageSource",
    "Gap",
    "KeyRevocation",
    "Purge",
    "Scan",
    "Segment",
    "SegmentRef",
    "StationKey",
    "Video",
    "from_bytes",
    "from_parsed",
    "is_view_name",
    "parse_as",
]
