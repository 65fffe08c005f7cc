"""Session fixtures for the verifier: one real recording, its bundles, and the attack context.

The recording is the demo source through the real station and ffmpeg (~5 s); bundles are
real exports of it (each ~2 s, most of it the sheet's PNG). Everything here is made once
per session and must not be modified: a test that tampers copies first. CLI tests reuse
these fixtures by importing them (``tests/packseal/test_cli_evidence.py``); the memo below
makes that the same recording, not a second one.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import imageio_ffmpeg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from packseal.app import App
from storage import ClipQuery, Ed25519Signer, StationKey, Store, TrustedLog, TrustFile
from storage.entries import Clip, Entry, parse_as
from tests.anchored import Anchored, make_anchored
from tests.recording import Recording, record_demo
from tests.twoview import two_view_store

T = TypeVar("T")
STATION_ZONE = "Asia/Kolkata"  # UTC+05:30 all year: local times in tests are stable
_MEMO: dict[str, object] = {}


def _once(key: str, make: Callable[[], T]) -> T:
    if key not in _MEMO:
        _MEMO[key] = make()
    return _MEMO[key]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Three demo orders recorded through the real station (read-only: copy to tamper).

    The station's clock is set to a zone that is not this machine's, so that the zone
    recorded in the clip entries provably comes from the configuration.
    """
    return _once(
        "recording",
        lambda: record_demo(
            tmp_path_factory.mktemp("recording") / "data", orders=3, timezone=STATION_ZONE
        ),
    )


@pytest.fixture(scope="session")
def clips(recording: Recording) -> list[Clip]:
    """The recording's clips, oldest first."""
    store = recording.app.store
    rows = sorted(store.clips(ClipQuery(limit=100)), key=lambda r: r.start_ms)
    return [parse_as(Clip, store.entry(r.idx)) for r in rows]


@pytest.fixture(scope="session")
def merchant_trust(recording: Recording) -> TrustFile:
    """The trust file `packseal keys trust` prints for the recording's store."""
    return recording.app.trust_file()


def ffmpeg_timeline(path: Path) -> tuple[float, float]:
    """(start, duration) in seconds as FFmpeg's MP4 demuxer reports them (what ffprobe
    prints as format start_time and duration; imageio-ffmpeg ships no ffprobe)."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    err = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    found = re.search(r"Duration: (\d+):(\d\d):(\d\d\.\d+), start: (-?\d+\.\d+)", err.stderr)
    assert found is not None, err.stderr
    h, m, s, start = found.groups()
    return float(start), int(h) * 3600 + int(m) * 60 + float(s)


def export(recording: Recording, clip: str, out: Path, **options: object) -> Path:
    app = recording.app
    return app.export(clip, out, **options).path  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _once("bundles", lambda: tmp_path_factory.mktemp("bundles"))


@pytest.fixture(scope="session")
def honest_bundle(recording: Recording, clips: list[Clip], bundles: Path) -> Path:
    """The bundle of the first order's clip (read-only: copy to tamper)."""
    return _once("honest", lambda: export(recording, clips[0].clip_id, bundles / "honest.zip"))


@pytest.fixture(scope="session")
def other_bundle(recording: Recording, clips: list[Clip], bundles: Path) -> Path:
    """The bundle of the second order's clip."""
    return _once("other", lambda: export(recording, clips[1].clip_id, bundles / "other.zip"))


@pytest.fixture(scope="session")
def excerpt_bundle(recording: Recording, clips: list[Clip], bundles: Path) -> Path:
    """Seconds 5-9 of the first clip: segments 3..5 of its 2 s segments."""
    return _once(
        "excerpt",
        lambda: export(recording, clips[0].clip_id, bundles / "excerpt.zip", excerpt=(5.0, 9.0)),
    )


def derived_limit(honest_bundle: Path) -> int:
    """A limit 100 kB under the first clip's full bundle: the sealed clip no longer fits
    beside the sheet and entries, a re-encoded copy does (the limit bounds the whole zip)."""
    return honest_bundle.stat().st_size - 100_000


@pytest.fixture(scope="session")
def derived_bundle(
    recording: Recording, clips: list[Clip], bundles: Path, honest_bundle: Path
) -> Path:
    """The first clip under :func:`derived_limit`: it carries a re-encoded derived copy."""
    limit = derived_limit(honest_bundle)
    return _once(
        "derived",
        lambda: export(recording, clips[0].clip_id, bundles / "derived.zip", max_bytes=limit),
    )


# -- the attack context ------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgedLog:
    """A log built beside the recording's: its station-key and clip entries and proofs."""

    signer: Ed25519Signer
    key_entry: bytes
    key_proof: bytes
    clip_entry: bytes
    clip_proof: bytes


def forge_log(
    workdir: Path,
    signer: Ed25519Signer,
    root: Ed25519Signer,
    clip: Clip,
    *,
    resign: bool = True,
    key_after_clip: bool = False,
) -> ForgedLog:
    """A real log (SQLite, checkpoints, proofs) of ``signer``'s origin holding a station-key
    entry certified by ``root`` and a copy of ``clip`` (re-signed by ``signer`` unless not
    ``resign``), the station key first unless ``key_after_clip``."""
    workdir.mkdir(parents=True)
    store = Store.open(
        f"sqlite:///{workdir / 'log.db'}", workdir / "blobs", signer.name, create=True
    )
    try:
        key = StationKey(
            time=clip.time,
            origin=signer.name,
            station=clip.station,
            station_name="Forged station",
            merchant="Test Shop",
            vkey=signer.verifier.vkey,
            root=root.verifier.vkey,
        ).certified_by(root)
        copy = clip.signed_by(signer) if resign else clip
        entries: list[Entry] = [copy, key] if key_after_clip else [key, copy]
        appended = store.append(entries)
        store.sign_checkpoint(signer, clip.time)
        key_at, clip_at = (appended[1], appended[0]) if key_after_clip else appended
        return ForgedLog(
            signer,
            key_at.data,
            store.tlog_proof(key_at.index).to_bytes(),
            clip_at.data,
            store.tlog_proof(clip_at.index).to_bytes(),
        )
    finally:
        store.close()


@dataclass(frozen=True)
class AttackContext:
    """What a tamper function may use (``Attack.tamper(path, ctx)``)."""

    recording: Recording
    trust: TrustFile  # the merchant's: the recorded station's log and a second station's
    bundle: Path  # honest bundle of clips[0]
    other: Path  # honest bundle of clips[1] (another order, overlapping segments)
    excerpt: Path  # honest excerpt of clips[0]
    clips: list[Clip]
    second: ForgedLog  # a second station of the same merchant, trusted, holding clips[0]
    attacker: ForgedLog  # an attacker's own root and log, holding clips[0]
    attacker_root: Ed25519Signer
    workdir: Path

    @property
    def root(self) -> Ed25519Signer:
        return self.recording.app.root_signer

    @property
    def station(self) -> Ed25519Signer:
        return self.recording.app.station_signer

    @property
    def data_dir(self) -> Path:
        return self.recording.data_dir


def _attack_context(
    recording: Recording,
    clips: list[Clip],
    honest: Path,
    other: Path,
    excerpt: Path,
    workdir: Path,
) -> AttackContext:
    app = recording.app
    second = forge_log(
        workdir / "second",
        Ed25519Signer("packseal.local/test/station-02", Ed25519PrivateKey.generate()),
        app.root_signer,
        clips[0],
        resign=False,
    )
    attacker_root = Ed25519Signer("test", Ed25519PrivateKey.generate())
    attacker = forge_log(
        workdir / "attacker",
        Ed25519Signer(app.config.origin, Ed25519PrivateKey.generate()),
        attacker_root,
        clips[0],
    )
    merchant = app.trust_file()
    trust = TrustFile(
        merchant.merchant,
        merchant.root,
        (*merchant.logs, TrustedLog(second.signer.name, second.signer.verifier.vkey, "station-02")),
    )
    return AttackContext(
        recording, trust, honest, other, excerpt, clips, second, attacker, attacker_root, workdir
    )


@pytest.fixture(scope="session")
def attack_ctx(
    recording: Recording,
    clips: list[Clip],
    honest_bundle: Path,
    other_bundle: Path,
    excerpt_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AttackContext:
    return _once(
        "attack_ctx",
        lambda: _attack_context(
            recording,
            clips,
            honest_bundle,
            other_bundle,
            excerpt_bundle,
            tmp_path_factory.mktemp("attacks"),
        ),
    )


@pytest.fixture(scope="session")
def anchored(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Anchored:
    """A station with a real TSA and witness on 127.0.0.1 and C2PA credentials, two orders
    recorded, their bundles exported (read-only: copy to tamper). ~12 s, once."""

    def make() -> Anchored:
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)
        return make_anchored(tmp_path_factory.mktemp("anchored"), stack)

    return _once("anchored", make)


# -- two camera views (issue 12) ---------------------------------------------------------------


@dataclass(frozen=True)
class TwoViews:
    """A station filmed by two cameras (``top``, ``side``: tests/twoview.py), its clips
    and bundles (read-only: copy to tamper). The attack context of ``base="twoview"``."""

    app: App
    trust: TrustFile
    clips: list[Clip]
    bundle: Path  # the honest bundle of clips[0]
    other: Path  # the honest bundle of clips[1]
    excerpt: Path  # seconds 5-9 of clips[0]


@pytest.fixture(scope="session")
def two_views(recording: Recording, tmp_path_factory: pytest.TempPathFactory) -> TwoViews:
    """The recording sealed again as a two-camera station would (~10 s, once)."""

    def make() -> TwoViews:
        base = tmp_path_factory.mktemp("two-views")
        app = two_view_store(recording, base / "data", base / "work")
        store = app.store
        rows = sorted(store.clips(ClipQuery(limit=100)), key=lambda r: r.start_ms)
        clips = [parse_as(Clip, store.entry(r.idx)) for r in rows]
        out = base / "bundles"
        out.mkdir()
        bundle = app.export(clips[0].clip_id, out / "two-views.zip").path
        other = app.export(clips[1].clip_id, out / "two-views-other.zip").path
        excerpt = app.export(clips[0].clip_id, out / "two-views-excerpt.zip", excerpt=(5.0, 9.0))
        return TwoViews(app, app.trust_file(), clips, bundle, other, excerpt.path)

    return _once("two_views", make)
