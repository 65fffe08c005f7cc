"""The clip controller: a pure state machine from scan and time events to clip actions.

It never touches video, disks or clocks: every event carries its time, and order
history comes from a lookup the caller passes in. The station feeds it and carries out
what it returns.

States: IDLE, or OPEN with one order. Transitions (``t`` is the event's time)::

    IDLE  --order X-->                 OPEN(X)                    [alarm if X was sealed before]
    OPEN(X) --order Y (Y != X)-->      close X "next-order", OPEN(Y)
    OPEN(X) --order X (a re-scan)-->   close X "rescan", IDLE
    OPEN(X) --stop code-->             close X "stop", IDLE
    OPEN(X) --cancel code-->           close X "cancel" (status cancelled, still logged), IDLE
    OPEN(X) --tracking T-->            attach T to X
    OPEN(X) --other code-->            record it in X's scan list (never starts or stops a clip)
    OPEN(X) --tick, no motion >= idle--> close X "idle"
    OPEN(X) --tick, length >= max-->   close X "max-length"
    OPEN(X) --source lost / encoder died--> close X (status interrupted)
    OPEN(X) --shutdown-->              close X "shutdown"
    IDLE  --tracking / stop / cancel--> alarm (nothing is open); other codes are ignored
    any   --ack code-->                 alarms acknowledged (recorded in X's scans if open)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from storage.entries import Scan

AlarmKind = Literal["duplicate-order", "no-open-clip", "source-lost", "encoder-died"]


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanEvent:
    scan: Scan

    @property
    def t(self) -> int:
        return self.scan.t


@dataclass(frozen=True, slots=True)
class Motion:
    t: int
    level: float


@dataclass(frozen=True, slots=True)
class Tick:
    t: int


@dataclass(frozen=True, slots=True)
class SourceLostEvent:
    t: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EncoderDied:
    t: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Shutdown:
    t: int


Event = ScanEvent | Motion | Tick | SourceLostEvent | EncoderDied | Shutdown


# -- state and actions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenClip:
    clip_id: str
    order_id: str
    started: int
    scans: tuple[Scan, ...]
    tracking_ids: tuple[str, ...] = ()
    repeat_of: str | None = None
    last_motion: int = 0


@dataclass(frozen=True, slots=True)
class ClipOpened:
    clip: OpenClip


@dataclass(frozen=True, slots=True)
class ClipUpdated:
    clip: OpenClip


@dataclass(frozen=True, slots=True)
class ClipClosed:
    clip: OpenClip
    ended: int
    end_reason: str
    status: Literal["sealed", "cancelled", "interrupted"]


@dataclass(frozen=True, slots=True)
class Alarm:
    t: int
    kind: AlarmKind
    message: str


@dataclass(frozen=True, slots=True)
class AlarmsAcknowledged:
    t: int


Action = ClipOpened | ClipUpdated | ClipClosed | Alarm | AlarmsAcknowledged


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    idle_ms: int
    max_ms: int
    motion_threshold: float
    stop_code: str = "PACKSEAL-STOP"
    cancel_code: str = "PACKSEAL-CANCEL"
    ack_code: str = "PACKSEAL-ACK"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_clip_id(t_ms: int, entropy: bytes) -> str:
    """A ULID: 48-bit time then 80 random bits, Crockford base32; sorts by time."""
    if len(entropy) != 10:
        raise ValueError("a clip id needs 10 bytes of entropy")
    value = (t_ms << 80) | int.from_bytes(entropy, "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@dataclass(slots=True)
class Controller:
    settings: ControllerSettings
    sealed_before: Callable[[str], str | None] = lambda _order: None
    entropy: Callable[[int], bytes] = os.urandom
    current: OpenClip | None = None
    # Orders opened in this run, newest clip id per order (the store only knows sealed ones).
    _recent: dict[str, str] = field(default_factory=dict)

    def handle(self, event: Event) -> list[Action]:
        if isinstance(event, ScanEvent):
            return self._scan(event.scan)
        if isinstance(event, Motion):
            if self.current is not None and event.level >= self.settings.motion_threshold:
                self.current = replace(
                    self.current, last_motion=max(self.current.last_motion, event.t)
                )
            return []
        if isinstance(event, Tick):
            return self._tick(event.t)
        if isinstance(event, SourceLostEvent):
            return [
                Alarm(
                    event.t,
                    "source-lost",
                    f"camera lost{': ' + event.detail if event.detail else ''}",
                ),
                *self._close(event.t, "source-lost", "interrupted"),
            ]
        if isinstance(event, EncoderDied):
            return [
                Alarm(
                    event.t,
                    "encoder-died",
                    f"encoder stopped{': ' + event.detail if event.detail else ''}",
                ),
                *self._close(event.t, "encoder-died", "interrupted"),
            ]
        return self._close(event.t, "shutdown", "sealed")

    def _scan(self, scan: Scan) -> list[Action]:
        s = self.settings
        if scan.kind == "control" and scan.text == s.ack_code:
            if self.current is not None:
                self._record(scan)
            return [AlarmsAcknowledged(scan.t)]
        if scan.kind == "control" and scan.text in (s.stop_code, s.cancel_code):
            if self.current is None:
                return [Alarm(scan.t, "no-open-clip", f"{scan.text} scanned, but no clip is open")]
            self._record(scan)
            if scan.text == s.cancel_code:
                return self._close(scan.t, "cancel", "cancelled")
            return self._close(scan.t, "stop", "sealed")
        if scan.kind == "order":
            if self.current is not None and self.current.order_id == scan.text:
                self._record(scan)
                return self._close(scan.t, "rescan", "sealed")
            actions = self._close(scan.t, "next-order", "sealed")
            return actions + self._open(scan)
        if self.current is None:
            if scan.kind == "tracking":
                return [
                    Alarm(
                        scan.t, "no-open-clip", f"waybill {scan.text} scanned, but no order is open"
                    )
                ]
            return []
        self._record(scan)
        if scan.kind == "tracking" and scan.text not in self.current.tracking_ids:
            self.current = replace(
                self.current, tracking_ids=(*self.current.tracking_ids, scan.text)
            )
        return [ClipUpdated(self.current)]

    def _open(self, scan: Scan) -> list[Action]:
        repeat_of = self._recent.get(scan.text) or self.sealed_before(scan.text)
        clip = OpenClip(
            clip_id=new_clip_id(scan.t, self.entropy(10)),
            order_id=scan.text,
            started=scan.t,
            scans=(scan,),
            repeat_of=repeat_of,
            last_motion=scan.t,
        )
        self.current = clip
        self._recent[scan.text] = clip.clip_id
        actions: list[Action] = [ClipOpened(clip)]
        if repeat_of is not None:
            actions.append(
                Alarm(
                    scan.t,
                    "duplicate-order",
                    f"order {scan.text} was already packed (clip {repeat_of}); recording it again",
                )
            )
        return actions

    def _record(self, scan: Scan) -> None:
        assert self.current is not None
        self.current = replace(self.current, scans=(*self.current.scans, scan))

    def _tick(self, t: int) -> list[Action]:
        clip = self.current
        if clip is None:
            return []
        if t - clip.started >= self.settings.max_ms:
            return self._close(clip.started + self.settings.max_ms, "max-length", "sealed")
        if t - clip.last_motion >= self.settings.idle_ms:
            return self._close(t, "idle", "sealed")
        return []

    def _close(
        self, t: int, reason: str, status: Literal["sealed", "cancelled", "interrupted"]
    ) -> list[Action]:
        clip = self.current
        if clip is None:
            return []
        self.current = None
        return [ClipClosed(clip, max(t, clip.started), reason, status)]
