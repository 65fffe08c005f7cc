"""Reading a bundle zip without trusting it: names, sizes, ratios and members are checked
before a byte is decompressed, and every read is capped while it happens.

Nothing is ever extracted to a path taken from the archive, but names a file manager or
``unzip`` would mis-handle (``../``, absolute, drive letters, backslashes, symlinks,
duplicates) still fail the bundle: a reviewer may unzip it by hand. Header sizes are
claims: a member is read through a cap one byte above what it may hold, and a zip whose
central directory points two members at the same bytes (the overlapping-member bomb) is
refused before anything is read.

The video is read in place when it is stored (the usual case: MP4 does not compress), so
verifying a one-hour clip is one sequential pass over the zip's bytes; a re-zipped,
deflated video is inflated into a temporary file first, under the same cap.
"""

from __future__ import annotations

import io
import itertools
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, Self

from verifier._errors import BundleError

MAX_MEMBERS = 32
MAX_RATIO = 100  # deflate reaches ~3x on our JSON and text; zip bombs reach 1000x and more
RATIO_FLOOR = 1 << 20  # a tiny member may compress well without being a bomb
MAX_TOTAL = (16 << 30) + (64 << 20)
_CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the zip fails the ``zip`` check."""

    message: str
    expected: str | None = None
    found: str | None = None


class MemberError(BundleError):
    """A member could not be read within its limits (a :class:`Problem` for the report)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def name_problem(name: str) -> str | None:
    """Why a member name is unsafe to unzip, or None."""
    if "\x00" in name or any(ord(c) < 0x20 for c in name):
        return "contains a control character"
    if "\\" in name:
        return "contains a backslash (a path separator on Windows)"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "climbs out of the bundle with '..' (path traversal)"
    if any(p in ("", ".") for p in parts):
        return "is not a normalized relative path"
    return None


class Readable(Protocol):
    """What the verifier needs of a video: seek, read (box headers), readinto (hashing)."""

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def read(self, size: int = ..., /) -> bytes | None: ...

    def readinto(self, buffer: Any, /) -> int | None: ...


class _Window(io.RawIOBase):
    """``size`` bytes of ``raw`` from ``start``, as a seekable read-only file."""

    def __init__(self, raw: io.FileIO, start: int, size: int) -> None:
        super().__init__()
        self._raw = raw
        self._start = start
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(memoryview(buffer)[:n]) or 0
        self._pos += got
        return got


class BundleZip:
    """An opened bundle zip; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        except OSError as e:
            raise BundleError(
                f"cannot read the bundle {path}: {e.strerror or e}",
                hint="give the path of a bundle .zip made by `packseal export`",
            ) from e
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
            self._raw.close()
            raise BundleError(
                f"{path} is not a readable zip file: {e}",
                hint="a bundle is the .zip that `packseal export` writes; was the download cut?",
            ) from e
        except (UnicodeDecodeError, struct.error, NotImplementedError, RuntimeError) as e:
            self._raw.close()
            raise BundleError(f"{path} is not a readable zip file: {e}") from e
        self.infos = self.zip.infolist()
        self._spooled: list[IO[bytes]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for f in self._spooled:
            f.close()
        self.zip.close()
        self._raw.close()

    @property
    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def file_size(self) -> int:
        return self._raw.seek(0, io.SEEK_END)

    # -- the structural scan -------------------------------------------------------------

    def scan(self, caps: dict[str, int], default_cap: int) -> list[Problem]:
        """Problems that make the zip unsafe to read at all (checked on headers only)."""
        problems: list[Problem] = []
        if len(self.infos) > MAX_MEMBERS:
            problems.append(
                Problem(
                    f"the zip has {len(self.infos)} members, more than {MAX_MEMBERS}",
                    f"at most {MAX_MEMBERS} members",
                    f"{len(self.infos)} members",
                )
            )
            return problems  # naming thousands of members helps nobody
        seen: dict[str, str] = {}
        total = 0
        for info in self.infos:
            name = info.orig_filename
            why = name_problem(name)
            if why is not None:
                problems.append(
                    Problem(f"member name {name!r} {why}", "a plain relative name", repr(name))
                )
            folded = info.filename.casefold()
            if folded in seen:
                problems.append(
                    Problem(
                        f"member {info.filename!r} appears twice (as {seen[folded]!r} before): "
                        "tools disagree on which copy they read",
                        "each member once",
                        f"{info.filename!r} twice",
                    )
                )
            seen[folded] = info.filename
            if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
                problems.append(
                    Problem(
                        f"member {info.filename!r} is a symbolic link",
                        "regular files",
                        "a symlink",
                    )
                )
            if info.flag_bits & 0x1:
                problems.append(
                    Problem(f"member {info.filename!r} is encrypted", "plain members", "encrypted")
                )
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                problems.append(
                    Problem(
                        f"member {info.filename!r} uses compression method {info.compress_type}",
                        "stored (0) or deflate (8)",
                        f"method {info.compress_type}",
                    )
                )
            cap = caps.get(info.filename, default_cap)
            if info.file_size > cap:
                problems.append(
                    Problem(
                        f"member {info.filename!r} declares {info.file_size} bytes, more than "
                        f"the {cap} a bundle member of its kind may hold",
                        f"at most {cap} bytes",
                        f"{info.file_size} bytes",
                    )
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                problems.append(
                    Problem(
                        f"member {info.filename!r} expands {ratio:.0f}x ({info.compress_size} to "
                        f"{info.file_size} bytes): a zip bomb",
                        f"a compression ratio of at most {MAX_RATIO}",
                        f"{ratio:.0f}",
                    )
                )
            total += info.file_size
        if total > MAX_TOTAL:
            problems.append(
                Problem(
                    f"the members declare {total} bytes in all, more than {MAX_TOTAL}",
                    f"at most {MAX_TOTAL} bytes",
                    f"{total} bytes",
                )
            )
        if not problems:
            problems.extend(self._layout_problems())
        return problems

    def _layout_problems(self) -> list[Problem]:
        """Members whose bytes overlap, or lie outside the archive (from local headers)."""
        spans: list[tuple[int, int, str]] = []
        end_of_data = getattr(self.zip, "start_dir", self.file_size())
        for info in self.infos:
            try:
                start = self.data_offset(info)
            except MemberError as e:
                return [e.problem]
            end = start + info.compress_size
            if end > end_of_data:
                return [
                    Problem(
                        f"member {info.filename!r} runs past the end of the archive's data",
                        f"its bytes to end by offset {end_of_data}",
                        f"they end at {end}",
                    )
                ]
            spans.append((info.header_offset, end, info.filename))
        spans.sort()
        for (_, end_a, a), (start_b, _, b) in itertools.pairwise(spans):
            if start_b < end_a:
                return [
                    Problem(
                        f"members {a!r} and {b!r} share bytes (overlapping members: a zip bomb "
                        "or a disguised member)",
                        "members stored one after the other",
                        f"{b!r} starts at {start_b}, inside {a!r}",
                    )
                ]
        return []

    def data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where a member's (compressed) bytes start, after checking its local header."""
        if not 0 <= info.header_offset < self.file_size():
            raise MemberError(
                Problem(
                    f"member {info.filename!r}: its local header offset {info.header_offset} is "
                    "outside the file",
                    f"an offset below {self.file_size()}",
                    str(info.header_offset),
                )
            )
        self._raw.seek(info.header_offset)
        head = self._raw.read(_LOCAL_HEADER.size)
        if head is None or len(head) != _LOCAL_HEADER.size:
            raise MemberError(
                Problem(f"member {info.filename!r}: its local header is cut off", None, None)
            )
        fields = _LOCAL_HEADER.unpack(head)
        signature, method, name_len, extra_len = fields[0], fields[3], fields[9], fields[10]
        raw_name = self._raw.read(name_len) or b""
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if signature != b"PK\x03\x04" or method != info.compress_type:
            raise MemberError(
                Problem(
                    f"member {info.filename!r}: the local header does not match the central "
                    "directory",
                    "a local file header with the same compression method",
                    f"signature {signature!r}, method {method}",
                )
            )
        if raw_name != info.orig_filename.encode(encoding, "replace"):
            raise MemberError(
                Problem(
                    f"member {info.filename!r} is named {raw_name[:80]!r} in its local header: "
                    "tools that read local headers would see another file",
                    repr(info.orig_filename),
                    repr(raw_name[:80]),
                )
            )
        return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)

    # -- reading members -----------------------------------------------------------------

    def read(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """A member's bytes, decompressed under ``cap`` and checked against its CRC."""
        out = bytearray()
        try:
            with self.zip.open(info) as f:
                while chunk := f.read(min(_CHUNK, cap + 1 - len(out))):
                    out += chunk
                    if len(out) > cap:
                        raise MemberError(
                            Problem(
                                f"member {info.filename!r} holds more than {cap} bytes",
                                f"at most {cap} bytes",
                                "more",
                            )
                        )
        except MemberError:
            raise
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as e:
            raise MemberError(
                Problem(f"member {info.filename!r} cannot be read: {e}", None, None)
            ) from e
        if len(out) != info.file_size:
            raise MemberError(
                Problem(
                    f"member {info.filename!r} declares {info.file_size} bytes but holds "
                    f"{len(out)}",
                    f"{info.file_size} bytes",
                    f"{len(out)} bytes",
                )
            )
        return bytes(out)

    def open_video(self, info: zipfile.ZipInfo, cap: int) -> Readable:
        """An unbuffered, seekable view of a member (reads go straight into the caller's
        buffer): in place if stored, else inflated into a temporary file first."""
        if info.compress_type == zipfile.ZIP_STORED:
            return _Window(self._raw, self.data_offset(info), info.compress_size)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._spooled.append(spool)
        written = 0
        try:
            with self.zip.open(info) as f:
                while chunk := f.read(_CHUNK):
                    written += len(chunk)
                    if written > cap:
                        raise MemberError(
                            Problem(
                                f"member {info.filename!r} inflates past {cap} bytes",
                                f"at most {cap} bytes",
                                "more",
                            )
                        )
                    spool.write(chunk)
        except MemberError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
            raise MemberError(
                Problem(f"member {info.filename!r} cannot be inflated: {e}", None, None)
            ) from e
        spool.seek(0)
        return spool


def find(infos: Iterable[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo | None:
    return next((i for i in infos if i.filename == name), None)
