"""The evidence sheet: one A4 page, PNG and PDF, summarizing a sealed clip for a person.

For card and marketplace disputes that take images or PDFs but no video (FIELD-NOTES:
PayPal 10 MB, Amex 5 MB per file), each file is kept under 2 MB. The page shows the order,
its tracking ids, station, times (local with offset, and UTC), duration and status, 4-6
keyframes decoded from the sealed clip with the scan boxes from the clip entry, the clip,
entry and checkpoint hashes in full, the log position, a QR code carrying the bundle's
verification summary, and how to verify. It proves nothing by itself and says so: the
bundle does.

The page is laid out once, in millimetres, as a list of drawing operations
(:mod:`verifier._page`, shared with the claim report); two backends draw it: Pillow
rasterizes the PNG, fpdf2 draws the PDF natively (selectable text in the embedded, subset
DejaVu fonts; keyframes as JPEG; boxes and QR as vectors). Both use the fonts shipped in
:mod:`verifier.fonts`, so the sheet looks the same on every machine.
Same inputs, same bytes: nothing reads the clock (the PDF's creation date is the end of
the recording).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import zxingcpp

from storage.entries import Clip
from storage.facts import rfc3339
from storage.footage import describe_source
from storage.text import printable
from verifier._page import (
    _PT,
    _QR,
    AMBER,
    AMBER_BG,
    CONTENT_W,
    GREEN,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    PAGE_W,
    PANEL,
    PDF_ATTEMPTS,
    PNG_ATTEMPTS,
    RED,
    RGB,
    FontName,
    _fit,
    _fit_text,
    _lines,
    _local,
    _offset,
    _Op,
    _Ops,
    _Picture,
    _Rect,
    _render_png,
    _Text,
    _width,
    _with_font_note,
    _wrap,
    render_pdf_page,
)
from verifier._sheet_text import LANGUAGES, PARAGRAPHS, translate
from verifier.frames import Keyframe, frames_at, pick_keyframes

__all__ = [
    "MAX_SHEET_BYTES",
    "Keyframe",
    "Sheet",
    "SheetFacts",
    "make_sheet",
    "pick_keyframes",
]

MAX_SHEET_BYTES = 2_000_000
VERIFY_COMMAND = "packseal verify bundle.zip --trust <merchant trust file>"


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
    # A clip filmed by two cameras: the further view's name and the path of its sealed
    # video (init + whole segments), valid while make_sheet runs; () for one camera.
    views: tuple[tuple[str, Path], ...] = ()
    # Each further view's file in the bundle: (view, SHA-256 of clip.<view>.mp4).
    view_sha256: tuple[tuple[str, str], ...] = ()


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

    A clip filmed by two cameras (``facts.views`` names the further view's file): each row
    of keyframes is one moment, the primary view's frame on the left, the other view's at
    the same capture time on the right, each labelled by its view; still six to eight
    cells on one page.
    """
    max_bytes = min(max_bytes, MAX_SHEET_BYTES)
    most = TWO_VIEW_MOMENTS if facts.views else 6
    frames = list(
        pick_keyframes(clip, clip_path, max_frames=most) if keyframes is None else keyframes
    )
    if facts.views:
        frames = _beside(clip, frames[:most], facts.views)
    facts = _safe_facts(facts)
    shown = [replace(k, label=printable(k.label), detail=printable(k.detail, 300)) for k in frames]
    ops = _with_font_note(
        _localize(_layout(facts, shown, _view_sources(clip, facts)), facts.language)
    )
    png = _fit(
        "PNG",
        max_bytes,
        [partial(_render_png, ops, dpi, palette) for dpi, palette in PNG_ATTEMPTS],
    )
    pdf = _fit("PDF", max_bytes, [partial(_render_pdf, ops, facts, q) for q in PDF_ATTEMPTS])
    return Sheet(png=png, pdf=pdf, keyframes=frames)


def _view_sources(clip: Clip, facts: SheetFacts) -> tuple[tuple[str, str, bool | None], ...]:
    """Each further view the sheet shows: its name, where its footage came from, live."""
    shown = {name for name, _ in facts.views}
    return tuple(
        (
            v.view,
            printable(describe_source(v.source), 400),
            None if v.source is None else v.source.live,
        )
        for v in clip.all_views()[1:]
        if v.view in shown
    )


def _beside(
    clip: Clip, primary: Sequence[Keyframe], views: Sequence[tuple[str, Path]]
) -> list[Keyframe]:
    """The primary view's keyframes, each followed by the other view's frame at its time."""
    further = {v.view: v for v in clip.all_views()[1:]}
    if len(views) != 1 or views[0][0] not in further:
        raise ValueError(
            f"a sheet shows the primary view and one other of {sorted(further)}, "
            f"got {[name for name, _ in views]}"
        )
    name, path = views[0]
    mine = [replace(k, view=clip.view or "") for k in primary]
    theirs = frames_at(further[name].segments, path, mine, name)
    return [k for pair in zip(mine, theirs, strict=True) for k in pair]


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
            for n, line in enumerate(_wrap(text, op.font, op.size, _room(ops, op))):
                out.append(replace(op, y=op.y + n * step, text=line))
            i += len(lines)
            continue
        out.append(replace(op, text=translate(op.text, language) or op.text))
        i += 1
    return out


def _room(ops: list[_Op], text: _Text) -> float:
    """The width a paragraph starting at ``text`` may fill: to the margin, or inside the
    box drawn around it with the same inset on the right as on the left."""
    right = PAGE_W - MARGIN
    for op in ops:
        if (
            isinstance(op, _Rect)
            and op.h > 1
            and op.x < text.x < op.x + op.w
            and op.y < text.y < op.y + op.h
        ):
            right = op.x + op.w - (text.x - op.x)
    return right - text.x


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


# -- what the page says -----------------------------------------------------------------------


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


LABEL_W = 25.0  # the column of small-caps labels
ROW = 4.3  # mm between fact lines
COL_GAP = 6.0


def _layout(
    facts: SheetFacts,
    keyframes: Sequence[Keyframe],
    sources: Sequence[tuple[str, str, bool | None]] = (),
) -> list[_Op]:
    """Top down: header, facts; bottom up: footer, integrity and QR; the keyframes take
    the space between, so the page never overflows whatever the hashes and names are."""
    ops = _Ops()
    top = _header(ops, facts)
    top = _facts(ops, facts, top + 4, sources)
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


def _facts(
    ops: _Ops,
    facts: SheetFacts,
    top: float,
    sources: Sequence[tuple[str, str, bool | None]] = (),
) -> float:
    """Two columns: what was packed and where (left), when (right); then where the footage
    came from (``sources``: each further camera view's, under the primary's)."""
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
    filmed = [("FILMED BY", facts.source, facts.source_live)] if facts.source else []
    filmed += [(f"{view.upper()} VIEW", said, live) for view, said, live in sources]
    for label, said, live in filmed:
        # Full width, right under the facts: a file imported with a chosen time looks
        # exactly like a camera's footage, so the sheet says which it was.
        warn = not live
        ops.text(
            MARGIN,
            y,
            _fit_text(label, "bold", 6.5, label_w - 1),
            "bold",
            6.5,
            AMBER if warn else MUTED,
        )
        wrapped = _lines(said, "sans", 9.5, CONTENT_W - label_w, 3)
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
        # A further camera's file (clip.<view>.mp4) is evidence too: its hash, by view.
        *((f"View {view} SHA-256", sha) for view, sha in facts.view_sha256),
        ("Entry hash", facts.entry_hash),
        ("Checkpoint", f"size {facts.checkpoint_size}  ·  root {facts.checkpoint_root}"),
        ("Log", f"{facts.origin}  ·  entry {facts.log_index}"),
        ("Clip id", facts.clip_id),
    ]
    dark = _qr_modules(facts.qr_payload)
    # 0.4 mm modules (2.4 px at 150 dpi) read reliably from the PNG and from print; a
    # long summary makes a larger symbol rather than smaller modules.
    qr_size = min(max(27.0, float(dark.shape[0] + 8) * 0.4), 45.0)
    # A view's label ("VIEW SIDE SHA-256") may be wider than the usual column: the
    # column widens (up to a limit, then the label is cut), the hashes wrap.
    widest = max(_width(label.upper(), "bold", 6.5) for label, v in rows if v)
    label_w = min(max(LABEL_W, widest + 2.5), 2 * LABEL_W)
    width = CONTENT_W - label_w - qr_size - COL_GAP
    # Hashes are never cut (two lines at most anyway); names from config may be long.
    blocks = [
        (
            _fit_text(label.upper(), "bold", 6.5, label_w - 2.5),
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
        ops.text(MARGIN, row_y, label, "bold", 6.5, MUTED)
        for line in lines:
            ops.text(MARGIN + label_w, row_y, line, "mono", 8)
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
# Moments a two-view sheet shows, each in both views: order scan, waybill, last frame,
# packing (pick_keyframes' priorities), in four rows of two.
TWO_VIEW_MOMENTS = 4
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
    views = (keyframes[0].view, keyframes[1].view) if any(k.view for k in keyframes) else ()
    heading = "KEYFRAMES FROM BOTH SEALED VIEWS" if views else "KEYFRAMES FROM THE SEALED CLIP"
    ops.text(left, top + 3, heading, "bold", 7.5, MUTED)
    zone = _offset(facts.start_ms, facts.zone)
    room = 2 * cell_w + COL_GAP - _width(heading, "bold", 7.5) - 4
    notes: tuple[str, ...] = (
        f"local time {zone}, + seconds from the clip start  ·  green boxes: codes read",
        f"local time {zone}  ·  green boxes: codes read",
        f"local time {zone}",
    )
    if views:  # each row one moment: the primary view left, the other right
        sides = f"left: view {views[0]}, right: view {views[1]}"
        notes = (
            f"{sides}  ·  local time {zone}, + seconds from the clip start",
            f"{sides}  ·  local time {zone}",
            sides,
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
        if kf.view:  # which camera, on the picture itself
            tag = _fit_text(kf.view.upper(), "bold", 7, pw - 4)
            px, py = x + (cell_w - pw) / 2, y + (cell_h - ph) / 2
            ops.append(_Rect(px, py, _width(tag, "bold", 7) + 4, 5, fill=INK))
            ops.text(px + 2, py + 3.6, tag, "bold", 7, (255, 255, 255))
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
