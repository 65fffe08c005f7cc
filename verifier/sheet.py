"""The evidence sheet: one A4 page, PNG and PDF, summarizing a sealed clip for a person.

For card and marketplace disputes that take images or PDFs but no video (FIELD-NOTES:
PayPal 10 MB, Amex 5 MB per file), each file is kept under 2 MB. The page shows the order,
its tracking ids, station, times (local with offset, and UTC), duration and status, 4-6
keyframes decoded from the sealed clip with the scan boxes from the clip entry, the clip,
entry and checkpoint hashes in full, the log position, a QR code carrying the bundle's
verification summary, and how to verify. It proves nothing by itself and says so: the
bundle does.

The page is laid out once, in millimetres, as a list of drawing operations; two backends
draw it: Pillow rasterizes the PNG, fpdf2 draws the PDF natively (selectable text in the
embedded, subset DejaVu fonts; keyframes as JPEG; boxes and QR as vectors). Both use the
fonts shipped in :mod:`verifier.fonts`, so the sheet looks the same on every machine.
Same inputs, same bytes: nothing reads the clock (the PDF's creation date is the end of
the recording).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from fpdf import FPDF
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from storage.entries import Clip
from storage.facts import rfc3339
from storage.text import printable
from verifier import _sheet_fonts
from verifier._errors import VerifierError
from verifier._sheet_text import LANGUAGES, PARAGRAPHS, translate
from verifier.frames import Image, Keyframe, pick_keyframes

__all__ = ["MAX_SHEET_BYTES", "Keyframe", "Sheet", "SheetFacts", "make_sheet", "pick_keyframes"]

MAX_SHEET_BYTES = 2_000_000
PAGE_W, PAGE_H = 210.0, 297.0  # A4 portrait, mm
MARGIN = 14.0
CONTENT_W = PAGE_W - 2 * MARGIN
VERIFY_COMMAND = "packseal verify bundle.zip --trust <merchant trust file>"

RGB = tuple[int, int, int]
INK: RGB = (24, 32, 45)
MUTED: RGB = (98, 108, 122)
RULE: RGB = (212, 217, 224)
PANEL: RGB = (243, 245, 248)
GREEN: RGB = (18, 122, 70)
RED: RGB = (186, 38, 38)
AMBER: RGB = (150, 96, 0)
AMBER_BG: RGB = (255, 243, 212)
BOX: RGB = (0, 230, 110)  # scan boxes: bright on the dim warehouse footage
FontName = _sheet_fonts.FontName
_PT = 25.4 / 72  # mm per point


@dataclass(frozen=True, slots=True)
class SheetFacts:
    merchant: str
    station: str
    origin: str  # the log origin
    order_id: str
    tracking_ids: tuple[str, ...]
    clip_id: str
    status: str
    end_reason: str
    start_ms: int
    end_ms: int
    zone: dt.tzinfo  # local times are shown in this zone, with their UTC offset
    clip_sha256: str  # of the clip file in the bundle
    entry_hash: str  # leaf hash of the clip entry
    log_index: int
    checkpoint_size: int
    checkpoint_root: str
    derived_from: str | None  # sha256 of the sealed clip, if clip_sha256 is a derived copy
    qr_payload: str
    verify_url: str | None = None  # the merchant's published verify page, if any
    language: str = "en"  # "en" or "zh-CN": the sheet's words, not the facts
    # Where the footage came from (storage.footage.describe_source of the signed entry);
    # live False or None (not recorded) is drawn in amber: not a camera's live footage.
    source: str = ""
    source_live: bool | None = None


@dataclass(frozen=True, slots=True)
class Sheet:
    png: bytes
    pdf: bytes
    keyframes: list[Keyframe]


def make_sheet(
    facts: SheetFacts,
    clip: Clip,
    clip_path: Path,
    *,
    keyframes: Sequence[Keyframe] | None = None,
    max_bytes: int = MAX_SHEET_BYTES,
) -> Sheet:
    """Render the sheet of ``clip`` (decoding its keyframes from ``clip_path``).

    ``clip_path`` is the sealed clip or an excerpt of it, never a derived copy (its
    fragments must hash to the entry's segments). ``max_bytes`` can only lower the 2 MB
    cap. Raises :class:`VerifierError` if a file cannot be brought under it, and what
    :func:`pick_keyframes` raises.
    """
    max_bytes = min(max_bytes, MAX_SHEET_BYTES)
    frames = list(pick_keyframes(clip, clip_path) if keyframes is None else keyframes)
    facts = _safe_facts(facts)
    shown = [replace(k, label=printable(k.label), detail=printable(k.detail, 300)) for k in frames]
    ops = _with_font_note(_localize(_layout(facts, shown), facts.language))
    png = _fit(
        "PNG",
        max_bytes,
        [partial(_render_png, ops, dpi, palette) for dpi, palette in PNG_ATTEMPTS],
    )
    pdf = _fit("PDF", max_bytes, [partial(_render_pdf, ops, facts, q) for q in PDF_ATTEMPTS])
    return Sheet(png=png, pdf=pdf, keyframes=frames)


def _safe_facts(facts: SheetFacts) -> SheetFacts:
    """Every text a scan, the config or the entry put on the page, as :func:`printable`
    shows it: a scanned U+2029 made Pillow's layout raise, and the entry is signed, so
    the clip could never be exported again; a bidi override could disguise the order."""
    return replace(
        facts,
        merchant=printable(facts.merchant),
        station=printable(facts.station),
        origin=printable(facts.origin),
        order_id=printable(facts.order_id, 300),
        tracking_ids=tuple(printable(t, 300) for t in facts.tracking_ids),
        clip_id=printable(facts.clip_id),
        status=printable(facts.status),
        end_reason=printable(facts.end_reason),
        source=printable(facts.source, 400),
    )


def _fit(what: str, max_bytes: int, attempts: Sequence[Callable[[], bytes]]) -> bytes:
    """The first rendering that fits, best quality first: a sheet must be uploadable."""
    sizes = []
    for render in attempts:
        data = render()
        if len(data) <= max_bytes:
            return data
        sizes.append(len(data))
    raise VerifierError(
        f"the evidence sheet {what} is {min(sizes)} bytes at its smallest, more than the "
        f"{max_bytes}-byte limit",
        hint="render fewer keyframes (pick_keyframes max_frames)",
    )


# -- drawing operations, in millimetres ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    x: float
    y: float  # baseline
    text: str
    font: FontName
    size: float  # pt
    color: RGB = INK
    align: Literal["L", "R"] = "L"


@dataclass(frozen=True, slots=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    fill: RGB | None = None
    stroke: RGB | None = None
    width: float = 0.25
    radius: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class _Picture:
    x: float
    y: float
    w: float
    h: float
    image: Image
    boxes: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class _QR:
    x: float
    y: float
    size: float  # the symbol with its quiet zone, mm
    dark: npt.NDArray[np.bool_]  # one entry per module, True = dark


_Op = _Text | _Rect | _Picture | _QR


@cache
def _measure_face(face: _sheet_fonts.Face) -> ImageFont.FreeTypeFont:
    # Unhinted metrics at a large size: the advance widths fpdf2 uses too.
    return ImageFont.truetype(
        str(face.path), 1000, index=face.index, layout_engine=ImageFont.Layout.BASIC
    )


def _run_width(text: str, face: _sheet_fonts.Face, size: float) -> float:
    return _measure_face(face).getlength(text) / 1000 * size * _PT


def _width(text: str, font: FontName, size: float) -> float:
    return sum(_run_width(t, face, size) for t, face in _sheet_fonts.runs(text, font))


def _localize(ops: list[_Op], language: str) -> list[_Op]:
    """The laid-out page in ``language``: each text the layout drew in English replaced
    by its translation (verifier/_sheet_text.py); wrapped paragraphs re-wrapped in place."""
    if language not in LANGUAGES:
        raise ValueError(f"the sheet speaks {', '.join(LANGUAGES)}, not {language!r}")
    if language == "en":
        return ops
    out: list[_Op] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        if not isinstance(op, _Text):
            out.append(op)
            i += 1
            continue
        taken = _paragraph(ops, i, language)
        if taken is not None:
            lines, text = taken
            step = lines[1].y - lines[0].y if len(lines) > 1 else op.size * _PT * 1.4
            width = PAGE_W - MARGIN - op.x
            for n, line in enumerate(_wrap(text, op.font, op.size, width)):
                out.append(replace(op, y=op.y + n * step, text=line))
            i += len(lines)
            continue
        out.append(replace(op, text=translate(op.text, language) or op.text))
        i += 1
    return out


def _paragraph(ops: list[_Op], start: int, language: str) -> tuple[list[_Text], str] | None:
    """The lines from ``start`` that join into a known paragraph, and its translation."""
    first = ops[start]
    assert isinstance(first, _Text)
    lines: list[_Text] = []
    for op in ops[start:]:
        if not (
            isinstance(op, _Text) and (op.x, op.font, op.size) == (first.x, first.font, first.size)
        ):
            break
        lines.append(op)
        joined = " ".join(line.text for line in lines)
        for pattern, translation in PARAGRAPHS.get(language, []):
            m = pattern.fullmatch(joined)
            if m:
                return lines, m.expand(translation)
    return None


def _with_font_note(ops: list[_Op]) -> list[_Op]:
    """Say on the page when a character had no font, rather than showing □ unexplained."""
    lacking = sorted(
        set().union(
            *(_sheet_fonts.lacking(op.text, op.font) for op in ops if isinstance(op, _Text))
        )
    )
    if not lacking:
        return ops
    shown = "".join(lacking[:12])
    note = f"□ = a character this machine has no font for ({shown}): {_sheet_fonts.CJK_HINT}"
    return [
        *ops,
        _Text(MARGIN, PAGE_H - 4.5, _fit_text(note, "sans", 7, CONTENT_W), "sans", 7, RED),
    ]


def _wrap(text: str, font: FontName, size: float, width: float) -> list[str]:
    """Break at spaces, or anywhere in a word too long for a line (hashes)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if _width(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if line and _width(line + ch, font, size) > width:
                lines.append(line)
                line = ""
            line += ch
    if line or not lines:
        lines.append(line)
    return lines


def _lines(text: str, font: FontName, size: float, width: float, most: int) -> list[str]:
    """:func:`_wrap`, at most ``most`` lines, the last ending in "…" if text was cut."""
    lines = _wrap(text, font, size, width)
    if len(lines) <= most:
        return lines
    return [*lines[: most - 1], _fit_text(lines[most - 1] + "…", font, size, width)]


def _fit_text(text: str, font: FontName, size: float, width: float) -> str:
    if _width(text, font, size) <= width:
        return text
    while text and _width(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


# -- what the page says -----------------------------------------------------------------------


def _local(ms: int, zone: dt.tzinfo, *, date: bool = True, tenths: bool = False) -> str:
    t = dt.datetime.fromtimestamp(ms // 1000, zone).replace(microsecond=ms % 1000 * 1000)
    text = t.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    return text + f".{ms % 1000 // 100}" if tenths else text


def _offset(ms: int, zone: dt.tzinfo) -> str:
    t = dt.datetime.fromtimestamp(ms // 1000, zone)
    off = t.strftime("%z")
    name = t.tzname() or ""
    utc = f"UTC{off[:3]}:{off[3:]}" if off else "UTC"
    return f"{name} ({utc})" if name and not name.startswith(("UTC", "+", "-")) else utc


def _utc(ms: int) -> str:
    return rfc3339(ms, ms=True)


def _duration(ms: int) -> str:
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d} min"


def _status(facts: SheetFacts) -> tuple[str, RGB]:
    if facts.derived_from:
        return "DERIVED COPY", AMBER
    if facts.status == "sealed":
        return "SEALED CLIP", GREEN
    return facts.status.upper() + " CLIP", RED


def _qr_modules(payload: str) -> npt.NDArray[np.bool_]:
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    return np.asarray(modules < 128)


class _Ops(list[_Op]):
    def text(
        self,
        x: float,
        y: float,
        s: str,
        font: FontName,
        size: float,
        color: RGB = INK,
        align: Literal["L", "R"] = "L",
    ) -> None:
        self.append(_Text(x, y, s, font, size, color, align))

    def rule(self, y: float) -> None:
        self.append(_Rect(MARGIN, y, CONTENT_W, 0.3, fill=RULE))


LABEL_W = 25.0  # the column of small-caps labels
ROW = 4.3  # mm between fact lines
COL_GAP = 6.0


def _layout(facts: SheetFacts, keyframes: Sequence[Keyframe]) -> list[_Op]:
    """Top down: header, facts; bottom up: footer, integrity and QR; the keyframes take
    the space between, so the page never overflows whatever the hashes and names are."""
    ops = _Ops()
    top = _header(ops, facts)
    top = _facts(ops, facts, top + 4)
    if facts.derived_from:
        top = _derived_note(ops, facts.derived_from, top + 2)
    bottom = _footer(ops, PAGE_H - 10, facts.verify_url)
    bottom = _integrity(ops, facts, bottom - 3)
    _keyframes(ops, keyframes, facts, top + 3, bottom - 3)
    return ops


def _header(ops: _Ops, facts: SheetFacts) -> float:
    x0, right = MARGIN, PAGE_W - MARGIN
    chip, chip_color = _status(facts)
    ops.text(x0, 16.5, "PACKSEAL  ·  PACKING EVIDENCE SHEET", "bold", 7.5, MUTED)
    chip_w = _width(chip, "bold", 7.5) + 6
    ops.append(_Rect(right - chip_w, 12.7, chip_w, 5.4, stroke=chip_color, width=0.35, radius=1))
    ops.text(right - 3, 16.5, chip, "bold", 7.5, chip_color, "R")
    title = f"Packing evidence — order {facts.order_id}"
    size = 19.0
    while size > 13 and _width(title, "bold", size) > CONTENT_W:
        size -= 0.5
    ops.text(x0, 26, _fit_text(title, "bold", size, CONTENT_W), "bold", size)
    day = dt.datetime.fromtimestamp(facts.start_ms // 1000, facts.zone).strftime("%d %B %Y")
    subtitle = f"{facts.merchant}  ·  station {facts.station}  ·  {day}"
    ops.text(x0, 32, _fit_text(subtitle, "sans", 10, CONTENT_W), "sans", 10, MUTED)
    ops.rule(35.5)
    return 35.5


def _facts(ops: _Ops, facts: SheetFacts, top: float) -> float:
    """Two columns: what was packed and where (left), when (right)."""
    start, end, zone = facts.start_ms, facts.end_ms, facts.zone
    left: list[tuple[str, str, FontName]] = [
        ("Order", facts.order_id, "bold"),
        ("Tracking", ", ".join(facts.tracking_ids) or "none scanned", "sans"),
        ("Merchant", facts.merchant, "sans"),
        ("Station", facts.station, "sans"),
        ("Status", f"{facts.status}, closed by {facts.end_reason}", "sans"),
    ]
    right: list[tuple[str, str, FontName]] = [
        ("Start", f"{_local(start, zone)}  {_offset(start, zone)}", "sans"),
        ("End", f"{_local(end, zone)}  {_offset(end, zone)}", "sans"),
        ("Start UTC", _utc(start), "sans"),
        ("End UTC", _utc(end), "sans"),
        ("Duration", _duration(end - start), "sans"),
    ]
    col_w = (CONTENT_W - COL_GAP) / 2
    label_w = 19.0
    y = top + 3.2
    for (l_label, l_value, l_font), (r_label, r_value, r_font) in zip(left, right, strict=True):
        lines = 1
        for x, label, value, font in (
            (MARGIN, l_label, l_value, l_font),
            (MARGIN + col_w + COL_GAP, r_label, r_value, r_font),
        ):
            ops.text(x, y, label.upper(), "bold", 6.5, MUTED)
            wrapped = _lines(value, font, 9.5, col_w - label_w, 2)
            for i, line in enumerate(wrapped):
                ops.text(x + label_w, y + i * ROW, line, font, 9.5)
            lines = max(lines, len(wrapped))
        y += ROW * lines + 0.6
    if facts.source:
        # Full width, right under the facts: a file imported with a chosen time looks
        # exactly like a camera's footage, so the sheet says which it was.
        warn = not facts.source_live
        ops.text(MARGIN, y, "FILMED BY", "bold", 6.5, AMBER if warn else MUTED)
        wrapped = _lines(facts.source, "sans", 9.5, CONTENT_W - label_w, 3)
        for i, line in enumerate(wrapped):
            ops.text(MARGIN + label_w, y + i * ROW, line, "sans", 9.5, AMBER if warn else INK)
        y += ROW * len(wrapped) + 0.6
    return y - ROW + 1.2


def _derived_note(ops: _Ops, derived_from: str, top: float) -> float:
    note = (
        "Derived copy. The video this sheet accompanies was re-encoded from the sealed clip "
        f"(sha256 {derived_from}) to fit an upload limit. Its hash cannot match the log: "
        "the sealed clip in the evidence bundle is what verifies."
    )
    lines = _wrap(note, "sans", 8, CONTENT_W - 8)
    h = 3.2 + 3.7 * len(lines)
    ops.append(_Rect(MARGIN, top, CONTENT_W, h, fill=AMBER_BG, stroke=AMBER, width=0.3, radius=1))
    for i, line in enumerate(lines):
        ops.text(MARGIN + 4, top + 4.6 + i * 3.7, line, "sans", 8, AMBER)
    return top + h


def _integrity(ops: _Ops, facts: SheetFacts, bottom: float) -> float:
    """Every hash in full, monospaced, as the verifier prints them, and the QR code with
    the verification summary beside them; laid out upwards from ``bottom``."""
    rows = [
        ("Copy SHA-256" if facts.derived_from else "Clip SHA-256", facts.clip_sha256),
        ("Sealed clip", facts.derived_from or ""),
        ("Entry hash", facts.entry_hash),
        ("Checkpoint", f"size {facts.checkpoint_size}  ·  root {facts.checkpoint_root}"),
        ("Log", f"{facts.origin}  ·  entry {facts.log_index}"),
        ("Clip id", facts.clip_id),
    ]
    dark = _qr_modules(facts.qr_payload)
    # 0.4 mm modules (2.4 px at 150 dpi) read reliably from the PNG and from print; a
    # long summary makes a larger symbol rather than smaller modules.
    qr_size = min(max(27.0, float(dark.shape[0] + 8) * 0.4), 45.0)
    width = CONTENT_W - LABEL_W - qr_size - COL_GAP
    # Hashes are never cut (two lines at most anyway); names from config may be long.
    blocks = [
        (
            label,
            _wrap(v, "mono", 8, width)
            if "SHA" in label.upper() or "hash" in label
            else _lines(v, "mono", 8, width, 2),
        )
        for label, v in rows
        if v
    ]
    text_h = 9.3 + sum(3.9 * len(lines) + 0.6 for _, lines in blocks)
    height = max(text_h, 4 + qr_size + 3.5)
    y = bottom - height
    ops.rule(y)
    ops.text(MARGIN, y + 5, "INTEGRITY", "bold", 7.5, MUTED)
    qr_x = PAGE_W - MARGIN - qr_size
    ops.append(_QR(qr_x, y + 2, qr_size, dark))
    caption = "verification summary"
    cap_x = qr_x + (qr_size - _width(caption, "sans", 6.5)) / 2
    ops.text(cap_x, y + 2 + qr_size + 1.8, caption, "sans", 6.5, MUTED)
    row_y = y + 9.3
    for label, lines in blocks:
        ops.text(MARGIN, row_y, label.upper(), "bold", 6.5, MUTED)
        for line in lines:
            ops.text(MARGIN + LABEL_W, row_y, line, "mono", 8)
            row_y += 3.9
        row_y += 0.6
    return y


def _footer(ops: _Ops, bottom: float, verify_url: str | None) -> float:
    """How to verify, where to get the verifier, and what the sheet is not."""
    disclaimer = (
        "This sheet is a summary and proves nothing on its own. The evidence is the bundle "
        "(the sealed clip, its signed log entry and inclusion proof) verified against the "
        "trust file obtained from the merchant, never from the bundle."
    )
    lines = _wrap(disclaimer, "sans", 7, CONTENT_W)
    y = bottom - 3.2 * len(lines) - 10.5
    ops.rule(y)
    indent = MARGIN + _width("To verify:  ", "bold", 8)
    ops.text(MARGIN, y + 5, "To verify:", "bold", 8)
    ops.text(indent, y + 5, VERIFY_COMMAND, "mono", 8)
    ops.text(MARGIN, y + 9, "Verifier:", "bold", 8)
    get = "pip install packseal"
    if verify_url:
        get += f"  or, in a browser: {printable(verify_url, 90)}"
    ops.text(indent, y + 9, get, "mono", 8)
    for i, line in enumerate(lines):
        ops.text(MARGIN, y + 13.2 + i * 3.2, line, "sans", 7, MUTED)
    return y


CAPTION_H = 7.0  # under each keyframe
ROW_GAP = 2.5


def _keyframes(
    ops: _Ops, keyframes: Sequence[Keyframe], facts: SheetFacts, top: float, bottom: float
) -> None:
    """Two columns of 16:9 cells, as large as the space allows, centred."""
    rows = max(1, math.ceil(len(keyframes) / 2))
    space = (bottom - top - 5.5) / rows - CAPTION_H - ROW_GAP
    cell_h = min((CONTENT_W - COL_GAP) / 2 * 9 / 16, space)
    cell_w = cell_h * 16 / 9
    left = (PAGE_W - 2 * cell_w - COL_GAP) / 2
    ops.text(left, top + 3, "KEYFRAMES FROM THE SEALED CLIP", "bold", 7.5, MUTED)
    zone = _offset(facts.start_ms, facts.zone)
    room = 2 * cell_w + COL_GAP - _width("KEYFRAMES FROM THE SEALED CLIP", "bold", 7.5) - 4
    notes = (
        f"local time {zone}, + seconds from the clip start  ·  green boxes: codes read",
        f"local time {zone}  ·  green boxes: codes read",
        f"local time {zone}",
    )
    note = next((n for n in notes if _width(n, "sans", 6.5) <= room), "")
    ops.text(PAGE_W - left, top + 3, note, "sans", 6.5, MUTED, "R")
    top += 5.5
    for n, kf in enumerate(keyframes):
        x = left + n % 2 * (cell_w + COL_GAP)
        y = top + n // 2 * (cell_h + CAPTION_H + ROW_GAP)
        ops.append(_Rect(x, y, cell_w, cell_h, fill=PANEL))
        h, w = kf.image.shape[:2]
        fit = min(cell_w / w, cell_h / h)
        pw, ph = w * fit, h * fit
        ops.append(
            _Picture(x + (cell_w - pw) / 2, y + (cell_h - ph) / 2, pw, ph, kf.image, kf.boxes)
        )
        _caption(ops, n + 1, kf, facts, x, y + cell_h + 4.6, cell_w)
        why = kf.label.partition(" (")[2].removesuffix(")")
        if why:
            # "Order scan (caption not yet switched to this order)": said on the picture
            # itself, where a reviewer reads the burned-in caption it is about.
            px, bottom = x + (cell_w - pw) / 2, y + (cell_h + ph) / 2
            ops.append(_Rect(px, bottom - 5, pw, 5, fill=AMBER_BG))
            ops.text(px + 2, bottom - 1.5, _fit_text(why, "bold", 7, pw - 4), "bold", 7, AMBER)


def _caption(
    ops: _Ops, n: int, kf: Keyframe, facts: SheetFacts, x: float, base: float, width: float
) -> None:
    """``[n] Label  DETAIL ... 12:07:28.6 (+22.6 s)``; the offset goes first when short of room."""
    badge = str(n)
    ops.append(_Rect(x, base - 3.3, 4.4, 4.4, fill=INK, radius=0.8))
    ops.text(x + 2.2 + _width(badge, "bold", 7) / 2, base, badge, "bold", 7, (255, 255, 255), "R")
    label = kf.label.partition(" (")[0]  # the reason is on the picture (_keyframes)
    ops.text(x + 6.2, base, label, "bold", 8.5)
    detail_x = x + 6.2 + _width(label + "  ", "bold", 8.5)
    when = _local(kf.t_ms, facts.zone, date=False, tenths=True)
    rel = f"+{(kf.t_ms - facts.start_ms) / 1000:.1f} s"
    right = x + width
    room = right - detail_x - _width(when, "bold", 8) - 3
    rel_w = _width(rel, "sans", 7.5) + 1.8
    show_rel = _width(kf.detail, "mono", 7.5) <= room - rel_w
    if show_rel:
        ops.text(right, base, rel, "sans", 7.5, MUTED, "R")
        room -= rel_w
    ops.text(right - (rel_w if show_rel else 0), base, when, "bold", 8, INK, "R")
    if kf.detail:
        ops.text(detail_x, base, _fit_text(kf.detail, "mono", 7.5, room), "mono", 7.5, MUTED)


# -- the PNG backend (Pillow) ------------------------------------------------------------------

# (dpi, 256-colour palette). The demo sheet is ~0.55 MB at 150 dpi in full colour; a
# palette with dithering keeps photos readable at about a third of the bytes.
PNG_ATTEMPTS = ((150, False), (150, True), (120, True), (100, True))


@cache
def _png_font(face: _sheet_fonts.Face, px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(face.path), px, index=face.index)


def _render_png(ops: Sequence[_Op], dpi: float, palette: bool) -> bytes:
    k = dpi / 25.4  # px per mm

    def px(v: float) -> int:
        return round(v * k)

    page = PILImage.new("RGB", (px(PAGE_W), px(PAGE_H)), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for op in ops:
        if isinstance(op, _Text):
            x = op.x - _width(op.text, op.font, op.size) if op.align == "R" else op.x
            for text, face in _sheet_fonts.runs(op.text, op.font):
                font = _png_font(face, op.size * dpi / 72)
                draw.text((x * k, op.y * k), text, font=font, fill=op.color, anchor="ls")
                x += _run_width(text, face, op.size)
        elif isinstance(op, _Rect):
            box = (px(op.x), px(op.y), px(op.x + op.w) - 1, px(op.y + op.h) - 1)
            width = max(1, round(op.width * k)) if op.stroke else 0
            draw.rounded_rectangle(
                box, radius=round(op.radius * k), fill=op.fill, outline=op.stroke, width=width
            )
        elif isinstance(op, _Picture):
            w, h = px(op.w), px(op.h)
            frame = cv2.resize(op.image, (w, h), interpolation=cv2.INTER_AREA)
            sx, sy = w / op.image.shape[1], h / op.image.shape[0]
            thick = max(2, round(0.45 * k))
            for bx, by, bw, bh in op.boxes:
                p0 = (round(bx * sx) - thick, round(by * sy) - thick)
                p1 = (round((bx + bw) * sx) + thick, round((by + bh) * sy) + thick)
                cv2.rectangle(frame, p0, p1, BOX[::-1], thick, cv2.LINE_AA)
            page.paste(PILImage.fromarray(frame[:, :, ::-1]), (px(op.x), px(op.y)))
        else:
            # Whole pixels per module, centred in the PDF's square: scaling by 2.1 or 2.59
            # made modules of 2 and 3 px that zxing-cpp failed to read on ~1 sheet in 12.
            symbol = np.where(np.pad(op.dark, 4), 0, 255).astype(np.uint8)
            side = px(op.size)
            scale = max(1, side // symbol.shape[0])
            qr = np.kron(symbol, np.ones((scale, scale), np.uint8))
            at = (side - qr.shape[0]) // 2
            page.paste(PILImage.fromarray(qr, "L"), (px(op.x) + at, px(op.y) + at))
    if palette:
        page = page.quantize(256, dither=PILImage.Dither.FLOYDSTEINBERG)
    out = io.BytesIO()
    # zlib level 6: 1.2 s -> 0.28 s against level 9, for 3.5 % more bytes (demo sheet).
    page.save(out, "PNG", compress_level=6, dpi=(dpi, dpi))
    return out.getvalue()


# -- the PDF backend (fpdf2) -------------------------------------------------------------------


# Keyframe quality steps (1.0: JPEG quality 88 at up to 250 dpi of the printed size).
PDF_ATTEMPTS = (1.0, 0.75, 0.5)


def _render_pdf(ops: Sequence[_Op], facts: SheetFacts, scale: float) -> bytes:
    return render_pdf_page(
        ops,
        scale,
        title=f"Packing evidence — order {facts.order_id}",
        author=facts.merchant,
        subject=f"clip {facts.clip_id}, sha256 {facts.clip_sha256}",
        language=facts.language,
        created_ms=facts.end_ms,
    )


def render_pdf_page(
    ops: Sequence[_Op],
    scale: float,
    *,
    title: str,
    author: str,
    subject: str,
    language: str,
    created_ms: int,
) -> bytes:
    """One A4 page of drawing operations as a PDF (the claim report draws with it too)."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_compression(True)
    added: set[str] = set()
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_subject(subject)
    pdf.set_creator("packseal")
    pdf.set_lang(language)
    pdf.set_creation_date(dt.datetime.fromtimestamp(created_ms // 1000, dt.UTC))
    pdf.add_page()
    for op in ops:
        if isinstance(op, _Text):
            pdf.set_text_color(*op.color)
            x = op.x - _width(op.text, op.font, op.size) if op.align == "R" else op.x
            for text, face in _sheet_fonts.runs(op.text, op.font):
                if face.key not in added:  # only the faces used: each is embedded, subset
                    pdf.add_font(face.key, "", str(face.path), collection_font_number=face.index)
                    added.add(face.key)
                pdf.set_font(face.key, "", op.size)
                pdf.text(x, op.y, text)
                x += pdf.get_string_width(text)
        elif isinstance(op, _Rect):
            style = ("F" if op.fill else "") + ("D" if op.stroke else "")
            if op.fill:
                pdf.set_fill_color(*op.fill)
            if op.stroke:
                pdf.set_draw_color(*op.stroke)
                pdf.set_line_width(op.width)
            pdf.rect(
                op.x,
                op.y,
                op.w,
                op.h,
                style=style,
                round_corners=op.radius > 0,
                corner_radius=op.radius,
            )
        elif isinstance(op, _Picture):
            _pdf_picture(pdf, op, scale)
        else:
            module = op.size / (op.dark.shape[0] + 8)
            pdf.set_fill_color(0, 0, 0)
            for r, row in enumerate(op.dark):
                c = 0
                while c < len(row):  # one rectangle per run of dark modules
                    if not row[c]:
                        c += 1
                        continue
                    run = c
                    while run < len(row) and row[run]:
                        run += 1
                    x, yy = op.x + (c + 4) * module, op.y + (r + 4) * module
                    pdf.rect(x, yy, (run - c) * module, module * 1.02, style="F")
                    c = run
    return bytes(pdf.output())


def _pdf_picture(pdf: FPDF, op: _Picture, scale: float) -> None:
    # Embedded at up to ~250 dpi of its printed size, as JPEG (fpdf2 passes JPEG through
    # as DCTDecode): a 1080p frame at full size would be 4x the bytes for nothing.
    max_w = round(op.w / 25.4 * 250 * scale)
    image: npt.NDArray[Any] = op.image
    if image.shape[1] > max_w:
        h = round(image.shape[0] * max_w / image.shape[1])
        image = cv2.resize(image, (max_w, h), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, round(88 * scale)])
    if not ok:
        raise VerifierError("OpenCV could not encode a keyframe as JPEG")
    pdf.image(io.BytesIO(jpeg.tobytes()), op.x, op.y, op.w, op.h)
    sx, sy = op.w / op.image.shape[1], op.h / op.image.shape[0]
    pdf.set_draw_color(*BOX)
    pdf.set_line_width(0.45)
    for bx, by, bw, bh in op.boxes:
        pdf.rect(
            op.x + bx * sx - 0.4, op.y + by * sy - 0.4, bw * sx + 0.8, bh * sy + 0.8, style="D"
        )
