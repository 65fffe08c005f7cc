"""The committed verify page is what its source builds, and its source passes the linter.

The page's source lives in ``web-verify/`` (JavaScript, bundled by esbuild into one HTML
file); the built file is committed so that a portal needs no Node. This test rebuilds it
with the locked toolchain (``npm ci`` on first use) and compares byte for byte, so an
edit of the source without a rebuild, or a hand edit of the output, fails here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from packseal.cli import main
from packseal.web.verify_page import PAGE, page_csp, verify_page
from storage import FormatError
from storage.checkpoint import TlogProof
from storage.timestamp import TimestampError, check_response, load_roots
from tests.anchored import Anchored
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import Portal
from tests.verifier.conftest import anchored  # noqa: F401
from verifier.fmp4 import split_fragments

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[3] / "web-verify"


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args], cwd=SOURCE, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def toolchain() -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm is missing: `scripts/setup.sh --test` installs nodejs and npm")
    # `make test` runs pytest-xdist workers: on a fresh clone two of them would run
    # `npm ci` in the same directory at once (it deletes node_modules first). One at a
    # time; the others find the toolchain installed when the lock is theirs.
    with open(SOURCE / "node_modules.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (SOURCE / "node_modules" / ".bin" / "esbuild").exists():
            done = _npm("ci", "--no-audit", "--no-fund")
            assert done.returncode == 0, done.stderr[-2000:]


def test_committed_page_equals_a_fresh_build(toolchain: None) -> None:
    done = _npm("run", "--silent", "build", "--", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_page_source_passes_the_linter(toolchain: None) -> None:
    done = _npm("run", "--silent", "lint")
    assert done.returncode == 0, done.stdout + done.stderr


def test_time_stamp_check_refuses_hostile_tokens_without_crashing(
    toolchain: None,
    anchored: Anchored,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The page's RFC 3161 check (web-verify/src/tsp.js) on every bit flip, truncation and
    random garbling of a real token: refused as a failed check, never a crash, and an
    accepted variant states what the honest token states (it failed before: pkijs threw
    RangeError on some flips, which would have stopped the page); and every bit flip the
    page accepts, the CLI accepts too (it failed before: the page let through BER lengths,
    case-changed signer names, other digestAlgorithms, non-NULL parameters)."""
    with zipfile.ZipFile(anchored.bundle) as z:
        (tmp_path / "checkpoint.tsq").write_bytes(z.read("entries/checkpoint.tsq"))
        (tmp_path / "checkpoint.tsr").write_bytes(z.read("entries/checkpoint.tsr"))
        note = TlogProof.from_bytes(z.read("entries/clip.proof")).checkpoint.decode()
    (tmp_path / "checkpoint.txt").write_text(note[: note.index("\n\n") + 1], encoding="utf-8")
    (tmp_path / "tsa-root.pem").write_text(anchored.trust.tsa_roots[0])
    done = subprocess.run(
        ["node", "test/tsp.test.mjs", str(tmp_path)],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused" in done.stdout, done.stdout
    # What the page accepts, `packseal verify` accepts: each bit flip the page let pass
    # goes through storage.timestamp.check_response. The one allowed difference is the
    # request's hash-algorithm OID, which neither relies on (both compare the imprint
    # bytes; rfc3161-client refuses some OIDs while parsing).
    flips = json.loads(done.stdout.split("accepted bit flips ", 1)[1])
    tsq = (tmp_path / "checkpoint.tsq").read_bytes()
    tsr = (tmp_path / "checkpoint.tsr").read_bytes()
    oid = tsq.index(bytes.fromhex("0609608648016503040201")) + 2
    text = (tmp_path / "checkpoint.txt").read_text(encoding="utf-8")
    roots = load_roots(anchored.trust.tsa_roots)
    only_page = []
    for which, offsets in flips.items():
        for i in offsets:
            changed = bytearray(tsq if which == "request" else tsr)
            changed[i] ^= 1 << (i % 8)
            request, response = (
                (bytes(changed), tsr) if which == "request" else (tsq, bytes(changed))
            )
            try:
                check_response(text, request, response, roots)
            except (TimestampError, FormatError):
                if not (which == "request" and oid <= i < oid + 9):
                    only_page.append((which, i))
    assert only_page == []


def test_clip_reader_hashes_like_the_verifier_under_any_read_pattern(
    toolchain: None, portal: Portal, tmp_path: Path
) -> None:
    """The page's one-pass split-and-hash (web-verify/src/fmp4.js) against
    :func:`verifier.fmp4.split_fragments` on a real clip, with streams that hand out
    chunks of random sizes and reader buffers from 4 kB to 16 MB (it failed before the
    reader stopped dropping unhashed bytes when a header lay past its buffer)."""
    bundle = tmp_path / "bundle.zip"
    portal.app.export(portal.clip.clip_id, bundle)
    clip = tmp_path / "clip.mp4"
    with zipfile.ZipFile(bundle) as z:
        clip.write_bytes(z.read("clip.mp4"))
    with open(clip, "rb") as f:
        layout = split_fragments(f)
        hashes = []
        for r in (layout.init, *layout.fragments):
            f.seek(r.start)
            hashes.append(hashlib.sha256(f.read(r.size)).hexdigest())
    expected = tmp_path / "hashes.json"
    expected.write_text(json.dumps(hashes))
    done = subprocess.run(
        ["node", "test/fmp4.test.mjs", str(clip), str(expected)],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "16 of 16 read patterns" in done.stdout, done.stdout


def test_page_pins_its_script_and_style_and_fetches_only_its_origin() -> None:
    html = verify_page()
    assert html == PAGE.read_bytes()
    csp = page_csp()
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp
    # WebAssembly may be compiled (hash-wasm's SHA-256); JavaScript eval and inline code
    # outside the pinned script may not.
    assert csp.count("unsafe") == 1
    assert "'wasm-unsafe-eval'" in csp
    assert "connect-src 'self'" in csp
    assert html.count(b"<script>") == 1
    assert b"<script src" not in html
    assert b"http://" not in html.replace(b"http://www.w3.org", b"")


def test_cli_writes_the_same_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "published" / "verify.html"
    out.parent.mkdir()
    assert main(["--config", str(tmp_path / "none.yaml"), "verify-page", "-o", str(out)]) == 0
    assert out.read_bytes() == verify_page()
    assert "wrote" in capsys.readouterr().out


def test_portal_serves_the_page_to_anyone_with_its_own_csp(portal: Portal) -> None:
    with TestClient(portal.web) as client:
        got = client.get("/verify")
    assert got.status_code == 200
    assert got.content == verify_page()
    assert got.headers["content-security-policy"] == page_csp()
    assert "frame-ancestors 'none'" in got.headers["content-security-policy"]


def page_text_ids() -> list[str]:
    """Every text id the page uses: t("…") calls in its modules, data-t elements and
    data-t-placeholder attributes in its HTML (web-verify/src/i18n.js)."""
    ids: list[str] = []
    for path in sorted((SOURCE / "src").glob("*.js")):
        text = path.read_text(encoding="utf-8")
        ids += [json.loads(f'"{m}"') for m in re.findall(r'\bt\(\s*"((?:[^"\\]|\\.)*)"', text)]
    html = (SOURCE / "src" / "page.html").read_text(encoding="utf-8")
    ids += [" ".join(m.split()) for m in re.findall(r"<[^>]*\sdata-t(?=[\s>])[^>]*>([^<]*)<", html)]
    ids += re.findall(r'placeholder="([^"]*)"[^>]*\sdata-t-placeholder(?=[\s>])', html)
    return ids


def test_every_text_of_the_page_has_a_chinese_translation() -> None:
    table = json.loads((SOURCE / "src" / "zh-CN.json").read_text(encoding="utf-8"))
    ids = page_text_ids()
    assert len(ids) > 70
    assert "" not in ids
    assert sorted({i for i in ids if i not in table}) == []
    assert sorted(set(table) - set(ids)) == []  # no stale entries either
    placeholder = re.compile(r"\{\w*\}")
    for english, chinese in table.items():
        assert sorted(placeholder.findall(english)) == sorted(placeholder.findall(chinese)), english
        assert chinese != english, english  # an English copy is not a translation
