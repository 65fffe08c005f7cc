"""packseal's station: frame sources -> scanner -> clip controller -> encoder -> sealer.

The public API is :data:`__all__`; the rest are modules' own names (and ``_`` modules are
private). The station itself needs OpenCV, numpy and ffmpeg, so the names that bring them
in (``Station``, the sources, the scanner gun, the demo scene, the status values) are
imported on first use: ``recorder.clock`` or the errors cost nothing on a reviewer's
machine that has none of them.

Errors (one tree, rooted at :class:`storage.PacksealError`; see ``recorder/_errors.py``)::

    PacksealError
    └── RecorderError
        ├── SourceError          a frame source cannot be opened or read
        │   └── SourceLost       a source that was working stopped delivering (unplugged)
        ├── EncoderError         ffmpeg could not start, or died while recording
        └── StationStateError    the station's saved state is unreadable or inconsistent
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recorder._errors import (
    EncoderError,
    RecorderError,
    SourceError,
    SourceLost,
    StationStateError,
)
from recorder.anchor import Anchorer, AnchorSettings, WitnessTarget
from recorder.clock import Clock, ManualClock, SystemClock
from recorder.settings import StationSettings
from storage.lazy import lazy_attributes as _lazy_attributes

if TYPE_CHECKING:
    from recorder.demo import DemoScene
    from recorder.gun import GunReader
    from recorder.sources import DemoSource, Frame, FrameSource, open_source
    from recorder.station import Station
    from recorder.status import ClipSummary, StationStatus

# Name -> module, for the names that import OpenCV/numpy: loaded by __getattr__ on use.
_LAZY = {
    "DemoScene": "recorder.demo",
    "GunReader": "recorder.gun",
    "DemoSource": "recorder.sources",
    "Frame": "recorder.sources",
    "FrameSource": "recorder.sources",
    "open_source": "recorder.sources",
    "Station": "recorder.station",
    "ClipSummary": "recorder.status",
    "StationStatus": "recorder.status",
}


__getattr__ = _lazy_attributes("recorder", _LAZY, globals())


__all__ = [
    "AnchorSettings",
    "Anchorer",
    "ClipSummary",
    "Clock",
    "DemoScene",
    "DemoSource",
    "EncoderError",
    "Frame",
    "FrameSource",
    "GunReader",
    "ManualClock",
    "RecorderError",
    "SourceError",
    "SourceLost",
    "Station",
    "StationSettings",
    "StationStateError",
    "StationStatus",
    "SystemClock",
    "WitnessTarget",
    "open_source",
]
