"""Commands of the hub (issue 9): enrol stations, serve the push API, list the fleet."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from packseal._cli import Lazy, pass_lazy
from packseal.hub.app import Hub, station_token
from storage.outbox import Outbox


def _hub(lazy: Lazy) -> Hub:
    return Hub(lazy.app.config, os.environ, lazy.app.clock)


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group()
def hub() -> None:
    """Run a hub that many stations replicate to, or link a station to one.

    The hub itself is served by `packseal serve` (a config with hub_server:): the portal
    for every station, the push API, tlog-tiles and the witness's /add-checkpoint.
    """


@hub.command("enrol")
@click.argument("station")
@pass_lazy
def hub_enrol(lazy: Lazy, station: str) -> int:
    """Issue STATION's push token (printed once; stored hashed; a new one replaces it).

    Example: packseal hub enrol station-01   # then put the printed hub: section on the station
    """
    h = _hub(lazy)
    try:
        enrolled = h.mirror.enrol(station, h.clock.now_ms())
    finally:
        h.close()
    url = f"http://{h.settings.host}:{h.settings.port}"
    click.echo(f"enrolled {station}; its token is shown only now:")
    click.echo(f"  {enrolled.token}")
    click.echo("\nOn the station, in config.yaml:")
    click.echo(f"hub:\n  url: {url}\n  token: {enrolled.token}")
    return 0


@hub.command("revoke")
@click.argument("station")
@pass_lazy
def hub_revoke(lazy: Lazy, station: str) -> int:
    """Revoke STATION's token: its pushes are refused until it is enrolled again."""
    h = _hub(lazy)
    try:
        h.mirror.revoke(station, h.clock.now_ms())
    finally:
        h.close()
    click.echo(f"revoked {station}'s token")
    return 0


@hub.command("stations")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_lazy
def hub_stations(lazy: Lazy, as_json: bool) -> int:
    """Every enrolled station: its mirrored log, last push, refusals, misbehaviour."""
    h = _hub(lazy)
    try:
        rows = h.mirror.stations()
    finally:
        h.close()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return 0
    for r in rows:
        state = "revoked" if r.revoked_ms else "enrolled"
        click.echo(
            f"{r.station:<20} {state:<9} log {r.origin or '-'} size {r.size} "
            f"last push {_when(r.last_push_ms)}"
            + (f" MISBEHAVIOUR x{r.misbehaviour}" if r.misbehaviour else "")
            + (f"\n    last refusal: {r.last_refusal}" if r.last_refusal else "")
        )
    return 0


@hub.command("misbehaviour")
@click.argument("station", required=False)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Directory to write the proofs into.",
)
@pass_lazy
def hub_misbehaviour(lazy: Lazy, station: str | None, out: Path) -> int:
    """Write the proofs of misbehaviour the hub kept (packseal-misbehaviour/v1)."""
    h = _hub(lazy)
    try:
        proofs = h.mirror.misbehaviour(station)
    finally:
        h.close()
    out.mkdir(parents=True, exist_ok=True)
    for p in proofs:
        (out / p.filename).write_bytes(p.to_bytes())
        click.echo(f"wrote {out / p.filename}")
    if not proofs:
        click.echo("no misbehaviour kept")
    return 0


@hub.command("push")
@pass_lazy
def hub_push(lazy: Lazy) -> int:
    """On a station: push what the hub does not hold yet, now, and report the backlog."""
    from packseal.hub.pusher import Pusher

    app = lazy.app
    token = station_token(app.config, os.environ)
    assert app.config.hub is not None
    pusher = Pusher(app.store, app.config.hub, token, app.clock, policy=app.export_policy())
    try:
        report = pusher.cycle()
    finally:
        pusher.close()
    backlog = Outbox(app.store).backlog()
    click.echo(
        f"hub holds {report.acked_size} entries (+{report.entries}); {report.blobs} blobs sent; "
        f"backlog {backlog.entries} entries, {backlog.blobs} blobs ({backlog.bytes} bytes)"
    )
    return 0


COMMANDS = [hub]
