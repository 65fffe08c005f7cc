"""The ``packseal`` command: thin wrappers that load config, call one library function,
format the result, and map errors to exit codes.

Exit codes: 0 success; 1 a verification found a problem; 2 usage error or unusable input
(``error: ...`` and ``hint: ...`` on stderr); 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path

import click

from packseal import (
    _cli_audit,
    _cli_evidence,
    _cli_hub,
    _cli_replay,
    _cli_share,
    _cli_station,
    _cli_store,
    _cli_web,
    _cli_witness,
)
from packseal._cli import Lazy
from packseal.i18n import Translate, translator
from storage import PacksealError, VerificationError

# The command's settings, for the words of an error reported after the command ended.
_LAZY: ContextVar[Lazy | None] = ContextVar("packseal_cli_lazy", default=None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    lazy = Lazy(config_path, data_dir)
    _LAZY.set(lazy)
    ctx.obj = lazy
    ctx.call_on_close(lazy.close)


for _module in (
    _cli_store,
    _cli_station,
    _cli_evidence,
    _cli_hub,
    _cli_audit,
    _cli_replay,
    _cli_share,
    _cli_web,
    _cli_witness,
):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


# -- entry point -------------------------------------------------------------------------


def _quiet_opencv() -> None:
    """OpenCV logs probing failures (e.g. no webcam) as warnings; the CLI reports them itself."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _words() -> Translate:
    """The CLI's own words in ``ui.language`` (the settings of this command, if they
    could be read; English otherwise: an error may be about the settings themselves)."""
    lazy = _LAZY.get()
    try:
        language = lazy.app.config.ui.language if lazy is not None and lazy.loaded else "en"
    except PacksealError:
        language = "en"
    return translator(language)


def _error(e: PacksealError) -> None:
    _ = _words()
    click.echo(f"{_('error:')} {e.message}", err=True)
    if e.hint:
        click.echo(f"{_('hint:')} {e.hint}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_opencv()
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
