"""`packseal --help` lists the commands without importing them (FastAPI, OpenCV: ~2.5 s),
and the list is the one the commands' own help would give."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from packseal.cli import COMMANDS, SUMMARIES, cli


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_the_command_list_is_the_one_the_commands_help_gives(width: int) -> None:
    assert SUMMARIES.keys() == COMMANDS.keys()
    ctx = click.Context(cli)
    ours = click.HelpFormatter(width=width)
    cli.format_commands(ctx, ours)
    theirs = click.HelpFormatter(width=width)
    click.Group.format_commands(cli, ctx, theirs)  # imports each command and reads its help
    assert ours.getvalue() == theirs.getvalue()


def test_help_imports_no_command() -> None:
    code = (
        "import sys; from packseal.cli import main; main(['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('packseal._cli_') "
        "or m.split('.')[0] in ('cv2', 'fastapi', 'numpy')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "verify-page" in done.stdout
    assert done.stderr.strip() == "[]", done.stderr
