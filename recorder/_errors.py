"""The exception tree of the station.

::

    PacksealError (storage)
    └── RecorderError
        ├── SourceError          a frame source cannot be opened or read
        │   └── SourceLost       a source that was working stopped delivering (unplugged)
        ├── EncoderError         ffmpeg could not start, or died while recording
        └── StationStateError    the station's saved state is unreadable or inconsistent
"""

from __future__ import annotations

from storage import PacksealError


class RecorderError(PacksealError):
    pass


class SourceError(RecorderError):
    pass


class SourceLost(SourceError):
    pass


class EncoderError(RecorderError):
    pass


class StationStateError(RecorderError):
    pass
