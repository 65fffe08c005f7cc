"""Evidence bundles from the hub: the same bundle the station itself would export.

The hub holds the station's entries byte for byte, its signed checkpoints and the
cosignatures of them, and the blobs; :func:`verifier.bundle.export_bundle` runs over a
mirrored log exactly as over the station's store. The certification is found as the
station finds it: the latest station-key entry for the key that signed the clip.

Content Credentials are the one exception: a station with ``c2pa.enabled`` signs
clip.c2pa.mp4 at export with a key that never leaves it, so the hub signs with its own
certificate under the same merchant CA (``hub_server.c2pa``). C2PA signing is not
deterministic (a fresh manifest urn and signing time each time), so clip.c2pa.mp4 differs
between any two exports anyway; every other member stays the station's byte for byte,
except the lines of manifest.json and SHA256SUMS that hash them. Without a certificate
the hub refuses: a bundle without the C2PA the trust file requires would fail verify.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from packseal.hub.pusher import export_policy, requires_c2pa
from storage import LogStateError, PacksealError, Store
from storage.certs import C2paCredentials
from storage.entries import Clip, StationKey, parse_as
from storage.keyhistory import key_entries
from verifier.bundle import ExportPolicy, ExportResult, export_bundle


class HubC2paMissing(PacksealError):
    """A station's bundles carry C2PA and the hub has no certificate to sign them."""


def hub_export_policy(
    station: str, doc: dict[str, Any] | None, c2pa: C2paCredentials | None
) -> ExportPolicy:
    """The policy ``station`` pushed, with the hub's own C2PA credentials when the
    station's bundles carry Content Credentials; refuses when the hub has none."""
    policy = export_policy(doc)
    if not requires_c2pa(doc):
        return policy
    if c2pa is None:
        raise HubC2paMissing(
            f"station {station} exports clips with C2PA Content Credentials "
            "(clip.c2pa.mp4, required by its trust file) and this hub has no C2PA "
            "certificate to sign them: its bundle would fail `packseal verify`",
            hint="issue one where the merchant root key is (`packseal keys x509-hub "
            "--out DIR`) and name it in hub_server.c2pa (chain, key) of the hub's config",
        )
    return replace(policy, c2pa=c2pa)


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


__all__ = ["HubC2paMissing", "certification_of", "export_mirrored", "hub_export_policy"]
