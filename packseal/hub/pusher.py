"""The station's outbox pusher: a background thread that replicates to the hub.

Each cycle sends the log first (entries up to a signed checkpoint, in batches split at
the station's own checkpoints), then every blob those entries name, then records what
the hub acknowledged (:class:`storage.outbox.Outbox`). Recording never waits for it: it
reads the store beside the recorder, and its own writes are a few short transactions.
A failure (hub or object store down: connection refused, 503) backs off, doubling from
``retry_seconds`` to ``max_retry_seconds``; a 409 with a size resumes from that size. The
hub's cosignature of each accepted checkpoint is stored like any witness's, so exports
can carry it when the trust file lists the hub as a witness.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from packseal.config import HubLinkConfig
from recorder.clock import Clock
from storage import PacksealError, Store
from storage.cosignature import CosignatureVerifier, parse_cosignature_lines
from storage.note import Signature, parse
from storage.outbox import AnchorMark, Outbox, backlog_text
from verifier.bundle import ExportPolicy


class HubError(PacksealError):
    def __init__(self, message: str, status: int = 0, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True, slots=True)
class PushReport:
    entries: int  # appended by the hub in this cycle
    blobs: int  # acknowledged in this cycle
    acked_size: int
    done: bool  # nothing left to send


class HubClient:
    """One keep-alive HTTP connection to the hub, reopened after any failure."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"hub url must be http(s)://host[:port], got {url!r}")
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname
        self.port = parsed.port or (443 if self.https else 80)
        self.base = parsed.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.backlog: str | None = None  # sent as X-Packseal-Backlog with each request
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.backlog is not None:
            headers["X-Packseal-Backlog"] = self.backlog
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            self._conn.request(method, self.base + path, body=body, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise HubError(
                f"hub {self.host}:{self.port} is unreachable: {e}",
                hint="the station keeps recording; the outbox retries with backoff",
            ) from e
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        return response.status, doc if isinstance(doc, dict) else {}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _message(status: int, doc: dict[str, Any]) -> str:
    err = doc.get("error")
    text = err.get("message") if isinstance(err, dict) else None
    return f"hub answered {status}: {text or 'no message'}"


def policy_doc(policy: ExportPolicy) -> dict[str, Any]:
    """What the hub needs of a station's export policy. The C2PA key stays home: the
    hub learns only that bundles carry Content Credentials (``c2pa``, sent only when
    true, so other stations' policies stay what hubs from before the field accept)."""
    doc: dict[str, Any] = {
        "language": policy.language,
        "quorum": policy.quorum,
        "stamped": policy.stamped,
        "verify_url": policy.verify_url,
        "witnesses": list(policy.witnesses),
    }
    if policy.c2pa is not None:
        doc["c2pa"] = True
    return doc


def requires_c2pa(doc: dict[str, Any] | None) -> bool:
    """Whether the station's bundles carry clip.c2pa.mp4 (absent: an older station)."""
    return doc is not None and doc.get("c2pa") is True


def export_policy(doc: dict[str, Any] | None) -> ExportPolicy:
    """The inverse of :func:`policy_doc` (None: the default policy), without C2PA
    credentials: the hub adds its own (:func:`packseal.hub.exports.hub_export_policy`)."""
    if doc is None:
        return ExportPolicy()
    return ExportPolicy(
        witnesses=tuple(doc["witnesses"]),
        quorum=int(doc["quorum"]),
        stamped=bool(doc["stamped"]),
        verify_url=doc["verify_url"],
        language=str(doc["language"]),
    )


class Pusher:
    def __init__(
        self,
        store: Store,
        link: HubLinkConfig,
        token: str,
        clock: Clock,
        *,
        on_error: Callable[[str], None] | None = None,
        policy: ExportPolicy | None = None,
    ) -> None:
        self.store = store
        self.policy = policy_doc(policy or ExportPolicy())
        self._anchors = AnchorMark()
        self.link = link
        self.clock = clock
        self.outbox = Outbox(store)
        self.client = HubClient(link.url, token, link.timeout_seconds)
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.upload_threads = 4
        self._local = threading.local()
        self._clients: list[HubClient] = []
        self._clients_lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None
        self._checked_witness: str | None = None  # the hub key whose cosignatures were checked

    # -- one cycle -------------------------------------------------------------------

    def cycle(self) -> PushReport:
        """Send what is owed now; raises :class:`HubError` when the hub cannot take it."""
        before = backlog_text(self.outbox.backlog())
        self.client.backlog = before
        entries = self._entries()
        self._send_anchors()
        blobs = self._blobs()
        self.outbox.advance()
        after = backlog_text(self.outbox.backlog())
        if after != before:  # tell the hub where this cycle left the station
            self.client.backlog = after
            status, doc = self.client.request("GET", "/hub/v1/size")
            if status != 200:
                raise HubError(_message(status, doc), status)
        state = self.outbox.state()
        latest = self.store.latest_checkpoint()
        sent = latest is None or state.acked_size >= latest.size
        done = sent and not self.outbox.pending_blobs(1)
        return PushReport(entries, blobs, state.acked_size, done)

    def _entries(self) -> int:
        appended = 0
        while not self._stop.is_set():
            push = self.outbox.next_push(self.link.batch_entries)
            if push is None:
                return appended
            status, doc = self.client.request("POST", "/hub/v1/push", push.to_bytes())
            now = self.clock.now_ms()
            if status == 200:
                self.outbox.acked(int(doc["size"]), now)
                appended += int(doc.get("appended", 0))
                self._keep_cosignature(int(doc["size"]), doc.get("cosignature"), doc.get("witness"))
                continue
            if status == 409 and "size" in doc:
                self.outbox.acked(int(doc["size"]), now)  # resume from what the hub holds
                continue
            raise HubError(_message(status, doc), status)
        return appended

    def _send_anchors(self) -> None:
        """Checkpoints, stamps and cosignatures of what the hub holds, and the policy:
        what the hub needs to export the same bundles as this station."""
        while not self._stop.is_set():
            found = self.outbox.next_anchors(self._anchors, self.policy)
            if found is None:
                return
            push, mark = found
            status, doc = self.client.request("POST", "/hub/v1/anchors", push.to_bytes())
            if status == 422 and "c2pa" in self.policy and "policy" in _message(status, doc):
                # A hub from before the c2pa field refuses it: mirror without it (that
                # hub cannot export this station's Content Credentials either way).
                self.policy = {k: v for k, v in self.policy.items() if k != "c2pa"}
                continue
            if status != 200:
                raise HubError(_message(status, doc), status)
            self._anchors = mark

    def _keep_cosignature(self, size: int, line: Any, vkey: Any = None) -> None:
        """Keep the hub's cosignature of the checkpoint at ``size`` if it verifies over
        this station's own checkpoint there, with the key the hub names (``vkey``; a hub
        from before it named one: kept unchecked)."""
        if not isinstance(line, str) or not line:
            return
        try:
            sigs = parse_cosignature_lines(line.encode())
            if isinstance(vkey, str):
                hub = CosignatureVerifier.from_vkey(vkey)
                self._drop_bad_cosignatures(hub)
                cp = self.store.checkpoint_at(size)
                text = b"" if cp is None else parse(cp.note)[0].encode("utf-8")
                sigs = [s for s in sigs if not _of(hub, s) or hub.verify(text, s.signature)]
            self.store.anchors.add_cosignatures(size, sigs, self.clock.now_ms())
        except PacksealError:
            pass  # the hub's cosignature is a bonus; the mirror holds the log either way

    def _drop_bad_cosignatures(self, hub: CosignatureVerifier) -> None:
        """Once per pusher: forget the hub's cosignatures this station kept that do not
        verify over its checkpoints. A hub before 1ddbfe8 could give one of an older
        checkpoint's body; kept, it was sent back with the anchors and refused (422) on
        every cycle, and exports carried it."""
        if self._checked_witness == hub.vkey:
            return
        anchors = self.store.anchors
        notes = {cp.size: cp.note for cp in self.store.checkpoints()}
        for size, sig in anchors.cosignatures_by(hub.name, hub.key_id):
            note = notes.get(size)
            if note is None or not hub.verify(parse(note)[0].encode("utf-8"), sig.signature):
                anchors.drop_cosignature(size, sig.name, sig.key_id)
        self._checked_witness = hub.vkey

    def _blobs(self) -> int:
        """Upload what the hub lacks, a few at a time (each its own connection): a PUT is
        create-if-absent on the hub, so one that already arrived costs a round trip."""
        sent = 0
        while not self._stop.is_set():
            pending = self.outbox.pending_blobs(64)
            if not pending:
                return sent
            done: list[str] = []
            try:
                with ThreadPoolExecutor(self.upload_threads, "packseal-hub-blob") as pool:
                    done.extend(pool.map(self._upload, [b.sha256 for b in pending]))
            finally:
                # what the hub acknowledged before a failure stays acknowledged
                self.outbox.blobs_acked(done, self.clock.now_ms())
            sent += len(done)
        return sent

    def _upload(self, sha: str) -> str:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = HubClient(
                self.link.url, self.client.token, self.link.timeout_seconds
            )
            with self._clients_lock:
                self._clients.append(client)
        status, doc = client.request("PUT", f"/hub/v1/blobs/{sha}", self.store.read_blob(sha))
        if status != 200:
            raise HubError(_message(status, doc), status)
        return sha

    # -- the thread ------------------------------------------------------------------

    def start(self) -> Pusher:
        self._thread = threading.Thread(target=self._run, name="packseal-hub-push", daemon=True)
        self._thread.start()
        return self

    def stop(self, drain_seconds: float = 0.0) -> None:
        """Stop; with ``drain_seconds``, first give the outbox that long to empty."""
        deadline = time.monotonic() + drain_seconds
        while drain_seconds > 0 and time.monotonic() < deadline and self._thread is not None:
            try:
                if self.cycle().done:
                    break
            except PacksealError:
                break
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.link.timeout_seconds + 5)
        self.close()

    def close(self) -> None:
        """Close every connection to the hub (the pusher can be used again after)."""
        self.client.close()
        with self._clients_lock:
            for c in self._clients:
                c.close()

    def _run(self) -> None:
        delay = self.link.push_interval_seconds
        while not self._stop.is_set():
            try:
                report = self.cycle()
            except PacksealError as e:
                self.failures += 1
                self.last_error = e.message
                self.outbox.failed(e.message, self.clock.now_ms())
                if self.on_error is not None:
                    self.on_error(e.message)
                delay = min(
                    self.link.retry_seconds * 2 ** min(self.failures - 1, 30),
                    self.link.max_retry_seconds,
                )
            except Exception as e:
                self.failures += 1
                self.last_error = f"{type(e).__name__}: {e}"
                delay = self.link.max_retry_seconds
            else:
                self.failures = 0
                self.last_error = None
                delay = 0.0 if not report.done else self.link.push_interval_seconds
            self._stop.wait(delay)


__all__ = ["HubClient", "HubError", "PushReport", "Pusher"]


def _of(witness: CosignatureVerifier, sig: Signature) -> bool:
    return (sig.name, sig.key_id) == (witness.name, witness.key_id)
