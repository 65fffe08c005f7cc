"""What a view's capture pipeline reports to the station's main loop.

A pipeline's scanner confirms codes in that view's frames; each scan goes out tagged with
its view (:class:`ViewScan`), so the station can tell two cameras reading one showing of
a code from a re-scan. A further view's trouble (its camera lost, its encoder stopped,
its scan stream lost) is a :class:`ViewAlarm`: an alarm, while the clip goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from recorder.controller import Event
from recorder.scanner import FrameMotion, ScanOutput
from recorder.status import StationAlarmKind
from storage.entries import Scan

__all__ = ["Outbox", "PipelineOutput", "ViewAlarm", "ViewScan", "ViewSink"]


@dataclass(frozen=True, slots=True)
class ViewAlarm:
    """A further view's trouble: raised as an alarm; the open clip goes on."""

    t: int
    kind: StationAlarmKind
    message: str


@dataclass(frozen=True, slots=True)
class ViewScan:
    """A scan confirmed in one view's frames (the station merges two views' reads of one
    showing of a code)."""

    view: str | None
    scan: Scan


# What a pipeline puts on the station's queue.
PipelineOutput = ViewScan | FrameMotion | Event | ViewAlarm


class Outbox(Protocol):
    """Where a pipeline reports: the station's event queue."""

    def put(
        self, item: PipelineOutput, block: bool = True, timeout: float | None = None
    ) -> None: ...

    def put_nowait(self, item: PipelineOutput) -> None: ...


class ViewSink:
    """The scanner's output, each scan tagged with its view."""

    def __init__(self, out: Outbox, view: str | None) -> None:
        self._out = out
        self._view = view

    def _tag(self, item: ScanOutput) -> PipelineOutput:
        return ViewScan(self._view, item) if isinstance(item, Scan) else item

    def put(self, item: ScanOutput, block: bool = True, timeout: float | None = None) -> None:
        self._out.put(self._tag(item), block, timeout)

    def put_nowait(self, item: ScanOutput) -> None:
        self._out.put_nowait(self._tag(item))
