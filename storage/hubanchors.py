"""The anchors a station sends its hub after the entries: every signed checkpoint, the
RFC 3161 stamps and witness cosignatures of them, and its export policy
(:class:`storage.push.AnchorPush`), so the hub's bundles equal the station's.

Checked in this order, in one transaction (nothing is half-kept):

- the station is enrolled and has pushed entries (its mirrored log exists);
- every checkpoint is of that log, signed by a station key a merchant root certified
  (as a push's), and at most the size the hub holds (entries come first), with the root
  the hub's tree has at that size. A validly signed checkpoint with another root is a
  fork: refused and kept as a proof of misbehaviour, as for a push;
- every stamp and cosignature is about a checkpoint the hub then holds; a cosignature
  that names the hub's own witness key must verify with it (a station cannot plant a
  signature the hub would later serve as its own).

Stamps and other witnesses' cosignatures are kept as the station kept them: a verifier
checks them against the trust file's TSA roots and witness keys, never against the hub.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from storage import canonical
from storage._errors import FormatError
from storage._schema import (
    checkpoint_cosignatures,
    checkpoint_stamps,
    hub_stations,
    logs,
)
from storage.checkpoint import Checkpoint
from storage.cosignature import CosignatureVerifier, parse_cosignature_lines
from storage.db import write_transaction
from storage.log import Log
from storage.mirror import Mirror, MirrorFork, PushInvalid, PushRefused
from storage.note import parse
from storage.push import AnchorPush


@dataclass(frozen=True, slots=True)
class AnchorsTaken:
    checkpoints: int  # new ones (not held before)
    stamps: int
    cosignatures: int


def add_anchors(
    mirror: Mirror,
    station: str,
    push: AnchorPush,
    at_ms: int,
    own: CosignatureVerifier | None = None,
) -> AnchorsTaken:
    """Keep ``push``'s checkpoints, stamps, cosignatures and policy for ``station``."""
    parsed = []
    for raw in push.checkpoints:
        try:
            text, _ = parse(raw)
            parsed.append((raw, Checkpoint.from_text(text)))
        except FormatError as e:
            raise PushInvalid(f"an anchored checkpoint is not a checkpoint: {e.message}") from e
    try:
        with write_transaction(mirror.engine) as conn:
            return _add(conn, mirror, station, push, parsed, at_ms, own)
    except MirrorFork as fork:
        mirror._keep(station, fork.proof, at_ms)
        raise


def _add(
    conn: Connection,
    mirror: Mirror,
    station: str,
    push: AnchorPush,
    parsed: list[tuple[bytes, Checkpoint]],
    at_ms: int,
    own: CosignatureVerifier | None,
) -> AnchorsTaken:
    row = conn.execute(
        select(hub_stations).where(hub_stations.c.station == station).with_for_update()
    ).first()
    if row is None or row.revoked_ms is not None:
        raise PushRefused(f"station {station!r} is not enrolled on this hub")
    if row.log_id is None:
        raise PushInvalid(
            f"station {station!r} has pushed no entries yet",
            hint="push the entries (and their checkpoint) before their anchors",
        )
    state = conn.execute(
        select(logs.c.origin, logs.c.size).where(logs.c.id == row.log_id).with_for_update()
    ).one()
    log = Log(mirror.engine, int(row.log_id), state.origin)
    size = int(state.size)
    new_cps = 0
    for raw, cp in parsed:
        if cp.origin != log.origin:
            raise PushRefused(
                f"station {station!r} mirrors log {log.origin!r}; this checkpoint is of "
                f"{cp.origin!r}"
            )
        signed = mirror._open(conn, log, station, cp, raw, [])
        if cp.size > size:
            raise PushInvalid(
                f"the checkpoint at size {cp.size} is past the {size} entries the hub holds",
                hint="push its entries first",
            )
        if cp.size == 0 or log._root(conn, cp.size) != cp.root_hash:
            raise mirror._fork_within(conn, log, signed, log._checkpoint_row(conn, size), size)
        # signed_ms: when the hub received it (the note has no time)
        new_cps += log._keep_checkpoint(conn, cp.size, cp.root_hash, signed.raw, at_ms)

    def held(n: int, what: str) -> bytes:
        cp = log._checkpoint_row(conn, n)
        if cp is None:
            raise PushInvalid(
                f"{what} is about the checkpoint at size {n}, which the hub does not hold",
                hint="send the checkpoint with its anchors",
            )
        return parse(cp.note)[0].encode("utf-8")

    stamps = 0
    for st in push.stamps:
        held(st.size, "a time-stamp")
        have = conn.execute(
            select(checkpoint_stamps.c.size).where(
                checkpoint_stamps.c.log_id == log.log_id,
                checkpoint_stamps.c.size == st.size,
                checkpoint_stamps.c.tsa == st.tsa,
            )
        ).first()
        if have is None:
            conn.execute(
                insert(checkpoint_stamps).values(
                    log_id=log.log_id,
                    size=st.size,
                    tsa=st.tsa,
                    request=st.request,
                    response=st.response,
                    gen_ms=st.gen_ms,
                    stored_ms=at_ms,
                )
            )
            stamps += 1
    cosigs = 0
    for n, line in push.cosignatures:
        text = held(n, "a cosignature")
        try:
            (sig,) = parse_cosignature_lines(line.encode("utf-8"))
        except (FormatError, ValueError) as e:
            raise PushInvalid(f"not one cosignature line: {line[:80]!r}") from e
        mine = own is not None and (sig.name, sig.key_id) == (own.name, own.key_id)
        if mine and own is not None and not own.verify(text, sig.signature):
            raise PushInvalid(f"a cosignature in the hub's own name for size {n} does not verify")
        have = conn.execute(
            select(checkpoint_cosignatures.c.size).where(
                checkpoint_cosignatures.c.log_id == log.log_id,
                checkpoint_cosignatures.c.size == n,
                checkpoint_cosignatures.c.witness == sig.name,
                checkpoint_cosignatures.c.key_id == sig.key_id,
            )
        ).first()
        if have is None:
            conn.execute(
                insert(checkpoint_cosignatures).values(
                    log_id=log.log_id,
                    size=n,
                    witness=sig.name,
                    key_id=sig.key_id,
                    signature=sig.signature,
                    stored_ms=at_ms,
                )
            )
            cosigs += 1
    conn.execute(
        update(hub_stations)
        .where(hub_stations.c.station == station)
        .values(export_policy=canonical.dumps(push.policy).decode("utf-8"))
    )
    return AnchorsTaken(new_cps, stamps, cosigs)


def export_policy_of(mirror: Mirror, station: str) -> dict[str, object] | None:
    """The export policy the station last sent (None: it sent none yet)."""
    with mirror.engine.connect() as conn:
        text = conn.execute(
            select(hub_stations.c.export_policy).where(hub_stations.c.station == station)
        ).scalar_one_or_none()
    if text is None:
        return None
    value = canonical.loads(text.encode("utf-8"))
    assert isinstance(value, dict)
    return value


__all__ = ["AnchorsTaken", "add_anchors", "export_policy_of"]
