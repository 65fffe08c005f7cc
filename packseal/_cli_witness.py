"""Commands: run a tlog witness (c2sp.org/tlog-witness) for other people's logs."""

from __future__ import annotations

import time
from pathlib import Path

import click

from packseal.witness import Witness, add_log, init_witness, make_server

_STATE = click.option(
    "--state",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("witness"),
    show_default=True,
    help="The witness's state directory (its key, the logs it witnesses, what it saw).",
)


@click.group()
def witness() -> None:
    """Witness transparency logs: cosign checkpoints that are consistent with the past."""


@witness.command("init")
@_STATE
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example/w1.")
@click.option("--log", "logs", multiple=True, help="A log's verifier key to witness (repeat).")
def witness_init(state: Path, name: str, logs: tuple[str, ...]) -> int:
    """Create a witness: its key (0600) and config. Prints its vkey for stations."""
    signer = init_witness(state, name, list(logs))
    click.echo(f"witness vkey {signer.verifier.vkey}")
    click.echo(f"state in {state}; witnessing {len(logs)} log(s)")
    return 0


@witness.command("add-log")
@_STATE
@click.argument("vkey")
def witness_add_log(state: Path, vkey: str) -> int:
    """Witness the log whose checkpoints VKEY signs (its name is the log's origin)."""
    log = add_log(state, vkey)
    click.echo(f"witnessing {log.origin} ({len(log.vkeys)} key(s))")
    return 0


@witness.command("serve")
@_STATE
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8480, show_default=True)
def witness_serve(state: Path, host: str, port: int) -> int:
    """Serve POST /add-checkpoint until interrupted."""
    w = Witness(state, time.time)
    server = make_server(w, host, port)
    click.echo(f"witness {w.signer.name} on http://{host}:{server.server_address[1]}")
    click.echo(f"vkey {w.vkey}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


COMMANDS: list[click.Command] = [witness]
