"""config.yaml -> validated settings, once, at the edge.

Every section is a pydantic model with ``extra="forbid"`` and bounds; the station's
slice is :class:`recorder.settings.StationSettings`. Relative paths are relative to the
config file's directory; ``--data-dir`` overrides ``data_dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recorder.settings import StationSettings
from storage import PacksealError

DEFAULT_CONFIG = Path("config.yaml")


class ConfigError(PacksealError):
    """config.yaml is missing or invalid; ``problems`` lists (key path, message)."""

    def __init__(self, message: str, problems: list[tuple[str, str]], *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    database_url: str | None = Field(None, description="null = SQLite file in data_dir")
    blob_dir: Path | None = Field(None, description="null = <data_dir>/blobs")
    min_free_mb: int = Field(1024, ge=0, le=10_000_000)
    retention_days: int = Field(90, ge=1, le=3650)


class MerchantConfig(_Section):
    name: str = Field("Acme Shop", min_length=1, max_length=128)
    id: str = Field("acme", pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    origin: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._~/-]{3,200}$",
        description="log origin; null = packseal.local/<merchant.id>/<station.id>",
    )


class KeysConfig(_Section):
    root: Path | None = Field(
        None, description="merchant root key; null = <data_dir>/keys/root.pem"
    )
    station: Path | None = Field(None, description="null = <data_dir>/keys/station.pem")


class WebConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8470, ge=1, le=65535)
    station_port: int = Field(8471, ge=1, le=65535)


class Config(_Section):
    data_dir: Path = Path("data")
    storage: StorageConfig = StorageConfig()
    merchant: MerchantConfig = MerchantConfig()
    keys: KeysConfig = KeysConfig()
    station: StationSettings = StationSettings()
    web: WebConfig = WebConfig()

    @property
    def origin(self) -> str:
        return self.merchant.origin or f"packseal.local/{self.merchant.id}/{self.station.id}"

    @property
    def database_url(self) -> str:
        return self.storage.database_url or f"sqlite:///{self.data_dir / 'packseal.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.storage.blob_dir or self.data_dir / "blobs"

    @property
    def recordings_dir(self) -> Path:
        """Where the encoder writes segments before they are sealed into the blob store."""
        return self.data_dir / "recordings"

    @property
    def root_key(self) -> Path:
        return self.keys.root or self.data_dir / "keys" / "root.pem"

    @property
    def station_key(self) -> Path:
        return self.keys.station or self.data_dir / "keys" / "station.pem"


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    out = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        found = item.get("input")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and where it is nested)"
        elif not isinstance(found, dict | list):
            message = f"{message} (found {found!r})"
        out.append((where, message))
    return out


def parse_config(
    data: Any, *, base: Path, data_dir: Path | None = None, source: str = "config"
) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping of settings, found {type(data).__name__}",
            [("(top level)", "not a mapping")],
        )
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        problems = _problems(e)
        raise ConfigError(
            f"{source} has {len(problems)} problem(s): "
            + "; ".join(f"{k}: {m}" for k, m in problems),
            problems,
            hint="every key is documented in the project's config.yaml",
        ) from None
    updates: dict[str, Any] = {"data_dir": _resolve(base, data_dir or cfg.data_dir)}
    storage = cfg.storage
    if storage.blob_dir is not None:
        storage = storage.model_copy(update={"blob_dir": _resolve(base, storage.blob_dir)})
    keys = cfg.keys.model_copy(
        update={k: _resolve(base, v) for k, v in cfg.keys.model_dump().items() if v is not None}
    )
    updates.update(storage=storage, keys=keys)
    return cfg.model_copy(update=updates)


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def load_config(path: Path | None = None, *, data_dir: Path | None = None) -> Config:
    """Read and validate ``path`` (default ./config.yaml)."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist",
            [("(file)", "missing")],
            hint="run from the project directory, or pass --config PATH",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"config file {path} is not valid YAML{where}: {getattr(e, 'problem', e)}",
            [("(file)", "invalid YAML")],
        ) from None
    return parse_config(data, base=path.resolve().parent, data_dir=data_dir, source=str(path))
