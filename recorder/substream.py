"""Scan frames from an IP camera's sub-stream, for stream-copy mode.

Cameras send a main stream (1080p or 4K, what is recorded) and a low-resolution
sub-stream (e.g. 640x360) of the same picture. With ``station.camera.scan_url`` the copy
run only copies the main stream (nothing decoded, :mod:`recorder.copyrun`) and this
ffmpeg decodes the sub-stream, cut to the scan rate and scaled to the scan size, as raw
BGR on stdout: what the station scans and measures motion on.

Time: a scan frame is stamped when it arrives, on the station clock, as the main
stream's segments are anchored (their first packets' arrival): both are the camera's
picture of the same moment, so a scan and the footage line up to within the two
streams' network and decode latency (tens of ms on a LAN; a camera that encodes its
sub-stream later adds its own delay).

Either stream can be lost alone. The sub-stream lost: the footage is complete (no gap),
but nothing is scanned: the station raises a ``scan-lost`` alarm and reconnects it every
``reconnect_seconds``, while the main stream records on. The main stream lost: the
camera is lost, as without a sub-stream (``camera-lost`` gap, open clip interrupted),
and the sub-stream is closed with it, so no scan opens a clip with no footage.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from recorder._errors import EncoderError
from recorder.clock import Clock
from recorder.copyrun import ScanGeometry, _read_exact, _redacted_log, _terminate
from recorder.sources import Image

__all__ = ["ScanStream", "scan_command"]


def scan_command(
    url: str, *, ffmpeg: str, scan: ScanGeometry, transport: str, stall_seconds: float
) -> list[str]:
    """The ffmpeg command decoding a sub-stream into scan frames (tested by equality)."""
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-rtsp_transport", transport,
        "-timeout", str(round(stall_seconds * 1_000_000)),  # socket I/O, microseconds
        "-i", url,
        "-map", "0:v:0", "-vf", f"fps={scan.fps:g},scale={scan.width}:{scan.height}",
        "-pix_fmt", scan.pix_fmt, "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip


class ScanStream:
    """One ffmpeg reading the sub-stream; its log (redacted) appended to ``log_path``."""

    def __init__(self, process: subprocess.Popen[bytes], scan: ScanGeometry, log: Path) -> None:
        self._process = process
        self.scan = scan
        self.started_ms = 0  # station ms of its first frame; 0 until one arrived
        self._log_thread = threading.Thread(
            target=_redacted_log, args=(process.stderr, log), daemon=True
        )
        self._log_thread.start()

    @classmethod
    def start(
        cls,
        url: str,
        *,
        ffmpeg: str,
        scan: ScanGeometry,
        transport: str,
        stall_seconds: float,
        log_path: Path,
    ) -> ScanStream:
        command = scan_command(
            url, ffmpeg=ffmpeg, scan=scan, transport=transport, stall_seconds=stall_seconds
        )
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # the station stops it, not Ctrl-C
            )
        except OSError as e:
            raise EncoderError(f"cannot start ffmpeg {ffmpeg!r}: {e}") from e
        return cls(process, scan, log_path)

    def read_frame(self, clock: Clock) -> tuple[Image, int] | None:
        """The next scan frame and the station time it arrived; None when ffmpeg ended."""
        assert self._process.stdout is not None
        data = _read_exact(self._process.stdout, self.scan.frame_bytes)
        if data is None:
            return None
        now = clock.now_ms()
        if not self.started_ms:
            self.started_ms = now
        return self.scan.image(data), now

    def finish(self, timeout: float = 5.0) -> None:
        """Stop it (nothing it writes is kept, so no grace is needed); never raises."""
        process = self._process
        if process.poll() is None:
            _terminate(process, timeout)
        if process.stdout is not None:
            process.stdout.close()
        self._log_thread.join(5)
