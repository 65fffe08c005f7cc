"""Shared pieces of the command-line modules: lazy config loading and exact output."""

from __future__ import annotations

import os
import sys
import unicodedata
from pathlib import Path

import click

from packseal._config_files import ConfigLocation, locate_config
from packseal.app import App
from packseal.config import Config
from packseal.i18n import Language, language_from_env, said, translator
from storage import PacksealError


class Lazy:
    """The config and app, loaded only when a command needs them."""

    def __init__(self, config_path: Path | None, data_dir: Path | None) -> None:
        self.config_path = config_path  # --config, if given
        self.data_dir = data_dir
        self._app: App | None = None
        self._location: ConfigLocation | None = None
        self._language: Language | None = None

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

    @property
    def language(self) -> Language:
        """The CLI's language: ``ui.language`` when the settings file names it, else the
        locale (LC_ALL, LC_MESSAGES, LANG), else English. Settings that cannot be read
        give English: the error about them must be readable whatever they say."""
        if self._language is None:
            try:
                self._language = self._find_language()
            except (PacksealError, OSError):
                self._language = "en"
        return self._language

    def _find_language(self) -> Language:
        config: Config | None = None
        if self._app is not None:
            config = self._app.config
        elif self.location.path is not None:  # a command that reads no settings (verify)
            config = self.location.load(data_dir=self.data_dir)
        if config is not None and "language" in config.ui.model_fields_set:
            return config.ui.language
        return language_from_env(os.environ) or "en"

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_lazy = click.make_pass_decorator(Lazy)


class Words:
    """The CLI's words in one language: ``w("order")`` for its own texts (ids in
    :mod:`packseal._zh_cn`), ``w.said(text)`` for a text the library made."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._ = translator(language)

    def __call__(self, text: str, /, **values: object) -> str:
        return self._(text, **values)

    def said(self, text: str) -> str:
        return said(text, self.language)


def words() -> Words:
    """The words of the running command (English outside one)."""
    ctx = click.get_current_context(silent=True)
    lazy = None if ctx is None else ctx.find_object(Lazy)
    return Words("en" if lazy is None else lazy.language)


def out(data: bytes | str) -> None:
    """Write exactly these bytes to stdout (standard formats must not gain newlines)."""
    raw = data.encode() if isinstance(data, str) else data
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()


def pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a CJK character takes two)."""
    cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cells)
