"""One writer per store: an OS lock held by the process that records into it.

A second station on the same store would seal the first one's open clip as
``interrupted`` and make the first fail on its next append; so the process that writes
(``record``, ``station``, ``demo``) holds an exclusive ``flock`` on ``<data_dir>/writer.lock``
for as long as it runs, and a second one refuses at once, naming the holder. Read-only
commands never take it.

``flock`` belongs to the open file, so the kernel releases it when the process dies, even
by SIGKILL or power loss: there is no stale lock to clean up. The file's content (who
holds it, since when) is only for the message; the lock is the ``flock``. A hub serialises
appends to each mirrored log with a database row lock instead (same guarantee, per log).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from storage._errors import StorageError

__all__ = ["StoreBusyError", "WriterInfo", "WriterLock"]

LOCK_NAME = "writer.lock"


@dataclass(frozen=True, slots=True)
class WriterInfo:
    """Who holds the writer lock: shown to the process that is refused."""

    pid: int
    since_ms: int
    command: str

    def to_bytes(self) -> bytes:
        return json.dumps(
            {"pid": self.pid, "since_ms": self.since_ms, "command": self.command},
            sort_keys=True,
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> WriterInfo:
        """Raises ``ValueError`` on anything else (e.g. a holder still writing it)."""
        try:
            obj = json.loads(data)
            return cls(int(obj["pid"]), int(obj["since_ms"]), str(obj["command"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a writer lock record: {data[:80]!r}") from e

    def describe(self) -> str:
        since = dt.datetime.fromtimestamp(self.since_ms / 1000, dt.UTC)
        return f"`{self.command}` (pid {self.pid}, since {since:%Y-%m-%d %H:%M:%S} UTC)"


class StoreBusyError(StorageError):
    """Another process holds this store's writer lock; ``holder`` says which, if known."""

    def __init__(self, message: str, *, holder: WriterInfo | None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.holder = holder


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``path``; release it with :meth:`release`."""

    def __init__(self, path: Path, fd: int, info: WriterInfo) -> None:
        self.path = path
        self.info = info
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path, info: WriterInfo) -> WriterLock:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC (Python's default): ffmpeg and other children must not inherit the
        # lock, or a SIGKILLed station's orphaned encoder would keep its store locked.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = holder.describe() if holder else "another process (it is just starting)"
            raise StoreBusyError(
                f"the store in {path.parent} is already being recorded into by {who}",
                holder=holder,
                hint="one station records into a store at a time: stop that one first "
                "(Ctrl-C), or give this one its own --data-dir; read-only commands "
                "(clips, export, verify, audit, serve) work beside it",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.to_bytes(), 0)
        return cls(path, fd, info)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Emptied before unlocking: a record left behind would name a process that is gone.
        os.ftruncate(fd, 0)
        os.close(fd)

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> WriterInfo | None:
    try:
        return WriterInfo.from_bytes(os.pread(fd, 4096, 0))
    except (OSError, ValueError):
        return None
