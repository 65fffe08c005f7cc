"""What a hub process opens from config: the mirror, the object store, its keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from packseal.accounts import Accounts
from packseal.config import Config, HubServerConfig
from recorder.clock import Clock, SystemClock
from storage import Ed25519Verifier, KeyFileError, PacksealError, generate_key_file
from storage.certs import C2paCredentials, CredentialFiles, issued_by_root, load_credentials
from storage.cosignature import CosignatureSigner
from storage.keys import load_private_key
from storage.mirror import Accepted, Mirror
from storage.note import Signature
from storage.s3blobs import ObjectLock, S3BlobStore, S3Settings


class HubConfigError(PacksealError):
    """The hub is not configured, or its environment lacks what the config names."""


@dataclass(frozen=True, slots=True)
class HubCheck:
    """``packseal config check`` for a hub: each part reached or not, and why."""

    problems: tuple[tuple[str, str], ...]
    lock: ObjectLock | None
    stations: int
    c2pa_signer: str | None = None  # the subject of the hub's C2PA certificate


class Hub:
    def __init__(self, config: Config, env: Mapping[str, str], clock: Clock | None = None) -> None:
        if config.hub_server is None:
            raise HubConfigError(
                "this config has no hub_server section",
                hint="add hub_server (database_url, object_store, merchant_roots) to "
                "config.yaml; see the commented default",
            )
        self.config = config
        self.settings: HubServerConfig = config.hub_server
        self.env = env
        self.clock: Clock = clock or SystemClock()

    def s3_settings(self) -> S3Settings:
        store = self.settings.object_store
        missing = [v for v in (store.access_key_env, store.secret_key_env) if not self.env.get(v)]
        if missing:
            raise HubConfigError(
                f"the object store credentials are not in the environment: {', '.join(missing)}",
                hint="export them before starting the hub (never put them in config.yaml)",
            )
        return S3Settings(
            store.endpoint,
            store.bucket,
            self.env[store.access_key_env],
            self.env[store.secret_key_env],
            region=store.region,
            prefix=store.prefix,
            timeout_seconds=store.timeout_seconds,
        )

    @cached_property
    def blobs(self) -> S3BlobStore:
        return S3BlobStore.connect(self.s3_settings())

    @cached_property
    def mirror(self) -> Mirror:
        roots = [Ed25519Verifier.from_vkey(v) for v in self.settings.merchant_roots]
        return Mirror.open(self.settings.database_url, self.blobs, roots)

    @cached_property
    def accounts(self) -> Accounts:
        """Who may read the hub's pages, tiles and exports (portal accounts, hub database)."""
        return Accounts(self.mirror.engine)

    @cached_property
    def cosigner(self) -> CosignatureSigner:
        """The hub's witness key: it cosigns every checkpoint it accepted."""
        path = self.config.hub_witness_key
        key = load_private_key(path) if path.exists() else generate_key_file(path)
        return CosignatureSigner(self.witness_name, key)

    @cached_property
    def c2pa(self) -> C2paCredentials | None:
        """The hub's own C2PA signing certificate (``hub_server.c2pa``), None without one;
        it signs clip.c2pa.mp4 in exports of stations whose bundles carry C2PA."""
        cfg = self.settings.c2pa
        if cfg is None:
            return None
        files = CredentialFiles(cfg.chain.parent / "c2pa-ca.pem", cfg.chain, cfg.key)
        creds = load_credentials(
            files,
            issue_hint="issue it where the merchant root key is: `packseal keys x509-hub "
            "--out DIR`, then copy DIR to the hub",
        )
        roots = [Ed25519Verifier.from_vkey(v).public_key for v in self.settings.merchant_roots]
        if not issued_by_root(creds, roots):
            raise KeyFileError(
                f"{cfg.chain} is not issued by the C2PA CA of a merchant root in "
                "hub_server.merchant_roots: reviewers' trust files would not trust it",
                hint="issue the hub's certificate with `packseal keys x509-hub` where the "
                "merchant root key is",
            )
        return creds

    @property
    def witness_name(self) -> str:
        return self.settings.witness_name or f"packseal-hub/{self.config.merchant.id}"

    def cosign(self, accepted: Accepted) -> Signature:
        """The hub's cosignature of an accepted checkpoint: stored before it is answered
        (as a witness must), and the same one again for a repeated push, so the station's
        copy and the hub's are one signature and their exports stay byte-identical."""
        anchors = self.mirror.anchors_of(accepted.checkpoint.origin)
        me = self.cosigner.verifier
        for sig in anchors.cosignatures(accepted.size):
            if (sig.name, sig.key_id) == (me.name, me.key_id):
                if me.verify(accepted.text.encode("utf-8"), sig.signature):
                    return sig
                # Kept by a hub before 1ddbfe8, over an older checkpoint's body: it is
                # signed again, or every station would be given it (and refused) for ever.
                anchors.drop_cosignature(accepted.size, sig.name, sig.key_id)
        sig = self.cosigner.cosign(accepted.text, self.clock.now_ms() // 1000)
        anchors.add_cosignatures(accepted.size, [sig], self.clock.now_ms())
        return sig

    def close(self) -> None:
        if "blobs" in self.__dict__:
            self.blobs.client.close()
            del self.__dict__["blobs"]
        self.__dict__.pop("accounts", None)
        if "mirror" in self.__dict__:
            self.mirror.close()
            del self.__dict__["mirror"]

    def check(self) -> HubCheck:
        """Reach every part the config names; report each problem with its key path."""
        problems: list[tuple[str, str]] = []
        lock: ObjectLock | None = None
        stations = 0
        try:
            lock = self.blobs.lock()
        except PacksealError as e:
            problems.append(("hub_server.object_store", e.message))
        try:
            stations = len(self.mirror.stations())
        except PacksealError as e:
            problems.append(("hub_server.database_url", e.message))
        try:
            self.cosigner  # noqa: B018 (loads or creates the key file: 0600)
        except KeyFileError as e:
            problems.append(("hub_server.witness_key", e.message))
        signer = None
        try:
            creds = self.c2pa
        except KeyFileError as e:
            problems.append(("hub_server.c2pa", e.message))
        else:
            signer = None if creds is None else creds.certificate.subject.rfc4514_string()
        return HubCheck(tuple(problems), lock, stations, signer)


def station_token(config: Config, env: Mapping[str, str]) -> str:
    """A station's hub token: from config, or from the variable ``hub.token_env`` names."""
    link = config.hub
    if link is None:
        raise HubConfigError(
            "this station has no hub: section", hint="add hub: {url, token} to config.yaml"
        )
    if link.token is not None:
        return link.token
    token = env.get(link.token_env or "")
    if not token:
        raise HubConfigError(
            f"hub.token_env names {link.token_env}, which is not set",
            hint="export the token the hub printed at `packseal hub enrol`",
        )
    return token


__all__ = ["Hub", "HubCheck", "HubConfigError", "station_token"]
