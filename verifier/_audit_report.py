"""The audit's report: findings by named check and severity, stats, and the evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from storage.misbehaviour import Misbehaviour
from storage.text import printable

if TYPE_CHECKING:
    from storage.entries import Clip

Severity = Literal["error", "warning", "info"]

CHECKS = (
    "entries",
    "chain",
    "tree",
    "head",
    "checkpoints",
    "consistency",
    "against",
    "station-keys",
    "clips",
    "segments",
    "gaps",
    "blobs",
    "purges",
)

MAX_LISTED = 100  # findings listed per (check, severity); the rest are counted
MAX_EVIDENCE = 10  # proofs of misbehaviour kept (one proves a fork)


MAX_AFFECTED = 5  # clips named per finding; the rest are counted


class Add(Protocol):
    """How a check reports a finding (the audit's ``Auditor.add``); ``clip``: the clip
    it is about, named in the finding."""

    def __call__(
        self,
        check: str,
        severity: Severity,
        index: int | None,
        message: str,
        *,
        seqs: tuple[int, int] | None = None,
        clip: Clip | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: Severity
    index: int | None  # the log entry (or checkpoint size) it is about, when there is one
    message: str
    seqs: tuple[int, int] | None = None  # the segments it is about (first, last)
    # (order id, clip id) of the clips it affects: what a merchant looks up in a dispute
    affects: tuple[tuple[str, str], ...] = ()
    more_affected: int = 0  # affected clips not listed in ``affects``

    def affects_text(self) -> str:
        """``order X (clip Y), …``, or "" when no clip is affected (or none is known)."""
        named = [f"order {printable(o, 80)} (clip {c})" for o, c in self.affects]
        if self.more_affected:
            named.append(f"and {self.more_affected} more clip(s)")
        return ", ".join(named)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "index": self.index,
            "message": self.message,
            "segments": None if self.seqs is None else list(self.seqs),
            "affects": [{"order_id": o, "clip_id": c} for o, c in self.affects],
            "more_affected": self.more_affected,
        }


@dataclass(slots=True)
class Findings:
    """Findings as they are found: every one counted, at most :data:`MAX_LISTED` per
    (check, severity) kept, so a store with a million bad entries does not make a
    million objects."""

    listed: list[Finding] = field(default_factory=list)
    counts: dict[tuple[str, Severity], int] = field(default_factory=dict)
    shown: dict[tuple[str, Severity], int] = field(default_factory=dict)

    def add(
        self,
        check: str,
        severity: Severity,
        index: int | None,
        message: str,
        *,
        seqs: tuple[int, int] | None = None,
        clip: tuple[str, str] | None = None,
    ) -> None:
        key = (check, severity)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.shown.get(key, 0) < MAX_LISTED:
            affects = () if clip is None else (clip,)
            self._list(Finding(check, severity, index, message, seqs, affects))

    def merge(self, other: Findings) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        for finding in other.listed:
            if self.shown.get((finding.check, finding.severity), 0) < MAX_LISTED:
                self._list(finding)

    def _list(self, finding: Finding) -> None:
        key = (finding.check, finding.severity)
        self.shown[key] = self.shown.get(key, 0) + 1
        self.listed.append(finding)

    def report_order(self) -> list[Finding]:
        """By check (in :data:`CHECKS` order), then entry; a line for what was not listed."""
        rank = {check: n for n, check in enumerate(CHECKS)}
        out = sorted(
            self.listed,
            key=lambda f: (rank.get(f.check, len(rank)), f.index is None, f.index or 0),
        )
        for (check, severity), n in sorted(
            self.counts.items(), key=lambda kv: rank.get(kv[0][0], 0)
        ):
            if n > MAX_LISTED:
                out.append(
                    Finding(
                        check,
                        severity,
                        None,
                        f"… and {n - MAX_LISTED} more {check} {severity} findings "
                        "(not listed; the counts include them)",
                    )
                )
        return out


@dataclass(slots=True)
class AuditStats:
    entries: int = 0
    segments: int = 0
    clips: int = 0
    gaps: int = 0
    purged: int = 0  # segments whose media a purge entry covers
    checkpoints: int = 0
    blobs_checked: int = 0
    bytes_hashed: int = 0
    seconds: float = 0.0
    # clips by where their footage came from (storage.footage): a camera or RTSP stream,
    # an imported file, the demo, or not recorded (sealed before sources were)
    live_clips: int = 0
    file_clips: int = 0
    demo_clips: int = 0
    unsourced_clips: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "segments": self.segments,
            "clips": self.clips,
            "live_clips": self.live_clips,
            "file_clips": self.file_clips,
            "demo_clips": self.demo_clips,
            "unsourced_clips": self.unsourced_clips,
            "gaps": self.gaps,
            "purged": self.purged,
            "checkpoints": self.checkpoints,
            "blobs_checked": self.blobs_checked,
            "bytes_hashed": self.bytes_hashed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class AuditReport:
    origin: str
    size: int
    findings: list[Finding] = field(default_factory=list)
    stats: AuditStats = field(default_factory=AuditStats)
    evidence: list[Misbehaviour] = field(default_factory=list)
    # Every finding counted by (check, severity), including those not listed.
    counts: dict[tuple[str, Severity], int] = field(default_factory=dict)
    hashed_blobs: bool = True

    @property
    def ok(self) -> bool:
        """No error findings (warnings and info are allowed)."""
        return not any(sev == "error" for (_, sev) in self.counts)

    def count(self, severity: Severity) -> int:
        return sum(n for (_, sev), n in self.counts.items() if sev == severity)

    def by_severity(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "packseal-audit/v1",
            "origin": self.origin,
            "size": self.size,
            "ok": self.ok,
            "hashed_blobs": self.hashed_blobs,
            "stats": self.stats.to_dict(),
            "counts": [
                {"check": c, "severity": s, "count": n} for (c, s), n in sorted(self.counts.items())
            ],
            "findings": [f.to_dict() for f in self.findings],
            "evidence": [e.to_dict() for e in self.evidence],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
