"""A camera that is unplugged while recording and comes back: the fake of hardware the
station's and the two-camera station's camera-lost tests share."""

from __future__ import annotations

from recorder._errors import SourceError, SourceLost
from recorder.sources import DemoSource, Frame
from storage.footage import FootageSource


class UnpluggedCamera:
    """``inner``'s frames, until frame ``lose_at`` raises :class:`SourceLost`; the next
    ``retries`` reopens fail, the one after brings the camera back with ``away_s`` seconds
    of the scene gone by (time went on while it was away).

    ``origin`` is what the camera says it is (default: ``inner``'s); ``replaced_by``, when
    given, is what it says after it is back: another camera plugged in its place.
    """

    def __init__(
        self,
        inner: DemoSource,
        lose_at: int,
        *,
        retries: int,
        away_s: int,
        name: str = "camera",
        origin: FootageSource | None = None,
        replaced_by: FootageSource | None = None,
    ) -> None:
        self.inner, self.lose_at = inner, lose_at
        self.retries, self.away_s, self.name = retries, away_s, name
        self.origin = inner.origin if origin is None else origin
        self.replaced_by = replaced_by
        self.lost = False

    width = property(lambda self: self.inner.width)
    height = property(lambda self: self.inner.height)
    fps = property(lambda self: self.inner.fps)

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None and frame.index == self.lose_at and not self.lost:
            self.lost = True
            raise SourceLost(f"{self.name} unplugged (test)")
        return frame

    def reopen(self) -> None:
        if self.retries:
            self.retries -= 1
            raise SourceError("still unplugged")
        if self.replaced_by is not None:
            self.origin = self.replaced_by
        for _ in range(self.away_s * int(self.inner.fps)):
            self.inner.read()

    def close(self) -> None:
        self.inner.close()
