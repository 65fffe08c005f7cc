"""Anchored bundles: honest ones verify (zero false alarms), revoked keys keep their past,
and C2PA needs its library only when a bundle carries Content Credentials."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from storage import TrustFile
from storage.checkpoint import TlogProof, open_checkpoint
from storage.entries import Clip, parse_as
from tests.anchored import Anchored
from tests.verifier.attacks_bundle import read
from verifier._errors import NotVerified
from verifier._timecheck import CLOCK_SKEW_MS, check_time
from verifier.bundle import export_bundle
from verifier.verify import CHECKS, verify_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_honest_anchored_bundles_verify(anchored: Anchored, tmp_path: Path) -> None:
    app = anchored.app
    excerpt = tmp_path / "excerpt.zip"
    rows = sorted(app.store.clips(), key=lambda r: r.start_ms)
    export_bundle(
        app.store,
        app.certification(),
        rows[0].clip_id,
        excerpt,
        excerpt=(5.0, 9.0),
        policy=app.export_policy(),
    )
    for bundle in (anchored.bundle, anchored.other, excerpt):
        report = verify_bundle(bundle, anchored.trust).report
        assert [c.name for c in report.checks] == list(CHECKS)
        assert all(c.ok is True for c in report.checks), report.to_json()
        facts = report.facts
        assert facts is not None
        assert facts.existed_before_ms is not None
        assert facts.witnessed
        assert facts.content_credentials
        # The bound is honest: the clip was sealed before the TSA stamped its checkpoint.
        assert facts.end_ms <= facts.existed_before_ms


def test_anchors_are_not_needed_by_a_trust_file_that_does_not_ask(anchored: Anchored) -> None:
    plain = dataclasses.replace(
        anchored.trust, tsa_roots=(), witnesses=(), witness_quorum=0, c2pa_roots=()
    )
    report = verify_bundle(anchored.bundle, plain).report
    assert "not relied on" in report.check("time").message
    assert "not checked and is not evidence" in report.check("c2pa").message
    assert report.facts is not None
    assert report.facts.existed_before_ms is None


def test_a_revoked_keys_earlier_signatures_still_verify(anchored: Anchored) -> None:
    index = TlogProof.from_bytes(read(anchored.bundle)["entries/clip.proof"]).index

    def revoked(after: int) -> TrustFile:
        logs = tuple(
            dataclasses.replace(g, revoked_after=after, revoked_reason="compromised")
            for g in anchored.trust.logs
        )
        return dataclasses.replace(anchored.trust, logs=logs)

    assert verify_bundle(anchored.bundle, revoked(index)).report.verified  # the clip: before
    with pytest.raises(NotVerified) as caught:
        verify_bundle(anchored.bundle, revoked(index - 1))
    assert caught.value.report.check("signature").ok is False


def test_a_station_clock_ahead_of_the_tsa_fails(anchored: Anchored) -> None:
    members = read(anchored.bundle)
    report = verify_bundle(anchored.bundle, anchored.trust).report
    facts = report.facts
    assert facts is not None
    assert facts.existed_before_ms is not None
    cp = open_checkpoint(
        TlogProof.from_bytes(members["entries/clip.proof"]).checkpoint,
        anchored.trust.log_verifiers(),
    )
    clip = parse_as(Clip, members["entries/clip.json"])
    late = facts.existed_before_ms + CLOCK_SKEW_MS + 1000
    sealed_late = dataclasses.replace(clip, time=late)
    result = check_time(anchored.trust, members, cp, sealed_late)
    assert result.check.ok is False
    assert "cannot be true" in result.check.message
    assert check_time(anchored.trust, members, cp, clip).check.ok
    # A segment, a scan or the close dated after genTime fails alike: every footage time
    # is compared, not only the sealing (which verified while the footage was a year on).
    ahead = late - clip.segments[-1].end
    last = clip.segments[-1]
    for label, changed in (
        (
            f"segment {len(clip.segments)} end",
            dataclasses.replace(
                clip,
                segments=(*clip.segments[:-1], dataclasses.replace(last, end=last.end + ahead)),
            ),
        ),
        (
            "scan",
            dataclasses.replace(
                clip, scans=(dataclasses.replace(clip.scans[-1], t=late), *clip.scans[:-1])
            ),
        ),
        ("the clip's close", dataclasses.replace(clip, ended=late)),
    ):
        changed = dataclasses.replace(changed, time=late)  # sealed after it all: consistent
        result = check_time(anchored.trust, members, cp, changed)
        assert result.check.ok is False, label
        assert label in result.check.message, result.check.message
        assert "after the TSA's genTime" in result.check.message


BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("c2pa", "cv2", "numpy", "PIL"):
            raise ImportError(f"{name} is blocked")
sys.meta_path.insert(0, Block())
from pathlib import Path
from storage import TrustFile
from storage._errors import PacksealError
from verifier.verify import verify_bundle
trust = TrustFile.from_bytes(Path(sys.argv[2]).read_bytes())
try:
    print(verify_bundle(Path(sys.argv[1]), trust).report.verdict())
except PacksealError as e:
    print("ERROR", type(e).__name__, e.message, e.hint)
print("c2pa imported:", "c2pa" in sys.modules)
"""


def test_c2pa_is_needed_only_for_a_bundle_that_carries_it(
    anchored: Anchored, tmp_path: Path
) -> None:
    trust = tmp_path / "trust.json"
    plain = dataclasses.replace(anchored.trust, c2pa_roots=())
    trust.write_bytes(plain.to_bytes())

    def run(bundle: Path) -> str:
        done = subprocess.run(
            [sys.executable, "-c", BLOCKED, str(bundle), str(trust)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = run(anchored.bundle)  # C2PA not required: verified without the library
    assert out.startswith("VERIFIED"), out
    assert "c2pa imported: False" in out
    trust.write_bytes(anchored.trust.to_bytes())
    out = run(anchored.bundle)
    assert out.startswith("ERROR C2paUnavailable"), out
    assert "pip install" in out
