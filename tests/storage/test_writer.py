"""The writer lock: one process at a time, named to the one refused, gone with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import StoreBusyError, WriterInfo, WriterLock

HOLD = """
import sys, time
from pathlib import Path
from storage import WriterInfo, WriterLock
lock = WriterLock.acquire(Path(sys.argv[1]), WriterInfo(12345, 1764403200000, "packseal record"))
print("held", flush=True)
time.sleep(600)
"""
ROOT = Path(__file__).resolve().parents[2]


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.stdout.close()
    assert line == "held\n"
    return proc


def test_writer_info_round_trip() -> None:
    info = WriterInfo(4242, 1764403200123, "packseal station")
    assert WriterInfo.from_bytes(info.to_bytes()) == info
    assert info.describe() == "`packseal station` (pid 4242, since 2025-11-29 08:00:00 UTC)"
    for bad in (b"", b"{", b'{"pid": 1}', b"[]"):
        with pytest.raises(ValueError, match="not a writer lock record"):
            WriterInfo.from_bytes(bad)


def test_a_second_process_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "writer.lock"
    holder = _holder(path)
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusyError) as caught:
            WriterLock.acquire(path, WriterInfo(os.getpid(), 0, "packseal record"))
        assert time.monotonic() - started < 1  # refused at once, never waits
        assert caught.value.holder == WriterInfo(12345, 1764403200000, "packseal record")
        assert "pid 12345, since 2025-11-29 08:00:00 UTC" in caught.value.message
        assert "--data-dir" in (caught.value.hint or "")
    finally:
        holder.kill()
        holder.wait()


def test_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "writer.lock"
    holder = _holder(path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    mine = WriterInfo(os.getpid(), 1, "packseal record")
    with WriterLock.acquire(path, mine) as lock:
        assert lock.held
        assert WriterInfo.from_bytes(path.read_bytes()) == mine
    assert not lock.held
    assert path.read_bytes() == b""  # a released lock names nobody


def test_a_holder_still_writing_its_record_is_reported_as_starting(tmp_path: Path) -> None:
    path = tmp_path / "writer.lock"
    with WriterLock.acquire(path, WriterInfo(1, 1, "x")):
        path.write_bytes(b"")  # as between the holder's flock and its write
        with pytest.raises(StoreBusyError, match="another process \\(it is just starting\\)") as e:
            WriterLock.acquire(path, WriterInfo(2, 2, "y"))
        assert e.value.holder is None
