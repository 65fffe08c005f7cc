"""Commands: replay (see the module that defines them)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
