"""Reading the stored subtree hashes (``nodes``) of one log: point lookups for proofs,
range scans for verification, the frontier a size's tree grows from.

Shared by the log (proofs, appends) and its scan (:mod:`storage._logscan`), which gets
this narrow reader instead of the log's internals.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, union_all

from storage import merkle
from storage._errors import LogIntegrityError
from storage._schema import nodes
from storage.merkle import Node

# Nodes per lookup statement (a UNION ALL branch each): under SQLite's 500 compound
# selects and 999 bind parameters.
_NODE_LOOKUP_BATCH = 400


class NodeReader:
    """The stored nodes of the log ``log_id`` (named ``origin`` in errors)."""

    def __init__(self, log_id: int, origin: str) -> None:
        self.log_id = log_id
        self.origin = origin

    def lookup(self, conn: Connection, wanted: Iterable[Node]) -> dict[Node, bytes]:
        keys = list(wanted)
        out: dict[Node, bytes] = {}
        for i in range(0, len(keys), _NODE_LOOKUP_BATCH):
            params: dict[str, Any] = {"log_id": self.log_id}
            for n, (level, idx) in enumerate(keys[i : i + _NODE_LOOKUP_BATCH]):
                params[f"l{n}"] = level
                params[f"i{n}"] = idx
            statement = _lookup_statement(min(_NODE_LOOKUP_BATCH, len(keys) - i))
            for level, idx, h in conn.execute(statement, params).all():
                out[(int(level), int(idx))] = bytes(h)
        return out

    def lookup_spans(
        self, conn: Connection, spans: dict[int, tuple[int, int]]
    ) -> dict[Node, bytes]:
        """Every stored node with ``lo <= idx <= hi`` per level: range scans, for verification."""
        if not spans:
            return {}
        params: dict[str, Any] = {"log_id": self.log_id}
        for n, (level, (lo, hi)) in enumerate(spans.items()):
            params.update({f"l{n}": level, f"lo{n}": lo, f"hi{n}": hi})
        rows = conn.execute(_span_statement(len(spans)), params).all()  # one fetch, not per row
        return {(int(level), int(idx)): bytes(h) for level, idx, h in rows}

    def frontier(self, conn: Connection, size: int) -> merkle.Frontier:
        if size == 0:
            return merkle.Frontier()
        wanted = merkle.perfect_nodes(0, size)
        known = self.lookup(conn, wanted)
        if len(known) != len(wanted):
            raise LogIntegrityError(
                f"log {self.origin}: subtree hashes for size {size} are missing"
            )
        return merkle.Frontier.from_nodes(size, [known[n] for n in wanted])


# One branch per tree level, each an index seek (or range scan) on the primary key. A
# single OR of (level, IN) clauses made SQLite scan every node of the log (70 ms per
# proof at 10^5 entries), and building the expression per call cost ~2 ms: statements
# are built once per shape, with bound parameters.


@functools.cache
def _lookup_statement(count: int) -> Any:
    """``count`` nodes, a branch each (an index seek each). Plain parameters: an
    "expanding" IN is re-rendered by SQLAlchemy on every execution, a quarter of a
    proof's time; one statement per node count keeps the cache to a few dozen."""
    return _union(
        select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(
            nodes.c.log_id == bindparam("log_id"),
            nodes.c.level == bindparam(f"l{n}"),
            nodes.c.idx == bindparam(f"i{n}"),
        )
        for n in range(count)
    )


@functools.cache
def _span_statement(branches: int) -> Any:
    return _union(
        select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(
            nodes.c.log_id == bindparam("log_id"),
            nodes.c.level == bindparam(f"l{n}"),
            nodes.c.idx.between(bindparam(f"lo{n}"), bindparam(f"hi{n}")),
        )
        for n in range(branches)
    )


def _union(parts: Iterable[Select[tuple[int, int, bytes]]]) -> Any:
    selects = list(parts)
    return selects[0] if len(selects) == 1 else union_all(*selects)
