"""The logs a merchant root key has certified, kept beside the root key.

A log's origin names one append-only history. A second log with the same origin
(``packseal init`` on a new database with the same root key and ``station.id``, a copied
config, a deleted database) is a fork: two histories that one trust file would vouch for
alike. The log itself cannot know that another exists; the root key's side can, so every
certification is recorded in ``<root key file>.logs`` (JSON lines: origin, station key,
database, time) and ``init`` refuses to start a second history for an origin listed there.

It is a guard for the honest merchant, not evidence: whoever holds the root key can
delete a line. Verifiers are protected by the trust file, which refuses two current keys
for one origin (:mod:`storage.trust`), and by witnesses, which refuse a fork.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from storage._errors import FormatError

__all__ = ["CertifiedLog", "certified_logs", "record_certified_log", "registry_path"]


@dataclass(frozen=True, slots=True)
class CertifiedLog:
    origin: str
    vkey: str  # the station key certified for it
    database: str  # where that log lives (a URL without password)
    time: int  # ms, when it was recorded


def registry_path(root_key: Path) -> Path:
    return root_key.with_name(root_key.name + ".logs")


def certified_logs(root_key: Path) -> list[CertifiedLog]:
    """Every log recorded for ``root_key`` (none if the registry does not exist yet)."""
    path = registry_path(root_key)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            out.append(
                CertifiedLog(
                    str(doc["origin"]), str(doc["vkey"]), str(doc["database"]), int(doc["time"])
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise FormatError(
                f"{path} line {number} is not a certified-log record: {e}",
                hint="it lists the logs the root key certified, one JSON object a line; "
                "restore it from a backup or remove the broken line",
            ) from e
    return out


def record_certified_log(root_key: Path, log: CertifiedLog) -> None:
    """Append ``log`` to the registry (fsynced: init must not forget a history)."""
    path = registry_path(root_key)
    line = json.dumps(
        {"origin": log.origin, "vkey": log.vkey, "database": log.database, "time": log.time},
        ensure_ascii=False,
        sort_keys=True,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
