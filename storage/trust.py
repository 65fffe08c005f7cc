"""The trust file a merchant publishes: its root key and the logs it vouches for.

A verifier gets this file from the merchant (a website, a marketplace profile), never
from the bundle it checks. JSON, human-readable::

    {"format": "packseal-trust/v1", "merchant": "Acme Shop",
     "root": "<merchant root vkey>",
     "logs": [{"origin": "...", "vkey": "...", "station": "...",
               "revoked_after": 1234, "revoked_reason": "rotated"}],
     "tsa_roots": ["-----BEGIN CERTIFICATE-----..."],
     "witnesses": [{"vkey": "<witness vkey, type 0x04>"}],
     "witness_quorum": 1,
     "c2pa_roots": ["-----BEGIN CERTIFICATE-----..."]}

Everything after ``logs`` is optional, and each one present is a requirement:

``revoked_after``  the log key was rotated or revoked by a ``key-revocation`` entry: its
                   signatures on entries after that log index, and on checkpoints larger
                   than ``revoked_after + 1``, do not count (earlier ones still do)
``tsa_roots``      every bundle must carry an RFC 3161 time-stamp of its checkpoint by
                   a TSA chaining to one of these roots
``witnesses`` /    the bundle's checkpoint must carry cosignatures from at least
``witness_quorum`` ``witness_quorum`` distinct listed witnesses (k of n)
``c2pa_roots``     every bundle must carry the clip with C2PA Content Credentials that
                   validate as ``Trusted`` with these CA certificates as the only anchors
``require_live_source``  ``true``: the clip entry must name a live source (a camera or an
                   RTSP stream, :mod:`storage.footage`); footage from a file, the demo, or
                   a clip sealed before sources were recorded does not verify
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage._errors import FormatError
from storage.cosignature import CosignatureVerifier
from storage.note import Ed25519Verifier

FORMAT = "packseal-trust/v1"
_GET_IT = (
    "the merchant publishes it (`packseal keys trust > trust.json` on their store); "
    "pass that file with --trust"
)
MAX_TRUST_BYTES = 1 << 20
REVOCATION_REASONS = ("rotated", "compromised", "retired")


@dataclass(frozen=True, slots=True)
class TrustedLog:
    origin: str
    vkey: str
    station: str
    revoked_after: int | None = None  # last log index whose signatures by this key count
    revoked_reason: str | None = None

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.vkey)

    def signs_entry(self, index: int) -> bool:
        """May this key's signature on the entry at ``index`` count?"""
        return self.revoked_after is None or index <= self.revoked_after

    def signs_checkpoint(self, size: int) -> bool:
        """May this key's signature on a checkpoint of ``size`` count?"""
        return self.revoked_after is None or size <= self.revoked_after + 1


@dataclass(frozen=True, slots=True)
class TrustedWitness:
    vkey: str

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier.from_vkey(self.vkey)

    @property
    def name(self) -> str:
        return self.verifier().name


@dataclass(frozen=True, slots=True)
class TrustFile:
    merchant: str
    root: str
    logs: tuple[TrustedLog, ...]
    tsa_roots: tuple[str, ...] = ()
    witnesses: tuple[TrustedWitness, ...] = ()
    witness_quorum: int = 0
    c2pa_roots: tuple[str, ...] = ()
    require_live_source: bool = False

    def __post_init__(self) -> None:
        Ed25519Verifier.from_vkey(self.root)
        for log in self.logs:
            if log.verifier().name != log.origin:
                raise FormatError(
                    f"trust file: log {log.origin!r} has a key named {log.verifier().name!r}"
                )
            if log.revoked_after is not None and log.revoked_after < 0:
                raise FormatError(f"trust file: log {log.origin!r}: revoked_after is negative")
            if log.revoked_reason is not None and log.revoked_reason not in REVOCATION_REASONS:
                raise FormatError(
                    f"trust file: revoked_reason {log.revoked_reason!r} is not one of "
                    f"{REVOCATION_REASONS}"
                )
        current: dict[str, list[str]] = {}
        for log in self.logs:
            if log.revoked_after is None:
                current.setdefault(log.origin, []).append(log.vkey)
        for origin, vkeys in current.items():
            if len(set(vkeys)) > 1:
                # Two unrevoked keys for one origin would let bundles from two histories
                # of "the same" log both verify: a fork nobody could see.
                raise FormatError(
                    f"trust file: log {origin!r} has {len(set(vkeys))} keys that are not "
                    f"revoked ({', '.join(sorted(set(vkeys)))}); a log has one current key",
                    hint="publish the trust file `packseal keys trust` prints on that "
                    "station (a rotated key carries revoked_after); if two stores share the "
                    "origin, give each station its own station.id",
                )
        keys = [w.verifier() for w in self.witnesses]
        if len({(k.name, k.key_id) for k in keys}) != len(keys):
            raise FormatError("trust file: a witness key is listed twice")
        if not 0 <= self.witness_quorum <= len(self.witnesses):
            raise FormatError(
                f"trust file: witness_quorum {self.witness_quorum} must be between 0 and the "
                f"{len(self.witnesses)} listed witnesses",
                hint="list the witnesses' vkeys, then ask for at most that many cosignatures",
            )
        from storage.certs import load_pem_certificates

        load_pem_certificates(self.tsa_roots, "trust file: tsa_roots entry")
        load_pem_certificates(self.c2pa_roots, "trust file: c2pa_roots entry")

    def root_verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.root)

    def log_verifiers(self, origin: str | None = None) -> list[Ed25519Verifier]:
        return [g.verifier() for g in self.logs if origin is None or g.origin == origin]

    def witness_verifiers(self) -> list[CosignatureVerifier]:
        return [w.verifier() for w in self.witnesses]

    def to_bytes(self) -> bytes:
        logs = []
        for g in self.logs:
            item: dict[str, Any] = {"origin": g.origin, "vkey": g.vkey, "station": g.station}
            if g.revoked_after is not None:
                item["revoked_after"] = g.revoked_after
                item["revoked_reason"] = g.revoked_reason
            logs.append(item)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "merchant": self.merchant,
            "root": self.root,
            "logs": logs,
        }
        if self.tsa_roots:
            doc["tsa_roots"] = list(self.tsa_roots)
        if self.witnesses:
            doc["witnesses"] = [{"vkey": w.vkey} for w in self.witnesses]
            doc["witness_quorum"] = self.witness_quorum
        if self.c2pa_roots:
            doc["c2pa_roots"] = list(self.c2pa_roots)
        if self.require_live_source:
            doc["require_live_source"] = True
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrustFile:
        if len(data) > MAX_TRUST_BYTES:
            raise FormatError(f"trust file is {len(data)} bytes, more than {MAX_TRUST_BYTES}")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError(
                f"trust file is not JSON ({e}): expected a {FORMAT} document", hint=_GET_IT
            ) from e
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise FormatError(
                f"trust file format must be {FORMAT!r}, found {found!r}",
                hint="get the trust file with `packseal keys trust` from the merchant's store",
            )
        try:
            logs = tuple(
                TrustedLog(
                    _str(g, "origin"),
                    _str(g, "vkey"),
                    _str(g, "station"),
                    _opt_int(g, "revoked_after"),
                    _opt_str(g, "revoked_reason"),
                )
                for g in _list(doc, "logs")
            )
            return cls(
                _str(doc, "merchant"),
                _str(doc, "root"),
                logs,
                tsa_roots=tuple(_pems(doc, "tsa_roots")),
                witnesses=tuple(
                    TrustedWitness(_str(w, "vkey")) for w in _list(doc, "witnesses", empty=True)
                ),
                witness_quorum=_opt_int(doc, "witness_quorum") or 0,
                c2pa_roots=tuple(_pems(doc, "c2pa_roots")),
                require_live_source=_opt_bool(doc, "require_live_source"),
            )
        except (KeyError, TypeError) as e:
            raise FormatError(f"trust file: {e}") from e


def read_trust_file(path: Path) -> TrustFile:
    """The trust file at ``path``; a missing or unreadable file is a :class:`FormatError`
    that says so and how to get the right one (never a traceback)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TRUST_BYTES + 1)
    except FileNotFoundError as e:
        raise FormatError(f"trust file {path} does not exist", hint=_GET_IT) from e
    except IsADirectoryError as e:
        raise FormatError(f"trust file {path} is a directory, not a file", hint=_GET_IT) from e
    except OSError as e:
        raise FormatError(f"trust file {path} cannot be read: {e.strerror}", hint=_GET_IT) from e
    try:
        return TrustFile.from_bytes(data)
    except FormatError as e:
        raise FormatError(f"{path}: {e.message}", hint=e.hint or _GET_IT) from e


def _str(obj: Any, key: str) -> str:
    if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
        raise FormatError(f"trust file: {key!r} must be a string")
    return str(obj[key])


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    return None if obj.get(key) is None else _str(obj, key)


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(f"trust file: {key!r} must be an integer, found {value!r:.40}")
    return value


def _opt_bool(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise FormatError(f"trust file: {key!r} must be true or false, found {value!r:.40}")
    return value


def _list(obj: dict[str, Any], key: str, *, empty: bool = False) -> list[Any]:
    value = obj.get(key, [] if empty else None)
    if not isinstance(value, list):
        raise FormatError(f"trust file: {key!r} must be a list")
    return value


def _pems(obj: dict[str, Any], key: str) -> list[str]:
    items = _list(obj, key, empty=True)
    if not all(isinstance(p, str) for p in items):
        raise FormatError(f"trust file: {key!r} must be a list of PEM strings")
    return items
