"""config.yaml -> validated settings, once, at the edge.

Every section is a pydantic model with ``extra="forbid"`` and bounds; the station's
slice is :class:`recorder.settings.StationSettings`. Relative paths are relative to the
config file's directory; ``--data-dir`` overrides ``data_dir``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from recorder.settings import StationSettings
from storage import PacksealError
from storage.redact import redact

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


class ClaimsConfig(_Section):
    # Buyer photos are personal data: kept for the dispute, not for ever. A dispute is
    # decided within weeks of the claim; the report (without the originals) stays.
    keep_photos_days: int = Field(
        30, ge=1, le=3650, description="days the buyer photos of a claim check are kept"
    )


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
    station_host: str = Field("127.0.0.1", description="the station screen's address")
    station_token: str | None = Field(
        None,
        min_length=16,
        max_length=128,
        description="required by the station screen off loopback; null = generated at start",
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    max_body_kb: int = Field(64, ge=1, le=1_048_576, description="larger request bodies: 413")
    tls_cert: Path | None = Field(None, description="PEM certificate: serve HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    public_url: str | None = Field(
        None,
        max_length=512,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="the portal as reviewers reach it (share links; the verify page is "
        "<public_url>/verify); null = http(s)://host:port",
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        max_length=64,
        description="addresses/networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty = nobody's (the connecting address counts)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"a trusted proxy is an IP address or network (10.0.0.5, 10.0.0.0/24, "
                    f"::1), found {item!r}"
                ) from None
        return value


class TimeConfig(_Section):
    tsa_urls: tuple[str, ...] = Field(
        (), description="RFC 3161 TSAs that time-stamp every checkpoint; empty = off"
    )
    tsa_roots: tuple[Path, ...] = Field(
        (), description="PEM files of those TSAs' root certificates (for the trust file)"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    retry_seconds: float = Field(2.0, gt=0, le=3600, description="first retry; then doubles")
    max_retry_seconds: float = Field(300.0, gt=0, le=86_400)
    drain_seconds: float = Field(5.0, ge=0, le=300, description="wait at shutdown")

    @field_validator("tsa_urls")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"a TSA URL must be http(s)://..., found {url!r}")
        return value


class WitnessConfig(_Section):
    url: str = Field(..., pattern=r"^https?://", description="submission prefix")
    vkey: str = Field(..., description="the witness's cosignature verifier key (type 0x04)")

    @field_validator("vkey")
    @classmethod
    def _vkey(cls, value: str) -> str:
        from storage import FormatError
        from storage.cosignature import CosignatureVerifier

        try:
            CosignatureVerifier.from_vkey(value)
        except FormatError as e:
            raise ValueError(e.message) from e
        return value


class C2paConfig(_Section):
    enabled: bool = Field(False, description="exports carry clip.c2pa.mp4")
    alg: Literal["es256", "ed25519"] = "es256"


class TrustConfig(_Section):
    witness_quorum: int = Field(
        1, ge=0, le=16, description="cosignatures the published trust file asks for"
    )
    verify_url: str | None = Field(
        None,
        pattern=r"^https?://[!-~]{1,300}$",
        description="the published verify page; READMEs and sheets point reviewers to it",
    )
    require_live_source: bool = Field(
        False,
        description="the published trust file accepts only footage from a camera or an "
        "RTSP stream (not an imported file or the demo)",
    )


class HubLinkConfig(_Section):
    """A station's link to its hub (issue 9): where to push, and how often."""

    url: str = Field(..., pattern=r"^https?://[^\s]+$", description="the hub's address")
    token: str | None = Field(
        None, min_length=20, max_length=200, description="from `packseal hub enrol STATION`"
    )
    token_env: str | None = Field(
        None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="or: the variable that holds it"
    )
    push_interval_seconds: float = Field(5.0, gt=0, le=3600)
    retry_seconds: float = Field(2.0, gt=0, le=3600, description="first retry; then doubles")
    max_retry_seconds: float = Field(300.0, gt=0, le=86_400)
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    batch_entries: int = Field(1024, ge=1, le=4096)

    @model_validator(mode="after")
    def _one_token(self) -> HubLinkConfig:
        if (self.token is None) == (self.token_env is None):
            raise ValueError("give exactly one of token and token_env")
        return self


class ObjectStoreConfig(_Section):
    endpoint: str = Field(..., pattern=r"^https?://[^\s]+$")
    bucket: str = Field(..., pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"
    prefix: str = Field("blobs/", max_length=200)
    access_key_env: str = Field("PACKSEAL_S3_ACCESS_KEY_ID", pattern=r"^[A-Z_][A-Z0-9_]*$")
    secret_key_env: str = Field("PACKSEAL_S3_SECRET_ACCESS_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout_seconds: float = Field(10.0, gt=0, le=300)


class HubC2paConfig(_Section):
    """The hub's own C2PA signing certificate, issued under the merchant's C2PA CA by
    ``packseal keys x509-hub`` where the merchant root key is (the hub never holds a
    station's key)."""

    chain: Path = Field(..., description="the hub's certificate, then the merchant CA (PEM)")
    key: Path = Field(..., description="the hub's C2PA private key (PEM, mode 0600)")


class HubServerConfig(_Section):
    """The hub itself (issue 9): PostgreSQL, an object store, the roots it trusts."""

    database_url: str = Field(..., pattern=r"^postgresql(\+psycopg)?://")
    object_store: ObjectStoreConfig
    merchant_roots: tuple[str, ...] = Field(..., min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(8475, ge=1, le=65535)
    witness_key: Path | None = Field(
        None, description="the hub's cosigning key; null = <data_dir>/keys/hub-witness.pem"
    )
    witness_name: str | None = Field(None, pattern=r"^[^\s+]{1,200}$")
    max_push_mb: int = Field(64, ge=1, le=1024)
    c2pa: HubC2paConfig | None = Field(
        None,
        description="signs clip.c2pa.mp4 in exports of stations with c2pa.enabled; "
        "without it the hub refuses to export their clips",
    )

    @field_validator("merchant_roots")
    @classmethod
    def _roots(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from storage import Ed25519Verifier, FormatError

        for vkey in value:
            try:
                Ed25519Verifier.from_vkey(vkey)
            except FormatError as e:
                raise ValueError(f"{vkey[:40]!r}: {e.message}") from e
        return value


class UiConfig(_Section):
    language: Literal["en", "zh-CN"] = Field(
        "en",
        description="the station screen, the portal, sheets and the CLI; pages follow "
        "the browser's Accept-Language when it names one of these",
    )


class Config(_Section):
    data_dir: Path = Path("data")
    storage: StorageConfig = StorageConfig()
    claims: ClaimsConfig = ClaimsConfig()
    merchant: MerchantConfig = MerchantConfig()
    keys: KeysConfig = KeysConfig()
    station: StationSettings = StationSettings()
    web: WebConfig = WebConfig()
    time: TimeConfig = TimeConfig()
    witnesses: tuple[WitnessConfig, ...] = ()
    c2pa: C2paConfig = C2paConfig()
    trust: TrustConfig = TrustConfig()
    ui: UiConfig = UiConfig()
    hub: HubLinkConfig | None = None
    hub_server: HubServerConfig | None = None

    @property
    def origin(self) -> str:
        return self.merchant.origin or f"packseal.local/{self.merchant.id}/{self.station.id}"

    @property
    def database_url(self) -> str:
        return self.storage.database_url or f"sqlite:///{self.default_database}"

    @property
    def default_database(self) -> Path | None:
        """The SQLite file in data_dir, unless storage.database_url names a database."""
        return None if self.storage.database_url else self.data_dir / "packseal.db"

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

    @property
    def hub_witness_key(self) -> Path:
        """The hub's cosigning key (a tlog witness key; see packseal/hub)."""
        hub = self.hub_server
        return (hub.witness_key if hub else None) or self.data_dir / "keys" / "hub-witness.pem"

    @property
    def keys_dir(self) -> Path:
        """Where the C2PA certificates and key live: beside the station key."""
        return self.station_key.parent


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    out = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        found = item.get("input")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and where it is nested)"
        elif item["type"] == "missing" and item["loc"][-1:] == ("view",):
            message = "missing: every camera under station.cameras needs a view name, e.g. top"
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")  # the message says what is wrong
        if item["type"] != "extra_forbidden" and not isinstance(found, dict | list):
            message = f"{message} (found {redact(repr(found))})"  # a camera URL's password
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
    web = cfg.web.model_copy(
        update={
            k: _resolve(base, getattr(cfg.web, k))
            for k in ("tls_cert", "tls_key")
            if getattr(cfg.web, k) is not None
        }
    )
    time = cfg.time.model_copy(
        update={"tsa_roots": tuple(_resolve(base, p) for p in cfg.time.tsa_roots)}
    )
    updates.update(storage=storage, keys=keys, web=web, time=time)
    hub = cfg.hub_server
    if hub is not None and hub.witness_key is not None:
        hub = hub.model_copy(update={"witness_key": _resolve(base, hub.witness_key)})
    if hub is not None and hub.c2pa is not None:
        c2pa = HubC2paConfig(chain=_resolve(base, hub.c2pa.chain), key=_resolve(base, hub.c2pa.key))
        hub = hub.model_copy(update={"c2pa": c2pa})
    if hub is not cfg.hub_server:
        updates["hub_server"] = hub
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
