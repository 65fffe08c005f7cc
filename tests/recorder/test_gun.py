from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import pytest

from recorder._errors import SourceError
from recorder.clock import ManualClock
from recorder.gun import MAX_LINE_BYTES, GunReader, clean, gun_scan
from recorder.scanner import Classifier, ScanOutput
from recorder.settings import GunSettings, ScanSettings
from storage.entries import MAX_SCAN_TEXT, Scan

CLASSIFIER = Classifier(ScanSettings())


def _get(out: queue.Queue[ScanOutput], timeout: float = 5.0) -> Scan:
    item = out.get(timeout=timeout)
    assert isinstance(item, Scan)
    return item


def _empty(out: queue.Queue[ScanOutput], wait: float = 0.15) -> bool:
    try:
        out.get(timeout=wait)
    except queue.Empty:
        return True
    return False


@pytest.fixture
def pipe() -> Iterator[tuple[BinaryIO, int]]:
    r, w = os.pipe()
    reader = os.fdopen(r, "rb", buffering=0)
    try:
        yield reader, w
    finally:
        reader.close()
        with contextlib.suppress(OSError):
            os.close(w)


def _reader(
    source: BinaryIO | str | None, clock: ManualClock, **kw: int
) -> tuple[GunReader, queue.Queue[ScanOutput]]:
    out: queue.Queue[ScanOutput] = queue.Queue()

    def submit(
        text: str, source: Literal["gun", "web"] = "web", t_ms: int | None = None
    ) -> Scan | None:
        """What Station.submit does: classify the code, queue its scan."""
        scan = gun_scan(text, clock.now_ms() if t_ms is None else t_ms, CLASSIFIER, source)
        if scan is not None:
            out.put(scan)
        return scan

    return GunReader(source, GunSettings(**kw), submit, clock), out


def test_enter_terminated_codes(pipe: tuple[BinaryIO, int]) -> None:
    clock = ManualClock()
    gun, out = _reader(pipe[0], clock)
    with gun:
        os.write(pipe[1], b"SO-2026-000001\r\n")
        scan = _get(out)
        assert scan == Scan(clock.now_ms(), "SO-2026-000001", "order", "keyboard", "gun", None)
        os.write(pipe[1], b"1Z999AA10123456784\nPACKSEAL-STOP\r4006381333931\n")
        assert [(s.text, s.kind) for s in (_get(out), _get(out), _get(out))] == [
            ("1Z999AA10123456784", "tracking"),
            ("PACKSEAL-STOP", "control"),
            ("4006381333931", "other"),  # a valid EAN-13 typed by a gun is a product
        ]
        assert _empty(out)  # CRLF is one end of line, not an empty second code
    assert gun.codes == 4


def test_code_split_across_writes(pipe: tuple[BinaryIO, int]) -> None:
    gun, out = _reader(pipe[0], ManualClock())
    with gun:
        os.write(pipe[1], b"SO-20")
        time.sleep(0.06)
        os.write(pipe[1], b"26-7\n")
        assert _get(out).text == "SO-2026-7"


def test_code_without_enter_submits_after_quiet_time(pipe: tuple[BinaryIO, int]) -> None:
    clock = ManualClock()
    gun, out = _reader(pipe[0], clock, submit_after_ms=120)
    with gun:
        os.write(pipe[1], b"SO-2026-000002")
        typed_at = clock.now_ms()
        assert _empty(out)  # no time has passed on the station's clock
        clock.advance(0.119)
        assert _empty(out)
        clock.advance(0.001)
        scan = _get(out)
        assert (scan.text, scan.kind, scan.t) == ("SO-2026-000002", "order", typed_at)


def test_control_characters_whitespace_and_empty_lines(pipe: tuple[BinaryIO, int]) -> None:
    gun, out = _reader(pipe[0], ManualClock())
    with gun:
        os.write(pipe[1], b"\n\r\n   \n\t\n\x02 SO-2026-000003\x03\t \n")
        assert _get(out).text == "SO-2026-000003"
        assert _empty(out)
        os.write(pipe[1], "SO-ÄÖÜ-0001\x1d\n".encode())
        assert _get(out).text == "SO-ÄÖÜ-0001"


def test_overlong_lines_are_dropped(pipe: tuple[BinaryIO, int]) -> None:
    gun, out = _reader(pipe[0], ManualClock())
    with gun:
        os.write(pipe[1], b"A" * (MAX_LINE_BYTES + 1) + b"\n" + b"SO-2026-000004\n")
        assert _get(out).text == "SO-2026-000004"


def test_a_long_code_a_2d_gun_reads_is_recorded_exactly(pipe: tuple[BinaryIO, int]) -> None:
    # A QR code holds up to 7,089 characters; 512 and more were dropped unrecorded.
    gun, out = _reader(pipe[0], ManualClock())
    with gun:
        os.write(pipe[1], b"A" * 600 + b"\n")
        scan = _get(out)
    assert (scan.text, scan.kind) == ("A" * 600, "other")


def test_end_of_input_submits_pending_code_and_ends(pipe: tuple[BinaryIO, int]) -> None:
    gun, out = _reader(pipe[0], ManualClock())
    gun.start()
    os.write(pipe[1], b"SO-2026-000005\nSO-2026-000006")
    os.close(pipe[1])
    gun.join(5)
    assert not gun.is_alive()
    assert gun.error is None
    assert [_get(out).text, _get(out).text] == ["SO-2026-000005", "SO-2026-000006"]
    gun.stop()


def test_reads_a_fifo_path(tmp_path: Path) -> None:
    fifo = tmp_path / "gun"
    os.mkfifo(fifo)
    gun, out = _reader(str(fifo), ManualClock())
    with gun:
        for n in (7, 8):  # a writer that comes and goes does not end the reader
            w = os.open(fifo, os.O_WRONLY)
            os.write(w, f"SO-2026-00000{n}\n".encode())
            os.close(w)
            assert _get(out).text == f"SO-2026-00000{n}"
        assert gun.is_alive()
    assert not gun.is_alive()


def test_reads_a_file_path(tmp_path: Path) -> None:
    recorded = tmp_path / "codes.txt"
    recorded.write_bytes(b"SO-2026-000009\nTRK-123456789\n")
    gun, out = _reader(str(recorded), ManualClock())
    gun.start()
    gun.join(5)
    assert [_get(out).kind, _get(out).kind] == ["order", "tracking"]
    gun.stop()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("missing", "station.scan.gun.input"),
        (".", "not a directory"),
    ],
)
def test_unreadable_path_raises_with_hint(tmp_path: Path, path: str, words: str) -> None:
    target = str(tmp_path / path)
    with pytest.raises(SourceError, match="cannot open") as info:
        _reader(target, ManualClock())
    assert target in str(info.value)
    assert info.value.hint is not None
    assert words in info.value.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_path_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.write_bytes(b"")
    locked.chmod(0)
    with pytest.raises(SourceError) as info:
        _reader(str(locked), ManualClock())
    assert info.value.hint is not None
    assert "dialout" in info.value.hint


def test_submit_classifies_like_the_gun() -> None:
    clock = ManualClock()
    gun, out = _reader(None, clock)
    with gun:
        assert not gun.is_alive()  # no device: only the web UI types codes
        scan = gun.submit("  SO-2026-000010 \n")
        assert scan == Scan(clock.now_ms(), "SO-2026-000010", "order", "keyboard", "web", None)
        assert _get(out) == scan
        assert gun.submit(" \t ") is None
        assert gun.submit("PACKSEAL-CANCEL", source="gun") is not None
        assert _get(out).source == "gun"
    assert gun.codes == 2


def test_pure_helpers() -> None:
    assert clean("\x02 SO-1\u200b \r\n") == "SO-1"
    assert gun_scan("", 5, CLASSIFIER) is None
    assert gun_scan("x" * (MAX_SCAN_TEXT + 1), 5, CLASSIFIER) is None
    assert gun_scan("x" * 513, 5, CLASSIFIER) is not None
    assert gun_scan("TRK-123456789", 5, CLASSIFIER) == Scan(
        5, "TRK-123456789", "tracking", "keyboard", "gun", None
    )


def test_terminal_input_is_unbuffered_without_echo_and_restored() -> None:
    import pty
    import termios

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    clock = ManualClock()
    with os.fdopen(slave, "rb", buffering=0) as tty_in:
        gun, out = _reader(tty_in, clock, submit_after_ms=100)
        with gun:
            deadline = time.monotonic() + 5
            while termios.tcgetattr(slave) == before:  # switched when the thread starts
                assert time.monotonic() < deadline
                time.sleep(0.005)
            os.write(master, b"SO-2026-000011")  # a gun without Enter: no line for the tty
            assert _empty(out)
            clock.advance(0.1)
            assert _get(out).text == "SO-2026-000011"
            os.set_blocking(master, False)
            with pytest.raises(BlockingIOError):
                os.read(master, 100)  # nothing echoed back to the "gun"
        assert termios.tcgetattr(slave) == before
    os.close(master)
