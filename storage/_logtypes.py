"""The log's value types and callbacks, shared by :mod:`storage.log` and the scan behind
it (:mod:`storage._logscan`), so neither imports the other's module for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from storage._errors import LogIntegrityError
from storage.checkpoint import SignedCheckpoint
from storage.entries import Entry

# Called inside the append transaction for each new entry: (conn, index, entry, data).
OnAppend = Callable[[Connection, int, Entry, bytes], None]
Progress = Callable[[int, int], None]
# What Log.scan streams to a whole-store audit (see Log.scan).
OnEntry = Callable[[int, bytes, dict[str, Any]], None]
OnCheckpoint = Callable[["StoredCheckpoint", SignedCheckpoint | None, bytes | None], None]
OnProblem = Callable[[str, LogIntegrityError], None]

# The checks a scan reports under: entry bytes and indexes, the prev chain, the stored
# subtree hashes, the signed checkpoints, and the log head (size and last leaf).
SCAN_CHECKS = ("entries", "chain", "tree", "checkpoints", "head")


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes
    entry: Entry
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: bytes
    signed_ms: int


@dataclass(frozen=True, slots=True)
class LogReport:
    size: int
    checkpoints: int
    kinds: dict[str, int]
    roots: dict[int, bytes] = field(default_factory=dict)  # the sizes asked for in roots_at


def stored_checkpoint(row: Any) -> StoredCheckpoint:
    """A ``checkpoints`` row as a value."""
    return StoredCheckpoint(
        int(row.size), bytes(row.root_hash), bytes(row.note), int(row.signed_ms)
    )
