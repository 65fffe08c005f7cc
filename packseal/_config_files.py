"""Which settings file a command uses when none is named, and writing a fresh one.

Without ``--config``, in this order: ``$PACKSEAL_CONFIG``; ``./config.yaml``; the
per-user file ``$XDG_CONFIG_HOME/packseal/config.yaml`` (``~/.config/...``); else the
built-in defaults (every key has one) with the per-user data directory
``$XDG_DATA_HOME/packseal`` (``~/.local/share/packseal``), so an installed ``packseal``
works from any directory. The environment and the working directory are parameters:
the CLI passes ``os.environ`` and ``Path.cwd()``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from packseal.config import DEFAULT_CONFIG, Config, ConfigError, load_config, parse_config

__all__ = [
    "CONFIG_ENV",
    "ConfigLocation",
    "locate_config",
    "template",
    "user_config_path",
    "user_data_dir",
    "write_template",
]

CONFIG_ENV = "PACKSEAL_CONFIG"
Found = Literal["--config", "PACKSEAL_CONFIG", "./config.yaml", "per-user", "defaults"]


def user_config_path(env: Mapping[str, str], home: Path) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base) / "packseal" / "config.yaml"


def user_data_dir(env: Mapping[str, str], home: Path) -> Path:
    base = env.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(base) / "packseal"


@dataclass(frozen=True, slots=True)
class ConfigLocation:
    """The settings file a command reads (``path`` None: the built-in defaults)."""

    path: Path | None
    found: Found
    data_dir: Path  # the per-user data directory, used when no file is found

    def describe(self) -> str:
        if self.path is None:
            return f"built-in defaults (no config file; data in {self.data_dir})"
        return f"{self.path} ({self.found})"

    def load(self, *, data_dir: Path | None = None) -> Config:
        if self.path is not None:
            return load_config(self.path, data_dir=data_dir)
        return parse_config(
            {}, base=self.data_dir, data_dir=data_dir or self.data_dir, source="defaults"
        )

    @property
    def demo_dir(self) -> Path:
        """Where ``packseal demo`` keeps its store: beside a file the user pointed at or
        is standing next to; else in the per-user data directory."""
        if self.path is not None and self.found != "per-user":
            return self.path.resolve().parent / "demo-data"
        return self.data_dir / "demo-data"


def locate_config(
    explicit: Path | None, *, cwd: Path, env: Mapping[str, str], home: Path
) -> ConfigLocation:
    data = user_data_dir(env, home)
    if explicit is not None:
        return ConfigLocation(explicit, "--config", data)
    named = env.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV} names {path}, which is not a file",
                [("(file)", "missing")],
                hint=f"unset {CONFIG_ENV}, or write one there with `packseal config init {path}`",
            )
        return ConfigLocation(path, "PACKSEAL_CONFIG", data)
    here = cwd / DEFAULT_CONFIG
    if here.is_file():
        return ConfigLocation(here, "./config.yaml", data)
    user = user_config_path(env, home)
    if user.is_file():
        return ConfigLocation(user, "per-user", data)
    return ConfigLocation(None, "defaults", data)


def template() -> str:
    """The commented settings file, every key at its default (the repository's
    config.yaml, shipped with the package)."""
    return resources.files("packseal").joinpath("default_config.yaml").read_text("utf-8")


_DATA_LINE = "data_dir: data\n"


def write_template(path: Path, *, data_dir: Path | None = None, force: bool = False) -> None:
    """Write :func:`template` to ``path``; ``data_dir`` replaces its relative ``data``
    (a per-user file keeps its data under XDG_DATA_HOME, not beside the settings)."""
    text = template()
    if data_dir is not None:
        if _DATA_LINE not in text:
            raise AssertionError("the shipped config.yaml lost its `data_dir: data` line")
        # JSON strings are YAML scalars: a path with spaces or colons stays one value
        text = text.replace(_DATA_LINE, f"data_dir: {json.dumps(str(data_dir))}\n", 1)
    if path.exists() and not force:
        raise ConfigError(
            f"{path} already exists",
            [("(file)", "exists")],
            hint="check it with `packseal config check`, or pass --force to replace it",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
