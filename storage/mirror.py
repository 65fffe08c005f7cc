"""The hub's store: every enrolled station's log, mirrored and checked, and their blobs.

A mirrored log is an ordinary log of this database (``logs`` row, entries, subtree
hashes, checkpoints and the clip/segment indexes), so the station's own code reads it:
:meth:`Mirror.store_of` gives a :class:`Store` over it and the object-store blobs.

A push (:class:`storage.push.Push`) is accepted only if, in this order:

=======================  ============================================================
``PushInvalid``          it is not a push, or the note is not a checkpoint
``PushRefused``          the station is not enrolled or revoked, the checkpoint's log
                         is not this station's, or it is not signed by a station key
                         that a configured merchant root certified (station-key entry)
``PushConflict``         ``old`` is not the size the hub holds (the answer carries that
                         size: the station resumes from it); a checkpoint the hub
                         already holds is accepted again (idempotent)
``MirrorFork``           the signed checkpoint is not consistent with the one the hub
                         holds: refused, and kept as a proof of misbehaviour
``PushInvalid``          the consistency proof fails, or the entries do not chain from
                         the hub's head or do not hash to the checkpoint's root
=======================  ============================================================

Appends to one mirrored log are serialised by the database: the log's row is locked
(``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite) for the whole
check-and-append, so several hub processes can take pushes for one station.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, exists, func, insert, select, update

from storage import merkle
from storage._errors import (
    BlobError,
    FormatError,
    LogStateError,
    ProofError,
    SignatureError,
    StorageError,
)
from storage._schema import blobs, entries, hub_misbehaviour, hub_stations, logs
from storage.anchors import Anchors
from storage.blobs import BlobInfo, Blobs
from storage.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from storage.db import connect, migrate, write_transaction
from storage.entries import GENESIS, Entry, KeyRevocation, StationKey, from_bytes, parse_as
from storage.log import Log, StoredCheckpoint
from storage.misbehaviour import Misbehaviour
from storage.note import Ed25519Verifier, parse
from storage.push import Push
from storage.store import Store
from storage.trust import TrustedLog

TOKEN_PREFIX = "psh_"  # noqa: S105 (a prefix that tells what a secret is, not one)


BACKLOG = re.compile(r"entries=\d{1,15};blobs=\d{1,15};bytes=\d{1,18};oldest=(?:\d{1,15}|-)")


class MirrorError(StorageError):
    """A push or blob the hub does not take (see the module docstring for which)."""


class PushInvalid(MirrorError):
    pass


class PushRefused(MirrorError):
    pass


class PushConflict(MirrorError):
    def __init__(self, message: str, size: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.size = size


class MirrorFork(MirrorError):
    def __init__(self, message: str, proof: Misbehaviour) -> None:
        super().__init__(
            message,
            hint="the station's log was rewritten after the hub mirrored it; keep the "
            "proof and investigate the station",
        )
        self.proof = proof


class BlobNotNamed(MirrorError):
    """A blob no entry of the station's mirrored log names (push entries first)."""


@dataclass(frozen=True, slots=True)
class Enrolled:
    station: str
    token: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class StationRow:
    station: str
    created_ms: int
    revoked_ms: int | None
    log_id: int | None
    origin: str | None
    size: int
    last_push_ms: int | None
    last_blob_ms: int | None
    last_refusal: str | None
    last_refusal_ms: int | None
    misbehaviour: int
    reported_backlog: str | None = None  # "entries=N;blobs=N;bytes=N;oldest=MS|-"
    reported_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    size: int
    root: bytes
    appended: int  # 0: the hub held this checkpoint already
    checkpoint: Checkpoint
    text: str  # the checkpoint body, for a cosignature


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Mirror:
    def __init__(self, engine: Engine, blob_store: Blobs, roots: Sequence[Ed25519Verifier]) -> None:
        if not roots:
            raise ValueError("a hub needs at least one trusted merchant root key")
        self.engine = engine
        self.blobs = blob_store  # BlobStore or S3BlobStore: the same shape
        self.roots = tuple(roots)

    @classmethod
    def open(cls, url: str, blob_store: Blobs, roots: Sequence[Ed25519Verifier]) -> Mirror:
        engine = connect(url)
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, blob_store, roots)

    def close(self) -> None:
        self.engine.dispose()

    # -- enrolment -------------------------------------------------------------------

    def enrol(self, station: str, at_ms: int) -> Enrolled:
        """A new token for ``station`` (a second enrolment replaces the first token)."""
        if not station or len(station) > 128:
            raise ValueError("a station id is 1..128 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            known = conn.execute(
                select(hub_stations.c.station).where(hub_stations.c.station == station)
            ).first()
            values = {"token_hash": _token_hash(token), "created_ms": at_ms, "revoked_ms": None}
            if known is None:
                conn.execute(insert(hub_stations).values(station=station, **values))
            else:
                conn.execute(
                    update(hub_stations).where(hub_stations.c.station == station).values(**values)
                )
        return Enrolled(station, token)

    def revoke(self, station: str, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station, hub_stations.c.revoked_ms.is_(None))
                .values(revoked_ms=at_ms)
            )
            if done.rowcount == 0:
                raise LogStateError(
                    f"no enrolled station {station!r} with a live token",
                    hint="list stations with `packseal hub stations`",
                )

    def report_backlog(self, station: str, backlog: str, at_ms: int) -> None:
        """Keep what the station says it has not sent yet (shown on the fleet page)."""
        if not BACKLOG.fullmatch(backlog):
            raise PushInvalid("X-Packseal-Backlog must be entries=N;blobs=N;bytes=N;oldest=MS or -")
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station)
                .values(reported_backlog=backlog, reported_ms=at_ms)
            )

    def authenticate(self, token: str) -> str:
        """The station a live token belongs to; :class:`PushRefused` otherwise."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(hub_stations.c.station, hub_stations.c.revoked_ms).where(
                    hub_stations.c.token_hash == _token_hash(token)
                )
            ).first()
        if row is None:
            raise PushRefused(
                "this token is not an enrolment token of this hub",
                hint="enrol the station on the hub with `packseal hub enrol STATION`",
            )
        if row.revoked_ms is not None:
            raise PushRefused(
                f"station {row.station!r}'s token was revoked",
                hint="enrol the station again to issue a new token",
            )
        return str(row.station)

    # -- pushes ----------------------------------------------------------------------

    def push(self, station: str, push: Push, at_ms: int) -> Accepted:
        try:
            text, _ = parse(push.checkpoint)
            cp = Checkpoint.from_text(text)
        except FormatError as e:
            raise PushInvalid(f"the pushed checkpoint is not a checkpoint: {e.message}") from e
        try:
            with write_transaction(self.engine) as conn:
                return self._push(conn, station, push, cp, text, at_ms)
        except MirrorFork as fork:
            self._keep(station, fork.proof, at_ms)
            raise
        except MirrorError as e:
            if not isinstance(e, PushConflict):
                self._note_refusal(station, e.message, at_ms)
            raise

    def _push(
        self, conn: Connection, station: str, push: Push, cp: Checkpoint, text: str, at_ms: int
    ) -> Accepted:
        row = conn.execute(
            select(hub_stations).where(hub_stations.c.station == station).with_for_update()
        ).first()
        if row is None or row.revoked_ms is not None:
            raise PushRefused(f"station {station!r} is not enrolled on this hub")
        log = self._log_for(conn, station, row.log_id, cp.origin)
        # The mirrored log's row lock: one check-and-append at a time per log.
        state = conn.execute(
            select(logs.c.size, logs.c.head).where(logs.c.id == log.log_id).with_for_update()
        ).one()
        size, head = int(state.size), bytes(state.head)
        news = _parse_entries(push, size, cp.size)
        signed = self._open(conn, log, station, cp, push.checkpoint, news)
        held = log._checkpoint_row(conn, size) if size else None
        root = log._root(conn, size)
        if push.old != size:
            if cp.size <= size:
                have = log._root(conn, cp.size)
                if have == cp.root_hash:
                    # The answer is the hub's size, so it names the checkpoint held there:
                    # that is the one the hub cosigns, not the older one pushed again.
                    if held is not None:
                        text = parse(held.note)[0]
                        cp = Checkpoint.from_text(text)
                    return Accepted(size, root, 0, cp, text)
                raise self._fork_within(conn, log, signed, held, size)
            raise PushConflict(
                f"the push starts at size {push.old}; the hub holds {size} entries of {cp.origin}",
                size,
                hint="push again from the size the hub holds",
            )
        if size and push.old_root != root:
            try:
                merkle.verify_consistency(size, cp.size, push.proof, push.old_root, cp.root_hash)
            except ProofError as e:
                raise PushInvalid(f"the consistency proof does not verify: {e.message}") from e
            assert held is not None  # the hub's size is always one of its checkpoints
            raise MirrorFork(
                f"station {station!r} signed a checkpoint at size {cp.size} whose tree has "
                f"another root at size {size} than the checkpoint the hub holds: its log "
                "was rewritten",
                Misbehaviour(
                    cp.origin,
                    "the station signed a checkpoint inconsistent with the one the hub mirrored",
                    held.note,
                    signed.raw,
                    size,
                    cp.size,
                    push.proof,
                    push.old_root,
                ),
            )
        try:
            merkle.verify_consistency(size, cp.size, push.proof, root, cp.root_hash)
        except ProofError as e:
            raise PushInvalid(f"the consistency proof does not verify: {e.message}") from e
        if len(push.entries) != cp.size - size:
            raise PushInvalid(
                f"the push carries {len(push.entries)} entries; the checkpoint needs "
                f"{cp.size - size} (entries {size}..{cp.size - 1})"
            )
        for i, (data, entry) in enumerate(zip(push.entries, news, strict=True)):
            if entry.prev != head.hex():
                raise PushInvalid(
                    f"entry {size + i}: prev is {entry.prev[:16]}…, the leaf hash of the "
                    f"entry before it is {head.hex()[:16]}…"
                )
            head = merkle.leaf_hash(data)
        store = Store(conn.engine, log, self.blobs)
        log.append_in(conn, news, on_append=store._index)
        got = log._root(conn, cp.size)
        if got != cp.root_hash:
            raise PushInvalid(  # rolls the append back
                f"the entries hash to root {got.hex()[:16]}…, the checkpoint signs "
                f"{cp.root_hash.hex()[:16]}…"
            )
        # signed_ms: when the hub received it (the note has no time)
        log._keep_checkpoint(conn, cp.size, cp.root_hash, signed.raw, at_ms)
        conn.execute(
            update(hub_stations)
            .where(hub_stations.c.station == station)
            .values(last_push_ms=at_ms, last_refusal=None, last_refusal_ms=None)
        )
        return Accepted(cp.size, cp.root_hash, len(news), cp, text)

    def _log_for(self, conn: Connection, station: str, log_id: int | None, origin: str) -> Log:
        if log_id is not None:
            bound = conn.execute(select(logs.c.origin).where(logs.c.id == log_id)).scalar_one()
            if bound != origin:
                raise PushRefused(
                    f"station {station!r} mirrors log {bound!r}; this checkpoint is of {origin!r}",
                    hint="each station pushes its own log only",
                )
            return Log(self.engine, log_id, origin)
        taken = conn.execute(select(logs.c.id).where(logs.c.origin == origin)).first()
        if taken is not None:
            raise PushRefused(f"log {origin!r} is already mirrored for another station")
        new_id = conn.execute(
            insert(logs).values(origin=origin, size=0, head=bytes.fromhex(GENESIS))
        ).inserted_primary_key
        assert new_id is not None
        conn.execute(
            update(hub_stations)
            .where(hub_stations.c.station == station)
            .values(log_id=int(new_id[0]))
        )
        return Log(self.engine, int(new_id[0]), origin)

    def _open(
        self,
        conn: Connection,
        log: Log,
        station: str,
        cp: Checkpoint,
        raw: bytes,
        news: Sequence[Entry],
    ) -> SignedCheckpoint:
        """The checkpoint opened with the station keys a trusted root certified."""
        history: list[tuple[int, StationKey | KeyRevocation]] = []
        for r in conn.execute(
            select(entries.c.idx, entries.c.kind, entries.c.data)
            .where(
                entries.c.log_id == log.log_id,
                entries.c.kind.in_((StationKey.KIND, KeyRevocation.KIND)),
            )
            .order_by(entries.c.idx)
        ):
            key: StationKey | KeyRevocation = (
                parse_as(StationKey, bytes(r.data))
                if r.kind == StationKey.KIND
                else parse_as(KeyRevocation, bytes(r.data))
            )
            history.append((int(r.idx), key))
        base = conn.execute(select(logs.c.size).where(logs.c.id == log.log_id)).scalar_one()
        for i, e in enumerate(news):
            if isinstance(e, StationKey | KeyRevocation):
                history.append((int(base) + i, e))
        revoked = {e.vkey: e for _, e in history if isinstance(e, KeyRevocation)}
        verifiers = []
        for _, e in history:
            if not isinstance(e, StationKey) or e.origin != cp.origin or e.station != station:
                continue
            if not self._certified(e):
                continue
            revocation = revoked.get(e.vkey)
            after = (
                revocation.after if revocation is not None and self._certified(revocation) else None
            )
            trusted = TrustedLog(e.origin, e.vkey, e.station, after)
            if trusted.signs_checkpoint(cp.size):
                verifiers.append(trusted.verifier())
        if not verifiers:
            raise PushRefused(
                f"log {cp.origin!r} has no station-key entry for station {station!r} "
                "certified by a merchant root this hub trusts",
                hint="certify the station with the merchant's root key (`packseal init`), "
                "and list that root in the hub's merchant_roots",
            )
        try:
            return open_checkpoint(raw, verifiers)
        except SignatureError as e:
            raise PushRefused(
                f"the checkpoint of {cp.origin!r} is not signed by a certified key of "
                f"station {station!r}: {e.message}"
            ) from e

    def _certified(self, e: StationKey | KeyRevocation) -> bool:
        for root in self.roots:
            try:
                e.verify_certification(root)
            except (SignatureError, FormatError):
                continue
            return True
        return False

    def _fork_within(
        self,
        conn: Connection,
        log: Log,
        signed: SignedCheckpoint,
        held: StoredCheckpoint | None,
        size: int,
    ) -> MirrorFork:
        """A signed checkpoint at or below the hub's size with a root the hub's tree lacks."""
        cp = signed.checkpoint
        assert held is not None
        proof: tuple[bytes, ...] = ()
        root_at: bytes | None = None
        if cp.size < size:
            proof = tuple(log._proof(conn, merkle.consistency_ranges(cp.size, size)))
            root_at = log._root(conn, cp.size)
        return MirrorFork(
            f"the checkpoint at size {cp.size} has root {cp.root_hash.hex()[:16]}…; the "
            f"mirrored log, consistent with the station's checkpoint at size {size}, has "
            "another: the station's log was rewritten",
            Misbehaviour(
                cp.origin,
                "two checkpoints signed by the log key that are not of one append-only log",
                signed.raw,
                held.note,
                cp.size,
                size,
                proof,
                root_at,
            ),
        )

    def _keep(self, station: str, proof: Misbehaviour, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(hub_misbehaviour).values(
                    station=station, origin=proof.origin, at_ms=at_ms, proof=proof.to_bytes()
                )
            )
            conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station)
                .values(last_refusal="misbehaviour: log rewritten", last_refusal_ms=at_ms)
            )

    def _note_refusal(self, station: str, message: str, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station)
                .values(last_refusal=message[:2000], last_refusal_ms=at_ms)
            )

    # -- blobs -----------------------------------------------------------------------

    def put_blob(self, station: str, sha256: str, data: bytes, at_ms: int) -> BlobInfo:
        """Store a blob the station's mirrored entries name; its bytes must hash to it."""
        named, held = self._blob_state(station, sha256)
        if not named:
            raise BlobNotNamed(
                f"no entry of station {station!r}'s mirrored log names blob {sha256}",
                hint="push the log entries first; blobs follow the entries that name them",
            )
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobError(
                f"blob {sha256}: the uploaded bytes hash to "
                f"{hashlib.sha256(data).hexdigest()}; refused",
                hint="send the stored file again",
            )
        if held:  # a retry after a lost answer: the object store has it
            self._touch(station, at_ms)
            return BlobInfo(sha256, len(data))
        info = self.blobs.put_bytes(data)
        with write_transaction(self.engine) as conn:
            known = conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha256)).first()
            if known is None:
                conn.execute(insert(blobs).values(sha256=sha256, size=len(data), stored_ms=at_ms))
            conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station)
                .values(last_blob_ms=at_ms)
            )
        return info

    def _touch(self, station: str, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(hub_stations)
                .where(hub_stations.c.station == station)
                .values(last_blob_ms=at_ms)
            )

    def _blob_state(self, station: str, sha256: str) -> tuple[bool, bool]:
        """(named by the station's mirrored entries, held by the hub): one round trip."""
        from storage._schema import segments

        log_id = (
            select(hub_stations.c.log_id).where(hub_stations.c.station == station).scalar_subquery()
        )
        by = [
            exists().where(segments.c.log_id == log_id, column == sha256)
            for column in (segments.c.sha256, segments.c.init)
        ]
        with self.engine.connect() as conn:
            a, b, held = conn.execute(
                select(by[0], by[1], exists().where(blobs.c.sha256 == sha256))
            ).one()
        return bool(a or b), bool(held)

    def names(self, station: str, sha256: str) -> bool:
        from storage._schema import segments

        with self.engine.connect() as conn:
            log_id = conn.execute(
                select(hub_stations.c.log_id).where(hub_stations.c.station == station)
            ).scalar_one_or_none()
            if log_id is None:
                return False
            for column in (segments.c.sha256, segments.c.init):
                hit = conn.execute(
                    select(segments.c.seq)
                    .where(segments.c.log_id == log_id, column == sha256)
                    .limit(1)
                ).first()
                if hit is not None:
                    return True
        return False

    def holds(self, sha256: str) -> bool:
        """The hub acknowledged this blob: it is in the object store and recorded."""
        with self.engine.connect() as conn:
            return (
                conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha256)).first()
                is not None
            )

    # -- reading ---------------------------------------------------------------------

    def size(self, station: str) -> int:
        with self.engine.connect() as conn:
            got = conn.execute(
                select(logs.c.size)
                .select_from(hub_stations.join(logs, hub_stations.c.log_id == logs.c.id))
                .where(hub_stations.c.station == station)
            ).scalar_one_or_none()
        return 0 if got is None else int(got)

    def stations(self) -> list[StationRow]:
        count = (
            select(func.count())
            .where(hub_misbehaviour.c.station == hub_stations.c.station)
            .scalar_subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(hub_stations, logs.c.origin, logs.c.size, count.label("misbehaviour"))
                .select_from(hub_stations.outerjoin(logs, hub_stations.c.log_id == logs.c.id))
                .order_by(hub_stations.c.station)
            ).all()
        return [
            StationRow(
                r.station,
                int(r.created_ms),
                r.revoked_ms,
                r.log_id,
                r.origin,
                int(r.size or 0),
                r.last_push_ms,
                r.last_blob_ms,
                r.last_refusal,
                r.last_refusal_ms,
                int(r.misbehaviour),
                r.reported_backlog,
                r.reported_ms,
            )
            for r in rows
        ]

    def misbehaviour(self, station: str | None = None) -> list[Misbehaviour]:
        q = select(hub_misbehaviour.c.proof).order_by(hub_misbehaviour.c.id)
        if station is not None:
            q = q.where(hub_misbehaviour.c.station == station)
        with self.engine.connect() as conn:
            return [Misbehaviour.from_bytes(bytes(r.proof)) for r in conn.execute(q)]

    def anchors_of(self, origin: str) -> Anchors:
        """Cosignatures of a mirrored log's checkpoints (the hub's own among them)."""
        return Anchors(self.engine, Log.open(self.engine, origin))

    def store_of(self, station: str) -> Store:
        """The station's mirrored log as a Store (its blobs from the object store)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(logs.c.id, logs.c.origin)
                .select_from(hub_stations.join(logs, hub_stations.c.log_id == logs.c.id))
                .where(hub_stations.c.station == station)
            ).first()
        if row is None:
            raise LogStateError(
                f"the hub mirrors no log of station {station!r}",
                hint="enrol the station and let it push",
            )
        return Store(self.engine, Log(self.engine, int(row.id), row.origin), self.blobs)


def _parse_entries(push: Push, size: int, cp_size: int) -> list[Entry]:
    out: list[Entry] = []
    if push.old != size or cp_size < size:
        return out  # not appended: only key entries would be read, and none are new
    for i, data in enumerate(push.entries):
        try:
            entry = from_bytes(data)
        except FormatError as e:
            raise PushInvalid(f"entry {size + i} is not a log entry: {e.message}") from e
        if entry.to_bytes() != data:
            raise PushInvalid(f"entry {size + i} is not in canonical form")
        out.append(entry)
    return out


__all__ = [
    "BACKLOG",
    "TOKEN_PREFIX",
    "Accepted",
    "BlobNotNamed",
    "Enrolled",
    "Mirror",
    "MirrorError",
    "MirrorFork",
    "PushConflict",
    "PushInvalid",
    "PushRefused",
    "StationRow",
]
