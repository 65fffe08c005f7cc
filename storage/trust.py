"""The trust file a merchant publishes: its root key and the logs it vouches for.

A verifier gets this file from the merchant (a website, a marketplace profile), never
from the bundle it checks. JSON, human-readable::

    {"format": "packseal-trust/v1", "merchant": "Acme Shop",
     "root": "<merchant root vkey>",
     "logs": [{"origin": "...", "vkey": "...", "station": "..."}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage._errors import FormatError
from storage.note import Ed25519Verifier

FORMAT = "packseal-trust/v1"
MAX_TRUST_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TrustedLog:
    origin: str
    vkey: str
    station: str

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.vkey)


@dataclass(frozen=True, slots=True)
class TrustFile:
    merchant: str
    root: str
    logs: tuple[TrustedLog, ...]

    def __post_init__(self) -> None:
        Ed25519Verifier.from_vkey(self.root)
        for log in self.logs:
            if log.verifier().name != log.origin:
                raise FormatError(
                    f"trust file: log {log.origin!r} has a key named {log.verifier().name!r}"
                )

    def root_verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier.from_vkey(self.root)

    def log_verifiers(self, origin: str | None = None) -> list[Ed25519Verifier]:
        return [g.verifier() for g in self.logs if origin is None or g.origin == origin]

    def to_bytes(self) -> bytes:
        doc = {
            "format": FORMAT,
            "merchant": self.merchant,
            "root": self.root,
            "logs": [{"origin": g.origin, "vkey": g.vkey, "station": g.station} for g in self.logs],
        }
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrustFile:
        if len(data) > MAX_TRUST_BYTES:
            raise FormatError(f"trust file is {len(data)} bytes, more than {MAX_TRUST_BYTES}")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError(f"trust file is not JSON: {e}") from e
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise FormatError(
                f"trust file format must be {FORMAT!r}, found {found!r}",
                hint="get the trust file with `packseal keys trust` from the merchant's store",
            )
        try:
            logs = tuple(
                TrustedLog(_str(g, "origin"), _str(g, "vkey"), _str(g, "station"))
                for g in _list(doc, "logs")
            )
            return cls(_str(doc, "merchant"), _str(doc, "root"), logs)
        except (KeyError, TypeError) as e:
            raise FormatError(f"trust file: {e}") from e


def _str(obj: Any, key: str) -> str:
    if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
        raise FormatError(f"trust file: {key!r} must be a string")
    return str(obj[key])


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise FormatError(f"trust file: {key!r} must be a list")
    return value
