"""The clip controller, exhaustively: every state x every event, plus sequences."""

from __future__ import annotations

import itertools

import pytest

from recorder.controller import (
    Alarm,
    ClipClosed,
    ClipOpened,
    ClipUpdated,
    Controller,
    ControllerSettings,
    EncoderDied,
    Event,
    Motion,
    ScanEvent,
    Shutdown,
    SourceLostEvent,
    Tick,
    new_clip_id,
)
from storage.entries import Scan

SETTINGS = ControllerSettings(idle_ms=60_000, max_ms=900_000, motion_threshold=2.0)
T = 1_000_000


def scan(text: str, kind: str, t: int = T + 10_000, source: str = "camera") -> ScanEvent:
    return ScanEvent(Scan(t, text, kind, "Code128", source, None))  # type: ignore[arg-type]


def counter() -> object:
    c = itertools.count()
    return lambda n: next(c).to_bytes(n, "big")


def controller(state: str, sealed: dict[str, str] | None = None) -> Controller:
    known = sealed or {}
    c = Controller(SETTINGS, sealed_before=known.get, entropy=counter())  # type: ignore[arg-type]
    if state == "open":
        c.handle(scan("SO-0001", "order", T))
    return c


# (state, event) -> (state after, action kinds, end reason of a closed clip)
EVENTS: dict[str, Event] = {
    "order same": scan("SO-0001", "order"),
    "order other": scan("SO-0002", "order"),
    "tracking": scan("TRK-12345678", "tracking"),
    "product": scan("4006381333931", "other"),
    "stop": scan("PACKSEAL-STOP", "control"),
    "cancel": scan("PACKSEAL-CANCEL", "control"),
    "ack": scan("PACKSEAL-ACK", "control"),
    "motion": Motion(T + 10_000, 9.0),
    "tick quiet": Tick(T + 10_000),
    "tick idle": Tick(T + 60_000),
    "tick max": Tick(T + 900_000),
    "source lost": SourceLostEvent(T + 10_000, "unplugged"),
    "encoder died": EncoderDied(T + 10_000, "exit 1"),
    "shutdown": Shutdown(T + 10_000),
}

TABLE = {
    ("idle", "order same"): ("open", ["ClipOpened"], None),
    ("idle", "order other"): ("open", ["ClipOpened"], None),
    ("idle", "tracking"): ("idle", ["Alarm"], None),
    ("idle", "product"): ("idle", [], None),
    ("idle", "stop"): ("idle", ["Alarm"], None),
    ("idle", "cancel"): ("idle", ["Alarm"], None),
    ("idle", "ack"): ("idle", ["AlarmsAcknowledged"], None),
    ("idle", "motion"): ("idle", [], None),
    ("idle", "tick quiet"): ("idle", [], None),
    ("idle", "tick idle"): ("idle", [], None),
    ("idle", "tick max"): ("idle", [], None),
    ("idle", "source lost"): ("idle", ["Alarm"], None),
    ("idle", "encoder died"): ("idle", ["Alarm"], None),
    ("idle", "shutdown"): ("idle", [], None),
    ("open", "order same"): ("idle", ["ClipClosed"], ("rescan", "sealed")),
    ("open", "order other"): ("open", ["ClipClosed", "ClipOpened"], ("next-order", "sealed")),
    ("open", "tracking"): ("open", ["ClipUpdated"], None),
    ("open", "product"): ("open", ["ClipUpdated"], None),
    ("open", "stop"): ("idle", ["ClipClosed"], ("stop", "sealed")),
    ("open", "cancel"): ("idle", ["ClipClosed"], ("cancel", "cancelled")),
    ("open", "ack"): ("open", ["AlarmsAcknowledged"], None),  # the clip keeps on
    ("open", "motion"): ("open", [], None),
    ("open", "tick quiet"): ("open", [], None),
    ("open", "tick idle"): ("idle", ["ClipClosed"], ("idle", "sealed")),
    ("open", "tick max"): ("idle", ["ClipClosed"], ("max-length", "sealed")),
    ("open", "source lost"): ("idle", ["Alarm", "ClipClosed"], ("source-lost", "interrupted")),
    ("open", "encoder died"): ("idle", ["Alarm", "ClipClosed"], ("encoder-died", "interrupted")),
    ("open", "shutdown"): ("idle", ["ClipClosed"], ("shutdown", "sealed")),
}


def test_table_is_complete() -> None:
    assert set(TABLE) == {(s, e) for s in ("idle", "open") for e in EVENTS}


@pytest.mark.parametrize(("state", "event"), list(TABLE))
def test_transition(state: str, event: str) -> None:
    c = controller(state)
    actions = c.handle(EVENTS[event])
    after, kinds, closed = TABLE[(state, event)]
    assert [type(a).__name__ for a in actions] == kinds
    assert ("open" if c.current is not None else "idle") == after
    closes = [a for a in actions if isinstance(a, ClipClosed)]
    if closed:
        assert (closes[0].end_reason, closes[0].status) == closed
        assert closes[0].clip.order_id == "SO-0001"


def test_an_ack_scan_is_kept_in_the_open_clip() -> None:
    c = controller("open")
    c.handle(EVENTS["ack"])
    assert c.current is not None
    assert [s.text for s in c.current.scans] == ["SO-0001", "PACKSEAL-ACK"]


def test_tracking_and_scans_are_attached() -> None:
    c = controller("open")
    c.handle(scan("TRK-12345678", "tracking", T + 1))
    c.handle(scan("TRK-12345678", "tracking", T + 2))
    c.handle(scan("4006381333931", "other", T + 3))
    (closed,) = c.handle(scan("PACKSEAL-STOP", "control", T + 4))
    assert isinstance(closed, ClipClosed)
    assert closed.clip.tracking_ids == ("TRK-12345678",)
    assert [s.text for s in closed.clip.scans] == [
        "SO-0001",
        "TRK-12345678",
        "TRK-12345678",
        "4006381333931",
        "PACKSEAL-STOP",
    ]
    assert closed.ended == T + 4


def test_motion_postpones_idle() -> None:
    c = controller("open")
    for k in range(1, 10):
        c.handle(Motion(T + k * 30_000, 5.0))
        assert c.handle(Tick(T + k * 30_000 + 1)) == []
    c.handle(Motion(T + 300_000, 0.5))  # below the threshold: not motion
    (closed,) = c.handle(Tick(T + 270_000 + 60_000))
    assert isinstance(closed, ClipClosed)
    assert closed.end_reason == "idle"


def test_max_length_closes_at_the_limit() -> None:
    c = controller("open")
    for k in range(1, 40):
        c.handle(Motion(T + k * 30_000, 5.0))
    (closed,) = c.handle(Tick(T + 905_000))
    assert isinstance(closed, ClipClosed)
    assert (closed.end_reason, closed.ended) == ("max-length", T + 900_000)


def test_repeat_order_is_flagged_not_refused() -> None:
    c = controller("idle", sealed={"SO-0001": "01OLDCLIP"})
    actions = c.handle(scan("SO-0001", "order", T))
    opened, alarm = actions
    assert isinstance(opened, ClipOpened)
    assert opened.clip.repeat_of == "01OLDCLIP"
    assert isinstance(alarm, Alarm)
    assert alarm.kind == "duplicate-order"
    # packed twice in this run: the earlier clip of this run is the one it repeats
    c.handle(scan("SO-0001", "order", T + 1))  # re-scan closes
    again = c.handle(scan("SO-0001", "order", T + 5_000))
    assert isinstance(again[0], ClipOpened)
    assert again[0].clip.repeat_of == opened.clip.clip_id


def test_clip_ids_are_ulids_in_time_order() -> None:
    a = new_clip_id(1_767_225_600_000, b"\x00" * 10)
    b = new_clip_id(1_767_225_600_001, b"\xff" * 10)
    assert len(a) == 26
    assert a < b
    assert new_clip_id(0, b"\x00" * 10) == "0" * 26
    with pytest.raises(ValueError, match="10 bytes"):
        new_clip_id(0, b"")


def test_a_long_session() -> None:
    """Orders back to back, a cancelled one, a forgotten stop ended by idle."""
    c = Controller(SETTINGS, entropy=counter())  # type: ignore[arg-type]
    closed: list[ClipClosed] = []
    t = T
    for i in range(5):
        t += 25_000
        for a in c.handle(scan(f"SO-{i:04d}", "order", t)):
            if isinstance(a, ClipClosed):
                closed.append(a)
        c.handle(Motion(t + 5_000, 8.0))
        c.handle(scan(f"TRK-{i:08d}", "tracking", t + 20_000))
    closed += [
        a
        for a in c.handle(scan("PACKSEAL-CANCEL", "control", t + 21_000))
        if isinstance(a, ClipClosed)
    ]
    assert [(x.clip.order_id, x.end_reason, x.status) for x in closed] == [
        ("SO-0000", "next-order", "sealed"),
        ("SO-0001", "next-order", "sealed"),
        ("SO-0002", "next-order", "sealed"),
        ("SO-0003", "next-order", "sealed"),
        ("SO-0004", "cancel", "cancelled"),
    ]
    assert all(x.clip.tracking_ids == (f"TRK-{int(x.clip.order_id[3:]):08d}",) for x in closed)
    assert c.current is None
    assert not any(isinstance(a, ClipUpdated) for a in c.handle(Tick(t + 999_999)))
