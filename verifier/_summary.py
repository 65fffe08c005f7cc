"""What a bundle claims, for people: the summary its sheet's QR code carries and the CLI
prints, and the facts its evidence sheet shows (neither is evidence by itself)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage.entries import Clip, StationKey
from storage.footage import describe_source
from verifier._layout import DERIVED, FORMAT

if TYPE_CHECKING:  # the sheet imports OpenCV: only when a bundle is made
    from collections.abc import Callable

    from verifier.sheet import Sheet, SheetFacts

    SheetMaker = Callable[[SheetFacts, Clip, Path], Sheet]


@dataclass(frozen=True, slots=True)
class BundleSummary:
    """What a bundle claims, in one place: the sheet's QR code and the CLI print it."""

    order_id: str
    tracking_ids: tuple[str, ...]
    clip_id: str
    station: str
    origin: str
    log_index: int
    checkpoint_size: int
    checkpoint_root: str  # base64, as in the checkpoint
    video: str  # member name
    video_sha256: str  # of the video member
    sealed_sha256: str  # of the sealed bytes (equal to video_sha256 unless derived)
    entry_hash: str  # RFC 6962 leaf hash of the clip entry, hex
    start_ms: int
    end_ms: int
    segments: tuple[int, int, int]  # first, last (1-based), of
    # Each further view's video member: (view, member, sha256 of the member); () for one.
    views: tuple[tuple[str, str, str], ...] = ()

    @property
    def derived(self) -> bool:
        return self.video == DERIVED

    def text(self) -> str:
        """The verification summary the sheet's QR code carries (compact, line-based)."""
        first, last, of = self.segments
        video = f"video {self.video} sha256 {self.video_sha256}"
        if self.derived:
            video += f" derived-from {self.sealed_sha256}"
        return "\n".join(
            [
                FORMAT,
                f"order {self.order_id}",
                f"clip {self.clip_id} segments {first}..{last} of {of}",
                video,
                *(f"view {v} video {m} sha256 {sha}" for v, m, sha in self.views),
                f"entry {self.entry_hash}",
                f"log {self.origin} index {self.log_index}",
                f"checkpoint {self.checkpoint_size} {self.checkpoint_root}",
            ]
        )


def sheet_of(
    summary: BundleSummary,
    clip: Clip,
    station: StationKey,
    zone: dt.tzinfo,
    clip_path: Path,
    make_sheet: SheetMaker | None,
    verify_url: str | None,
    language: str,
    views: tuple[tuple[str, Path], ...] = (),
) -> tuple[bytes, bytes]:
    """The sheet's PNG and PDF; ``views``: each further view's sealed video (keyframes)."""
    from verifier.sheet import SheetFacts
    from verifier.sheet import make_sheet as default_maker

    facts = SheetFacts(
        merchant=station.merchant,
        station=f"{station.station} ({station.station_name})",
        origin=summary.origin,
        order_id=clip.order_id,
        tracking_ids=clip.tracking_ids,
        clip_id=clip.clip_id,
        status=clip.status,
        end_reason=clip.end_reason,
        start_ms=summary.start_ms,
        end_ms=summary.end_ms,
        zone=zone,
        clip_sha256=summary.video_sha256,
        entry_hash=summary.entry_hash,
        log_index=summary.log_index,
        checkpoint_size=summary.checkpoint_size,
        checkpoint_root=summary.checkpoint_root,
        derived_from=summary.sealed_sha256 if summary.derived else None,
        qr_payload=summary.text(),
        verify_url=verify_url,
        language=language,
        source=describe_source(clip.source),
        source_live=None if clip.source is None else clip.source.live,
        views=views,
        view_sha256=tuple((view, sha) for view, _, sha in summary.views),
    )
    sheet = (make_sheet or default_maker)(facts, clip, clip_path)
    return sheet.png, sheet.pdf
