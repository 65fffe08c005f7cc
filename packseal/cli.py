"""The ``packseal`` command: thin wrappers that load config, call one library function,
format the result, and map errors to exit codes.

Exit codes: 0 success; 1 a verification found a problem; 2 usage error or unusable input
(``error: ...`` and ``hint: ...`` on stderr); 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path

import click

from packseal._cli import Lazy, Words
from storage import PacksealError, VerificationError

# The command's settings, for the words of an error reported after the command ended.
_LAZY: ContextVar[Lazy | None] = ContextVar("packseal_cli_lazy", default=None)

# Each command's module is imported when that command runs, not before: `packseal verify`,
# `audit` and `log verify` must work where only `pip install packseal` was done (no OpenCV,
# numpy, FastAPI or ffmpeg on a reviewer's machine).
COMMANDS: dict[str, str] = {
    "init": "_cli_store",
    "config": "_cli_store",
    "keys": "_cli_store",
    "log": "_cli_store",
    "record": "_cli_station",
    "clips": "_cli_station",
    "demo": "_cli_station",
    "export": "_cli_evidence",
    "verify": "_cli_evidence",
    "verify-page": "_cli_evidence",
    "audit": "_cli_audit",
    "purge": "_cli_audit",
    "replay": "_cli_replay",
    "claim": "_cli_claim",
    "station": "_cli_web",
    "serve": "_cli_web",
    "users": "_cli_web",
    "witness": "_cli_witness",
    "hub": "_cli_hub",
    "share": "_cli_share",
}
_OPENCV_MODULES = frozenset({"_cli_station", "_cli_replay", "_cli_web", "_cli_claim"})
# Each command's summary (the first sentence of its help), for `packseal --help` without
# importing every module: that import (FastAPI, OpenCV) was ~2.5 s of its 4.1 s.
# tests/packseal/test_cli_help.py checks that the list is the one the commands' help gives.
SUMMARIES: dict[str, str] = {
    "audit": "Audit the whole store: log, checkpoints, blobs, gaps.",
    "claim": "Check claim PHOTOS against the sealed footage of ORDER_OR_CLIP and write a report.",
    "clips": "List sealed clips, newest first.",
    "config": "Inspect the settings, or write a commented settings file.",
    "demo": "Run the station on a demo store and show what was sealed.",
    "export": "Write the evidence bundle of ORDER_OR_CLIP (an order's newest clip, or a clip id).",
    "hub": "Run a hub that many stations replicate to, or link a station to one.",
    "init": "Create the keys, the database and the log, and certify the station key.",
    "keys": "Public keys and the trust file.",
    "log": "The transparency log, in the standard C2SP text formats.",
    "purge": "Delete old media (never log entries); a purge entry records each deletion first.",
    "record": "Run the station headless: record, scan, cut clips, seal.",
    "replay": "Re-hash ORDER_OR_CLIP's stored segments and write a copy annotated with the "
    "verdicts.",
    "serve": "Serve the portal: clip search, the clip player, evidence downloads, audits.",
    "share": "Make a link for ORDER's clip (an order id or a clip id): it opens the portal's "
    "verify page with that clip's bundle and the trust file, and nothing else.",
    "station": "Run the station with its screen for the packer (live picture, banner, sounds).",
    "users": "Portal users: merchant (find, watch, export), auditor (+ audit), admin (+ users).",
    "verify": "Check BUNDLE offline.",
    "verify-page": "Write the in-browser verify page: one HTML file, no install, no network.",
    "witness": "Witness transparency logs: cosign checkpoints that are consistent with the past.",
}


class _Commands(click.Group):
    """The commands of :data:`COMMANDS`, each module imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, from :data:`SUMMARIES`."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        # click shortens a summary as it does a command's help
        rows = [(n, click.Command(n, help=SUMMARIES[n]).get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        try:
            module = importlib.import_module(f"packseal.{module_name}")
        except ImportError as e:
            return _unavailable(cmd_name, e)
        if module_name in _OPENCV_MODULES:
            _quiet_opencv()
        commands: list[click.Command] = module.COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)


def _unavailable(name: str, e: ImportError) -> click.Command:
    """A command whose module needs a package this installation lacks: it says which."""
    missing = e.name or str(e)

    def run() -> None:
        raise PacksealError(
            f"`packseal {name}` needs the Python package {missing}, which is not installed",
            hint="install the station, web and media parts: pip install 'packseal[all]'",
        )

    return click.Command(
        name,
        callback=run,
        help=f"(needs packseal[all]: no {missing})",
        # Whatever options were given: the answer is the missing package, not a usage error.
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file. Default: $PACKSEAL_CONFIG, else ./config.yaml, else "
    "$XDG_CONFIG_HOME/packseal/config.yaml, else built-in defaults with data in "
    "$XDG_DATA_HOME/packseal (`packseal config init` writes a commented file).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Override data_dir from the config.",
)
@click.version_option(package_name="packseal")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, data_dir: Path | None) -> None:
    """Record packing video as evidence: seal, export and verify order clips."""
    # A path typed on the command line is the shell's: relative to where it is typed, not
    # to the config's data directory.
    lazy = Lazy(config_path, data_dir.absolute() if data_dir is not None else None)
    _LAZY.set(lazy)
    ctx.obj = lazy
    ctx.call_on_close(lazy.close)


# -- entry point -------------------------------------------------------------------------


def _quiet_opencv() -> None:
    """OpenCV logs probing failures (e.g. no webcam) as warnings; the CLI reports them itself."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _words() -> Words:
    """The CLI's words for this command (packseal._cli.Lazy.language; English before
    the command line was read)."""
    lazy = _LAZY.get()
    return Words("en" if lazy is None else lazy.language)


def _error(e: PacksealError) -> None:
    w = _words()
    # A full-width colon carries its own space.
    error, hint = (x if x.endswith("：") else f"{x} " for x in (w("error:"), w("hint:")))
    click.echo(f"{error}{w.said(e.message)}", err=True)
    if e.hint:
        click.echo(f"{hint}{w.said(e.hint)}", err=True)


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
        click.echo(_words()("interrupted"), err=True)
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
