"""The verifier's report: named checks with expected vs found, and the proven facts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from storage.facts import rfc3339
from storage.text import printable
from storage.zones import zone_of
from verifier._zip import Problem

CHECKS = (
    "zip",
    "media",
    "timeline",
    "signature",
    "source",
    "inclusion",
    "time",
    "witness",
    "c2pa",
    "facts",
    "claim",
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: not checked (a derived copy, or its input is missing)
    message: str
    expected: str | None = None
    found: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True, slots=True)
class ViewFacts:
    """One camera view of a clip filmed by several: its video member and segments."""

    view: str
    video: str | None  # the member (None: the bundle does not hold it)
    segments: tuple[int, int, int]  # first, last (1-based), of the view's segments

    def to_dict(self) -> dict[str, Any]:
        return {"view": self.view, "video": self.video, "segments": list(self.segments)}


@dataclass(frozen=True, slots=True)
class Facts:
    """What the signed clip entry says, plus where it is logged (proven only if verified)."""

    order_id: str
    tracking_ids: tuple[str, ...]
    clip_id: str
    status: str
    end_reason: str
    station: str
    station_name: str | None
    merchant: str | None
    operator: str
    origin: str
    log_index: int | None
    station_key_index: int | None
    checkpoint_size: int | None
    checkpoint_root: str | None  # base64
    entry_hash: str  # RFC 6962 leaf hash of the clip entry, hex (the sheet's QR code has it)
    start_ms: int  # the footage in the bundle (an excerpt: its segments)
    end_ms: int
    clip_start_ms: int  # the whole clip
    clip_end_ms: int
    started_ms: int  # the order scan
    ended_ms: int  # the event that closed the clip
    segments: tuple[int, int, int]  # first, last (1-based), of
    video: str | None
    derived: bool
    zone: str | None  # the station clock's zone from the signed clip entry, else the
    # display zone the exporter put in the manifest (unsigned): see zone_signed
    zone_signed: bool = False
    # Where the footage came from, from the signed entry (storage.footage), in one line;
    # source_live None: the entry does not say (sealed before sources were recorded).
    source: str = ""
    source_live: bool | None = None
    # Anchors outside the merchant (each None/empty unless its check verified it):
    existed_before_ms: int | None = None  # RFC 3161 genTime of the checkpoint
    tsa: str | None = None  # who says so (the TSA certificate's subject)
    witnessed: tuple[str, ...] = ()  # "<witness> at <time>" per valid cosignature
    content_credentials: str | None = None  # the Trusted C2PA manifest's signer
    # A clip filmed by several cameras: every view, the primary first; () for one view.
    views: tuple[ViewFacts, ...] = ()

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def start_utc(self) -> str:
        return rfc3339(self.start_ms)

    @property
    def end_utc(self) -> str:
        return rfc3339(self.end_ms)

    @property
    def excerpt(self) -> bool:
        first, last, of = self.segments
        return (first, last) != (1, of)

    def local(self, t_ms: int) -> str | None:
        """``t_ms`` in the station's zone, if the bundle names one this machine knows."""
        zone = zone_of(self.zone)
        if zone is None:
            return None
        return dt.datetime.fromtimestamp(t_ms / 1000, zone).isoformat(timespec="seconds")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["tracking_ids"] = list(self.tracking_ids)
        out["witnessed"] = list(self.witnessed)
        out["views"] = [v.to_dict() for v in self.views]
        out["existed_before"] = (
            None if self.existed_before_ms is None else rfc3339(self.existed_before_ms)
        )
        out["segments"] = {
            "first": self.segments[0],
            "last": self.segments[1],
            "of": self.segments[2],
        }
        out["excerpt"] = self.excerpt
        out["duration_ms"] = self.duration_ms
        out["start"] = self.start_utc
        out["end"] = self.end_utc
        out["start_local"] = self.local(self.start_ms)
        out["end_local"] = self.local(self.end_ms)
        return out


@dataclass(frozen=True, slots=True)
class Report:
    bundle: str
    checks: list[Check]
    facts: Facts | None = None

    @property
    def verified(self) -> bool:
        return self.facts is not None and all(c.ok is True for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def verdict(self) -> str:
        f = self.facts
        if self.verified and f is not None:
            first, last, of = f.segments
            part = f" (excerpt: segments {first}..{last} of {of})" if f.excerpt else ""
            # A cancelled or interrupted clip is genuine footage of an unfinished packing.
            status = "" if f.status == "sealed" else f" ({f.status}: {f.end_reason})"
            anchored = ""
            if f.existed_before_ms is not None:
                anchored = f"; existed before {rfc3339(f.existed_before_ms)} per {f.tsa}"
            return (
                f"VERIFIED{part}: order {printable(f.order_id, 120)}{status} packed at station "
                f"{printable(f.station)}, "
                f"{rfc3339(f.start_ms)} to {rfc3339(f.end_ms)}, {secs(f.duration_ms)} s, "
                f"sealed in log {f.origin} at index {f.log_index}{anchored}"
            )
        failed = self.failed
        if failed:
            names = ", ".join(c.name for c in failed)
            return f"NOT VERIFIED: {len(failed)} check(s) failed ({names})"
        if f is not None and f.derived:
            return (
                f"NOT VERIFIED: the video is a derived copy — not the sealed bytes (the entry "
                f"and proofs of order {printable(f.order_id, 120)}, clip {f.clip_id}, verified)"
            )
        unchecked = ", ".join(c.name for c in self.checks if c.ok is None)
        return f"NOT VERIFIED: not checked: {unchecked}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "packseal-verify/v1",
            "bundle": self.bundle,
            "verified": self.verified,
            "verdict": self.verdict(),
            "checks": [c.to_dict() for c in self.checks],
            "facts": None if self.facts is None else self.facts.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Verified:
    report: Report
    facts: Facts


def failed(name: str, problems: list[Problem]) -> Check:
    """A failed check: the first problem in full (with expected and found), then the rest."""
    first, rest = problems[0], problems[1:]
    message = first.message
    if rest:
        listed = "; ".join(p.message for p in rest[:3]) + ("; …" if len(rest) > 3 else "")
        message += f" (and {len(rest)} more: {listed})"
    return Check(name, False, message, first.expected, first.found)


def secs(ms: int) -> str:
    return f"{ms / 1000:.1f}"
