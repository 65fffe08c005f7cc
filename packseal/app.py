"""What the CLI and the web share: a config, its store and its keys, opened lazily."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packseal.config import Config
from recorder.clock import Clock, SystemClock
from storage import (
    Ed25519Signer,
    LogStateError,
    StationKey,
    Store,
    StoredCheckpoint,
    TrustedLog,
    TrustFile,
    generate_key_file,
    load_signer,
)
from storage.entries import GENESIS, parse_as


@dataclass(frozen=True, slots=True)
class InitResult:
    origin: str
    created_keys: tuple[str, ...]
    created_log: bool
    checkpoint: StoredCheckpoint


class App:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()

    @cached_property
    def store(self) -> Store:
        cfg = self.config
        return Store.open(
            cfg.database_url,
            cfg.blob_dir,
            cfg.origin,
            min_free_bytes=cfg.storage.min_free_mb << 20,
        )

    @cached_property
    def station_signer(self) -> Ed25519Signer:
        return load_signer(self.config.station_key, self.config.origin)

    @cached_property
    def root_signer(self) -> Ed25519Signer:
        return load_signer(self.config.root_key, self.config.merchant.id)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]

    def init(self) -> InitResult:
        """Create keys, database and log; certify the station key. Safe to run again."""
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        created = []
        for label, path in (("root", cfg.root_key), ("station", cfg.station_key)):
            if not path.exists():
                generate_key_file(path)
                created.append(label)
        store = Store.open(
            cfg.database_url, cfg.blob_dir, cfg.origin, create=True, min_free_bytes=0
        )
        try:
            station = self.station_signer
            created_log = store.log.size() == 0
            if created_log:
                entry = StationKey(
                    prev=GENESIS,
                    time=self.clock.now_ms(),
                    origin=cfg.origin,
                    station=cfg.station.id,
                    station_name=cfg.station.name,
                    merchant=cfg.merchant.name,
                    vkey=station.verifier.vkey,
                    root=self.root_signer.verifier.vkey,
                ).certified_by(self.root_signer)
                store.append([entry])
            else:
                first = parse_as(StationKey, store.log.entry(0))
                if first.vkey != station.verifier.vkey:
                    raise LogStateError(
                        f"the log {cfg.origin} was started with station key {first.vkey}, "
                        f"but {cfg.station_key} holds {station.verifier.vkey}",
                        hint="use the key this store was created with, or a new data_dir",
                    )
            checkpoint = store.log.sign_checkpoint(station, self.clock.now_ms())
        finally:
            store.close()
        return InitResult(cfg.origin, tuple(created), created_log, checkpoint)

    def certification(self) -> tuple[int, StationKey]:
        """The log entry in which the merchant root certified this station's key."""
        signer = self.station_signer
        for index, data in self.store.log.iter_entries(0, 64):
            if b'"kind":"station-key"' in data:
                entry = parse_as(StationKey, data)
                if entry.vkey == signer.verifier.vkey:
                    return index, entry
        raise LogStateError(
            f"the log {self.config.origin} has no station-key entry for the configured key",
            hint="run `packseal init`",
        )

    def trust_file(self) -> TrustFile:
        cfg = self.config
        return TrustFile(
            merchant=cfg.merchant.name,
            root=self.root_signer.verifier.vkey,
            logs=(TrustedLog(cfg.origin, self.station_signer.verifier.vkey, cfg.station.id),),
        )
