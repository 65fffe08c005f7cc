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

from recorder.overlay import OverlayState, caption_head, caption_metrics
from storage.caption import (
    HEAD_COLOURS,
    HeadColour,
    drawtext,
    expansion_text,
    filter_value,
    find_font,
)

__all__ = ["CaptionFiles", "caption_filter", "expansion_text", "filter_value", "find_font"]

# strftime as recorder/overlay.py writes the time; ':' separates drawtext's arguments.
_TIME = "%Y-%m-%d %H\\:%M\\:%S %Z (UTC%z)"


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
        for other in HEAD_COLOURS:
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
    caption, in the geometry of :class:`recorder.overlay.Overlay` for this frame size
    (each line's drawtext is :func:`storage.caption.drawtext`, which the sheet's caption
    check draws with too)."""
    m = caption_metrics(width, height)

    def text(path: Path, colour: str, line: int) -> str:
        return drawtext(m, font, colour, line, f"textfile={filter_value(str(path))}:reload=1")

    chain = [f"drawbox=x=0:y=0:w=iw:h={m.band_h}:color=black@0.75:t=fill"]
    chain += [text(files.head(c), rgb, 0) for c, rgb in HEAD_COLOURS.items()]
    chain.append(text(files.info, HEAD_COLOURS["white"], 1))
    return ",".join(chain)
