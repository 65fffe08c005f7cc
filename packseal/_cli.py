"""Shared pieces of the command-line modules: lazy config loading and exact output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from packseal._config_files import ConfigLocation, locate_config
from packseal.app import App


class Lazy:
    """The config and app, loaded only when a command needs them."""

    def __init__(self, config_path: Path | None, data_dir: Path | None) -> None:
        self.config_path = config_path  # --config, if given
        self.data_dir = data_dir
        self._app: App | None = None
        self._location: ConfigLocation | None = None

    @property
    def location(self) -> ConfigLocation:
        """The settings file this command reads (see packseal/_config_files.py)."""
        if self._location is None:
            self._location = locate_config(
                self.config_path, cwd=Path.cwd(), env=os.environ, home=Path.home()
            )
        return self._location

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = App(self.location.load(data_dir=self.data_dir))
        return self._app

    @property
    def loaded(self) -> bool:
        return self._app is not None

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_lazy = click.make_pass_decorator(Lazy)


def out(data: bytes | str) -> None:
    """Write exactly these bytes to stdout (standard formats must not gain newlines)."""
    raw = data.encode() if isinstance(data, str) else data
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()
