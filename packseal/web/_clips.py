"""Finding clips and gathering what the clip page and the API show about one."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from packseal._cli_station import clip_json
from packseal.accounts import CustodyEvent
from packseal.web._context import PortalContext
from packseal.web._http import WebError
from packseal.web._media import view_segments
from storage import ClipQuery, ClipRow, SegmentRow
from storage.entries import Clip, ClipView, Scan, parse_as

# Clip ids are ULIDs; the pattern is looser so ids from other versions still resolve, and
# strict enough that nothing path-like or markup-like ever reaches the store or a page.
CLIP_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
STATUSES = ("sealed", "cancelled", "interrupted")
PER_PAGE = 25
MAX_PAGE = 10_000

Verdict = Literal["verified", "mismatch", "missing", "purged", "unchecked"]


@dataclass(frozen=True, slots=True)
class Search:
    order: str | None = None
    tracking: str | None = None
    station: str | None = None
    status: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive
    page: int = 1
    per_page: int = PER_PAGE

    def query(self, zone: dt.tzinfo) -> ClipQuery:
        def day_start(d: dt.date) -> int:
            return round(dt.datetime.combine(d, dt.time(), zone).timestamp() * 1000)

        return ClipQuery(
            order_id=self.order,
            tracking_id=self.tracking,
            station=self.station,
            status=self.status,
            since_ms=day_start(self.since) if self.since else None,
            until_ms=day_start(self.until + dt.timedelta(days=1)) if self.until else None,
            # one row more than a page says whether there is a next page, without a COUNT
            # over 100,000 rows
            limit=self.per_page + 1,
            offset=(self.page - 1) * self.per_page,
        )

    @property
    def empty(self) -> bool:
        return not any((self.order, self.tracking, self.station, self.status, self.since))


SEARCH_FIELDS = ("order", "tracking", "station", "status", "since", "until")
# What order, tracking and station ids are made of. A search for anything else is a 422
# that names the field (the page shows the text back, escaped, in its box).
ID_TEXT = r"^[A-Za-z0-9_.:/+#-]{1,128}$"  # order, tracking and station ids in a search
_ID_TEXT = re.compile(ID_TEXT)
_ID_RULE = "up to 128 letters, digits and - _ . : / + #, exactly as printed on the label"


def parse_search(params: Mapping[str, str]) -> tuple[Search, dict[str, str]]:
    """The search in ``params`` (empty fields ignored), and an error per bad field."""
    errors: dict[str, str] = {}
    text: dict[str, str | None] = {}
    for key in ("order", "tracking", "station"):
        value = (params.get(key) or "").strip()
        if value and not _ID_TEXT.fullmatch(value):
            errors[key] = f"{key} ids are {_ID_RULE}"
        text[key] = value or None
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        errors["status"] = f"status is one of {', '.join(STATUSES)}"
    days: dict[str, dt.date | None] = {}
    for key in ("since", "until"):
        value = params.get(key) or ""
        try:
            days[key] = dt.date.fromisoformat(value) if value else None
        except ValueError:
            errors[key] = "dates are written YYYY-MM-DD"
            days[key] = None
    if days["since"] and days["until"] and days["until"] < days["since"]:
        errors["until"] = "the date range ends before it starts"
    raw_page = params.get("page") or "1"
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 6 else 0
    if not 1 <= page <= MAX_PAGE:
        errors["page"] = f"page is a number from 1 to {MAX_PAGE}"
        page = 1
    search = Search(
        order=text["order"] if "order" not in errors else None,
        tracking=text["tracking"] if "tracking" not in errors else None,
        station=text["station"] if "station" not in errors else None,
        status=status if "status" not in errors else None,
        since=days["since"],
        until=days["until"] if "until" not in errors else None,
        page=page,
    )
    return search, errors


def search(ctx: PortalContext, s: Search) -> tuple[list[ClipRow], bool]:
    rows = ctx.app.store.clips(s.query(ctx.zone))
    return rows[: s.per_page], len(rows) > s.per_page


def load_clip(ctx: PortalContext, clip_id: str) -> ClipRow:
    if not CLIP_ID.fullmatch(clip_id):
        raise WebError(
            404,
            "that is not a clip id: clip ids are up to 64 letters, digits, '-' or '_'",
            hint="search by order id on the clips page",
        )
    row = ctx.app.store.clip(clip_id)
    if row is None:
        raise WebError(
            404,
            f"no clip {clip_id} in this store",
            hint="search by order id or tracking id on the clips page",
        )
    return row


@dataclass(frozen=True, slots=True)
class Mark:
    """A scan on the timeline, placed in 0..1000 along the clip."""

    x: float
    at_s: float  # seconds from the start of the clip's video
    scan: Scan


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    segment: SegmentRow
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class ViewFacts:
    """One camera of a clip filmed by several, as its player and segment table show it."""

    view: ClipView  # as signed in the clip entry
    url: str  # its video, played beside the others
    offset_s: float  # its first frame's capture time after the clip's start (syncing)
    segments: list[SegmentRow]
    verdicts: list[Verdict]

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.view.segments)

    @property
    def rows(self) -> list[tuple[SegmentRow, Verdict]]:
        return list(zip(self.segments, self.verdicts, strict=False))


@dataclass(frozen=True, slots=True)
class ClipFacts:
    row: ClipRow
    entry: Clip
    segments: list[SegmentRow]  # the first camera's
    verdicts: list[Verdict]
    init_verdict: Verdict  # the init section's (without it nothing plays)
    checked: bool  # False: the verifier's replay is not available, bars are 'unchecked'
    bars: list[Bar]
    marks: list[Mark]
    custody: list[CustodyEvent]
    views: list[ViewFacts]  # every camera, the first too; [] for a one-camera clip

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.verdicts:
            out[v] = out.get(v, 0) + 1
        return out


def clip_facts(ctx: PortalContext, row: ClipRow) -> ClipFacts:
    store = ctx.app.store
    entry = parse_as(Clip, store.entry(row.idx))
    views = [_view_facts(ctx, row, entry, v) for v in entry.all_views()] if row.views else []
    segments = views[0].segments if views else store.segments(row.first_seq, row.last_seq)
    found = ctx.evidence.verdicts(entry)
    init: Verdict = "unchecked"
    verdicts: list[Verdict] = ["unchecked"] * len(entry.segments)
    if found is not None:
        init, verdicts = found
    span = max(1, row.end_ms - row.start_ms)

    def x(t: int) -> float:
        return round(max(0.0, min(1000.0, (t - row.start_ms) * 1000 / span)), 2)

    bars = [
        Bar(x(s.start_ms), round(x(s.end_ms) - x(s.start_ms), 2), s, v)
        for s, v in zip(segments, verdicts, strict=False)
    ]
    marks = [Mark(x(s.t), round((s.t - row.start_ms) / 1000, 2), s) for s in entry.scans]
    return ClipFacts(
        row=row,
        entry=entry,
        segments=segments,
        verdicts=verdicts,
        init_verdict=init,
        checked=found is not None,
        bars=bars,
        marks=marks,
        custody=ctx.accounts.custody(row.clip_id, limit=200),
        views=views,
    )


def _view_facts(ctx: PortalContext, row: ClipRow, entry: Clip, view: ClipView) -> ViewFacts:
    first = view.view == row.views[0]
    found = ctx.evidence.verdicts(entry, None if first else view.view)
    return ViewFacts(
        view=view,
        url=f"/clips/{row.clip_id}/video.mp4" + ("" if first else f"?view={view.view}"),
        offset_s=round((view.segments[0].start - row.start_ms) / 1000, 3),
        segments=view_segments(ctx.app.store, row, view.view, entry),
        verdicts=["unchecked"] * len(view.segments) if found is None else found[1],
    )


def facts_json(facts: ClipFacts) -> dict[str, object]:
    row, entry = facts.row, facts.entry
    return {
        **clip_json(row),
        "operator": row.operator,
        "started_ms": row.started_ms,
        "ended_ms": row.ended_ms,
        "pre_roll_ms": entry.pre_roll,
        "post_roll_ms": entry.post_roll,
        "video": {
            "codec": entry.video.codec,
            "width": entry.video.width,
            "height": entry.video.height,
            "fps": f"{entry.video.fps_num}/{entry.video.fps_den}",
            "encoder": entry.video.encoder,
        },
        "init_sha256": entry.init,
        "init_verdict": facts.init_verdict,
        # Where the footage came from, as signed (null: sealed before it was recorded).
        "source": None if entry.source is None else entry.source.to_json(),
        "segments": [
            {
                "seq": s.seq,
                "sha256": s.sha256,
                "start_ms": s.start_ms,
                "end_ms": s.end_ms,
                "bytes": s.bytes,
                "frames": s.frames,
                "dropped": s.dropped,
                "verdict": v,
            }
            for s, v in zip(facts.segments, facts.verdicts, strict=False)
        ],
        "scans": [
            {
                "t_ms": s.t,
                "text": s.text,
                "kind": s.kind,
                "symbology": s.symbology,
                "source": s.source,
                "box": list(s.box) if s.box else None,
            }
            for s in entry.scans
        ],
        "custody": [
            {
                "at_ms": e.at_ms,
                "user": e.user,
                "role": e.role,
                "action": e.action,
                "client_ip": e.client_ip,
                "detail": e.detail,
            }
            for e in facts.custody
        ],
        "links": {
            "page": f"/clips/{row.clip_id}",
            "video": f"/clips/{row.clip_id}/video.mp4",
            "bundle": f"/api/v1/clips/{row.clip_id}/bundle",
        },
        # Every camera of a clip filmed by several, the first too ([] for one camera).
        "views": [
            {
                "view": v.view.view,
                "video": v.url,
                "init_sha256": v.view.init,
                "offset_ms": round(v.offset_s * 1000),
                "source": None if v.view.source is None else v.view.source.to_json(),
                "segments": [
                    {"seq": s.seq, "sha256": s.sha256, "verdict": verdict}
                    for s, verdict in zip(v.segments, v.verdicts, strict=False)
                ],
            }
            for v in facts.views
        ],
    }
