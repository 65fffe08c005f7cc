"""The audit's log half: the scan, the signed checkpoints, forks, the saved checkpoint.

:func:`check_log` runs :meth:`storage.Store.scan_log` in reporting mode and watches the
checkpoints for forks. The audit runs it in the same pass as its content checks, or, on
a large log, in a second process while it checks the content (see
:mod:`verifier._audit`): the two halves share nothing but the database.

Forks and rollbacks: a log key must never sign two checkpoints that are not of one
append-only tree. The audit sees every stored checkpoint with the root recomputed from
the entries at its size (see :meth:`storage.Store.scan_log`). A checkpoint whose root the
entries give is of this tree; all such checkpoints are consistent with each other by
construction (each root is of a prefix of one sequence), so no proof between them is
needed. A validly signed checkpoint whose root the entries do *not* give is either
edited history (the scan reports it) or, when a later signed checkpoint *is* of this
tree, a fork: the consistency proof the store's tree makes between the two shows the
root at the older size is not the one the key signed. That pair, with the proof, is
the evidence.

The auditor's saved checkpoint (``--against``) is checked the same way, and for size:
one larger than the log proves a rollback.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage import (
    FormatError,
    LogIntegrityError,
    PacksealError,
    SignatureError,
    Store,
    StoredCheckpoint,
    merkle,
)
from storage.checkpoint import SignedCheckpoint, open_checkpoint
from storage.log import OnEntry, Progress
from storage.misbehaviour import Misbehaviour
from storage.note import NoteVerifier
from verifier._audit_report import MAX_EVIDENCE, Findings, Severity

Add = Callable[[str, Severity, "int | None", str], None]


@dataclass(frozen=True, slots=True)
class LogResult:
    size: int
    checkpoints: int
    findings: Findings
    evidence: list[Misbehaviour]


def check_log(
    log: Store,
    verifiers: list[NoteVerifier],
    against: bytes | None,
    *,
    on_entry: OnEntry | None = None,
    progress: Progress | None = None,
) -> LogResult:
    """Scan the log (handing each entry to ``on_entry``), its checkpoints and ``against``."""
    findings = Findings()
    evidence: list[Misbehaviour] = []
    forks = ForkWatch(log, verifiers, findings.add, evidence)
    saved = forks.open_saved(against) if against is not None else None

    def on_problem(check: str, error: LogIntegrityError) -> None:
        findings.add(check, "error", error.index, error.message)

    scan = log.scan_log(
        verifiers,
        on_entry=on_entry,
        on_checkpoint=forks.on_checkpoint,
        on_problem=on_problem,
        roots_at=() if saved is None else (saved.checkpoint.size,),
        progress=progress,
    )
    if saved is not None:
        forks.check_saved(saved, scan.size, scan.roots.get(saved.checkpoint.size))
    return LogResult(scan.size, scan.checkpoints, findings, evidence)


class LogElsewhere:
    """:func:`check_log` in a Python process of its own, started now, awaited by ``result``.

    A plain ``python -m`` child, not multiprocessing: spawn would re-run the caller's
    main script, and fork would copy open connections and threads (a progress bar's).
    The request and result are pickled over its stdin and stdout (the URL may hold a
    password, so it is not on the command line).
    """

    def __init__(
        self,
        url: str,
        blob_dir: Path,
        origin: str,
        verifiers: list[NoteVerifier],
        against: bytes | None,
    ) -> None:
        env = dict(os.environ)
        # The packages this one was imported from, whatever the working directory.
        here = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifier._audit_log"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(pickle.dumps((url, blob_dir, origin, verifiers, against)))
        self.proc.stdin.close()
        self.proc.stdin = None  # sent: communicate() must not touch it again

    def result(self) -> LogResult:
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise PacksealError(
                f"the audit's log check failed in its own process "
                f"(exit {self.proc.returncode}): {last[0]}",
                hint="audit with parallel=False to see the whole error in this process",
            )
        result = pickle.loads(out)  # noqa: S301 (our own child's answer, over a pipe)
        assert isinstance(result, LogResult)
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _main() -> None:
    url, blob_dir, origin, verifiers, against = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    store = Store.open(url, blob_dir, origin)
    try:
        result = check_log(store, verifiers, against)
    finally:
        store.close()
    sys.stdout.buffer.write(pickle.dumps(result))


class ForkWatch:
    def __init__(
        self, log: Store, verifiers: list[NoteVerifier], add: Add, evidence: list[Misbehaviour]
    ) -> None:
        self.log = log
        self.verifiers = verifiers
        self.add = add
        self.evidence = evidence
        # Signed checkpoints whose root the entries do not give, waiting for a later one
        # that they do give (the pair is then a fork), and the latest that they give.
        self.unmatched: list[SignedCheckpoint] = []
        self.latest: SignedCheckpoint | None = None

    def on_checkpoint(
        self, cp: StoredCheckpoint, signed: SignedCheckpoint | None, root: bytes | None
    ) -> None:
        if signed is None or root is None:
            return  # a bad signature or missing entries: the scan reported it
        if root != signed.checkpoint.root_hash:
            # One pair proves a fork; a few show its extent. Memory stays flat.
            if len(self.unmatched) < MAX_EVIDENCE:
                self.unmatched.append(signed)
            else:
                self.unmatched[-1] = signed
            return
        self.latest = signed
        for old in self.unmatched:
            self.fork(
                old, signed, "consistency", f"stored checkpoint at size {old.checkpoint.size}"
            )
        self.unmatched.clear()

    def fork(self, old: SignedCheckpoint, new: SignedCheckpoint, check: str, what: str) -> None:
        a, b = old.checkpoint, new.checkpoint
        proof: list[bytes] = []
        root_a: bytes | None = None
        if a.size != b.size:
            try:
                proof = self.log.consistency_proof(a.size, b.size)
                root_a = self.log.root(a.size)
                merkle.verify_consistency(a.size, b.size, proof, root_a, b.root_hash)
            except PacksealError:
                # The store's tree cannot prove even its own consistency (the scan
                # reports why): a finding, but no evidence to hand out.
                proof, root_a = [], None
        if a.size == b.size:
            message = (
                f"{what} and the stored checkpoint at size {b.size} are both signed by the "
                f"log key with different roots ({a.root_hash.hex()[:16]}… vs "
                f"{b.root_hash.hex()[:16]}…): the log forked"
            )
        else:
            found = f"root {root_a.hex()[:16]}…" if root_a is not None else "no verifiable root"
            message = (
                f"{what} (root {a.root_hash.hex()[:16]}…) and the stored checkpoint at size "
                f"{b.size} are both signed by the log key, but the consistency proof from the "
                f"log's tree leads to {found} at size {a.size}: entries before {a.size} "
                "were rewritten and re-signed (the log forked)"
            )
        self.add(check, "error", a.size, message)
        if (a.size == b.size or root_a is not None) and len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(
                Misbehaviour(
                    self.log.origin,
                    "two checkpoints signed by the log key that are not of one append-only log",
                    old.raw,
                    new.raw,
                    a.size,
                    b.size,
                    tuple(proof),
                    root_a,
                )
            )

    # -- the auditor's saved checkpoint ----------------------------------------------------

    def open_saved(self, against: bytes) -> SignedCheckpoint | None:
        try:
            saved = open_checkpoint(against, self.verifiers)
        except (SignatureError, FormatError) as e:
            self.add(
                "against",
                "error",
                None,
                f"the saved checkpoint does not verify with the log key: {e}",
            )
            return None
        if saved.checkpoint.origin != self.log.origin:
            self.add(
                "against",
                "error",
                None,
                f"the saved checkpoint is of log {saved.checkpoint.origin!r}, "
                f"not {self.log.origin!r}",
            )
            return None
        return saved

    def check_saved(self, saved: SignedCheckpoint, size: int, root: bytes | None) -> None:
        """``size`` is the audited log's, ``root`` its recomputed root at the saved size."""
        cp, latest = saved.checkpoint, self.latest
        if cp.size > size:
            self.add(
                "against",
                "error",
                size,
                f"rollback: the saved checkpoint covers {cp.size} entries, the log now has "
                f"{size}: entries {size}..{cp.size - 1} were removed",
            )
            if latest is not None and len(self.evidence) < MAX_EVIDENCE:
                self.evidence.append(
                    Misbehaviour(
                        self.log.origin,
                        "rollback: the log key signed a larger tree than the log now has",
                        latest.raw,
                        saved.raw,
                        latest.checkpoint.size,
                        cp.size,
                    )
                )
            return
        what = f"the saved checkpoint at size {cp.size}"
        if root is None:
            self.add(
                "against",
                "error",
                cp.size,
                f"{what}: the log's root at that size cannot be recomputed (entries are missing)",
            )
            return
        if root != cp.root_hash:
            if latest is not None and latest.checkpoint.size >= cp.size:
                self.fork(saved, latest, "against", what)
            else:
                self.add(
                    "against",
                    "error",
                    cp.size,
                    f"{what} has root {cp.root_hash.hex()[:16]}…, the log's entries give "
                    f"{root.hex()[:16]}…: entries before {cp.size} were rewritten",
                )
            return
        if latest is None or latest.checkpoint.size < cp.size:
            detail = "no later signed checkpoint to prove consistency to"
        else:
            # What a remote auditor would be sent: a proof from the stored tree.
            new = latest.checkpoint
            try:
                proof = self.log.consistency_proof(cp.size, new.size)
                merkle.verify_consistency(cp.size, new.size, proof, cp.root_hash, new.root_hash)
            except PacksealError as e:
                self.add("against", "error", cp.size, f"{what}: consistency proof failed: {e}")
                return
            detail = f"consistency proof to the signed checkpoint at size {new.size} verified"
        self.add("against", "info", cp.size, f"the log is consistent with {what} ({detail})")


if __name__ == "__main__":
    # Run as ``python -m``, this file is ``__main__``; the result must pickle as classes
    # of ``verifier._audit_log``, so run the function of the module imported by name.
    from verifier._audit_log import _main as main

    main()
