"""What every frame source shares: the frame, its size and rate, and their checks.

Apart from :mod:`recorder.sources` so that camera kinds in their own modules
(:mod:`recorder.ipcam`) build on it without importing the module that chooses among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from recorder._errors import SourceError

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Frame:
    image: Image  # BGR, uint8, height x width x 3 (or height x width: gray scan frames)
    t_ms: int  # capture time, ms since the epoch, UTC
    index: int  # frame number at the source; a jump means the source dropped frames


def _even_size(what: str, width: int, height: int, hint: str) -> None:
    # The encoder is fed I420, whose chroma planes are half size in both directions.
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise SourceError(
            f"{what}: expected an even width and height, found {width}x{height}", hint=hint
        )


def _as_fps(value: float) -> Fraction | None:
    if math.isfinite(value) and value > 0:
        # Containers store NTSC rates as floats (29.97002997...); 1001 recovers 30000/1001.
        return Fraction(value).limit_denominator(1001)
    return None


class _Geometry:
    """The frame size and rate every source reports (set once it is open)."""

    _width: int = 0
    _height: int = 0
    _fps: Fraction = Fraction(0)

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> Fraction:
        return self._fps
