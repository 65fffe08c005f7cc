"""Shared pieces of the command-line modules: lazy config loading and exact output."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from packseal.app import App
from packseal.config import load_config


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
