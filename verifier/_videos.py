"""The bundle's videos besides the sealed clip's copy: each further view's, a re-encoded
copy under a size limit, and which whole segments an excerpt takes.

A clip filmed by several cameras carries each further view as ``clip.<view>.mp4``, the
view's segments overlapping the primary's (:func:`verifier._layout.view_span`); such a
clip has no one video to re-encode, so it cannot be carried as a derived copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage import Store
from storage.entries import Clip, ClipView
from verifier._assemble import assemble
from verifier._errors import VerifierError
from verifier._layout import DERIVED, view_member, view_span
from verifier._manifest import ViewVideo
from verifier._readme import Part

if TYPE_CHECKING:  # ffmpeg: only when a copy is made
    from verifier.derive import DerivedCopy


@dataclass(frozen=True, slots=True)
class View:
    """A further view's video, made for the bundle."""

    manifest: ViewVideo
    path: Path  # clip.<view>.mp4: the sealed bytes on the clip's own timeline
    sealed: Path  # the sealed bytes as recorded (the sheet's keyframes)
    sha256: str  # of ``path``
    parts: list[Part]


def view_video(
    store: Store,
    clip: Clip,
    part: ClipView,
    first: int,
    last: int,
    work: Path,
    step: Callable[[str, int, int], None],
) -> View:
    primary = clip.all_views()[0]
    lo, hi = view_span(part, primary, first, last)
    member = view_member(part.view)
    sealed = work / f"sealed.{part.view}.mp4"
    made = assemble(
        store,
        clip,
        lo,
        hi,
        sealed,
        work / member,
        lambda done, total: step(f"copying view {part.view}", done, total),
        view=part,
    )
    manifest = ViewVideo(
        view=part.view,
        member=member,
        first=lo,
        last=hi,
        segment_count=len(part.segments),
        sealed_sha256=made.sealed_sha256,
        sealed_size=sealed.stat().st_size,
        timeline=made.timeline,
    )
    return View(manifest, work / member, sealed, made.video_sha256, made.parts)


def no_copy_of_views(clip: Clip, size: int, max_bytes: int) -> None:
    """A derived copy re-encodes one video; a clip of several views has no one video."""
    if clip.views:
        raise VerifierError(
            f"the bundle of clip {clip.clip_id} is {size} bytes, over the {max_bytes}-byte "
            f"limit, and a clip filmed by {len(clip.views) + 1} cameras "
            f"({', '.join(clip.view_names())}) cannot be carried as a re-encoded copy",
            hint="ask for a larger --max-size, or export an --excerpt",
        )


# What a second packing may add to the first one's sheet, README and zip headers (the
# sheet's text and QR name the derived copy's hash instead of the sealed clip's).
PACKING_SLACK = 64_000


def derive(
    sealed: Path,
    work: Path,
    max_bytes: int,
    *,
    overhead: int,
    progress: Callable[[int, int], None] | None = None,
    rest: str = "sheet, entries and README",
) -> DerivedCopy:
    """A re-encoded copy of ``sealed`` that leaves ``overhead`` bytes of ``max_bytes``
    for the rest of the bundle."""
    from verifier.derive import derive_copy

    budget = max_bytes - overhead - (PACKING_SLACK if overhead else 0)
    share = f"the video's share of the {max_bytes}-byte limit after {overhead} bytes of {rest}"
    if budget <= 0:
        raise VerifierError(
            f"no room for the video: {share} is {budget} bytes",
            hint="ask for a larger --max-size"
            + (", or leave the claim report out" if "claim" in rest else ""),
        )
    try:
        copy = derive_copy(sealed, work / DERIVED, budget, progress=progress)
    except VerifierError as e:
        if not overhead:
            raise
        raise VerifierError(f"{e.message} ({share})", hint=e.hint) from e
    if copy.size > budget:
        raise VerifierError(
            f"the derived copy is {copy.size} bytes, over {share} ({budget} bytes)"
            if overhead
            else f"the derived copy is {copy.size} bytes, over the {max_bytes}-byte limit",
            hint="ask for a larger --max-size, or export an --excerpt",
        )
    return copy


def segment_span(clip: Clip, excerpt: tuple[float, float] | None) -> tuple[int, int]:
    """Positions (inclusive) of the whole segments covering ``excerpt`` seconds."""
    n = len(clip.segments)
    if excerpt is None:
        return 0, n - 1
    start_s, end_s = excerpt
    duration = (clip.end_ms - clip.start_ms) / 1000
    if not 0 <= start_s < end_s:
        raise ValueError(f"excerpt {start_s:g}-{end_s:g}: expected 0 <= START < END seconds")
    if start_s >= duration:
        raise ValueError(
            f"excerpt {start_s:g}-{end_s:g} starts after the clip ends (it is {duration:.1f} s)"
        )
    lo, hi = clip.start_ms + ms(start_s), clip.start_ms + ms(end_s)
    chosen = [i for i, s in enumerate(clip.segments) if s.end > lo and s.start < hi]
    return chosen[0], chosen[-1]


def ms(seconds: float) -> int:
    return round(seconds * 1000)
