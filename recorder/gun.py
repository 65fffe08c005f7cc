"""Scanner guns: keyboard wedges and serial scanners that type the code, usually + Enter.

:class:`GunReader` reads bytes from stdin, a FIFO, a serial device (``/dev/ttyACM0``) or
any open binary stream with a file descriptor. A code ends at CR or LF, or after
``submit_after_ms`` without input (guns configured without a suffix). Control characters
and surrounding whitespace are dropped, empty lines ignored. Gun input counts at once: a
trained packer aimed it, and the gun's own decoder already checked the symbol. Each code
goes to a ``submit`` function (the station's :meth:`~recorder.station.Station.submit`),
which classifies it (:func:`gun_scan`) and counts it; the web UI's typed codes take the
same way.

A gun reports no symbology (it types text), so every code has ``symbology="keyboard"``.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import sys
import termios
import threading
import tty
import unicodedata
from types import TracebackType
from typing import Any, BinaryIO, Literal, Protocol, Self

from recorder._errors import SourceError
from recorder.clock import Clock
from recorder.scanner import Classifier
from recorder.settings import GunSettings
from storage.entries import MAX_SCAN_TEXT, Scan

# Longer is a stuck key or a binary stream, not a barcode: the line is dropped, whole (a
# QR code's longest text, 7,089 characters, is at most 4 bytes each in UTF-8).
MAX_LINE_BYTES = 4 * MAX_SCAN_TEXT
_POLL_S = 0.05  # stop() and the no-Enter timeout are noticed within this


def clean(text: str) -> str:
    """``text`` without control/format characters and surrounding whitespace."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return kept.strip()


def gun_scan(
    text: str,
    t_ms: int,
    classifier: Classifier,
    source: Literal["gun", "web"] = "gun",
) -> Scan | None:
    """The scan a typed code makes, or ``None`` for a code that is empty or too long."""
    code = clean(text)
    if not code or len(code) > MAX_SCAN_TEXT:
        return None
    return Scan(t_ms, code, classifier.classify(code, "keyboard"), "keyboard", source, None)


class Submit(Protocol):
    """Where a typed code goes: ``Station.submit`` (classifies, queues, returns the scan)."""

    def __call__(
        self, text: str, source: Literal["gun", "web"] = ..., t_ms: int | None = ...
    ) -> Scan | None: ...


class GunReader:
    """A thread turning typed codes into scans: ``with GunReader(...): ...``.

    ``source`` is ``"stdin"``, a path, an open binary stream (its descriptor is read
    directly; the reader does not close it), or ``None`` when only :meth:`submit` is used.
    End of input (the writer closed a pipe, a file ended) ends the thread after submitting
    any pending code. A FIFO is opened read-write, so a gun bridge that restarts does not
    end the reader. A terminal is switched to no-echo, unbuffered input while reading.
    """

    def __init__(
        self,
        source: BinaryIO | str | None,
        settings: GunSettings,
        submit: Submit,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._submit = submit
        self._clock = clock
        self._owned = False
        self._fd: int | None = None
        if source == "stdin":
            self._fd = sys.stdin.fileno()
        elif isinstance(source, str):
            self._fd = _open_device(source)
            self._owned = True
        elif source is not None:
            self._fd = source.fileno()
        self._name = source if isinstance(source, str) else getattr(source, "name", "stream")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="packseal-gun", daemon=True)
        self._codes = 0
        self.error: str | None = None  # why reading ended early (device unplugged, ...)

    # lifecycle

    def start(self) -> None:
        if self._fd is not None:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif self._thread.ident is None:  # never started: the thread did not close it
            self._close()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the end of input (or :meth:`stop`)."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def codes(self) -> int:
        """Codes submitted so far (gun and web)."""
        return self._codes

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # input

    def submit(self, text: str, *, source: Literal["gun", "web"] = "web") -> Scan | None:
        """Submit a typed code now; its scan, or ``None`` for an empty or overlong code."""
        scan = self._submit(text, source, self._clock.now_ms())
        if scan is not None:
            self._codes += 1
        return scan

    def _emit(self, line: bytes, t_ms: int) -> None:
        if self._submit(line.decode("utf-8", errors="replace"), "gun", t_ms) is not None:
            self._codes += 1

    def _run(self) -> None:
        fd = self._fd
        assert fd is not None
        saved = _cbreak(fd)
        try:
            self._read(fd)
        finally:
            if saved is not None:
                with contextlib.suppress(termios.error):
                    termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            self._close()

    def _read(self, fd: int) -> None:
        line = bytearray()
        overlong = False
        last_ms = 0  # wall time of the last byte: the scan's time for a no-Enter code
        last_input = 0.0
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], _POLL_S)
                chunk = os.read(fd, 4096) if ready else None
            except BlockingIOError:
                continue
            except (OSError, ValueError) as e:  # unplugged (EIO), closed under us
                self.error = f"scanner gun input {self._name}: {e}"
                break
            if chunk is None:
                quiet_ms = round((self._clock.monotonic() - last_input) * 1000)
                if line and quiet_ms >= self.settings.submit_after_ms:
                    if not overlong:
                        self._emit(bytes(line), last_ms)
                    line.clear()
                    overlong = False
                continue
            if not chunk:
                break
            last_ms, last_input = self._clock.now_ms(), self._clock.monotonic()
            for byte in chunk:
                if byte in (0x0D, 0x0A):
                    if not overlong:  # a cut code would be recorded as what was not read
                        self._emit(bytes(line), last_ms)
                    line.clear()
                    overlong = False
                elif len(line) < MAX_LINE_BYTES:
                    line.append(byte)
                else:
                    overlong = True
        if line and not overlong:
            self._emit(bytes(line), last_ms)

    def _close(self) -> None:
        if self._owned and self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


def _open_device(path: str) -> int:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory")
        # Read-write on a FIFO: we count as a writer, so there is no end of input while the
        # bridge that feeds it restarts. Non-blocking: opening must not wait for a writer.
        flags = os.O_RDWR if stat.S_ISFIFO(mode) else os.O_RDONLY
        return os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        raise SourceError(
            f"scanner gun input {path!r}: cannot open it for reading ({e.strerror or e})",
            hint=_hint(e),
        ) from e


def _hint(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return (
            "check station.scan.gun.input in config.yaml; a serial scanner is usually "
            "/dev/ttyACM0 (ls /dev/serial/by-id/), a keyboard-wedge gun is read from 'stdin'"
        )
    if isinstance(e, PermissionError):
        return "add the station's user to the 'dialout' group, or fix the device's permissions"
    if isinstance(e, IsADirectoryError):
        return "expected a device, FIFO or file, not a directory"
    return "unplug and replug the scanner, or set station.scan.gun.input to null"


def _cbreak(fd: int) -> list[Any] | None:
    """Switch a terminal to no-echo, byte-at-a-time input; return its settings to restore.

    A wedge gun without an Enter suffix would otherwise sit in the line buffer until the
    next Enter, and echo would print every code on the station's console.
    """
    if not os.isatty(fd):
        return None
    try:
        saved: list[Any] = termios.tcgetattr(fd)
        tty.setcbreak(fd, termios.TCSANOW)
    except termios.error:
        return None
    return saved


__all__ = ["MAX_LINE_BYTES", "GunReader", "clean", "gun_scan"]
