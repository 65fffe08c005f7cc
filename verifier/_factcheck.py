"""The ``facts`` check: what the signed clip entry says, as :class:`Facts`, and that the
bundle's unsigned labels (the manifest, the README, the sheet) agree with it.

The labels are for people and are not evidence: they only must not contradict what the
entries and proofs prove. :func:`anchored` adds what the ``time``, ``witness`` and
``c2pa`` checks proved to the facts.
"""

from __future__ import annotations

import base64
import dataclasses

from storage import merkle
from storage.checkpoint import SignedCheckpoint, TlogProof
from storage.entries import Clip, StationKey
from storage.facts import rfc3339
from storage.footage import describe_source
from storage.text import printable
from verifier._human import readme_problems, sheet_problems
from verifier._layout import CLIP_ENTRY
from verifier._manifest import Manifest
from verifier._media import Span
from verifier._report import Check, Facts, ViewFacts, failed, secs
from verifier._timecheck import TimeResult, WitnessResult
from verifier._zip import Problem


def check_facts(
    members: dict[str, bytes],
    m: Manifest | None,
    clip: Clip,
    station: StationKey | None,
    media: Span | None,
    *,
    checkpoint: SignedCheckpoint | None,
    clip_proof: TlogProof | None,
    key_proof: TlogProof | None,
) -> tuple[Check, Facts]:
    """The ``facts`` check and the facts: ``media``'s span of the clip, the log position
    the ``inclusion`` check proved (``None`` where it did not)."""
    n = len(clip.segments)
    first, last = (0, n - 1) if media is None else (media.first, media.last)
    first, last = min(first, n - 1), min(last, n - 1)
    cp = None if checkpoint is None else checkpoint.checkpoint
    facts = Facts(
        order_id=clip.order_id,
        tracking_ids=clip.tracking_ids,
        clip_id=clip.clip_id,
        status=clip.status,
        end_reason=clip.end_reason,
        station=clip.station,
        station_name=None if station is None else station.station_name,
        merchant=None if station is None else station.merchant,
        operator=clip.operator,
        origin=station.origin if station is not None else clip.key.partition("+")[0],
        log_index=None if clip_proof is None else clip_proof.index,
        station_key_index=None if key_proof is None else key_proof.index,
        checkpoint_size=None if cp is None else cp.size,
        checkpoint_root=None if cp is None else base64.b64encode(cp.root_hash).decode(),
        entry_hash=merkle.leaf_hash(members[CLIP_ENTRY]).hex(),
        start_ms=clip.segments[first].start,
        end_ms=clip.segments[last].end,
        clip_start_ms=clip.start_ms,
        clip_end_ms=clip.end_ms,
        started_ms=clip.started,
        ended_ms=clip.ended,
        segments=(first + 1, last + 1, n),
        video=None if media is None else media.video,
        derived=media is not None and media.derived,
        zone=clip.zone or (None if m is None else m.zone),
        zone_signed=bool(clip.zone),
        source=describe_source(clip.source),
        source_live=None if clip.source is None else clip.source.live,
        views=_view_facts(clip, media, first, last),
    )
    problems = []
    if m is not None:
        claims = [
            ("order id", m.order_id, clip.order_id),
            ("clip id", m.clip_id, clip.clip_id),
            ("log origin", m.origin, facts.origin),
            ("log index", m.clip_index, facts.log_index),
            ("station-key index", m.station_key_index, facts.station_key_index),
            ("checkpoint size", m.checkpoint_size, facts.checkpoint_size),
        ]
        for what, said, proven in claims:
            if proven is not None and said != proven:
                problems.append(
                    Problem(
                        f"the manifest's {what} is {said}, the bundle's entry and proof say "
                        f"{proven}",
                        str(proven),
                        str(said),
                    )
                )
    problems += readme_problems(members, clip)
    sheet, sheet_said = sheet_problems(members, clip, facts.entry_hash)
    problems += sheet
    if problems:
        return failed("facts", problems), facts
    tracking = ", ".join(printable(t, 80) for t in clip.tracking_ids) or "none"
    return Check(
        "facts",
        True,
        f"order {printable(clip.order_id, 120)}, tracking {tracking}, station "
        f"{clip.station}, {rfc3339(facts.start_ms)} to {rfc3339(facts.end_ms)} "
        f"({secs(facts.duration_ms)} s), clip {clip.clip_id} ({clip.status}, "
        f"{clip.end_reason}); the README agrees, {sheet_said} (neither is evidence by "
        "itself: what the checks above prove is)",
    ), facts


def _view_facts(clip: Clip, media: Span | None, first: int, last: int) -> tuple[ViewFacts, ...]:
    parts = clip.all_views()
    if clip.view is None:
        return ()
    spans = {} if media is None else {v.view: v for v in media.views}
    out = [
        ViewFacts(
            parts[0].view,
            None if media is None else media.video,
            (first + 1, last + 1, len(parts[0].segments)),
        )
    ]
    for part in parts[1:]:
        n = len(part.segments)
        span = spans.get(part.view)
        lo, hi = (0, n - 1) if span is None else (span.first, span.last)
        out.append(ViewFacts(part.view, None if span is None else span.member, (lo + 1, hi + 1, n)))
    return tuple(out)


def anchored(facts: Facts, time: TimeResult, witness: WitnessResult, signer: str | None) -> Facts:
    stamp = time.stamp if time.check.ok else None
    witnessed = witness.cosigned if witness.check.ok else ()
    return dataclasses.replace(
        facts,
        existed_before_ms=None if stamp is None else stamp.gen_ms,
        tsa=None if stamp is None else stamp.tsa,
        witnessed=tuple(f"{c.name} at {rfc3339(c.time * 1000)}" for c in witnessed),
        content_credentials=signer,
    )
