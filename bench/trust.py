"""Trust: time added to sealing by time-stamping and witnessing (loopback); C2PA per minute.

    python -m bench trust [--checkpoints 200] [--minutes 1 5] [--keep DIR]

Sealing: a real store; each round appends a clip's worth of entries (15 segments and a
clip) and signs a checkpoint, as the sealer does. Measured three ways, in one run:

- baseline: the round alone;
- anchored: the round plus ``Anchorer.poll()`` (what the station's main loop pays;
  the TSA and witness requests run on the anchoring thread);
- inline: the round plus a synchronous TSA request + token check + witness
  add-checkpoint + cosignature check (what sealing would pay without that thread).

Also the latency from signing a checkpoint to holding its stamp and cosignature. The
TSA is pyhanko's DummyTimeStamper (RSA 2048) and the witness ``packseal witness serve``,
both real HTTP servers on 127.0.0.1 (dev dependencies).

C2PA: fragmented MP4 made by ffmpeg (720p30, libx264 veryfast, 2 s fragments, testsrc2
with noise so the size is camera-like, ~4-6 MB a minute),
signed with c2pa-python (ES256 station certificate from an Ed25519 merchant CA) into
clip.c2pa.mp4 and checked as ``verify`` does (Trusted + manifest box + whole-file hash),
per minute of clip.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ms(seconds: list[float]) -> str:
    s = sorted(seconds)
    p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
    return f"median {statistics.median(s) * 1000:7.2f} ms, p99 {p99 * 1000:7.2f} ms"


def bench_sealing(work: Path, rounds: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from packseal.witness import add_log, init_witness
    from recorder.anchor import Anchorer, AnchorSettings, WitnessTarget
    from recorder.clock import SystemClock
    from storage import Ed25519Signer, Store
    from storage.cosignature import AddCheckpoint, cosignatures, parse_cosignature_lines
    from storage.cosignature import with_cosignatures as cosigned
    from storage.note import parse
    from storage.timestamp import check_response, make_request
    from tests.factories import clip, segment
    from tests.servers import serve_tsa, serve_witness

    with contextlib.ExitStack() as stack:
        tsa = stack.enter_context(serve_tsa())
        init_witness(work / "witness", "bench.example/w1", [])
        witness = stack.enter_context(serve_witness(work / "witness"))
        results: dict[str, list[float]] = {}
        latency: list[float] = []
        for mode in ("baseline", "anchored", "inline"):
            origin = f"bench.example/{mode}"  # one log per mode: the witness keeps each
            signer = Ed25519Signer(origin, Ed25519PrivateKey.generate())
            add_log(work / "witness", signer.verifier.vkey)
            witness.witness.reload()
            store = Store.open(
                f"sqlite:///{work / f'{mode}.db'}", work / "blobs", origin, create=True
            )
            settings = AnchorSettings(
                (tsa.url,),
                (tsa.keys.root_pem,),
                (WitnessTarget(witness.url, witness.vkey),),
                retry_seconds=0.05,
            )
            anchorer = Anchorer(store, settings, SystemClock()) if mode == "anchored" else None
            anchors = store.anchors
            times: list[float] = []
            seq = 0
            witnessed = 0
            for n in range(rounds):
                segs = [segment(seq + i) for i in range(15)]
                seq += 15
                start = time.perf_counter()
                store.append([*segs, clip(signer, segs, order=f"SO-{n:06d}")])
                cp = store.sign_checkpoint(signer, 0)
                if anchorer is not None:
                    anchorer.poll()
                if mode == "inline":
                    text, _ = parse(cp.note)
                    request = make_request(text)
                    ask = urllib.request.Request(tsa.url, data=request)  # noqa: S310
                    with urllib.request.urlopen(ask) as answer:  # noqa: S310
                        check_response(text, request, answer.read(), [tsa.keys.root])
                    body = AddCheckpoint(
                        witnessed, tuple(store.consistency_proof(witnessed, cp.size)), cp.note
                    ).to_bytes()
                    url = witness.url + "/add-checkpoint"
                    ask = urllib.request.Request(url, data=body)  # noqa: S310
                    with urllib.request.urlopen(ask) as answer:  # noqa: S310
                        lines = parse_cosignature_lines(answer.read())
                    assert cosignatures(cosigned(cp.note, lines), [witness.witness.signer.verifier])
                    witnessed = cp.size
                times.append(time.perf_counter() - start)
                if anchorer is not None:
                    # Between rounds the station records (a clip takes tens of seconds);
                    # here, wait for the anchors to measure their latency.
                    t0 = time.perf_counter()
                    while anchorer.owed():
                        anchorer.poll()
                        time.sleep(0.001)
                    latency.append(time.perf_counter() - t0)
            if anchorer is not None:
                anchorer.close()
                assert anchors.stamps(store.size())
            results[mode] = times
            store.close()
        print(f"sealing a clip (16 entries + checkpoint), {rounds} rounds:")
        for mode, times in results.items():
            print(f"  {mode:<9} {_ms(times)}")
        base = statistics.median(results["baseline"])
        added = {m: 1000 * (statistics.median(t) - base) for m, t in results.items()}
        print(
            f"  added to sealing: anchored {added['anchored']:+.2f} ms (main loop), "
            f"inline {added['inline']:+.2f} ms"
        )
        print(f"  checkpoint signed -> stamped and cosigned: {_ms(latency)}")


def make_clip(path: Path, minutes: float) -> None:
    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30,noise=alls=8:allf=t",  # ~camera-sized
            "-t",
            str(minutes * 60),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "28",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof+skip_trailer",  # no mfra: like a clip
            str(path),
        ],
        check=True,
    )


def bench_c2pa(work: Path, minutes: list[float]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from storage.certs import CredentialFiles, write_credentials
    from verifier.c2pa import ClipClaim, check_clip, sign_clip

    files = CredentialFiles.under(work / "keys")
    creds = write_credentials(
        files,
        Ed25519PrivateKey.generate(),
        alg="es256",
        station="station-01",
        merchant="Bench Shop",
        now=dt.datetime.now(dt.UTC),
    )
    roots = files.ca.read_text()
    claim = ClipClaim("clip", "order", "00" * 32, "bench.example/s", 7, 8, "A" * 43 + "=")
    print("C2PA (720p30 veryfast CRF 28, 2 s fragments, noisy test pattern):")
    for m in minutes:
        src, dst = work / f"clip-{m}.mp4", work / f"clip-{m}.c2pa.mp4"
        make_clip(src, m)
        sealed = hashlib.sha256(src.read_bytes()).hexdigest()
        signs, checks = [], []
        for _ in range(3):
            t = time.perf_counter()
            sign_clip(src, dst, creds, claim, station="station-01")
            signs.append(time.perf_counter() - t)
            t = time.perf_counter()
            with open(dst, "rb") as f:
                check_clip(f, roots, claim, sealed)
            checks.append(time.perf_counter() - t)
        size = src.stat().st_size / 1e6
        sign, check = min(signs), min(checks)
        print(
            f"  {m:g} min ({size:.0f} MB): sign {sign:.3f} s ({sign / m:.3f} s/min), "
            f"verify {check:.3f} s ({check / m:.3f} s/min; Trusted + box + whole-file hash)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench trust")
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bench_sealing(work, args.checkpoints)
        bench_c2pa(work, args.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
