"""The burned-in caption drawn by ffmpeg (drawtext) in a webcam capture run: the same
lines as :mod:`recorder.overlay` draws in Python, changing with the station's state.

ffmpeg cannot be told a new text per frame from outside without a second channel, so the
state lives in small text files that drawtext re-reads every frame (``reload=1``; Debian
12's ffmpeg 5.1 reads that as "every frame" too). The station rewrites a file when its
state changes, atomically (a temp file renamed over it): drawtext never reads a
half-written line. The head line has one file per colour (white: no order, red: an order
is open, amber: an alarm); the two not in use hold a space. Between the two renames of a
change one frame may show neither or both; the next shows the new state.

The second line (time with zone, station, operator, frame counter) is written once per
run and expanded by drawtext per frame: ``%{pts:localtime:0:FORMAT}`` over the camera's
own capture time (``-copyts`` keeps the wall-clock stamps of ``-ts abs``; the zone is
the ffmpeg process's ``TZ``), ``%{eif:n:d:7}`` the frame number of the run.

Anything shown came from a scan, a config file or an alarm and may be any Unicode:
it goes through :func:`storage.text.printable` (one line, no controls or bidi
overrides), then through drawtext's own escaping (``\\`` and ``%``). Paths put into the
filter graph are escaped for both of its levels (:func:`filter_value`). The face is Noto
Sans CJK when installed (``fonts-noto-cjk``, as the evidence sheet uses), else
fontconfig's ``Sans``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from recorder.overlay import OverlayState, caption_head, caption_metrics
from storage.text import printable

__all__ = ["CaptionFiles", "caption_filter", "expansion_text", "filter_value", "find_font"]

HeadColour = Literal["white", "red", "amber"]
# recorder/overlay.py's colours (BGR there), as drawtext's RGB.
_COLOURS: dict[HeadColour, str] = {"white": "0xFFFFFF", "red": "0xE62828", "amber": "0xFFBE00"}
_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
_FONT_FILE = "NotoSansCJK-Regular.ttc"
# strftime as recorder/overlay.py writes the time; ':' separates drawtext's arguments.
_TIME = "%Y-%m-%d %H\\:%M\\:%S %Z (UTC%z)"


def find_font(dirs: tuple[Path, ...] = _FONT_DIRS) -> Path | None:
    """Noto Sans CJK's collection, if installed."""
    for d in dirs:
        if (d / _FONT_FILE).is_file():
            return d / _FONT_FILE
    return None


def expansion_text(text: str) -> str:
    """``text`` shown literally by drawtext's text expansion (after ``printable``)."""
    return printable(text).replace("\\", "\\\\").replace("%", "\\%")


def filter_value(text: str) -> str:
    """``text`` as one option value inside a filter graph: escaped for the option parser
    (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    first = "".join("\\" + c if c in "\\':" else c for c in text)
    return "".join("\\" + c if c in "\\'[],;" else c for c in first)


def _write(path: Path, text: str) -> None:
    # Two threads may write at once (a state change while a run starts): own temp names.
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    tmp.write_text(text or " ", encoding="utf-8")  # drawtext refuses an empty file
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class CaptionFiles:
    """The caption's text files in ``directory`` (the station's, shared by its runs)."""

    directory: Path

    def head(self, colour: HeadColour) -> Path:
        return self.directory / f"head-{colour}.txt"

    @property
    def info(self) -> Path:
        return self.directory / "info.txt"

    def show(self, state: OverlayState) -> None:
        """Switch the head line to ``state`` (the colour not shown first, then the new)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        text, colour = caption_head(state)
        for other in _COLOURS:
            if other != colour:
                _write(self.head(other), " ")
        _write(self.head(colour), expansion_text(text))

    def start(self, state: OverlayState) -> None:
        """Write every file a run's filter reads: the head line and the info line."""
        self.show(state)
        operator = f"  op {state.operator}" if state.operator else ""
        fixed = expansion_text(f"  {state.station}{operator}  #")
        _write(self.info, f"%{{pts:localtime:0:{_TIME}}}{fixed}%{{eif:n:d:7}}")


def caption_filter(files: CaptionFiles, width: int, height: int, font: Path | None) -> str:
    """The filter chain (``drawbox,drawtext,...``) that darkens the band and draws the
    caption, in the geometry of :class:`recorder.overlay.Overlay` for this frame size."""
    m = caption_metrics(width, height)
    face = f"fontfile={filter_value(str(font))}" if font is not None else "font=Sans"
    size = max(8, round(m.line_h * 0.75))

    def text(path: Path, colour: str, y: int) -> str:
        return (
            f"drawtext={face}:textfile={filter_value(str(path))}:reload=1"
            f":fontcolor={colour}:fontsize={size}:x={m.margin}:y={y}"
        )

    top = max(1, m.margin // 2)
    chain = [f"drawbox=x=0:y=0:w=iw:h={m.band_h}:color=black@0.75:t=fill"]
    chain += [text(files.head(c), rgb, top) for c, rgb in _COLOURS.items()]
    chain.append(text(files.info, _COLOURS["white"], top + m.line_h))
    return ",".join(chain)
