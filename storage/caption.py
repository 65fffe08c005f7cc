"""The burned-in caption's layout, shared by the station that draws it and the evidence
sheet that draws it again to read it back.

A station draws its caption with OpenCV (recorder/overlay.py) or, when ffmpeg captures a
webcam, with ffmpeg's ``drawtext`` (recorder/drawcaption.py). The sheet decides whether
a keyframe's caption names the clip's order by drawing this order's caption and its
rivals the same way (verifier/_frames_caption.py): for drawtext that means the very same
filter options (face, size, position, colour), so they are built here, once. The
recorder and the verifier never import each other; both import this module.

Pure: strings and numbers, no ffmpeg, no OpenCV (the text measure is a parameter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storage.text import printable

__all__ = [
    "HEAD_COLOURS",
    "CaptionMetrics",
    "HeadColour",
    "caption_metrics",
    "drawtext",
    "drawtext_y",
    "expansion_text",
    "filter_value",
    "find_font",
    "option_value",
]

HeadColour = Literal["white", "red", "amber"]
# recorder/overlay.py's colours (BGR there), as drawtext's RGB.
HEAD_COLOURS: dict[HeadColour, str] = {
    "white": "0xFFFFFF",
    "red": "0xE62828",
    "amber": "0xFFBE00",
}
_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
_FONT_FILE = "NotoSansCJK-Regular.ttc"

# (scale, thickness) -> (text height, baseline) of "Ag" in OpenCV's Hershey simplex
# (cv2.getTextSize): the caption's line height follows OpenCV's font, whoever draws.
Measure = Callable[[float, int], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class CaptionMetrics:
    scale: float
    thickness: int
    line_h: int
    band_h: int
    margin: int


def caption_metrics(width: int, height: int, measure: Measure) -> CaptionMetrics:
    """The caption's geometry for a frame size."""
    scale = max(0.4, height / 1000)
    thickness = max(1, round(height / 450))
    text_h, base = measure(scale, thickness)
    line_h = text_h + base + max(4, height // 120)
    band_h = 2 * line_h + max(4, height // 120)
    return CaptionMetrics(scale, thickness, line_h, band_h, max(6, width // 160))


def find_font(dirs: tuple[Path, ...] = _FONT_DIRS) -> Path | None:
    """Noto Sans CJK's collection, if installed (else drawtext uses fontconfig's Sans)."""
    for d in dirs:
        if (d / _FONT_FILE).is_file():
            return d / _FONT_FILE
    return None


def expansion_text(text: str) -> str:
    """``text`` shown literally by drawtext's text expansion (after ``printable``)."""
    return printable(text).replace("\\", "\\\\").replace("%", "\\%")


def option_value(text: str) -> str:
    """``text`` as one filter option's value (the option parser's level: ``\\ ' :``)."""
    return "".join("\\" + c if c in "\\':" else c for c in text)


def filter_value(text: str) -> str:
    """``text`` as one option value inside a filter graph: escaped for the option parser
    (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    return "".join("\\" + c if c in "\\'[],;" else c for c in option_value(text))


def drawtext_y(m: CaptionMetrics, line: int) -> int:
    """The top of the caption's line ``line`` (0: the head line, 1: the info line)."""
    return max(1, m.margin // 2) + line * m.line_h


def drawtext(m: CaptionMetrics, font: Path | None, colour: str, line: int, source: str) -> str:
    """One caption line's drawtext filter: its face, size, position and colour, as the
    station draws it; ``source`` names the text (``textfile=…:reload=1`` at the station,
    ``text=…`` when the sheet draws it again), already escaped for the graph."""
    face = f"fontfile={filter_value(str(font))}" if font is not None else "font=Sans"
    size = max(8, round(m.line_h * 0.75))
    return (
        f"drawtext={face}:{source}"
        f":fontcolor={colour}:fontsize={size}:x={m.margin}:y={drawtext_y(m, line)}"
    )
