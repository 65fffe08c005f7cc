"""A tlog witness (c2sp.org/tlog-witness): cosigns a log's checkpoints, never a fork.

``POST /add-checkpoint`` with ``old <size>``, a consistency proof, a blank line and the
signed checkpoint. The witness answers, in the spec's order of checks:

=====  ===========================================================================
400    not the request format, or ``old`` larger than the checkpoint
404    an origin this witness does not witness
403    no signature by a key it trusts for that origin
409    ``old`` is not the size it last cosigned (body: that size, ``text/x.tlog.size``),
       or the same size with another root
422    the consistency proof from its last checkpoint does not verify
200    the new checkpoint is stored, then cosigned (cosignature/v1 lines)
=====  ===========================================================================

The state directory holds ``witness.json`` (its name and the logs it witnesses, with
their verifier keys), ``witness.key`` (mode 0600) and one file per origin with the latest
cosigned checkpoint. Checking the old size and storing the new checkpoint happen under
one lock, and the file is replaced atomically (write, fsync, rename, fsync the
directory), so a crash never rolls a log back and a restart resumes where it was. A
validly signed checkpoint that is refused (409 same size, 422) is kept in ``refused/``:
with the stored one, it is the proof that the log forked.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from storage import FormatError, KeyFileError, ProofError, SignatureError, merkle
from storage.checkpoint import Checkpoint, open_checkpoint
from storage.cosignature import AddCheckpoint, CosignatureSigner, signature_lines
from storage.keys import generate_key_file, load_private_key
from storage.note import Ed25519Verifier, check_name, parse

CONFIG = "witness.json"
KEY = "witness.key"
MAX_BODY = 64 << 10
MAX_REFUSED = 1000  # evidence kept per witness; a misbehaving log does not fill the disk
SIZE_TYPE = "text/x.tlog.size"


class WitnessError(KeyFileError):
    """The witness's state directory is missing or not usable."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class WitnessedLog:
    origin: str
    vkeys: tuple[str, ...]

    def verifiers(self) -> list[Ed25519Verifier]:
        return [Ed25519Verifier.from_vkey(v) for v in self.vkeys]


def init_witness(state: Path, name: str, logs: list[str]) -> CosignatureSigner:
    """Create a witness state directory: its key and config (``logs`` are log vkeys)."""
    check_name(name)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = state / CONFIG
    if config.exists():
        raise WitnessError(
            f"{config} already exists", hint="add logs with `packseal witness add-log`"
        )
    key = generate_key_file(state / KEY)
    doc: dict[str, Any] = {"name": name, "logs": []}
    _atomic_write(config, (json.dumps(doc, indent=2) + "\n").encode())
    for vkey in logs:
        add_log(state, vkey)
    return CosignatureSigner(name, key)


def add_log(state: Path, vkey: str) -> WitnessedLog:
    """Witness the log whose checkpoints ``vkey`` signs (its name is the origin)."""
    verifier = Ed25519Verifier.from_vkey(vkey)
    doc = _read_config(state)
    logs = doc["logs"]
    for item in logs:
        if item["origin"] == verifier.name:
            if vkey not in item["vkeys"]:
                item["vkeys"].append(vkey)
            break
    else:
        logs.append({"origin": verifier.name, "vkeys": [vkey]})
    _atomic_write(state / CONFIG, (json.dumps(doc, indent=2) + "\n").encode())
    return WitnessedLog(
        verifier.name, tuple(next(i for i in logs if i["origin"] == verifier.name)["vkeys"])
    )


def _read_config(state: Path) -> dict[str, Any]:
    try:
        doc = json.loads((state / CONFIG).read_text())
    except FileNotFoundError as e:
        raise WitnessError(
            f"{state} is not a witness state directory (no {CONFIG})",
            hint="create one with `packseal witness init --state DIR --name NAME`",
        ) from e
    except ValueError as e:
        raise WitnessError(f"{state / CONFIG} is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise WitnessError(f"{state / CONFIG}: expected {{'name': ..., 'logs': [...]}}")
    if not isinstance(doc.get("logs"), list):
        raise WitnessError(f"{state / CONFIG}: 'logs' must be a list")
    return doc


class Witness:
    """The witness's decisions and durable state (no HTTP: see :func:`serve`)."""

    def __init__(self, state: Path, clock: Callable[[], float]) -> None:
        doc = _read_config(state)
        self.state = state
        self.clock = clock
        self.signer = CosignatureSigner(doc["name"], load_private_key(state / KEY))
        self.logs: dict[str, WitnessedLog] = {}
        self.reload()
        (state / "logs").mkdir(exist_ok=True, mode=0o700)
        (state / "refused").mkdir(exist_ok=True, mode=0o700)
        self._lock = threading.Lock()

    @property
    def vkey(self) -> str:
        return self.signer.verifier.vkey

    def reload(self) -> None:
        """Re-read the logs to witness (after ``add_log``), e.g. on SIGHUP."""
        logs = {}
        for item in _read_config(self.state)["logs"]:
            try:
                log = WitnessedLog(str(item["origin"]), tuple(str(v) for v in item["vkeys"]))
                log.verifiers()
            except (KeyError, TypeError, FormatError) as e:
                raise WitnessError(f"{self.state / CONFIG}: a log entry is not valid: {e}") from e
            logs[log.origin] = log
        self.logs = logs

    def latest(self, origin: str) -> tuple[int, bytes, bytes] | None:
        """(size, root, note) of the latest checkpoint cosigned for ``origin``."""
        try:
            doc = json.loads(self._path(origin).read_text())
        except FileNotFoundError:
            return None
        return int(doc["size"]), base64.b64decode(doc["root"]), doc["note"].encode()

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = AddCheckpoint.from_bytes(body)
            text, _ = parse(request.checkpoint)
            cp = Checkpoint.from_text(text)
        except FormatError as e:
            return Answer(400, f"bad request: {e.message}\n".encode())
        log = self.logs.get(cp.origin)
        if log is None:
            return Answer(404, f"unknown log origin {cp.origin!r}\n".encode())
        try:
            open_checkpoint(request.checkpoint, log.verifiers())
        except (SignatureError, FormatError) as e:
            return Answer(403, f"checkpoint signature: {e.message}\n".encode())
        if request.old > cp.size:
            return Answer(
                400, f"old size {request.old} is larger than the checkpoint's {cp.size}\n".encode()
            )
        with self._locked():
            latest = self.latest(cp.origin)
            size, root = (0, merkle.EMPTY_ROOT) if latest is None else latest[:2]
            if request.old != size:
                return Answer(409, f"{size}\n".encode(), SIZE_TYPE)
            if request.old == cp.size and root != cp.root_hash:
                self._refuse(cp, request.checkpoint)
                return Answer(
                    409, f"{size}\n".encode(), SIZE_TYPE
                )  # same size, another root: a fork
            try:
                merkle.verify_consistency(size, cp.size, request.proof, root, cp.root_hash)
            except ProofError as e:
                self._refuse(cp, request.checkpoint)
                return Answer(422, f"consistency proof from {size}: {e.message}\n".encode())
            # Persist before answering (tlog-witness): a cosignature must never exist for
            # a checkpoint the witness would forget after a crash.
            self._store(cp, request.checkpoint)
        signature = self.signer.cosign(text, int(self.clock()))
        return Answer(200, signature_lines([signature]))

    # -- state files ---------------------------------------------------------------------

    def _path(self, origin: str) -> Path:
        return self.state / "logs" / (hashlib.sha256(origin.encode()).hexdigest()[:32] + ".json")

    def _store(self, cp: Checkpoint, raw: bytes) -> None:
        doc = {
            "origin": cp.origin,
            "size": cp.size,
            "root": base64.b64encode(cp.root_hash).decode(),
            "note": raw.decode(),
        }
        _atomic_write(self._path(cp.origin), (json.dumps(doc, indent=2) + "\n").encode())

    def _refuse(self, cp: Checkpoint, raw: bytes) -> None:
        folder = self.state / "refused"
        if sum(1 for _ in folder.iterdir()) >= MAX_REFUSED:
            return
        digest = hashlib.sha256(raw).hexdigest()[:16]
        slug = "".join(c if c.isalnum() or c in "-." else "_" for c in cp.origin)[:80]
        _atomic_write(folder / f"{slug}-{cp.size}-{digest}.note", raw)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # A thread lock for this server's request threads, a file lock against a second
        # process on the same state directory: check-then-store must be atomic.
        with self._lock, open(self.state / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``witness`` (not started: call ``serve_forever``)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "packseal-witness"
        protocol_version = "HTTP/1.1"  # keep-alive, as tlog-witness recommends

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/add-checkpoint":
                self._send(Answer(404, b"not found: POST /add-checkpoint\n"))
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(Answer(411, b"Content-Length required\n"))
                return
            if not 0 < length <= MAX_BODY:
                self._send(Answer(413, f"body must be 1..{MAX_BODY} bytes\n".encode()))
                return
            self._send(witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            lines = [f"tlog witness {witness.signer.name}", f"vkey {witness.vkey}"]
            lines += [f"witnesses {origin}" for origin in sorted(witness.logs)]
            self._send(Answer(200, ("\n".join(lines) + "\n").encode()))

        def _send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the CLI reports requests itself; tests stay quiet

    return ThreadingHTTPServer((host, port), Handler)


__all__ = [
    "Answer",
    "Witness",
    "WitnessError",
    "WitnessedLog",
    "add_log",
    "init_witness",
    "make_server",
]
