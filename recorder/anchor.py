"""Anchoring a station's checkpoints outside the merchant: TSA time-stamps, witness
cosignatures. Never in the way of recording.

The station's main loop calls :meth:`Anchorer.poll` on every turn. ``poll`` only looks
at the database and hands work to one background thread that does the HTTP; it never
waits for the network. Results come back through a queue and are stored by ``poll``, so
the main loop stays the store's only writer. Each target (a TSA URL, a witness) is owed
the latest checkpoint until it has answered for it; a failure backs off exponentially
(``retry_seconds`` doubling up to ``max_retry_seconds``), so an offline station retries
quietly and stamps its newest checkpoint when the network returns.
"""

from __future__ import annotations

import functools
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from recorder.clock import Clock
from storage import FormatError, SignatureError, Store, StoredCheckpoint
from storage.cosignature import (
    AddCheckpoint,
    CosignatureVerifier,
    cosignatures,
    parse_cosignature_lines,
    with_cosignatures,
)
from storage.note import parse
from storage.timestamp import (
    MEDIA_TYPE_QUERY,
    TimestampError,
    check_response,
    make_request,
)

MAX_ANSWER = 64 << 10
_LOOK_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class WitnessTarget:
    url: str  # the submission prefix; the client POSTs to <url>/add-checkpoint
    vkey: str

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier.from_vkey(self.vkey)


@dataclass(frozen=True, slots=True)
class AnchorSettings:
    tsa_urls: tuple[str, ...] = ()
    tsa_roots: tuple[str, ...] = ()  # PEM; empty: the station checks imprint and nonce only
    witnesses: tuple[WitnessTarget, ...] = ()
    timeout_seconds: float = 10.0
    retry_seconds: float = 2.0
    max_retry_seconds: float = 300.0
    drain_seconds: float = 5.0  # at the end of a recording, wait this long for anchors

    @property
    def enabled(self) -> bool:
        return bool(self.tsa_urls or self.witnesses)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt ended with (for status lines, tests and the benchmark)."""

    target: str
    size: int
    ok: bool
    message: str


@dataclass
class _Backoff:
    failures: int = 0
    next_at: float = 0.0


@dataclass
class _Result:
    target: str
    cp: StoredCheckpoint
    store: Callable[[], None] | None
    message: str
    retry: bool  # False: a definite refusal (still retried, but no faster than the maximum)


@dataclass
class AnchorStats:
    stamped: int = 0
    cosigned: int = 0
    failures: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


Post = Callable[[str, bytes, str, float], tuple[int, str, bytes]]


def http_post(url: str, body: bytes, content_type: str, timeout: float) -> tuple[int, str, bytes]:
    """POST ``body``; (status, content type, body), an HTTP error status included."""
    request = urllib.request.Request(  # noqa: S310 - URLs come from the operator's config
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.headers.get("Content-Type", ""), answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read(MAX_ANSWER)


class Anchorer:
    def __init__(
        self,
        store: Store,
        settings: AnchorSettings,
        clock: Clock,
        *,
        post: Post = http_post,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.store = store
        self.anchors = store.anchors
        self.settings = settings
        self.clock = clock
        self.post = post
        self.on_outcome = on_outcome
        self.stats = AnchorStats()
        self._backoff: dict[str, _Backoff] = {}
        self._jobs: queue.Queue[Callable[[], _Result] | None] = queue.Queue()
        self._results: queue.Queue[_Result] = queue.Queue()
        self._busy: set[str] = set()
        self._thread: threading.Thread | None = None
        self._next_look = 0.0
        self._roots = None
        if settings.tsa_roots:
            from storage.timestamp import load_roots

            self._roots = load_roots(settings.tsa_roots)

    # -- the main loop's side --------------------------------------------------------

    def poll(self) -> None:
        """Store finished work and start what is due. Never waits for the network."""
        self._collect()
        now = self.clock.monotonic()
        # The main loop turns 20 times a second; the database need not be asked as often.
        if not self.settings.enabled or now < self._next_look:
            return
        self._next_look = now + _LOOK_SECONDS
        for url in self.settings.tsa_urls:
            cp = self._due(url, now, functools.partial(self.anchors.owed_stamp, url))
            if cp is not None:
                self._start(url, cp, self._stamp_job(url, cp))
        for w in self.settings.witnesses:
            name = w.verifier.name
            cp = self._due(w.url, now, functools.partial(self.anchors.owed_cosignature, name))
            if cp is not None:
                old = self.anchors.last_cosigned_size(name)
                self._start(w.url, cp, self._witness_job(w, cp, old))

    def owed(self) -> int:
        """How many targets are still owed the latest checkpoint."""
        n = sum(1 for url in self.settings.tsa_urls if self.anchors.owed_stamp(url))
        n += sum(
            1 for w in self.settings.witnesses if self.anchors.owed_cosignature(w.verifier.name)
        )
        return n

    def drain(self, seconds: float) -> int:
        """Poll until nothing is owed or ``seconds`` passed (shutdown, ``log anchor``).

        Returns how many targets are still owed. Only for the end of a recording, or a
        command run by hand: it waits for the network, bounded.
        """
        deadline = self.clock.monotonic() + seconds
        while True:
            for key in list(self._backoff):
                # An explicit drain retries at once: the operator is waiting for it.
                self._backoff[key].next_at = 0.0
            self._next_look = 0.0
            self.poll()
            if not self._busy and self.owed() == 0:
                return 0
            if self.clock.monotonic() >= deadline:
                return self.owed()
            try:
                result = self._results.get(timeout=0.05)
            except queue.Empty:
                continue
            self._results.put(result)

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=self.settings.timeout_seconds + 1)
            self._thread = None

    # -- internals -------------------------------------------------------------------

    def _due(
        self, key: str, now: float, owed: Callable[[], StoredCheckpoint | None]
    ) -> StoredCheckpoint | None:
        if key in self._busy or self._backoff.get(key, _Backoff()).next_at > now:
            return None
        return owed()

    def _start(self, key: str, cp: StoredCheckpoint, job: Callable[[], _Result]) -> None:
        def guarded() -> _Result:
            try:
                return job()
            except Exception as e:  # a bug must not stop anchoring silently
                return _Result(key, cp, None, f"{key}: {type(e).__name__}: {e}", True)

        self._busy.add(key)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._worker, name="packseal-anchor", daemon=True
            )
            self._thread.start()
        self._jobs.put(guarded)

    def _worker(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._results.put(job())

    def _collect(self) -> None:
        while True:
            try:
                result = self._results.get_nowait()
            except queue.Empty:
                return
            self._busy.discard(result.target)
            backoff = self._backoff.setdefault(result.target, _Backoff())
            ok = result.store is not None
            if ok:
                assert result.store is not None
                result.store()
                backoff.failures = 0
                backoff.next_at = 0.0
            else:
                self.stats.failures += 1
                backoff.failures += 1
                delay = (
                    min(
                        self.settings.retry_seconds * 2 ** (backoff.failures - 1),
                        self.settings.max_retry_seconds,
                    )
                    if result.retry
                    else self.settings.max_retry_seconds
                )
                backoff.next_at = self.clock.monotonic() + delay
            outcome = Outcome(result.target, result.cp.size, ok, result.message)
            self.stats.outcomes.append(outcome)
            del self.stats.outcomes[:-100]
            if self.on_outcome is not None:
                self.on_outcome(outcome)

    def _stamp_job(self, url: str, cp: StoredCheckpoint) -> Callable[[], _Result]:
        text, _ = parse(cp.note)
        timeout = self.settings.timeout_seconds

        def job() -> _Result:
            request = make_request(text)
            try:
                status, _, body = self.post(url, request, MEDIA_TYPE_QUERY, timeout)
            except OSError as e:
                return _Result(url, cp, None, f"TSA {url} unreachable: {e}", True)
            if status != 200:
                return _Result(url, cp, None, f"TSA {url} answered HTTP {status}", True)
            try:
                gen_ms = self._check_stamp(text, request, body)
            except (TimestampError, FormatError, ValueError) as e:
                return _Result(url, cp, None, f"TSA {url}: {e}", False)

            def store() -> None:
                self.anchors.add_stamp(cp.size, url, request, body, gen_ms, self.clock.now_ms())
                self.stats.stamped += 1

            return _Result(url, cp, store, f"stamped size {cp.size} by {url}", True)

        return job

    def _check_stamp(self, text: str, request: bytes, response: bytes) -> int:
        if self._roots is not None:
            return check_response(text, request, response, self._roots).gen_ms
        # No roots configured: still refuse a token for another checkpoint or request.
        from rfc3161_client import PKIStatus, decode_timestamp_response
        from rfc3161_client._rust import parse_timestamp_request

        from storage.timestamp import imprint

        req = parse_timestamp_request(request)
        try:
            tsr = decode_timestamp_response(response)
        except ValueError as e:
            raise FormatError(f"not a DER TimeStampResp: {e}") from e
        info = tsr.tst_info
        if PKIStatus(tsr.status) != PKIStatus.GRANTED:
            raise TimestampError(f"the TSA did not grant the request (status {tsr.status})")
        if info.message_imprint.message != imprint(text) or info.nonce != req.nonce:
            raise TimestampError("the TSA answered for another message or nonce")
        return round(info.gen_time.timestamp() * 1000)

    def _witness_job(
        self, target: WitnessTarget, cp: StoredCheckpoint, old: int
    ) -> Callable[[], _Result]:
        store = self.store
        timeout = self.settings.timeout_seconds
        proofs = {old: store.consistency_proof(old, cp.size)} if old <= cp.size else {}
        url = target.url.rstrip("/") + "/add-checkpoint"
        verifier = target.verifier

        def attempt(size: int) -> tuple[int, str, bytes]:
            proof = proofs.get(size)
            if proof is None:  # the witness knows another size: a proof from the log
                proof = store.consistency_proof(size, cp.size)
            body = AddCheckpoint(size, tuple(proof), cp.note).to_bytes()
            return self.post(url, body, "text/plain", timeout)

        def job() -> _Result:
            try:
                status, ctype, body = attempt(old)
                if status == 409 and ctype.startswith("text/x.tlog.size"):
                    known = _size(body)
                    if known is not None and known != old and known <= cp.size:
                        status, ctype, body = attempt(known)
            except OSError as e:
                return _Result(target.url, cp, None, f"witness {target.url} unreachable: {e}", True)
            except Exception as e:
                return _Result(target.url, cp, None, f"witness {target.url}: {e}", False)
            if status != 200:
                detail = body.decode("utf-8", "replace").strip()[:200]
                return _Result(
                    target.url,
                    cp,
                    None,
                    f"witness {target.url} refused size {cp.size}: HTTP {status} {detail}",
                    status >= 500,
                )
            try:
                lines = parse_cosignature_lines(body)
                valid = cosignatures(with_cosignatures(cp.note, lines), [verifier])
            except (FormatError, SignatureError) as e:
                return _Result(target.url, cp, None, f"witness {target.url}: {e}", False)
            if not valid:
                return _Result(
                    target.url, cp, None, f"witness {target.url}: no cosignature by its key", False
                )
            mine = [s for s in lines if (s.name, s.key_id) == (verifier.name, verifier.key_id)]

            def store() -> None:
                self.anchors.add_cosignatures(cp.size, mine, self.clock.now_ms())
                self.stats.cosigned += 1

            return _Result(target.url, cp, store, f"cosigned size {cp.size} by {target.url}", True)

        return job


def _size(body: bytes) -> int | None:
    text = body.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() and len(text) < 20 else None


def anchor_settings(
    tsa_urls: Sequence[str],
    tsa_roots: Sequence[str],
    witnesses: Sequence[tuple[str, str]],
    **options: float,
) -> AnchorSettings:
    return AnchorSettings(
        tuple(tsa_urls),
        tuple(tsa_roots),
        tuple(WitnessTarget(u, v) for u, v in witnesses),
        **options,
    )


__all__ = ["AnchorSettings", "Anchorer", "Outcome", "WitnessTarget", "anchor_settings", "http_post"]
