"""What the station must remember across a crash: the open clip and clips awaiting sealing.

Written atomically (temp file, fsync, rename) whenever it changes, which is a few times
per order, never per frame.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recorder._errors import StationStateError
from recorder.controller import ClipClosed, OpenClip
from recorder.sealer import ClipPlan
from storage.entries import Scan
from storage.footage import FootageSource


@dataclass(slots=True)
class StationState:
    running: bool = False  # true while a station runs: found true at start = it crashed
    open: tuple[OpenClip, str | None] | None = None  # the open clip and the run it began in
    pending: list[ClipPlan] = field(default_factory=list)

    def save(self, path: Path) -> None:
        doc = {
            "running": self.running,
            "open": None
            if self.open is None
            else {"clip": asdict(self.open[0]), "run": self.open[1]},
            "pending": [asdict(p) for p in self.pending],
        }
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> StationState:
        if not path.exists():
            return cls()
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            opened = doc.get("open")
            return cls(
                running=bool(doc.get("running")),
                open=None if opened is None else (_open_clip(opened["clip"]), opened.get("run")),
                pending=[_plan(p) for p in doc.get("pending", [])],
            )
        except (ValueError, KeyError, TypeError) as e:
            raise StationStateError(
                f"station state {path} is unreadable: {e}",
                hint="move the file aside to start fresh; the log itself is unaffected",
            ) from e


def _open_clip(d: dict[str, Any]) -> OpenClip:
    scans = tuple(
        Scan(**{**s, "box": None if s["box"] is None else tuple(s["box"])}) for s in d["scans"]
    )
    return OpenClip(
        clip_id=d["clip_id"],
        order_id=d["order_id"],
        started=d["started"],
        scans=scans,
        tracking_ids=tuple(d["tracking_ids"]),
        repeat_of=d["repeat_of"],
        last_motion=d["last_motion"],
    )


def _plan(d: dict[str, Any]) -> ClipPlan:
    closed = d["closed"]
    return ClipPlan(
        closed=ClipClosed(
            _open_clip(closed["clip"]), closed["ended"], closed["end_reason"], closed["status"]
        ),
        run=d["run"],
        start_at=d["start_at"],
        end_at=d["end_at"],
        pre_roll=d["pre_roll"],
        post_roll=d["post_roll"],
        source=None if d.get("source") is None else FootageSource(**d["source"]),
    )
