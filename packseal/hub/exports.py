"""Evidence bundles from the hub: the same bundle the station itself would export.

The hub holds the station's entries byte for byte, its signed checkpoints and the
cosignatures of them, and the blobs; :func:`verifier.bundle.export_bundle` runs over a
mirrored log exactly as over the station's store. The certification is found as the
station finds it: the latest station-key entry for the key that signed the clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import LogStateError, Store
from storage.entries import Clip, StationKey, parse_as
from storage.keyhistory import key_entries
from verifier.bundle import ExportPolicy, ExportResult, export_bundle


def certification_of(store: Store, clip: str) -> tuple[int, StationKey]:
    """The station-key entry that certifies the key that signed ``clip``."""
    row = store.find_clip(clip)
    signed_by = parse_as(Clip, store.entry(row.idx)).key
    for index, entry in reversed(key_entries(store)):
        if not isinstance(entry, StationKey):
            continue
        v = entry.station_verifier()
        if f"{v.name}+{v.key_id:08x}" == signed_by:
            return index, entry
    raise LogStateError(
        f"no station-key entry in {store.origin} certifies the key {signed_by} that "
        f"signed clip {row.clip_id}"
    )


def export_mirrored(
    store: Store,
    clip: str,
    out: Path,
    *,
    policy: ExportPolicy | None = None,
    **options: Any,
) -> ExportResult:
    """The bundle of ``clip`` (a clip id, or an order's newest clip) from a mirrored log."""
    row = store.find_clip(clip)
    return export_bundle(
        store,
        certification_of(store, row.clip_id),
        row.clip_id,
        out,
        policy=policy or ExportPolicy(),
        **options,
    )


__all__ = ["certification_of", "export_mirrored"]
