"""What the CLI and the web share: a config, its store and its keys, opened lazily."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from packseal.claims import report_dir
from packseal.config import Config
from recorder.anchor import Anchorer, AnchorSettings, WitnessTarget
from recorder.clock import Clock, SystemClock
from storage import (
    Ed25519Signer,
    KeyFileError,
    LogStateError,
    StationKey,
    Store,
    StoredCheckpoint,
    TrustedLog,
    TrustFile,
    WriterInfo,
    WriterLock,
    generate_key_file,
    load_signer,
)
from storage.certs import C2paCredentials, CredentialFiles, load_credentials, write_credentials
from storage.cosignature import CosignatureVerifier
from storage.db import connect, migrate
from storage.entries import Clip, KeyRevocation, parse_as
from storage.keyhistory import key_entries, trusted_logs
from storage.rootlogs import CertifiedLog, certified_logs, record_certified_log, registry_path
from storage.trust import TrustedWitness
from verifier.bundle import ExportPolicy, ExportResult, export_bundle

if TYPE_CHECKING:
    from verifier.bundle import ExportProgress, SheetMaker


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
        self._writer: WriterLock | None = None

    def hold_writer(self, command: str) -> WriterLock:
        """Become this store's one writer until :meth:`close` (or the process ends).

        Raises :class:`storage.StoreBusyError` at once, naming the holder, if another
        process records into the same data directory.
        """
        if self._writer is None:
            info = WriterInfo(os.getpid(), self.clock.now_ms(), command)
            self._writer = WriterLock.acquire(self.config.data_dir / "writer.lock", info)
        return self._writer

    @cached_property
    def store(self) -> Store:
        cfg = self.config
        database = cfg.default_database
        if database is not None and not database.exists():
            # Opening would create an empty database (and its directories): a command that
            # reads must say where it looked instead of answering from an empty store.
            raise LogStateError(
                f"no packseal store in {cfg.data_dir} (no {database.name} there)",
                hint="run `packseal init` to create one there, or point --data-dir, "
                "--config or PACKSEAL_CONFIG at an existing store",
            )
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

    @cached_property
    def web_database(self) -> Engine:
        """An engine over the store's database for the web face's own tables (accounts,
        sessions, custody, audit runs; :mod:`packseal.accounts`). The store's own
        engine stays private to the store."""
        hub = self.config.hub_server
        if hub is not None:
            # A hub's accounts live in its PostgreSQL beside the mirrored logs: the same
            # `packseal users` commands and portal login serve it.
            engine = connect(hub.database_url)
            migrate(engine)
            return engine
        _ = self.store  # opening the store migrates the database, web tables included
        return connect(self.config.database_url)

    def close(self) -> None:
        if "web_database" in self.__dict__:
            self.web_database.dispose()
            del self.__dict__["web_database"]
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]
        if self._writer is not None:
            self._writer.release()
            self._writer = None

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
            created_log = store.size() == 0
            recorded = [g for g in certified_logs(cfg.root_key) if g.origin == cfg.origin]
            where = str(make_url(cfg.database_url))  # str() masks a password
            if created_log and recorded:
                raise LogStateError(
                    f"the root key {cfg.root_key} already certified a log named "
                    f"{cfg.origin} (in {recorded[0].database}, station key "
                    f"{recorded[0].vkey}); a second log with that origin would be a fork "
                    "that every verifier of the first would accept",
                    hint="point this config at that log's database (or restore it from a "
                    "backup), or give this station its own station.id (a new origin); the "
                    f"certified logs are listed in {registry_path(cfg.root_key)}",
                )
            if created_log:
                entry = StationKey(
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
                history = key_entries(store)
                certified = [e for _, e in history if isinstance(e, StationKey)]
                if station.verifier.vkey not in {e.vkey for e in certified}:
                    first = certified[0].vkey if certified else "none"
                    raise LogStateError(
                        f"the log {cfg.origin} was started with station key {first}, "
                        f"but {cfg.station_key} holds {station.verifier.vkey}",
                        hint="use the key this store was created with, or a new data_dir",
                    )
            if not recorded:  # a new log, or one certified before the registry existed
                record_certified_log(
                    cfg.root_key,
                    CertifiedLog(cfg.origin, station.verifier.vkey, where, self.clock.now_ms()),
                )
            checkpoint = store.sign_checkpoint(station, self.clock.now_ms())
        finally:
            store.close()
        return InitResult(cfg.origin, tuple(created), created_log, checkpoint)

    def certification(self, clip: str | None = None) -> tuple[int, StationKey]:
        """The log entry in which the merchant root certified this station's key, or (with
        ``clip``, an order or clip id) the key that signed that clip: after a rotation,
        older clips carry the old key's certification."""
        wanted = self.station_signer.verifier.vkey
        if clip is not None:
            row = self.store.find_clip(clip)
            signed_by = parse_as(Clip, self.store.entry(row.idx)).key
            for _, entry in key_entries(self.store):
                v = entry.station_verifier() if isinstance(entry, StationKey) else None
                if v is not None and f"{v.name}+{v.key_id:08x}" == signed_by:
                    wanted = entry.vkey
        for index, entry in reversed(key_entries(self.store)):
            if isinstance(entry, StationKey) and entry.vkey == wanted:
                return index, entry
        raise LogStateError(
            f"the log {self.config.origin} has no station-key entry for the configured key",
            hint="run `packseal init`",
        )

    def trust_file(self) -> TrustFile:
        """The trust file to publish: keys from the log's history, and the requirements
        (time-stamps, witnesses, C2PA) this station is configured to meet."""
        cfg = self.config
        logs = trusted_logs(self.store) or (
            TrustedLog(cfg.origin, self.station_signer.verifier.vkey, cfg.station.id),
        )
        witnesses = tuple(TrustedWitness(w.vkey) for w in cfg.witnesses)
        c2pa_ca = CredentialFiles.under(cfg.keys_dir).ca
        return TrustFile(
            merchant=cfg.merchant.name,
            root=self.root_signer.verifier.vkey,
            logs=logs,
            tsa_roots=_pems(cfg.time.tsa_roots),
            witnesses=witnesses,
            witness_quorum=min(cfg.trust.witness_quorum, len(witnesses)),
            c2pa_roots=(c2pa_ca.read_text(),) if cfg.c2pa.enabled and c2pa_ca.exists() else (),
            require_live_source=cfg.trust.require_live_source,
        )

    # -- anchoring and Content Credentials (issue 6) -------------------------------------

    def anchor_settings(self) -> AnchorSettings:
        t = self.config.time
        return AnchorSettings(
            tsa_urls=t.tsa_urls,
            tsa_roots=_pems(t.tsa_roots),
            witnesses=tuple(WitnessTarget(w.url, w.vkey) for w in self.config.witnesses),
            timeout_seconds=t.timeout_seconds,
            retry_seconds=t.retry_seconds,
            max_retry_seconds=t.max_retry_seconds,
            drain_seconds=t.drain_seconds,
        )

    def anchorer(self) -> Anchorer | None:
        settings = self.anchor_settings()
        return Anchorer(self.store, settings, self.clock) if settings.enabled else None

    def witness_names(self) -> tuple[str, ...]:
        return tuple(CosignatureVerifier.from_vkey(w.vkey).name for w in self.config.witnesses)

    def verify_url(self) -> str | None:
        """Where reviewers verify in a browser: ``trust.verify_url``, else the portal's
        ``/verify`` page at ``web.public_url`` (served without login), else unknown."""
        if self.config.trust.verify_url:
            return self.config.trust.verify_url
        public = self.config.web.public_url
        return None if public is None else public.rstrip("/") + "/verify"

    def export_policy(self) -> ExportPolicy:
        """What a bundle must carry to meet the trust file :meth:`trust_file` publishes."""
        names = self.witness_names()
        return ExportPolicy(
            c2pa=self.c2pa_credentials(),
            witnesses=names,
            quorum=min(self.config.trust.witness_quorum, len(names)),
            stamped=bool(self.config.time.tsa_urls),
            verify_url=self.verify_url(),
            language=self.config.ui.language,
        )

    def export(
        self,
        clip: str,
        out: Path,
        *,
        excerpt: tuple[float, float] | None = None,
        max_bytes: int | None = None,
        zone: dt.tzinfo | None = None,
        make_sheet: SheetMaker | None = None,
        progress: ExportProgress | None = None,
        claim: str | None = None,
    ) -> ExportResult:
        """Write the evidence bundle of ``clip`` (a clip id, or an order's newest clip).

        ``claim`` adds a claim check's report: its directory, or the id of a check kept
        for this clip (:func:`packseal.claims.report_dir`).

        The one export path (CLI, portal, demo): the bundle carries what this station's
        trust file requires (:meth:`export_policy`) and the certification of the key that
        signed the clip, also after a rotation. When no signed checkpoint covers the clip
        yet (a station that stopped between sealing and signing), the station key signs
        one now: signing is the station's act, never the verifier's.
        """
        store = self.store
        row = store.find_clip(clip)
        covering = store.latest_checkpoint()
        if covering is None or covering.size <= row.idx:
            store.sign_checkpoint(self.station_signer, self.clock.now_ms())
        return export_bundle(
            store,
            self.certification(row.clip_id),
            row.clip_id,
            out,
            policy=self.export_policy(),
            excerpt=excerpt,
            max_bytes=max_bytes,
            zone=zone,
            make_sheet=make_sheet,
            progress=progress,
            claim=None
            if claim is None
            else report_dir(self.config.data_dir / "claims", row.clip_id, claim),
        )

    def c2pa_credentials(self) -> C2paCredentials | None:
        if not self.config.c2pa.enabled:
            return None
        return load_credentials(CredentialFiles.under(self.config.keys_dir))

    def issue_c2pa(self) -> tuple[CredentialFiles, C2paCredentials]:
        """Issue the merchant CA (once) and this station's C2PA certificate."""
        cfg = self.config
        files = CredentialFiles.under(cfg.keys_dir)
        now = dt.datetime.fromtimestamp(self.clock.now_ms() / 1000, dt.UTC)
        creds = write_credentials(
            files,
            self.root_signer.private_key,
            alg=cfg.c2pa.alg,
            station=cfg.station.id,
            merchant=cfg.merchant.name,
            now=now,
        )
        return files, creds

    def issue_hub_c2pa(self, out: Path, hub: str) -> tuple[CredentialFiles, C2paCredentials]:
        """Issue a C2PA signing certificate for the hub named ``hub`` under the merchant
        CA (issued once, as for :meth:`issue_c2pa`); its key and chain go to ``out``, for
        the hub's ``hub_server.c2pa``. The hub signs clip.c2pa.mp4 in its exports of
        C2PA stations with it: a station's own C2PA key never leaves the station."""
        cfg = self.config
        ca = CredentialFiles.under(cfg.keys_dir).ca
        files = CredentialFiles(ca, out / "hub-c2pa-chain.pem", out / "hub-c2pa.key")
        now = dt.datetime.fromtimestamp(self.clock.now_ms() / 1000, dt.UTC)
        creds = write_credentials(
            files,
            self.root_signer.private_key,
            alg=cfg.c2pa.alg,
            station=hub,
            merchant=cfg.merchant.name,
            now=now,
        )
        return files, creds

    def rotate_station_key(
        self, reason: str = "rotated", after: int | None = None
    ) -> tuple[int, StationKey, KeyRevocation]:
        """Retire the station key and certify a new one, both by the merchant root.

        The old key file is kept as ``<name>.<key id>.retired`` (0600): it signed
        evidence. Its signatures after ``after`` (default: the last entry before this
        rotation) stop counting; the new key signs from here on.
        """
        cfg = self.config
        old = self.station_signer
        store = self.store
        size = store.size()
        after = size - 1 if after is None else after
        if not 0 <= after < size:
            raise ValueError(f"--after must be a log index below {size}, got {after}")
        retired = cfg.station_key.with_name(
            f"{cfg.station_key.name}.{old.verifier.key_id:08x}.retired"
        )
        os.replace(cfg.station_key, retired)
        generate_key_file(cfg.station_key)
        del self.__dict__["station_signer"]
        new = self.station_signer
        now = self.clock.now_ms()
        root = self.root_signer
        certify = StationKey(
            time=now,
            origin=cfg.origin,
            station=cfg.station.id,
            station_name=cfg.station.name,
            merchant=cfg.merchant.name,
            vkey=new.verifier.vkey,
            root=root.verifier.vkey,
        ).certified_by(root)
        revoke = KeyRevocation(
            time=now,
            origin=cfg.origin,
            vkey=old.verifier.vkey,
            after=after,
            reason=reason,  # type: ignore[arg-type]
            root=root.verifier.vkey,
        ).certified_by(root)
        appended = store.append([certify, revoke])
        store.sign_checkpoint(new, now)
        return appended[0].index, certify, revoke


def _pems(paths: tuple[Path, ...]) -> tuple[str, ...]:
    out = []
    for path in paths:
        try:
            out.append(path.read_text())
        except OSError as e:
            raise KeyFileError(
                f"TSA root certificate {path} cannot be read: {e.strerror}",
                hint="time.tsa_roots in config.yaml lists PEM files of the TSAs' roots",
            ) from e
    return tuple(out)
