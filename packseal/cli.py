"""The ``packseal`` command: thin wrappers that load config, call one library function,
format the result, and map errors to exit codes.

Exit codes: 0 success; 1 a verification found a problem; 2 usage error or unusable input
(``error: ...`` and ``hint: ...`` on stderr); 130 interrupted.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from packseal.app import App
from packseal.config import ConfigError, load_config
from storage import PacksealError, VerificationError


class Lazy:
    """The config and app, loaded only when a command needs them."""

    def __init__(self, config_path: Path, data_dir: Path | None) -> None:
        self.config_path = config_path
        self.data_dir = data_dir
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = App(load_config(self.config_path, data_dir=self.data_dir))
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_lazy = click.make_pass_decorator(Lazy)


def out(data: bytes | str) -> None:
    """Write exactly these bytes to stdout (standard formats must not gain newlines)."""
    raw = data.encode() if isinstance(data, str) else data
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.yaml"),
    show_default=True,
    help="Settings file.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Override data_dir from the config.",
)
@click.version_option(package_name="packseal")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, data_dir: Path | None) -> None:
    """Record packing video as evidence: seal, export and verify order clips."""
    lazy = Lazy(config_path, data_dir)
    ctx.obj = lazy
    ctx.call_on_close(lazy.close)


# -- init and config ---------------------------------------------------------------------


@cli.command()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


# -- entry point -------------------------------------------------------------------------


def _error(e: PacksealError) -> None:
    click.echo(f"error: {e.message}", err=True)
    if e.hint:
        click.echo(f"hint: {e.hint}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="packseal",
            standalone_mode=False,
        )
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return 2
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    except VerificationError as e:
        _error(e)
        return 1
    except PacksealError as e:
        _error(e)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
