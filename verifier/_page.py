"""One A4 page as drawing operations in millimetres, and its two backends: Pillow
rasterizes the PNG, fpdf2 draws the PDF natively (selectable text in the embedded, subset
faces of :mod:`verifier._sheet_fonts`; pictures as JPEG; rectangles and QR as vectors).

The evidence sheet (:mod:`verifier.sheet`) and the claim report
(:mod:`verifier.claim.report`) lay out their pages with these. Nothing here reads the
clock or needs OpenCV (pictures are BGR arrays, as OpenCV decodes them, drawn with
Pillow). The names keep their leading underscore where the two pages used them so: they
are the verifier's page internals, not the package's API.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from fpdf import FPDF
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from verifier import _sheet_fonts
from verifier._errors import VerifierError

PAGE_W, PAGE_H = 210.0, 297.0  # A4 portrait, mm
MARGIN = 14.0
CONTENT_W = PAGE_W - 2 * MARGIN

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
Image = npt.NDArray[np.uint8]  # BGR, as OpenCV decodes frames
_PT = 25.4 / 72  # mm per point


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


# A line breaks at a space, or between two CJK characters (Chinese has no spaces), but
# never before closing punctuation or after opening punctuation (，。」 stay with the
# character before them, 「（“ with the one after: the 避头尾 rule); a word too long for
# a line breaks anywhere (hashes).
_CJK = "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\uffef"
_OPENING = "（「『【《〈〔〖〘〚“‘([{"
_CLOSING = "，。、；：？！）」』】》〉〕〗〙〛”’…,.;:?!)\\]}"
_UNITS = re.compile(
    f"[{_OPENING}]*[{_CJK}][{_CLOSING}]*"  # one CJK character with its punctuation
    f"|(?:(?![{_OPENING}]*[{_CJK}])[^{_CJK}])+"  # a run of anything else
)


def _pieces(text: str) -> list[tuple[str, str]]:
    """(separator, unit): units a line may end after; the separator goes between them
    when both are on one line (a space, or nothing inside Chinese)."""
    out: list[tuple[str, str]] = []
    for word in text.split(" "):
        units = _UNITS.findall(word) or [""]
        out.append((" ", units[0]))
        out.extend(("", u) for u in units[1:])
    return out


def _wrap(text: str, font: FontName, size: float, width: float) -> list[str]:
    """Break at spaces and between CJK characters, or anywhere in a word too long for a
    line (hashes)."""
    lines: list[str] = []
    line = ""
    for sep, word in _pieces(text):
        candidate = f"{line}{sep}{word}" if line else word
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


def _fit(
    what: str,
    max_bytes: int,
    attempts: Sequence[Callable[[], bytes]],
    *,
    page: str = "the evidence sheet",
    hint: str = "render fewer keyframes (pick_keyframes max_frames)",
) -> bytes:
    """The first rendering that fits, best quality first: a page must be uploadable."""
    sizes = []
    for render in attempts:
        data = render()
        if len(data) <= max_bytes:
            return data
        sizes.append(len(data))
    raise VerifierError(
        f"{page} {what} is {min(sizes)} bytes at its smallest, more than the "
        f"{max_bytes}-byte limit",
        hint=hint,
    )


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
            picture = _pil(op.image).resize((w, h), PILImage.Resampling.BOX)
            sx, sy = w / op.image.shape[1], h / op.image.shape[0]
            thick = max(2, round(0.45 * k))
            boxes = ImageDraw.Draw(picture)
            for bx, by, bw, bh in op.boxes:
                p0 = (round(bx * sx) - thick, round(by * sy) - thick)
                p1 = (round((bx + bw) * sx) + thick, round((by + bh) * sy) + thick)
                boxes.rectangle((p0, p1), outline=BOX, width=thick)
            page.paste(picture, (px(op.x), px(op.y)))
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


def _pil(bgr: Image) -> PILImage.Image:
    return PILImage.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))


# -- the PDF backend (fpdf2) -------------------------------------------------------------------

# Picture quality steps (1.0: JPEG quality 88 at up to 250 dpi of the printed size).
PDF_ATTEMPTS = (1.0, 0.75, 0.5)


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
    """One A4 page of drawing operations as a PDF; ``created_ms`` is its creation date."""
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
    picture = _pil(op.image)
    if picture.width > max_w:
        h = round(picture.height * max_w / picture.width)
        picture = picture.resize((max_w, h), PILImage.Resampling.BOX)
    jpeg = io.BytesIO()
    picture.save(jpeg, "JPEG", quality=round(88 * scale))
    jpeg.seek(0)
    pdf.image(jpeg, op.x, op.y, op.w, op.h)
    sx, sy = op.w / op.image.shape[1], op.h / op.image.shape[0]
    pdf.set_draw_color(*BOX)
    pdf.set_line_width(0.45)
    for bx, by, bw, bh in op.boxes:
        pdf.rect(
            op.x + bx * sx - 0.4, op.y + by * sy - 0.4, bw * sx + 0.8, bh * sy + 0.8, style="D"
        )
