"""The evidence store of one station: its log, its blobs, and indexes over both.

Index rows (``segments``, ``clips``, ``clip_tracking``) are written in the transaction
that appends the entry they describe, so the index never lists a clip the log lacks.

Callers outside ``storage`` use :class:`Store`'s methods only: its database, log and
blob backend are private, so a second blob backend (any :class:`~storage.blobs.Blobs`)
or a second database can sit behind it without touching them. The methods, by concern:

- log: ``origin``, ``size``, ``entry``, ``entries``, ``append``, ``root``
- checkpoints: ``latest_checkpoint``, ``checkpoint_at``, ``checkpoints``,
  ``sign_checkpoint``, ``covering_checkpoint``, ``anchors``
- proofs and checks: ``tlog_proof``, ``inclusion_proof``, ``consistency_proof``,
  ``verify_log``, ``scan_log``, ``read_tile``, ``reopen_url``
- blobs: ``put_blob_file``, ``put_blob_bytes``, ``open_blob``, ``read_blob``,
  ``blob_size``, ``blob_exists``, ``blob_purged``, ``blob_dir``, ``free_bytes``,
  ``reserve_bytes``
- indexes: ``clips``, ``clip``, ``find_clip``, ``clips_of_order``, ``count_clips``,
  ``segments``, ``view_segments``, ``segments_of_run``, ``last_segment``,
  ``last_view_segment``, ``stations``, ``figures``
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from functools import cached_property
from io import BufferedReader
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update

from storage import _figures
from storage._errors import LogStateError
from storage._figures import StoreFigures
from storage._rows import (
    ClipQuery,
    ClipRow,
    SegmentRow,
    clip_page,
    clip_row,
    segment_row,
    tracking_of,
)
from storage._schema import blobs, clip_tracking, clips, segments
from storage.anchors import Anchors
from storage.blobs import BlobInfo, Blobs, BlobStore
from storage.checkpoint import TlogProof
from storage.db import connect, migrate, write_transaction
from storage.entries import Clip, Entry, Purge, Segment
from storage.log import (
    Appended,
    Log,
    LogReport,
    OnCheckpoint,
    OnEntry,
    OnProblem,
    Progress,
    StoredCheckpoint,
)
from storage.note import NoteSigner, NoteVerifier
from storage.tiles import TileRef, read_tile

_NEWEST = ClipQuery()  # the default query: the newest clips first


class Store:
    def __init__(self, engine: Engine, log: Log, blob_store: Blobs) -> None:
        self._engine = engine
        self._log = log
        self._blobs = blob_store

    @classmethod
    def open(
        cls,
        url: str,
        blob_dir: Path,
        origin: str,
        *,
        create: bool = False,
        min_free_bytes: int = 0,
    ) -> Store:
        engine = connect(url)
        try:
            migrate(engine)
            log = Log.open(engine, origin, create=create)
            return cls(engine, log, BlobStore(blob_dir, min_free_bytes=min_free_bytes))
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    # -- the log ---------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._log.origin

    def size(self) -> int:
        return self._log.size()

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index``, as logged (canonical JSON)."""
        return self._log.entry(index)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """``(index, data)`` in index order, streamed."""
        return self._log.iter_entries(start, stop)

    def root(self, size: int | None = None) -> bytes:
        return self._log.root(size)

    def append(self, batch: Sequence[Entry]) -> list[Appended]:
        """Append entries (their ``prev`` set here) and their index rows, in one transaction."""
        with write_transaction(self._engine) as conn:
            return self._log.append_in(conn, batch, on_append=self._index)

    # -- checkpoints -----------------------------------------------------------------

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._log.latest_checkpoint()

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return self._log.checkpoint_at(size)

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._log.checkpoints()

    def sign_checkpoint(self, signer: NoteSigner, at_ms: int) -> StoredCheckpoint:
        """Sign and store a checkpoint of the current size (or return the stored one)."""
        return self._log.sign_checkpoint(signer, at_ms)

    def covering_checkpoint(self, index: int, signer: NoteSigner, at_ms: int) -> StoredCheckpoint:
        """The latest checkpoint if it covers entry ``index``, else one signed now."""
        latest = self._log.latest_checkpoint()
        if latest is not None and latest.size > index:
            return latest
        return self._log.sign_checkpoint(signer, at_ms)

    @cached_property
    def anchors(self) -> Anchors:
        """RFC 3161 time-stamps and witness cosignatures of this log's checkpoints."""
        return Anchors(self._engine, self._log)

    # -- proofs and checks -----------------------------------------------------------

    def tlog_proof(self, index: int, size: int | None = None) -> TlogProof:
        return self._log.tlog_proof(index, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self._log.inclusion_proof(index, size)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        return self._log.consistency_proof(old, new)

    def verify_log(
        self, verifiers: Sequence[NoteVerifier], *, progress: Progress | None = None
    ) -> LogReport:
        """Check the whole log in one pass; raise :class:`LogIntegrityError` (see ``Log``)."""
        return self._log.verify(verifiers, progress=progress)

    def scan_log(
        self,
        verifiers: Sequence[NoteVerifier],
        *,
        on_entry: OnEntry | None = None,
        on_checkpoint: OnCheckpoint | None = None,
        on_problem: OnProblem | None = None,
        roots_at: Collection[int] = (),
        progress: Progress | None = None,
    ) -> LogReport:
        """:meth:`verify_log`, streaming what it checked to callbacks (see ``Log.scan``)."""
        return self._log.scan(
            verifiers,
            on_entry=on_entry,
            on_checkpoint=on_checkpoint,
            on_problem=on_problem,
            roots_at=roots_at,
            progress=progress,
        )

    def read_tile(self, size: int, ref: TileRef) -> bytes:
        """A C2SP tlog-tiles tile (hashes or entries) of this log at tree ``size``."""
        return read_tile(self._engine, self._log.log_id, size, ref)

    def reopen_url(self) -> str | None:
        """The database URL another process can open this store's log with (its password
        included), or ``None`` for a database only this process can see (in memory)."""
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return url.render_as_string(hide_password=False)

    # -- blobs -----------------------------------------------------------------------

    def put_blob_file(self, path: Path, at_ms: int) -> BlobInfo:
        info = self._blobs.put_file(path)
        self._record_blob(info, at_ms)
        return info

    def put_blob_bytes(self, data: bytes, at_ms: int) -> BlobInfo:
        info = self._blobs.put_bytes(data)
        self._record_blob(info, at_ms)
        return info

    def open_blob(self, sha256: str) -> BufferedReader:
        """The blob for reading (seekable); :class:`BlobMissingError` if it is absent."""
        return self._blobs.open(sha256)

    def read_blob(self, sha256: str, *, verify: bool = True) -> bytes:
        """The whole blob; with ``verify``, :class:`BlobHashError` if it no longer hashes
        to its address."""
        return self._blobs.read(sha256, verify=verify)

    def blob_size(self, sha256: str) -> int:
        return self._blobs.size(sha256)

    def blob_exists(self, sha256: str) -> bool:
        return self._blobs.exists(sha256)

    def blob_dir(self) -> Path | None:
        """The directory of a file blob backend (``<2 hex>/<2 hex>/<sha256>`` below it),
        for bulk readers that stat files directly; ``None`` for another backend."""
        return self._blobs.root if isinstance(self._blobs, BlobStore) else None

    def free_bytes(self) -> int:
        return self._blobs.free_bytes()

    @property
    def reserve_bytes(self) -> int:
        """The free space the blob store keeps (refuses blobs that would eat into it)."""
        return self._blobs.min_free_bytes

    def _record_blob(self, info: BlobInfo, at_ms: int) -> None:
        with write_transaction(self._engine) as conn:
            known = conn.execute(
                select(blobs.c.sha256).where(blobs.c.sha256 == info.sha256)
            ).first()
            if known is None:
                conn.execute(
                    insert(blobs).values(sha256=info.sha256, size=info.size, stored_ms=at_ms)
                )
            else:
                conn.execute(
                    update(blobs).where(blobs.c.sha256 == info.sha256).values(purged_ms=None)
                )

    def _index(self, conn: Connection, index: int, entry: Entry, _data: bytes) -> None:
        log_id = self._log.log_id
        if isinstance(entry, Segment):
            conn.execute(
                insert(segments).values(
                    log_id=log_id,
                    seq=entry.seq,
                    idx=index,
                    run=entry.run,
                    run_index=entry.index,
                    sha256=entry.sha256,
                    init=entry.init,
                    start_ms=entry.start,
                    end_ms=entry.end,
                    frames=entry.frames,
                    dropped=entry.dropped,
                    bytes=entry.bytes,
                    view=entry.view,
                )
            )
        elif isinstance(entry, Clip):
            refs = entry.all_segments()
            view_counts = [len(v.segments) for v in entry.all_views()] if entry.view_names() else []
            conn.execute(
                insert(clips).values(
                    clip_id=entry.clip_id,
                    log_id=log_id,
                    idx=index,
                    order_id=entry.order_id,
                    status=entry.status,
                    end_reason=entry.end_reason,
                    station=entry.station,
                    operator=entry.operator,
                    started_ms=entry.started,
                    ended_ms=entry.ended,
                    start_ms=entry.start_ms,
                    end_ms=entry.end_ms,
                    first_seq=refs[0].seq,
                    last_seq=refs[-1].seq,
                    bytes=sum(s.bytes for s in refs),
                    repeat_of=entry.repeat_of,
                    views=" ".join(entry.view_names()) or None,
                    view_segments=" ".join(str(n) for n in view_counts) or None,
                )
            )
            if entry.tracking_ids:
                conn.execute(
                    insert(clip_tracking),
                    [
                        {"clip_id": entry.clip_id, "tracking_id": t}
                        for t in sorted(set(entry.tracking_ids))
                    ],
                )
        elif isinstance(entry, Purge):
            purged = select(segments.c.sha256).where(
                segments.c.log_id == log_id,
                segments.c.seq >= entry.first_seq,
                segments.c.seq <= entry.last_seq,
            )
            conn.execute(
                update(blobs).where(blobs.c.sha256.in_(purged)).values(purged_ms=entry.time)
            )

    # -- reading ---------------------------------------------------------------------

    def clips(self, query: ClipQuery = _NEWEST) -> list[ClipRow]:
        q = clip_page(select(clips).where(clips.c.log_id == self._log.log_id), query)
        with self._engine.connect() as conn:
            rows = conn.execute(q).all()
            tracking = tracking_of(conn, [r.clip_id for r in rows])
        return [clip_row(r, tracking.get(r.clip_id, ())) for r in rows]

    def clip(self, clip_id: str) -> ClipRow | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(clips).where(clips.c.log_id == self._log.log_id, clips.c.clip_id == clip_id)
            ).first()
            if row is None:
                return None
            return clip_row(row, tracking_of(conn, [clip_id]).get(clip_id, ()))

    def find_clip(self, order_or_clip_id: str) -> ClipRow:
        """The clip with this id, else the newest clip of this order."""
        row = self.clip(order_or_clip_id)
        if row is not None:
            return row
        found = self.clips(ClipQuery(order_id=order_or_clip_id, limit=1))
        if not found:
            raise LogStateError(
                f"no clip or order {order_or_clip_id!r} in this store",
                hint="list sealed clips with `packseal clips`",
            )
        return found[0]

    def clips_of_order(self, order_id: str) -> list[ClipRow]:
        return self.clips(ClipQuery(order_id=order_id, limit=1000))

    def segments(self, first_seq: int, last_seq: int) -> list[SegmentRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(segments)
                .where(
                    segments.c.log_id == self._log.log_id,
                    segments.c.seq >= first_seq,
                    segments.c.seq <= last_seq,
                )
                .order_by(segments.c.seq)
            ).all()
        return [segment_row(r) for r in rows]

    def view_segments(self, view: str | None, first_seq: int, last_seq: int) -> list[SegmentRow]:
        """The segments of one view (``None``: a one-camera station's) in a range of
        segment numbers, in order: segment numbers are station-wide, so views interleave."""
        where = segments.c.view.is_(None) if view is None else segments.c.view == view
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(segments)
                .where(
                    segments.c.log_id == self._log.log_id,
                    where,
                    segments.c.seq >= first_seq,
                    segments.c.seq <= last_seq,
                )
                .order_by(segments.c.seq)
            ).all()
        return [segment_row(r) for r in rows]

    def segments_of_run(self, run: str) -> list[SegmentRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(segments)
                .where(segments.c.log_id == self._log.log_id, segments.c.run == run)
                .order_by(segments.c.seq)
            ).all()
        return [segment_row(r) for r in rows]

    def last_segment(self) -> SegmentRow | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(segments)
                .where(segments.c.log_id == self._log.log_id)
                .order_by(segments.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else segment_row(row)

    def last_view_segment(self, view: str | None) -> SegmentRow | None:
        """The newest segment of one view (``None``: a one-camera station's)."""
        where = segments.c.view.is_(None) if view is None else segments.c.view == view
        with self._engine.connect() as conn:
            row = conn.execute(
                select(segments)
                .where(segments.c.log_id == self._log.log_id, where)
                .order_by(segments.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else segment_row(row)

    def blob_purged(self, sha256: str) -> bool:
        with self._engine.connect() as conn:
            value = conn.execute(select(blobs.c.purged_ms).where(blobs.c.sha256 == sha256)).first()
        return value is not None and value.purged_ms is not None

    def count_clips(self) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(clips)
                    .where(clips.c.log_id == self._log.log_id)
                ).scalar_one()
            )

    def stations(self, *, limit: int = 500) -> list[str]:
        """Station ids with clips in this log (a search form's choice list)."""
        with self._engine.connect() as conn:
            return _figures.stations(conn, self._log.log_id, limit)

    def figures(self) -> StoreFigures:
        """The log, storage and activity per station, in a few indexed queries."""
        with self._engine.connect() as conn:
            blob_count, blob_bytes, per_station = _figures.counts(conn, self._log.log_id)
        return StoreFigures(
            origin=self.origin,
            log_size=self.size(),
            checkpoint=self.latest_checkpoint(),
            clips=sum(s.clips for s in per_station),
            blobs=blob_count,
            blob_bytes=blob_bytes,
            free_bytes=self.free_bytes(),
            reserve_bytes=self.reserve_bytes,
            stations=per_station,
        )
