"""Station commands: record, clips, demo."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import click

from packseal._cli import Lazy, pass_lazy
from packseal.app import App
from packseal.runner import make_sources, make_station, parse_epoch, run_station
from recorder import SourceError
from recorder.station import Station
from storage import ClipQuery, ClipRow
from storage.facts import rfc3339
from storage.text import printable


def clip_json(row: ClipRow) -> dict[str, object]:
    return {
        "clip_id": row.clip_id,
        "order_id": row.order_id,
        "tracking_ids": list(row.tracking_ids),
        "status": row.status,
        "end_reason": row.end_reason,
        "station": row.station,
        "started_at": rfc3339(row.start_ms, ms=True),
        "ended_at": rfc3339(row.end_ms, ms=True),
        "duration_s": round(row.duration_ms / 1000, 3),
        "segments": row.segment_count,  # the first camera's; each view's below
        # a clip filmed by several cameras: each view's segment count; else {}
        "view_segments": dict(zip(row.views, row.view_segments, strict=False)),
        "bytes": row.bytes,
        "log_index": row.idx,
        "repeat_of": row.repeat_of,
        "views": list(row.views),  # a clip filmed by several cameras: their names; else []
    }


def recording_options(command: Callable[..., int]) -> Callable[..., int]:
    """The options of every command that runs the station (`record`, `station`)."""
    options = [
        click.option(
            "--source",
            "sources",
            multiple=True,
            default=("camera",),
            show_default=True,
            help="camera, camera:N, camera:/dev/videoN, rtsp://..., file:PATH, demo or "
            "demo:SEED; with station.cameras, VIEW=SOURCE for a further view (a further "
            "view not given follows the primary: its own camera, or the demo's close-up)",
        ),
        click.option(
            "--fast", is_flag=True, help="Files and demo: as fast as possible, not in real time."
        ),
        click.option("--epoch", help="Files and demo: RFC 3339 time of the first frame."),
        click.option(
            "--for",
            "for_seconds",
            type=click.FloatRange(min=0.1),
            help="Seconds of footage to record.",
        ),
        click.option(
            "--stats-json",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write counters here at exit.",
        ),
        click.option(
            "--gun",
            "gun_input",
            help="Scanner gun input (stdin or a device path); overrides config.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_station(
    app: App,
    sources: tuple[str, ...],
    *,
    fast: bool,
    epoch: str | None,
    for_seconds: float | None,
) -> Station:
    """The station the recording options describe; bad values are usage errors."""
    # Before the camera is opened: a second station must be told who records, not that
    # the camera is busy.
    app.hold_writer(click.get_current_context().command_path)
    try:
        epoch_ms = parse_epoch(epoch) if epoch else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--epoch") from None
    try:
        frames = make_sources(app, sources, realtime=not fast, epoch_ms=epoch_ms)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--source") from None
    for_ms = round(for_seconds * 1000) if for_seconds else None
    return make_station(app, frames, realtime=not fast, for_ms=for_ms)


def finish_recording(station: Station, stats_json: Path | None) -> None:
    if stats_json is not None:
        stats_json.write_text(json.dumps(station.stats(), indent=2) + "\n")


def report_stopped(station: Station) -> None:
    s = station.status()
    click.echo(
        f"stopped: {s.frames_encoded} frames encoded, {s.frames_dropped} dropped, "
        f"{s.segments_sealed} segments and {s.clips_sealed} clips sealed"
    )


@click.command()
@recording_options
@pass_lazy
def record(
    lazy: Lazy,
    sources: tuple[str, ...],
    fast: bool,
    epoch: str | None,
    for_seconds: float | None,
    stats_json: Path | None,
    gun_input: str | None,
) -> int:
    """Run the station headless: record, scan, cut clips, seal. Ctrl-C stops cleanly."""
    app = lazy.app
    station = build_station(app, sources, fast=fast, epoch=epoch, for_seconds=for_seconds)
    try:
        run_station(app, station, gun_input=gun_input, echo=click.echo)
    finally:
        finish_recording(station, stats_json)
    report_stopped(station)
    return 0


@click.command()
@click.option("--order", "order_id", help="Only clips of this order.")
@click.option("--tracking", "tracking_id", help="Only clips with this waybill.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_lazy
def clips(
    lazy: Lazy, order_id: str | None, tracking_id: str | None, limit: int, as_json: bool
) -> int:
    """List sealed clips, newest first."""
    rows = lazy.app.store.clips(ClipQuery(order_id=order_id, tracking_id=tracking_id, limit=limit))
    if as_json:
        click.echo(json.dumps([clip_json(r) for r in rows], indent=2))
        return 0
    if not rows:
        click.echo("no clips")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for name in ("clip", "order", "tracking", "status", "started (UTC)", "duration", "segments"):
        table.add_column(name, no_wrap=True)
    table.add_column("MB", no_wrap=True)
    table.add_column("log", no_wrap=True)
    for r in rows:
        table.add_row(
            # rich reads "[...]" as markup: a scanned text is shown, never interpreted.
            escape(printable(r.clip_id)),
            escape(printable(r.order_id)),
            escape(", ".join(map(printable, r.tracking_ids))) or "-",
            r.status if r.status == "sealed" else f"[yellow]{r.status}[/]",
            rfc3339(r.start_ms, ms=True),
            f"{r.duration_ms / 1000:.1f} s",
            " + ".join(map(str, r.view_segments)) or str(r.segment_count),
            f"{r.bytes / 1e6:.1f}",
            str(r.idx),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=240)  # piped: never cut an id to fit 80 columns
    console.print(table)
    return 0


@click.command()
@click.option(
    "--source",
    type=click.Choice(["auto", "camera", "demo"]),
    default="auto",
    show_default=True,
    help="auto: the webcam if one answers, else the demo packing table.",
)
@click.option("--orders", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option(
    "--seconds",
    type=click.FloatRange(5, 3600),
    default=60,
    show_default=True,
    help="How long to record from a webcam.",
)
@click.option(
    "--realtime",
    is_flag=True,
    help="Demo table at the camera's pace (default: as fast as possible).",
)
@click.pass_context
def demo(ctx: click.Context, source: str, orders: int, seconds: float, realtime: bool) -> int:
    """Run the station on a demo store and show what was sealed.

    The store is demo-data/ beside the config file (./config.yaml, --config or
    PACKSEAL_CONFIG), else in the per-user data directory; --data-dir overrides it.
    """
    lazy: Lazy = ctx.obj
    if lazy.data_dir is None:
        lazy.data_dir = lazy.location.demo_dir
    app: App = lazy.app
    app.hold_writer(ctx.command_path)
    result = app.init()
    click.echo(f"demo store: {app.config.data_dir} (log {result.origin})")
    # Each run packs new orders: the same seed again would re-pack the orders already
    # sealed, and the station rightly raises a repeat alarm for each.
    before = app.store.count_clips()
    log_before = app.store.size()
    camera = None
    if source in ("auto", "camera"):
        try:
            camera = make_sources(app, ("camera",), realtime=True, epoch_ms=None)
        except SourceError as e:
            if source == "camera":
                raise
            click.echo(f"no webcam ({e.message}): using the demo packing table")
    if camera is not None:
        click.echo(f"recording {seconds:g} s from the webcam; show it an order barcode")
        station = make_station(app, camera, realtime=True, for_ms=round(seconds * 1000))
    else:
        spec = f"demo:{1 + before}"
        frames = make_sources(app, (spec,), realtime=realtime, epoch_ms=None, orders=orders)
        station = make_station(app, frames, realtime=realtime)
        pace = "in real time" if realtime else "as fast as this machine can"
        views = app.config.station.views
        shown = f" ({len(views)} views: the table and its close-up)" if len(views) > 1 else ""
        click.echo(f"recording {orders} demo order{'s' if orders > 1 else ''} {pace}{shown}...")
    run_station(app, station, echo=click.echo)
    made = app.store.count_clips() - before
    # This run's clips by log position: a fast demo's footage ends "now", so footage times
    # of two runs can interleave and the newest footage need not be this run's.
    listed = app.store.clips(ClipQuery(limit=before + made)) if made > 0 else []
    rows = sorted((r for r in listed if r.idx >= log_before), key=lambda r: -r.idx)
    click.echo(f"\nsealed {len(rows)} clip(s) in this run:")
    for r in reversed(rows):
        click.echo(
            f"  {printable(r.order_id):16} {r.status:11} {r.duration_ms / 1000:5.1f} s  "
            f"waybill {', '.join(map(printable, r.tracking_ids)) or '-'}  (clip {r.clip_id})"
        )
    sealed = [r for r in rows if r.status == "sealed"]
    data = app.config.data_dir
    if sealed:
        _export_and_verify(app, sealed[-1], data)
    click.echo(
        "\nlook around:\n"
        f"  packseal --data-dir {data} clips\n"
        f"  packseal --data-dir {data} log verify\n"
        f"  packseal --data-dir {data} audit"
    )
    return 0


def _export_and_verify(app: App, row: ClipRow, data: Path) -> None:
    """The merchant's and the reviewer's side of the demo: one bundle, checked offline."""
    from storage.zones import local_zone
    from verifier.verify import verify_bundle

    trust_path = data / "trust.json"
    trust_path.write_bytes(app.trust_file().to_bytes())
    bundle = data / "bundles" / f"{row.order_id}.zip"
    bundle.parent.mkdir(exist_ok=True)
    result = app.export(row.clip_id, bundle, zone=local_zone(app.config.station.timezone))
    verified = verify_bundle(result.path, app.trust_file())
    sheet = bundle.with_suffix(".sheet.png")
    with zipfile.ZipFile(bundle) as z:
        sheet.write_bytes(z.read("sheet.png"))
    click.echo(f"\nexported order {row.order_id}: {bundle} ({result.size / 1e6:.1f} MB)")
    click.echo(f"evidence sheet: {sheet}")
    click.echo(f"verified offline against {trust_path}:")
    click.echo(f"  {verified.report.verdict()}")
    click.echo(f"  (a reviewer runs: packseal verify {bundle} --trust {trust_path})")


COMMANDS = [record, clips, demo]
