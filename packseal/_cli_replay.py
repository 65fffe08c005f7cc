"""Commands: replay (re-hash a stored clip and write an annotated copy to watch)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from packseal._cli import Lazy, pass_lazy, words
from packseal._progress import terminal_progress
from storage.text import printable
from storage.zones import local_zone
from verifier import VerifierError
from verifier.replay import Replay, load_clip, write_keyframes
from verifier.replay import replay as replay_clip


@click.command()
@click.argument("order_or_clip")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Annotated copy to write (default: replay-<clip id>.mp4 here).",
)
@click.option(
    "--frames",
    "frames_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also write the evidence sheet's keyframes as PNG images into this directory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@pass_lazy
def replay(
    lazy: Lazy, order_or_clip: str, out: Path | None, frames_dir: Path | None, as_json: bool
) -> int:
    """Re-hash ORDER_OR_CLIP's stored segments and write a copy annotated with the verdicts.

    Exit 0 when every segment verified (or was purged by a logged retention policy), 1
    when a segment's bytes changed or vanished without a purge entry. A clip filmed by
    several cameras gets one copy per camera: the first at OUTPUT, each other one at
    OUTPUT with ".<view>" before its suffix (replay-CLIP.side.mp4).
    """
    app = lazy.app
    store = app.store
    clip = load_clip(store, order_or_clip)
    target = out or Path(f"replay-{clip.clip_id}.mp4")
    zone = local_zone(app.config.station.timezone)
    results: list[tuple[str, Replay]] = []
    for k, part in enumerate(clip.all_views()):
        path = target if k == 0 else target.with_name(f"{target.stem}.{part.view}{target.suffix}")
        with terminal_progress("replaying") as bar:
            results.append(
                (
                    part.view,
                    replay_clip(
                        store,
                        clip,
                        path,
                        zone=zone,
                        merchant=app.config.merchant.name,
                        progress=bar,
                        view=part.view if k else None,
                    ),
                )
            )
    result = results[0][1]
    keyframes: list[Path] = []
    keyframe_error = None
    if frames_dir is not None:
        try:
            keyframes = write_keyframes(store, clip, frames_dir, verdicts=result.segments)
        except VerifierError as e:  # tampered footage: reported below, the replay stands
            keyframe_error = e.message
    if as_json:
        doc = _as_json(result, keyframes, keyframe_error)
        if clip.view is not None:  # every camera's verdicts, the first's as above too
            doc["views"] = [{"view": view, **_as_json(r, [], None)} for view, r in results]
        click.echo(json.dumps(doc, indent=2))
    else:
        for k, (view, r) in enumerate(results):
            if clip.view is not None:
                click.echo(words()("view {view}:", view=view))
            _print(r, clip.order_id, clip.clip_id, keyframes if k == 0 else [])
        if keyframe_error:
            click.echo(words()("no keyframes: {why}", why=words().said(keyframe_error)), err=True)
    bad = [r for _, r in results if r.tampered or r.init.state in ("mismatch", "missing")]
    return 1 if bad else 0


def _print(r: Replay, order_id: str, clip_id: str, keyframes: list[Path]) -> None:
    w = words()
    segs = r.segments
    click.echo(
        w(
            "clip {clip}, order {order}: {n} segments",
            clip=clip_id,
            order=printable(order_id),
            n=len(segs),
        )
    )
    if not r.init.ok:
        click.echo(f"  init section {r.init.state.upper()} ✗ (sha256 {r.init.expected})")
    for s in segs:
        if not s.ok:
            click.echo(f"  {s.describe()}")
    counts = {state: sum(s.state == state for s in segs) for state in _STATES}
    click.echo(
        w("{n} of {total} segments verified", n=counts["verified"], total=len(segs))
        + "".join(f", {n} {w(state)}" for state, n in counts.items() if n and state != "verified")
    )
    click.echo(
        w(
            "wrote {path} ({frames} frames, {width}x{height})",
            path=r.path,
            frames=r.frames,
            width=r.width,
            height=r.height,
        )
    )
    for path in keyframes:
        click.echo(w("keyframe {path}", path=path))


_STATES = ("verified", "mismatch", "missing", "purged")


def _as_json(r: Replay, keyframes: list[Path], keyframe_error: str | None) -> dict[str, object]:
    return {
        "verified": r.verified,
        "tampered": [s.number for s in r.tampered],
        "init": {"state": r.init.state, "expected": r.init.expected, "found": r.init.found},
        "segments": [
            {
                "number": s.number,
                "seq": s.seq,
                "start_ms": s.start_ms,
                "end_ms": s.end_ms,
                "state": s.state,
                "expected": s.expected,
                "found": s.found,
            }
            for s in r.segments
        ],
        "output": str(r.path),
        "frames": r.frames,
        "keyframes": [str(p) for p in keyframes],
        "keyframe_error": keyframe_error,
    }


COMMANDS: list[click.Command] = [replay]
