"""Running a station from the face: build it from config, stop it cleanly on signals,
and show its state (a live status line on a terminal, event lines otherwise)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from packseal._cli import Words, words
from packseal.app import App
from packseal.hub.app import station_token
from packseal.hub.pusher import Pusher
from recorder.demo import DemoScene
from recorder.gun import GunReader
from recorder.settings import View
from recorder.sources import DemoSource, FrameSource, open_source
from recorder.station import Station
from recorder.status import StationStatus
from storage.text import printable


def parse_epoch(text: str) -> int:
    """RFC 3339 -> ms since the epoch (``Z`` or an offset is required)."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(
            f"--epoch {text!r} is not an RFC 3339 time such as 2026-11-29T08:00:00Z"
        ) from e
    if when.tzinfo is None:
        raise ValueError(f"--epoch {text!r} has no zone; add Z or an offset like +08:00")
    return round(when.timestamp() * 1000)


def make_source(
    app: App,
    spec: str,
    *,
    realtime: bool,
    epoch_ms: int | None,
    orders: int | None = None,
    view: View | None = None,
    closeup: bool = False,
) -> FrameSource:
    """The source ``spec`` names, for ``view`` (default: the primary)."""
    cam = (view or app.config.station.views[0]).camera
    if spec.startswith("demo") and (orders is not None or closeup):
        seed = int(spec.partition(":")[2] or 1)
        scene = DemoScene(cam.width, cam.height, cam.fps, seed=seed, orders=orders)
        return DemoSource(scene, app.clock, realtime=realtime, epoch_ms=epoch_ms, closeup=closeup)
    return open_source(spec, cam, app.clock, realtime=realtime, epoch_ms=epoch_ms)


def source_specs(views: Sequence[View], given: Sequence[str]) -> list[str]:
    """Each view's source from ``--source`` values: ``SPEC`` is the primary view's, and
    ``VIEW=SPEC`` a named view's. A further view not named takes its own camera when the
    primary's is ``camera``, the demo table's close-up when it is ``demo[:SEED]``."""
    names = [v.name for v in views]
    named: dict[str | None, str] = {}
    plain: list[str] = []
    for text in given:
        view, eq, spec = text.partition("=")
        if eq and view in names and view is not None:
            if view in named:
                raise ValueError(f"--source {view}=... is given twice")
            named[view] = spec
        else:
            plain.append(text)
    if len(plain) > 1:
        raise ValueError(
            f"--source: expected one source for the primary view and VIEW=SOURCE for the "
            f"others, found {len(plain)} without a view name"
        )
    primary = named.get(names[0]) or (plain[0] if plain else "camera")
    if plain and names[0] in named:
        raise ValueError(f"--source: the primary view {names[0]} is given twice")
    specs = [primary]
    for name in names[1:]:
        if name in named:
            specs.append(named[name])
        elif primary == "camera" or primary.startswith("demo"):
            specs.append(primary)
        else:
            raise ValueError(
                f"--source: view {name} needs its own source beside {primary!r} "
                f"(e.g. --source {name}=camera or --source {name}=file:PATH)"
            )
    return specs


def make_sources(
    app: App,
    given: Sequence[str],
    *,
    realtime: bool,
    epoch_ms: int | None,
    orders: int | None = None,
) -> list[FrameSource]:
    """One source per view of the station (the primary first); bad values raise
    ValueError (a usage error), a camera that does not open SourceError. A further view on
    ``demo`` films the same scene close up; on ``camera`` its own device."""
    views = app.config.station.views
    specs = source_specs(views, given)
    sources: list[FrameSource] = []
    try:
        for i, (view, spec) in enumerate(zip(views, specs, strict=True)):
            sources.append(
                make_source(
                    app,
                    spec,
                    realtime=realtime,
                    epoch_ms=epoch_ms,
                    orders=orders,
                    view=view,
                    closeup=i > 0 and spec.startswith("demo") and spec == specs[0],
                )
            )
    except BaseException:
        for opened in sources:
            opened.close()
        raise
    return sources


def make_station(
    app: App,
    source: FrameSource | Sequence[FrameSource],
    *,
    realtime: bool,
    for_ms: int | None = None,
) -> Station:
    cfg = app.config
    app.hold_writer("packseal")  # a no-op when the command took it first, under its name
    return Station(
        cfg.station,
        app.store,
        app.station_signer,
        source,
        clock=app.clock,
        workdir=cfg.recordings_dir,
        realtime=realtime,
        for_ms=for_ms,
        anchorer=app.anchorer(),
    )


@contextmanager
def stop_on_signals(station: Station) -> Iterator[None]:
    """First Ctrl-C / SIGTERM: stop and seal what is open. A second one: stop waiting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal hits
        hits += 1
        station.stop()
        if hits > 1:
            raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def status_text(s: StationStatus, w: Words | None = None) -> Text:
    """The terminal's status line, in ``w``'s language (English without one)."""
    w = w or Words("en")
    if s.alarms:
        head = Text(f" {w('ALARM')} {w.said(s.alarms[-1])} ", style="bold black on yellow")
    elif s.order_id and s.clip_started is not None:
        secs = max(0, (s.now_ms - s.clip_started) // 1000)
        order = printable(s.order_id, 40)
        head = Text(
            f" {w('REC')} {order} {secs // 60:02d}:{secs % 60:02d} ", style="bold white on red"
        )
    else:
        head = Text(f" {w(s.state.upper())} ", style="bold black on green")
    last = f"{w(s.last_scan.kind)} {printable(s.last_scan.text, 60)}" if s.last_scan else "-"
    # Two cameras: each view's own health after the totals (a side camera that is lost or
    # dropping shows while the other records on).
    views = "".join(
        "  "
        + (
            w("{view} camera lost", view=v.view)
            if v.lost
            else w("{view} drops {drops}", view=v.view, drops=v.frames_dropped)
        )
        for v in s.views
        if len(s.views) > 1
    )
    return head + Text(
        "  "
        + w(
            "{fps} fps  drops {drops}  segments {segments}  clips {clips}  last scan {last}",
            fps=f"{s.fps:4.1f}",
            drops=s.frames_dropped,
            segments=s.segments_sealed,
            clips=s.clips_sealed,
            last=last,
        )
        + views
    )


def start_pusher(app: App) -> Pusher | None:
    """The outbox to the hub, when the station has one (it never blocks recording)."""
    if app.config.hub is None:
        return None
    token = station_token(app.config, os.environ)
    return Pusher(app.store, app.config.hub, token, app.clock, policy=app.export_policy()).start()


def run_station(
    app: App,
    station: Station,
    *,
    gun_input: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Run until stopped, with scanner-gun input and a status display on stderr."""
    console = Console(stderr=True)
    w = words()  # here: the display thread has no command context to ask
    gun_settings = app.config.station.scan.gun
    gun = None
    source = gun_input or gun_settings.input
    if source:
        gun = GunReader(source, gun_settings, station.submit, app.clock)
    done = threading.Event()

    def show() -> None:
        if console.is_terminal:
            with Live(
                status_text(station.status(), w), console=console, refresh_per_second=4
            ) as live:
                while not done.wait(0.25):
                    live.update(status_text(station.status(), w))
            return
        seen = (0, 0, 0)
        while not done.wait(0.25):
            s = station.status()
            now = (s.clips_opened, s.clips_sealed, s.alarm_count)
            if now != seen:
                seen = now
                (echo or console.print)(status_text(s, w).plain)

    display = threading.Thread(target=show, name="packseal-status", daemon=True)
    display.start()
    pusher = start_pusher(app)
    try:
        with stop_on_signals(station):
            if gun is not None:
                gun.start()
            station.run()
    finally:
        done.set()
        display.join(timeout=2)
        if pusher is not None:
            pusher.stop(drain_seconds=app.config.time.drain_seconds)
        if gun is not None:
            gun.stop()
    if sys.stderr.isatty():
        console.print(status_text(station.status(), w))
