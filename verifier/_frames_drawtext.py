"""The caption as ffmpeg's drawtext burned it in (a webcam captured by ffmpeg), drawn again
by ffmpeg's drawtext for the keyframe check (verifier/_frames_caption.py).

Pillow with the same face fitted drawtext's drawing at NCC ~0.9 only (glyph placement
and hinting: sub-pixel advances rounded apart), too loose to tell two ids one digit
apart. So every text (this order's caption and each rival) is drawn by drawtext itself,
with the station's own filter options (:func:`storage.caption.drawtext`: face, size,
position, colour), one frame per text, in one ffmpeg process: ``sendcmd`` re-initialises
the drawtext with the next text before each frame (drawtext's ``textfile`` cannot be
changed at run time, ``text`` can). The frames take the station's colour path: drawn on
4:2:2 full-range (a webcam's MJPEG), then 4:2:0 as the encoder gets it, then BGR as the
sheet decodes it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.caption import (
    HEAD_COLOURS,
    drawtext,
    drawtext_y,
    expansion_text,
    filter_value,
    option_value,
)
from verifier._errors import MediaFormatError
from verifier._frames_caption import metrics

__all__ = ["Drawtext"]

_NAME = "drawtext@caption"
# Rivals drawn this alike (NCC where they differ) are left out as indistinguishable. The
# drawings are exact here, so the margin is coding noise only: a real capture (640x360,
# crf 28) fitted its own order's caption at NCC 0.96 and a one-digit rival's ("8" for
# "3", drawn alike at 0.90) at 0.86. Among all one-character rivals of three ids only
# l/I (0.98) and l/. (0.96) were drawn above 0.95; O/Q 0.95, O/0 0.94 and 3/8 stay in.
SAME = 0.95
_HINT = "the sheet's caption check needs ffmpeg with drawtext and a readable font (imageio-ffmpeg)"


def _command_value(text: str) -> str:
    """``text`` as one token of a sendcmd command list: every character but letters and
    digits backslash-escaped (its parser takes the next character literally)."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


class Drawtext:
    """Draws caption head lines as the station's drawtext did (see the module docstring)."""

    def __init__(self, width: int, height: int, font: Path | None, ffmpeg: str) -> None:
        self.width, self.ffmpeg, self.font = width, ffmpeg, font
        self.metrics = metrics(width, height)
        # Down to where the info line's drawtext starts.
        self.rows = min(self.metrics.band_h, drawtext_y(self.metrics, 1))
        self.same = SAME

    def lines(self, texts: Sequence[str]) -> list[npt.NDArray[np.float64]]:
        if not texts:
            return []
        # Frame k (at k s) shows texts[k]: its command fires when that frame arrives.
        commands = "".join(
            f"{k} {_NAME} reinit {_command_value('text=' + option_value(expansion_text(t)))};\n"
            for k, t in enumerate(texts)
        )
        height = self.rows + self.rows % 2
        width = self.width + self.width % 2
        line = drawtext(self.metrics, self.font, HEAD_COLOURS["red"], 0, "text=x")
        with tempfile.TemporaryDirectory(prefix="packseal-caption-") as work:
            listing = Path(work) / "commands.txt"
            listing.write_text(commands, encoding="utf-8")
            graph = (
                f"color=c=black:s={width}x{height}:r=1,format=yuvj422p,"
                f"sendcmd=f={filter_value(str(listing))},"
                f"{line.replace('drawtext=', _NAME + '=', 1)},"
                "format=yuv420p,format=bgr24"
            )
            command = [
                self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
                "-f", "lavfi", "-i", graph, "-frames:v", str(len(texts)),
                "-f", "rawvideo", "pipe:1",
            ]  # fmt: skip
            try:
                done = subprocess.run(command, capture_output=True, timeout=300, check=False)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise MediaFormatError(
                    f"ffmpeg drew none of {len(texts)} caption lines: {e}", hint=_HINT
                ) from e
        size = width * height * 3
        if done.returncode != 0 or len(done.stdout) != size * len(texts):
            raise MediaFormatError(
                f"ffmpeg drew {len(done.stdout) // size} of {len(texts)} caption lines"
                f" (exit {done.returncode}): {done.stderr.decode(errors='replace')[-500:]}",
                hint=_HINT,
            )
        frames = np.frombuffer(done.stdout, np.uint8).reshape(len(texts), height, width, 3)
        return [np.asarray(f[: self.rows, : self.width].max(axis=2), np.float64) for f in frames]
