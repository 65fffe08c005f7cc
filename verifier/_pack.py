"""The bundle's zip, written: every member in reading order with fixed times and modes,
SHA256SUMS last, in a work directory next to the output so the final rename is atomic.

The video is stored (MP4 does not compress), so a verifier reads it in place; the small
members are deflated, the sheet's and the claim report's images stored as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verifier._layout import (
    CLAIM_JSON,
    CLAIM_MEMBERS,
    CLIP_ENTRY,
    CLIP_PROOF,
    KEY_ENTRY,
    KEY_PROOF,
    MANIFEST,
    README,
    SHEET_PDF,
    SHEET_PNG,
    STAMP_REQUEST,
    STAMP_RESPONSE,
    SUMS,
)

_CHUNK = 1 << 20


def write_zip(
    path: Path,
    small: dict[str, bytes],
    files: dict[str, tuple[Path, str]],
    when: tuple[int, int, int, int, int, int],
) -> None:
    """The members in reading order, README first; SHA256SUMS last, listing all others."""
    sums = {n: hashlib.sha256(b).hexdigest() for n, b in small.items()}
    sums.update({n: sha for n, (_, sha) in files.items()})
    sums_bytes = "".join(f"{h}  {n}\n" for n, h in sorted(sums.items())).encode()
    entries = (README, MANIFEST, CLIP_ENTRY, CLIP_PROOF, KEY_ENTRY, KEY_PROOF)
    with zipfile.ZipFile(path, "w") as zf:
        for name in (*entries, STAMP_REQUEST, STAMP_RESPONSE):
            if name in small:
                _put(zf, name, small[name], when, zipfile.ZIP_DEFLATED)
        for name in (SHEET_PNG, SHEET_PDF):  # PNG and PDF are compressed already
            _put(zf, name, small[name], when, zipfile.ZIP_STORED)
        for name in CLAIM_MEMBERS:
            if name in small:
                method = zipfile.ZIP_DEFLATED if name == CLAIM_JSON else zipfile.ZIP_STORED
                _put(zf, name, small[name], when, method)
        for name, (file, _) in files.items():
            _put_file(zf, name, file, when)
        _put(zf, SUMS, sums_bytes, when, zipfile.ZIP_DEFLATED)


@contextmanager
def workdir(out: Path) -> Iterator[Path]:
    # Next to the output, so the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        yield Path(work)


def zip_time(t_ms: int) -> tuple[int, int, int, int, int, int]:
    # The recording's start, so the same clip always exports to the same zip headers.
    t = dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _info(name: str, when: tuple[int, int, int, int, int, int], method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = method
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    return info


def _put(
    zf: zipfile.ZipFile,
    name: str,
    data: bytes,
    when: tuple[int, int, int, int, int, int],
    method: int,
) -> None:
    zf.writestr(_info(name, when, method), data)


def _put_file(
    zf: zipfile.ZipFile, name: str, path: Path, when: tuple[int, int, int, int, int, int]
) -> None:
    info = _info(name, when, zipfile.ZIP_STORED)
    info.file_size = path.stat().st_size
    with open(path, "rb") as src, zf.open(info, "w") as dst:
        shutil.copyfileobj(src, dst, _CHUNK)
