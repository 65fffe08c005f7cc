"""Whole-store audit: one streaming pass over a station's log and blobs, every finding kept.

Where :meth:`storage.log.Log.verify` stops at the first problem, an audit collects them
all, each under a named check with a severity:

==============  ==============================================================  ========
check           what it covers                                                  severity
==============  ==============================================================  ========
entries         entry bytes vs their leaf hash and the tree; indexes; schema    E
chain           the ``prev`` hash chain                                         E
tree            the stored subtree hashes that proofs are made of               E
head            the log's recorded size and last leaf vs the stored entries     E
checkpoints     every stored checkpoint's signature and root                    E
consistency     two signed checkpoints that cannot both be of one log (a fork;  E
                the proof of misbehaviour is in ``report.evidence``)
against         the checkpoint the auditor saved earlier: signed by the log     E, I
                key, not larger than the log (rollback), consistent (fork)
station-keys    station-key certification by the merchant root                  E, W, I
clips           clip signatures by a certified station key; their segments in   E
                the log with the same hashes, times and init section
segments        segment numbers without holes or repeats; time running forward  E, W
gaps            time between segments that no ``gap`` entry explains (E);       E, I
                explained gaps with their reason (I)
blobs           every stored segment and init blob hashing to what the log      E, I
                says; media missing without a ``purge`` entry (E) or with (I)
purges          purge entries covering segments not logged before them          E
==============  ==============================================================  ========

(E error, W warning, I info.)

Memory stays flat: the log is streamed (see :mod:`storage._logscan`), segments are
remembered only in a window of the most recent ones (clips refer to recent footage;
older references are looked up afterwards), missing media is kept as ranges, and at most
:data:`MAX_LISTED` findings per check and severity are listed (all are counted).

The audit reads the database as of when it starts, so a station appending meanwhile is
not mistaken for tampering; a purge that a concurrent retention run logs after that is
still taken into account (retention logs before it deletes).

Two cores: on a large log (:data:`PARALLEL_FROM` entries) the log's integrity (entry
bytes, chain, tree, checkpoints, forks: :mod:`verifier._audit_log`) is checked in a
second Python process while this one checks what the entries say and the media
(:mod:`verifier._audit`, :mod:`verifier._audit_clips`, :mod:`verifier._audit_media`).
The findings are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage import Store
from storage.facts import GAP_TOLERANCE_MS
from storage.misbehaviour import Misbehaviour
from storage.note import Ed25519Verifier, NoteVerifier
from verifier._audit import PARALLEL_FROM, SEGMENT_WINDOW, Auditor, Progress
from verifier._audit_report import (
    CHECKS,
    MAX_EVIDENCE,
    MAX_LISTED,
    AuditReport,
    AuditStats,
    Finding,
    Severity,
)


def audit_store(
    store: Store,
    verifiers: Sequence[NoteVerifier],
    *,
    root: Ed25519Verifier | None = None,
    against: bytes | None = None,
    progress: Progress | None = None,
    hash_blobs: bool = True,
    gap_tolerance_ms: int = GAP_TOLERANCE_MS,
    parallel: bool | None = None,
    require_live_source: bool = False,
) -> AuditReport:
    """Audit a whole store; every problem becomes a :class:`Finding` (nothing is raised).

    ``verifiers`` are the log keys checkpoints must be signed by and ``root`` the
    merchant root that must certify station keys (both from the trust file, never
    from the store). ``against`` is a signed checkpoint note the auditor saved earlier.
    ``hash_blobs=False`` checks that blobs exist with the right size without reading
    them (an audit of the log, not of the media). ``progress(done, total)`` is called
    every few thousand entries. ``parallel`` checks the log's integrity in a second
    process while this one checks what the entries say (default: from
    :data:`PARALLEL_FROM` entries on); the findings are the same either way.
    Clips are counted by where their footage came from (``stats``); under
    ``require_live_source`` (the trust file's) each one not filmed live is an error.
    """
    auditor = Auditor(
        store, list(verifiers), root, hash_blobs, gap_tolerance_ms, require_live_source
    )
    return auditor.run(against, progress, parallel)


__all__ = [
    "CHECKS",
    "GAP_TOLERANCE_MS",
    "MAX_EVIDENCE",
    "MAX_LISTED",
    "PARALLEL_FROM",
    "SEGMENT_WINDOW",
    "AuditReport",
    "AuditStats",
    "Finding",
    "Misbehaviour",
    "Severity",
    "audit_store",
]
