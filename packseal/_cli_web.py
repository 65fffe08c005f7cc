"""Commands of the web faces: station (recording + station screen), serve (portal), users."""

from __future__ import annotations

import secrets
import sys
import threading
from pathlib import Path
from typing import Any

import click

from packseal._cli import Lazy, pass_lazy
from packseal._cli_station import build_station, finish_recording, recording_options, report_stopped
from packseal.accounts import ROLES, Accounts
from packseal.runner import run_station
from packseal.web import ServerThread, create_portal, is_loopback, serve_forever
from storage import PacksealError


@click.command()
@recording_options
@click.option("--host", help="Address of the station screen (default: web.station_host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Its port (default: web.station_port).")
@pass_lazy
def station(
    lazy: Lazy,
    sources: tuple[str, ...],
    fast: bool,
    epoch: str | None,
    for_seconds: float | None,
    stats_json: Path | None,
    gun_input: str | None,
    host: str | None,
    port: int | None,
) -> int:
    """Run the station with its screen for the packer (live picture, banner, sounds).

    Same recording as `record`; the screen is served on 127.0.0.1 by default, where it
    needs no login. Ctrl-C stops cleanly and seals what is open.
    """
    from packseal.web.station import create_station_screen

    app = lazy.app
    web_cfg = app.config.web
    host = host or web_cfg.station_host
    port = web_cfg.station_port if port is None else port
    token = None
    if not is_loopback(host):
        token = web_cfg.station_token or secrets.token_urlsafe(24)
    recorder = build_station(app, sources, fast=fast, epoch=epoch, for_seconds=for_seconds)
    web, screen = create_station_screen(recorder, app.config, host=host, port=port, token=token)
    server = ServerThread(web, host, port, trusted_proxies=web_cfg.trusted_proxies).start()
    address = server.url + (f"/?token={token}" if token else "/")
    click.echo(f"station screen: {address}", err=True)
    if token and not web_cfg.station_token:
        click.echo("  (a new token for this run; set web.station_token to keep one)", err=True)
    try:
        try:
            run_station(app, recorder, gun_input=gun_input, echo=click.echo)
        except PacksealError as e:
            # The packer looks at the screen, not at this terminal: keep the screen up,
            # showing RECORDING STOPPED and why, until someone stops the program.
            screen.failure = e.message
            click.echo(f"error: {e.message}", err=True)
            click.echo("the station screen shows the error; Ctrl-C to quit", err=True)
            _wait_for_interrupt()
            raise
    finally:
        server.stop()
        finish_recording(recorder, stats_json)
    report_stopped(recorder)
    return 0


def _wait_for_interrupt() -> None:
    forever = threading.Event()
    try:
        while not forever.wait(3600):
            pass
    except KeyboardInterrupt:
        return


@click.command()
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: web.port).")
@pass_lazy
def serve(lazy: Lazy, host: str | None, port: int | None) -> int:
    """Serve the portal: clip search, the clip player, evidence downloads, audits.

    On a hub (config with hub_server:) the portal searches every station, shows the
    fleet page, and takes the stations' pushes on the same port.
    """
    app = lazy.app
    cfg = app.config.web
    hub = app.config.hub_server
    if hub is not None:
        host = host or hub.host
        port = hub.port if port is None else port
    host = host or cfg.host
    port = cfg.port if port is None else port
    loopback = is_loopback(host)
    tls = cfg.tls_cert is not None and cfg.tls_key is not None
    accounts = Accounts(app.web_database)
    if accounts.count_users() == 0:
        click.echo(
            "note: no users yet; add one with `packseal users add NAME --role admin`", err=True
        )
    if not loopback and not tls:
        click.echo(
            f"note: on {host} the session cookies are Secure: browsers send them over HTTPS "
            "only. Set web.tls_cert and web.tls_key, or serve behind an HTTPS proxy.",
            err=True,
        )
    if hub is None:
        web = create_portal(
            app, secure_cookies=not loopback, accounts=accounts, scratch=app.config.data_dir / "tmp"
        )
    else:
        web = _hub_portal(lazy, secure_cookies=not loopback)
    scheme = "https" if tls else "http"
    click.echo(f"portal: {scheme}://{host}:{port}/", err=True)
    serve_forever(
        web,
        host,
        port,
        tls_cert=cfg.tls_cert,
        tls_key=cfg.tls_key,
        trusted_proxies=cfg.trusted_proxies,
    )
    return 0


def _hub_portal(lazy: Lazy, *, secure_cookies: bool) -> Any:
    import os

    from packseal.hub import Hub
    from packseal.hub.portal import create_hub_portal

    h = Hub(lazy.app.config, os.environ, lazy.app.clock)
    h.mirror.stations()  # reach the database (and migrate it) before listening
    lock = h.blobs.lock()
    click.echo(f"hub {h.witness_name}: witness vkey {h.cosigner.verifier.vkey}", err=True)
    click.echo(
        f"object store {h.settings.object_store.bucket}: Object Lock {lock.describe()}", err=True
    )
    return create_hub_portal(
        lazy.app, h, secure_cookies=secure_cookies, scratch=lazy.app.config.data_dir / "tmp"
    )


@click.group()
def users() -> None:
    """Portal users: merchant (find, watch, export), auditor (+ audit), admin (+ users)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@pass_lazy
def users_add(lazy: Lazy, name: str, role: str, password_stdin: bool) -> int:
    """Add a user (the password is asked for, twice, and stored as an Argon2 hash)."""
    app = lazy.app
    accounts = Accounts(app.web_database)
    user = accounts.add_user(name, role, _read_password(password_stdin), at_ms=app.clock.now_ms())
    click.echo(f"added {user.name} ({user.role})")
    return 0


@users.command("list")
@pass_lazy
def users_list(lazy: Lazy) -> int:
    """List users, their roles, and their API tokens."""
    from storage.facts import rfc3339

    accounts = Accounts(lazy.app.web_database)
    found = accounts.users()
    if not found:
        click.echo("no users; add one with `packseal users add NAME --role admin`")
        return 0
    tokens = accounts.tokens()
    for u in found:
        live = [t for t in tokens if t.user == u.name and t.revoked_ms is None]
        state = "" if u.active else "  (disabled)"
        click.echo(
            f"{u.name:24} {u.role:9} since {rfc3339(u.created_ms, ms=True)[:10]}  "
            f"{len(live)} API token(s){state}"
        )
    return 0


@users.command("token")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@pass_lazy
def users_token(lazy: Lazy, name: str, label: str) -> int:
    """Issue an API token for NAME (printed once; only its hash is stored)."""
    app = lazy.app
    token = Accounts(app.web_database).issue_token(name, label=label, at_ms=app.clock.now_ms())
    click.echo(token)
    click.echo("use it as `Authorization: Bearer <token>`; it is not shown again", err=True)
    return 0


COMMANDS: list[click.Command] = [station, serve, users]
