"""Commands over the store: init, config, keys, and the log in C2SP formats."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import click

from packseal._cli import Lazy, out, pass_lazy
from packseal.config import ConfigError, load_config
from storage import PacksealError


@click.command()
@pass_lazy
def init(lazy: Lazy) -> int:
    """Create the keys, the database and the log, and certify the station key."""
    result = lazy.app.init()
    cfg = lazy.app.config
    for label in result.created_keys:
        path = cfg.root_key if label == "root" else cfg.station_key
        click.echo(f"created {label} key {path} (mode 0600)")
    click.echo(f"{'created' if result.created_log else 'existing'} log {result.origin}")
    click.echo(f"database {cfg.database_url}")
    click.echo("latest checkpoint:")
    out(result.checkpoint.note)
    if "root" in result.created_keys:
        click.echo(
            f"\nThe merchant root key {cfg.root_key} certifies stations: keep a backup "
            "offline. Publish `packseal keys trust` so reviewers can verify bundles."
        )
    return 0


@click.group()
def config() -> None:
    """Inspect the settings."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@pass_lazy
def config_check(lazy: Lazy, path: Path | None) -> int:
    """Validate a config file (default: --config) and report every problem."""
    target = path or lazy.config_path
    try:
        cfg = load_config(target, data_dir=lazy.data_dir)
    except ConfigError as e:
        click.echo(f"{target}: {len(e.problems)} problem(s)", err=True)
        for where, message in e.problems:
            click.echo(f"  {where}: {message}", err=True)
        if e.hint:
            click.echo(f"hint: {e.hint}", err=True)
        return 1
    click.echo(f"{target}: OK")
    click.echo(f"  origin    {cfg.origin}")
    click.echo(f"  database  {cfg.database_url}")
    click.echo(f"  blobs     {cfg.blob_dir}")
    click.echo(f"  keys      {cfg.root_key}, {cfg.station_key}")
    return 0


# -- keys --------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Public keys and the trust file."""


@keys.command("show")
@pass_lazy
def keys_show(lazy: Lazy) -> int:
    """Print the merchant root and station verifier keys."""
    app = lazy.app
    click.echo(f"merchant root  {app.root_signer.verifier.vkey}")
    click.echo(f"station log    {app.station_signer.verifier.vkey}")
    return 0


@keys.command("trust")
@pass_lazy
def keys_trust(lazy: Lazy) -> int:
    """Print the trust file to publish (reviewers verify bundles against it)."""
    out(lazy.app.trust_file().to_bytes())
    return 0


# -- the log -----------------------------------------------------------------------------


@click.group()
def log() -> None:
    """The transparency log, in the standard C2SP text formats."""


@log.command("checkpoint")
@pass_lazy
def log_checkpoint(lazy: Lazy) -> int:
    """Print the latest signed checkpoint (a C2SP tlog-checkpoint signed note)."""
    cp = lazy.app.store.log.latest_checkpoint()
    if cp is None:
        raise PacksealError("the log has no signed checkpoint yet", hint="run `packseal init`")
    out(cp.note)
    return 0


@log.command("entry")
@click.argument("index", type=click.IntRange(min=0))
@pass_lazy
def log_entry(lazy: Lazy, index: int) -> int:
    """Print entry INDEX exactly as logged (canonical JSON)."""
    out(lazy.app.store.log.entry(index))
    return 0


@log.command("proof")
@click.argument("index", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="A stored checkpoint's size.")
@pass_lazy
def log_proof(lazy: Lazy, index: int, size: int | None) -> int:
    """Print a C2SP tlog-proof of entry INDEX against a signed checkpoint."""
    out(lazy.app.store.log.tlog_proof(index, size).to_bytes())
    return 0


@log.command("consistency")
@click.argument("old", type=click.IntRange(min=0))
@click.argument("new", type=click.IntRange(min=0), required=False)
@pass_lazy
def log_consistency(lazy: Lazy, old: int, new: int | None) -> int:
    """Print the consistency proof from size OLD to NEW (default: now), one hash per line."""
    proof = lazy.app.store.log.consistency_proof(old, new)
    out("".join(base64.b64encode(h).decode() + "\n" for h in proof))
    return 0


@log.command("verify")
@pass_lazy
def log_verify(lazy: Lazy) -> int:
    """Check the whole log: every entry, the hash chain, every checkpoint. Exit 1 if not."""
    app = lazy.app
    from rich.progress import Progress

    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("verifying", total=None)
        report = app.store.log.verify(
            [app.station_signer.verifier],
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.kinds.items()))
    click.echo(
        f"log {app.config.origin}: valid — {report.size} entries ({kinds}), "
        f"{report.checkpoints} signed checkpoints"
    )
    return 0


COMMANDS = [init, config, keys, log]
