"""The portal's one door into the verifier: bundles, sheets, derived copies, segment
verdicts and audits. Everything here writes into a private temporary directory that
the response deletes once it is sent.

The verifier modules are imported when first used: the portal starts (and the station
screen runs) on a machine whose verifier lacks a part, and the affected button answers
503 with the module it needs instead of the whole portal failing to start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from packseal.app import App
from packseal.web._http import WebError
from packseal.web._media import clip_media
from storage import ClipRow, LogStateError
from storage.entries import Clip
from verifier import VerifierError

if TYPE_CHECKING:
    from verifier.bundle import SheetMaker

MARKETPLACE_BYTES = 20_000_000  # WeChat Shop's after-sale video limit (FIELD-NOTES)
DERIVED_CACHE = 16  # derived copies kept (each at most MARKETPLACE_BYTES)
Progress = Callable[[int, int], None]
VerdictName = Literal["verified", "mismatch", "missing", "purged", "unchecked"]


def _missing(name: str, e: ImportError) -> WebError:
    return WebError(
        503,
        f"this installation cannot load {name} ({e})",
        hint="install packseal[all]; the rest of the portal keeps working",
    )


@dataclass(frozen=True, slots=True)
class Export:
    path: Path
    filename: str
    media_type: str
    workdir: Path | None  # deleted once the response is sent; None: a cached file
    note: str = ""  # what the custody record adds to the file name (a claim report)

    def cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class Evidence:
    """``make_sheet`` replaces the verifier's sheet renderer (tests: a sheet costs ~2 s)."""

    def __init__(
        self, app: App, *, scratch: Path | None = None, make_sheet: SheetMaker | None = None
    ) -> None:
        self.app = app
        self.scratch = scratch
        self.make_sheet = make_sheet

    def _workdir(self) -> Path:
        if self.scratch is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="packseal-export-", dir=self.scratch))

    def _guarded(self, run: Callable[[Path], Export]) -> Export:
        work = self._workdir()
        try:
            return run(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    # -- exports -----------------------------------------------------------------------

    def _export(
        self, row: ClipRow, out: Path, max_bytes: int | None = None, claim: str | None = None
    ) -> None:
        try:
            self.app.export(
                row.clip_id, out, max_bytes=max_bytes, make_sheet=self.make_sheet, claim=claim
            )
        except ValueError as e:  # no such claim check of this clip
            raise WebError(
                404, str(e), hint="choose a claim check listed on the clip page"
            ) from None
        except VerifierError as e:
            if claim is None:
                raise
            # the report cannot go in (another clip's, damaged, no room under the limit)
            raise WebError(409, e.message, hint=e.hint) from None
        except LogStateError as e:
            # The clip exists (the route found it): a log-state error here is about the
            # store (no certification, no checkpoint), not a missing resource.
            raise WebError(409, e.message, hint=e.hint) from None

    def bundle(
        self, row: ClipRow, *, max_bytes: int | None = None, claim: str | None = None
    ) -> Export:
        """The clip's bundle; ``claim``: the id of a claim check kept for this clip, whose
        report it then carries (claim/)."""

        def run(work: Path) -> Export:
            suffix = "-marketplace" if max_bytes is not None else ""
            suffix += "-claim" if claim is not None else ""
            out = work / f"{_safe(row.order_id)}-{row.clip_id}{suffix}.zip"
            self._export(row, out, max_bytes, claim)
            note = f" with claim report {claim}" if claim is not None else ""
            return Export(out, out.name, "application/zip", work, note)

        return self._guarded(run)

    def sheet(self, row: ClipRow, fmt: Literal["png", "pdf"]) -> Export:
        """The evidence sheet of the clip's bundle (its QR code names that bundle)."""

        def run(work: Path) -> Export:
            bundle = work / "bundle.zip"
            self._export(row, bundle)
            out = work / f"{_safe(row.order_id)}-sheet.{fmt}"
            with zipfile.ZipFile(bundle) as zf:
                out.write_bytes(zf.read(f"sheet.{fmt}"))
            bundle.unlink()
            media = "image/png" if fmt == "png" else "application/pdf"
            return Export(out, out.name, media, work)

        return self._guarded(run)

    def derived(self, row: ClipRow, max_bytes: int = MARKETPLACE_BYTES) -> Export:
        """A re-encoded MP4 under ``max_bytes`` for upload forms (names its sealed clip).

        Kept in a small cache: a copy costs seconds of ffmpeg per minute of video and is
        the same every time (the sealed clip never changes), and merchants download twice.
        """
        try:
            from verifier.derive import derive_copy
        except ImportError as e:
            raise _missing("verifier.derive", e) from None
        name = f"{_safe(row.order_id)}-marketplace.mp4"
        cache = Path(self.scratch or tempfile.gettempdir()) / "packseal-derived"
        cached = cache / f"{row.clip_id}-{max_bytes}.mp4"
        if cached.is_file():
            os.utime(cached)  # most recently used: pruned last
            return Export(cached, name, "video/mp4", None)

        def run(work: Path) -> Export:
            sealed = work / "sealed.mp4"
            media = clip_media(self.app.store, row)
            with open(sealed, "wb") as f:
                for chunk in media.read(0, media.size - 1):
                    f.write(chunk)
            out = work / name
            derive_copy(sealed, out, max_bytes)
            cache.mkdir(parents=True, exist_ok=True)
            os.replace(out, cached)
            _prune(cache, keep=DERIVED_CACHE)
            return Export(cached, name, "video/mp4", work)

        return self._guarded(run)

    # -- checks ------------------------------------------------------------------------

    def verdicts(
        self, entry: Clip, view: str | None = None
    ) -> tuple[VerdictName, list[VerdictName]] | None:
        """The init section's and each segment's verdict (re-hashed against the entry) of
        one view (``None``: the first camera's), or ``None`` when this installation's
        verifier has no replay module."""
        try:
            from verifier.replay import init_verdict, segment_verdicts
        except ImportError:
            return None
        segments = segment_verdicts(self.app.store, entry, view=view)
        init = init_verdict(self.app.store, entry, segments, view=view)
        return init.state, [v.state for v in segments]

    def audit(self, progress: Progress) -> dict[str, Any]:
        """Audit the whole store against this merchant's own trust file."""
        try:
            from verifier.audit import audit_store
        except ImportError as e:
            raise _missing("verifier.audit", e) from None
        trust = self.app.trust_file()
        report = audit_store(
            self.app.store,
            trust.log_verifiers(self.app.store.origin),
            root=trust.root_verifier(),
            progress=progress,
        )
        return audit_summary(report.to_dict())


def audit_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the audit page and API keep of a report (findings are capped by the audit)."""
    counts: dict[str, int] = {"error": 0, "warning": 0, "info": 0}
    for item in report.get("counts", []):
        counts[item["severity"]] = counts.get(item["severity"], 0) + int(item["count"])
    return {
        "ok": bool(report.get("ok")),
        "size": report.get("size"),
        "stats": report.get("stats", {}),
        "counts": counts,
        "findings": [
            {
                "check": f.get("check"),
                "severity": f.get("severity"),
                "where": "" if f.get("index") is None else f"entry {f['index']}",
                "message": f.get("message"),
            }
            for f in report.get("findings", [])
        ],
        "evidence": len(report.get("evidence", [])),
    }


def _prune(directory: Path, *, keep: int) -> None:
    files = sorted(directory.glob("*.mp4"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def _safe(text: str) -> str:
    """``text`` as a file-name part (order ids allow '-' and '_' only, but be sure)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60] or "clip"
