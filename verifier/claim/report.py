"""The claim report: ``claim.json`` (every finding with its evidence), one annotated PNG
per photo, and a one-page ``claim.png`` / ``claim.pdf`` a reviewer reads in 30 seconds.

The page is drawn with the page primitives the evidence sheet uses (:mod:`verifier._page`:
A4, the shipped DejaVu faces with CJK fallback, PNG through Pillow and PDF through fpdf2).
Its wording is careful: it reports labels found and regions that differ from the sealed
footage; it never calls a photo fake, and it says that a missing label proves nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from storage.facts import rfc3339
from storage.text import printable
from verifier import _sheet_fonts
from verifier._claim_words import words
from verifier._page import (
    CONTENT_W,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    PANEL,
    PDF_ATTEMPTS,
    PNG_ATTEMPTS,
    RED,
    _fit,
    _fit_text,
    _local,
    _offset,
    _Op,
    _Ops,
    _Picture,
    _Rect,
    _render_png,
    _with_font_note,
    _wrap,
    render_pdf_page,
)
from verifier.claim.check import Against, ClaimReport, PhotoResult
from verifier.claim.compare import U8, UNSEEN_SAID, Match
from verifier.claim.footage import FootageFrame

__all__ = ["FORMAT", "ReportFiles", "claim_json", "write_report"]

FORMAT = "packseal-claim/v1"
MAX_PAGE_BYTES = 2_000_000
_ON_PAGE = 3  # photos drawn on the one page; the rest are in claim.json
_RED_BGR = (38, 38, 220)
_BLUE_BGR = (220, 120, 30)
_YELLOW_BGR = (0, 200, 245)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    json: Path
    png: Path
    pdf: Path
    annotated: tuple[Path, ...]


def claim_json(report: ClaimReport, annotated: list[str]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "order_id": report.order_id,
        "clip_id": report.clip_id,
        "checked_at": rfc3339(report.checked_ms),
        "statement": words("en")["statement"],
        "footage": {"candidate_frames": report.footage_frames, "skipped": list(report.skipped)},
        "listing": report.listing.to_dict() if report.listing else None,
        "photos": [
            {**r.to_dict(), "annotated": name}
            for r, name in zip(report.photos, annotated, strict=True)
        ],
    }


def write_report(
    report: ClaimReport,
    out_dir: Path,
    *,
    merchant: str,
    zone: dt.tzinfo = dt.UTC,
    language: str = "en",
) -> ReportFiles:
    """Write claim.json, claim-N.png (annotated), claim.png and claim.pdf into ``out_dir``."""
    w = words(language)
    out_dir.mkdir(parents=True, exist_ok=True)
    annotated = []
    thumbs = []
    for n, result in enumerate(report.photos, start=1):
        image = annotate(result, w)
        path = out_dir / f"claim-{n}.png"
        cv2.imwrite(str(path), image)
        annotated.append(path)
        thumbs.append(image)
    doc = claim_json(report, [p.name for p in annotated])
    json_path = out_dir / "claim.json"
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ops = _with_font_note(_layout(report, thumbs, merchant, zone, language))
    fit = partial(_fit, page="the claim report", hint="check fewer photos at once")
    png = fit("PNG", MAX_PAGE_BYTES, [partial(_render_png, ops, d, p) for d, p in PNG_ATTEMPTS])
    pdf_page = partial(
        render_pdf_page,
        ops,
        title=f"Claim check — order {report.order_id}",
        author=merchant,
        subject=f"clip {report.clip_id}",
        language=language,
        created_ms=report.checked_ms,
    )
    pdf = fit("PDF", MAX_PAGE_BYTES, [partial(pdf_page, q) for q in PDF_ATTEMPTS])
    (out_dir / "claim.png").write_bytes(png)
    (out_dir / "claim.pdf").write_bytes(pdf)
    return ReportFiles(json_path, out_dir / "claim.png", out_dir / "claim.pdf", tuple(annotated))


# -- the annotated picture ----------------------------------------------------------------


def annotate(result: PhotoResult, w: dict[str, str]) -> U8:
    """BGR: [sealed frame] [claim photo] [sealed frame aligned to the photo], the part
    compared outlined in blue on all three, the product the photo shows beyond it (not
    compared) in yellow, and the differing regions in red on the last two; or the photo
    alone if not found."""
    photo = _bgr(result.image)
    against = result.footage
    c = against.comparison if against else None
    if c is None or c.mask is None or c.aligned is None or against is None:
        return _strip([(photo, w["panel_claim"])])
    claim = photo.copy()
    aligned = _bgr(c.aligned)
    thick = max(2, round(max(photo.shape[:2]) / 400))
    outlined = ((c.product, _BLUE_BGR), (c.unseen, _YELLOW_BGR))
    for layer, color in (*outlined, (c.mask, _RED_BGR)):
        if layer is None:
            continue
        contours, _ = cv2.findContours(layer, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for img in (claim, aligned):
            cv2.drawContours(img, contours, -1, color, thick, cv2.LINE_AA)
    assert against.reference is not None
    # Each sealed frame shows, in blue, the part compared with it; the first also the
    # part not compared at all, in yellow.
    own = c.product
    if own is not None:
        for v in against.covers:
            own = np.asarray(cv2.bitwise_and(own, cv2.bitwise_not(v.part)), np.uint8)
    frame = _carried(
        against.reference.picture(), c.match, ((own, _BLUE_BGR), (c.unseen, _YELLOW_BGR))
    )
    panels = [(frame, w["panel_frame"])]
    for n, v in enumerate(against.covers, start=2):
        panels.append(
            (
                _carried(v.reference.picture(), v.match, ((v.part, _BLUE_BGR),)),
                w["panel_moved" if v.why == "moved" else "panel_also"].format(n=n),
            )
        )
    return _strip([*panels, (claim, w["panel_claim"]), (aligned, w["panel_aligned"])])


def _carried(
    picture: U8, m: Match, layers: tuple[tuple[U8 | None, tuple[int, int, int]], ...]
) -> U8:
    """A sealed frame (BGR) with claim-photo ``layers`` carried into it and outlined."""
    frame = _bgr(picture)
    if m.homography is None:
        return frame
    size = (frame.shape[1], frame.shape[0])
    for layer, color in layers:
        if layer is None:
            continue
        part = cv2.warpPerspective(layer, m.homography, size, flags=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(frame, contours, -1, color, 2, cv2.LINE_AA)
    return frame


def _bgr(rgb: U8) -> U8:
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _strip(panels: list[tuple[U8, str]], height: int = 480) -> U8:
    """Panels side by side at one height, each with a caption above it."""
    caption = 34
    scaled = []
    for img, _ in panels:
        h, w = img.shape[:2]
        size = (max(1, round(w * height / h)), height)
        scaled.append(np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), np.uint8))
    width = sum(s.shape[1] for s in scaled) + 8 * (len(scaled) - 1)
    canvas = PILImage.new("RGB", (width, height + caption), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for img, (_, text) in zip(scaled, panels, strict=True):
        canvas.paste(PILImage.fromarray(img[:, :, ::-1]), (x, caption))
        tx = x + 6
        for run, face in _sheet_fonts.runs(text, "bold"):
            font = _png_font(face)
            draw.text((tx, caption - 10), run, font=font, fill=INK, anchor="ls")
            tx += font.getlength(run)
        x += img.shape[1] + 8
    return np.asarray(canvas, np.uint8)[:, :, ::-1].copy()


def _png_font(face: _sheet_fonts.Face) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(face.path), 18, index=face.index)


# -- the page -----------------------------------------------------------------------------


def _layout(
    report: ClaimReport, thumbs: list[U8], merchant: str, zone: dt.tzinfo, language: str
) -> list[_Op]:
    w = words(language)
    ops = _Ops()
    x0 = MARGIN
    ops.text(x0, 16.5, w["kicker"], "bold", 7.5, MUTED)
    title = w["title"].format(order=printable(report.order_id, 120))
    ops.text(x0, 26, _fit_text(title, "bold", 17, CONTENT_W), "bold", 17)
    when = f"{_local(report.checked_ms, zone)} {_offset(report.checked_ms, zone)}"
    sub = w["subtitle"].format(merchant=printable(merchant), when=when, clip=report.clip_id)
    ops.text(x0, 32, _fit_text(sub, "sans", 9, CONTENT_W), "sans", 9, MUTED)
    ops.rule(35.5)
    lines = _wrap(w["statement"], "sans", 8.5, CONTENT_W - 8)
    box_h = 3.5 + 3.9 * len(lines)
    ops.append(_Rect(MARGIN, 38.5, CONTENT_W, box_h, fill=PANEL, radius=1))
    for i, line in enumerate(lines):
        ops.text(MARGIN + 4, 43 + i * 3.9, line, "sans", 8.5)
    top = 38.5 + box_h + 4
    footer_top = PAGE_H - 18
    shown = report.photos[:_ON_PAGE]
    block = (footer_top - top - 2) / max(1, len(shown))
    for n, (result, thumb) in enumerate(zip(shown, thumbs, strict=False), start=1):
        _photo_block(ops, n, result, thumb, top, block - 3, zone, language)
        top += block
    if len(report.photos) > _ON_PAGE:
        ops.text(
            MARGIN,
            footer_top - 1,
            w["more"].format(n=len(report.photos) - _ON_PAGE),
            "sans",
            8,
            MUTED,
        )
    skipped = w["skipped"].format(n=len(report.skipped)) if report.skipped else ""
    foot = w["footer"].format(frames=report.footage_frames, skipped=skipped)
    for i, line in enumerate(_wrap(foot, "sans", 7, CONTENT_W)[:3]):
        ops.text(MARGIN, footer_top + 4 + i * 3.2, line, "sans", 7, MUTED)
    return list(ops)


def _photo_block(
    ops: _Ops,
    n: int,
    r: PhotoResult,
    thumb: U8,
    top: float,
    height: float,
    zone: dt.tzinfo,
    language: str,
) -> None:
    w = words(language)
    ops.text(MARGIN, top + 3, w["photo"].format(n=n), "bold", 7.5, MUTED)
    name = printable(r.photo.name, 80)
    ops.text(MARGIN + 18, top + 3, _fit_text(name, "bold", 9, CONTENT_W - 18), "bold", 9)
    pic_h = min(height * 0.55, 60.0)
    th, tw = thumb.shape[:2]
    pic_w = min(CONTENT_W, pic_h * tw / th)
    pic_h = pic_w * th / tw
    ops.append(_Picture(MARGIN, top + 5, pic_w, pic_h, thumb))
    y = top + 5 + pic_h + 4
    rows: list[tuple[str, list[tuple[str, Any]]]] = [
        ("file", [(_file_line(r), INK)]),
        ("labels", _label_lines(r, w)),
        ("footage", _against_lines(r.footage, language, zone, listing=False)),
    ]
    if r.listing is not None:
        rows.append(("listing", _against_lines(r.listing, language, zone, listing=True)))
    bottom = top + height
    for key, texts in rows:
        ops.text(MARGIN, y, w[key], "bold", 6.5, MUTED)
        for text, color in texts:
            for line in _wrap(text, "sans", 8, CONTENT_W - 22)[:2]:
                if y > bottom:
                    return
                ops.text(MARGIN + 22, y, line, "sans", 8, color)
                y += 3.6
        y += 0.8


def _file_line(r: PhotoResult) -> str:
    facts = {f.field: f for f in r.photo.findings if f.kind == "fact"}
    parts = [facts["format"].meaning if "format" in facts else r.photo.format]
    for key in ("EXIF Make/Model", "EXIF DateTimeOriginal", "JPEG quality"):
        if key in facts:
            label = {
                "EXIF Make/Model": "camera",
                "EXIF DateTimeOriginal": "taken",
                "JPEG quality": "JPEG q",
            }[key]
            parts.append(f"{label} {facts[key].value}")
    parts.append(f"sha256 {r.photo.sha256[:16]}…")
    return "  ·  ".join(parts)


def _label_lines(r: PhotoResult, w: dict[str, str]) -> list[tuple[str, Any]]:
    found = [f for f in r.photo.findings if f.kind not in ("fact",)]
    if not found:
        return [(w["no_labels"], MUTED)]
    out = []
    for f in found[:4]:
        color = RED if f.signal in ("ai", "possibly-ai") else INK
        out.append((f"{f.field} = {printable(f.value, 60)}: {f.meaning}  [{f.where}]", color))
    return out


def _against_lines(
    a: Against | None, language: str, zone: dt.tzinfo, *, listing: bool
) -> list[tuple[str, Any]]:
    if a is None:
        return []
    w = words(language)
    c = a.comparison
    if a.outcome == "not-found":
        why = a.why_not_said(language)
        text = w["listing_not_found"] if listing else w["not_found"].format(why=why)
        return [(text, MUTED)]
    n = len(c.regions) if c is not None else 0
    if listing:
        text = w["listing_differs"].format(n=n) if n else w["listing_same"]
        return [(text, RED if n else INK)]
    pct = f"{100 * c.differing_fraction:.1f} %" if c is not None else "?"
    text = w["differs"].format(n=n, pct=pct) if n else w["no_difference"]
    out: list[tuple[str, Any]] = [(text, RED if n else INK)]
    if c is not None and c.unseen_fraction >= UNSEEN_SAID:
        out.append((w["unseen"].format(pct=f"{100 * c.unseen_fraction:.0f} %"), INK))
    ref = a.reference
    if ref is not None and ref.frame is not None:
        out.append((_frame_line(w["frame"], ref.frame, zone), MUTED))
    for v in a.covers:
        assert v.reference.frame is not None
        said = w["frame_moved" if v.why == "moved" else "frame_also"]
        text = _frame_line(said, v.reference.frame, zone, pct=f"{100 * v.fraction:.0f} %")
        out.append((text, MUTED))
    return out


def _frame_line(text: str, f: FootageFrame, zone: dt.tzinfo, **more: str) -> str:
    when = f"{_local(f.t_ms, zone, tenths=True)} {_offset(f.t_ms, zone)}"
    return text.format(seg=f.segment, segs=f.segments, sha=f.sha256[:16], when=when, **more)
