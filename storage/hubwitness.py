"""The hub as a C2SP tlog-witness: ``POST /add-checkpoint`` for the logs it mirrors.

A station lists its hub among its witnesses the standard way (``witnesses: [{url:
<hub>, vkey: <hub witness vkey>}]``) and its witness client asks the hub to cosign its
latest checkpoint, as it asks any witness. The checks follow c2sp.org/tlog-witness in
its order, with the hub's tree as the witness's state:

=====  ===========================================================================
400    not the request format, or ``old`` larger than the checkpoint's size
404    an origin the hub mirrors for no enrolled station
403    no signature by a station key a merchant root certified (as for a push)
409    ``old`` is not the size the hub last cosigned for the log (body: that size)
422    the consistency proof does not verify, a size-0 checkpoint is not the empty
       tree, or the same size has another root; a validly signed checkpoint whose root
       the hub's own tree contradicts is also kept as a proof of misbehaviour
503    the checkpoint is past the entries the hub mirrors: it cannot check it yet
       (the station's outbox pushes them; its witness client retries later)
=====  ===========================================================================

A witness keeps the latest checkpoint it cosigned; the hub keeps it as a checkpoint of
the mirrored log (with its cosignature), so exports and tlog-tiles see it too.
"""

from __future__ import annotations

from sqlalchemy import func, select

from storage import merkle
from storage._errors import FormatError, ProofError
from storage._schema import checkpoint_cosignatures, hub_stations, logs
from storage.checkpoint import Checkpoint
from storage.cosignature import AddCheckpoint
from storage.db import write_transaction
from storage.log import Log
from storage.mirror import Accepted, Mirror, MirrorError, MirrorFork, PushRefused
from storage.note import parse


class WitnessRefused(MirrorError):
    """An add-checkpoint request refused with ``status`` (``size``: for a 409)."""

    def __init__(self, status: int, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size


def add_checkpoint(
    mirror: Mirror, body: bytes, witness: str, witness_key_id: int, at_ms: int
) -> Accepted:
    """Check an add-checkpoint request against the mirrored log; the caller cosigns."""
    try:
        req = AddCheckpoint.from_bytes(body)
        text, _ = parse(req.checkpoint)
        cp = Checkpoint.from_text(text)
    except FormatError as e:
        raise WitnessRefused(400, e.message) from e
    if req.old > cp.size:
        raise WitnessRefused(400, f"old size {req.old} is larger than the checkpoint's {cp.size}")
    station = ""
    try:
        with write_transaction(mirror.engine) as conn:
            row = conn.execute(
                select(hub_stations.c.station, hub_stations.c.revoked_ms, logs.c.id, logs.c.size)
                .select_from(hub_stations.join(logs, hub_stations.c.log_id == logs.c.id))
                .where(logs.c.origin == cp.origin)
                .with_for_update()
            ).first()
            if row is None or row.revoked_ms is not None:
                raise WitnessRefused(404, f"this hub witnesses no log {cp.origin[:200]!r}")
            station = str(row.station)
            log = Log(mirror.engine, int(row.id), cp.origin)
            try:
                signed = mirror._open(conn, log, station, cp, req.checkpoint, [])
            except PushRefused as e:
                raise WitnessRefused(403, e.message) from e
            latest = conn.execute(
                select(func.max(checkpoint_cosignatures.c.size)).where(
                    checkpoint_cosignatures.c.log_id == log.log_id,
                    checkpoint_cosignatures.c.witness == witness,
                    checkpoint_cosignatures.c.key_id == witness_key_id,
                )
            ).scalar_one_or_none()
            latest = int(latest or 0)
            if req.old != latest:
                raise WitnessRefused(
                    409, f"the hub last cosigned size {latest} of {cp.origin}", size=latest
                )
            if cp.size == 0 and cp.root_hash != merkle.EMPTY_ROOT:
                raise WitnessRefused(422, "a checkpoint of size 0 must have the empty root")
            if req.old == 0 and req.proof:
                raise WitnessRefused(422, "from size 0 the consistency proof must be empty")
            size = int(row.size)
            if cp.size > size:
                raise WitnessRefused(
                    503,
                    f"the hub mirrors {size} entries of {cp.origin}; the checkpoint has "
                    f"{cp.size}: it cannot check it before the station pushes them",
                )
            mine = log._root(conn, cp.size)
            if mine != cp.root_hash:
                raise mirror._fork_within(conn, log, signed, log._checkpoint_row(conn, size), size)
            if req.old == cp.size and req.proof:
                raise WitnessRefused(422, "the same size needs no consistency proof")
            if req.old < cp.size:
                try:
                    merkle.verify_consistency(
                        req.old, cp.size, req.proof, log._root(conn, req.old), cp.root_hash
                    )
                except ProofError as e:
                    raise WitnessRefused(422, f"the consistency proof: {e.message}") from e
            log._keep_checkpoint(conn, cp.size, cp.root_hash, signed.raw, at_ms)
    except MirrorFork as fork:
        mirror._keep(station, fork.proof, at_ms)
        raise WitnessRefused(422, fork.message) from fork
    return Accepted(cp.size, cp.root_hash, 0, cp, text)


__all__ = ["WitnessRefused", "add_checkpoint"]
