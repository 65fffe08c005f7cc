"""Evidence commands: export a clip's bundle, verify a bundle against a trust file."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from packseal._cli import Lazy, pad, pass_lazy, words
from packseal._progress import terminal_progress
from storage import ClipRow, PacksealError
from storage.facts import rfc3339
from storage.text import printable
from storage.trust import read_trust_file
from verifier import NotVerified
from verifier.bundle import ExportResult
from verifier.verify import Facts, Report, verify_bundle

_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s?([A-Za-z]+)")
_SPAN = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")
T = TypeVar("T")


def parse_size(text: str) -> int:
    """A byte size with a unit: 20MB (10^6 bytes), 5MiB (2^20 bytes), 800kB, 1GB."""
    match = _SIZE.fullmatch(text.strip())
    unit = _UNITS.get(match[2].upper()) if match else None
    if match is None or unit is None:
        raise click.BadParameter(
            "expected a size like 20MB, 5MiB or 800kB (units B, kB, MB, GB, KiB, MiB, GiB), "
            f"found {text!r}"
        )
    size = round(float(match[1]) * unit)
    if size <= 0:
        raise click.BadParameter(f"expected a size above zero, found {text!r}")
    return size


def parse_span(text: str) -> tuple[float, float]:
    """START-END in seconds from the clip's start: 10-25, 0-7.5."""
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter(
            f"expected START-END in seconds, like 10-25 or 0-7.5, found {text!r}"
        )
    start, end = float(match[1]), float(match[2])
    if end <= start:
        raise click.BadParameter(f"expected END after START, found {text!r}")
    return start, end


def _optional(
    parse: Callable[[str], T],
) -> Callable[[click.Context, click.Parameter, str | None], T | None]:
    return lambda _ctx, _param, value: None if value is None else parse(value)


@click.command()
@click.argument("order_or_clip")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the bundle (.zip).",
)
@click.option(
    "--excerpt",
    metavar="START-END",
    callback=_optional(parse_span),
    help="Only the whole segments covering START-END seconds from the clip's start.",
)
@click.option(
    "--max-size",
    metavar="SIZE",
    callback=_optional(parse_size),
    help="Upload limit for the whole bundle, e.g. 20MB: when the sealed clip does not fit "
    "beside the sheet and entries, the bundle carries a re-encoded derived copy.",
)
@click.option(
    "--claim",
    metavar="REPORT_DIR|CLAIM_ID",
    help="Add a claim check's report (claim/): the directory `packseal claim -o` wrote, or "
    "the id of a check kept for this clip (clip page). A report, not evidence by itself; "
    "the buyer's photos stay out.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@pass_lazy
def export(
    lazy: Lazy,
    order_or_clip: str,
    out: Path,
    excerpt: tuple[float, float] | None,
    max_size: int | None,
    claim: str | None,
    force: bool,
) -> int:
    """Write the evidence bundle of ORDER_OR_CLIP (an order's newest clip, or a clip id).

    Example: packseal export SO-2026-000123 -o SO-2026-000123.zip --max-size 20MB

    Example: packseal export SO-2026-000123 -o SO-2026-000123.zip --claim claim-report/
    """
    if out.exists() and not force:
        raise PacksealError(
            f"{out} already exists", hint="choose another -o, or pass --force to replace it"
        )
    app = lazy.app
    try:
        with terminal_progress("exporting") as bar:
            result = app.export(
                order_or_clip,
                out,
                excerpt=excerpt,
                max_bytes=max_size,
                progress=bar.step,
                claim=claim,
            )
    except ValueError as e:  # the library's word for a caller mistake: a usage error here
        raise click.UsageError(str(e)) from e
    _print_export(result)
    if order_or_clip != result.clip_id:
        _print_other_clips(app.store.clips_of_order(order_or_clip), result.clip_id)
    return 0


def _print_other_clips(rows: Sequence[ClipRow], taken: str) -> None:
    """An order packed twice (a re-scan, a repack) has several clips: say which one the
    bundle holds, and how to export the others."""
    others = [r for r in rows if r.clip_id != taken]
    if not others:
        return
    w = words()
    click.echo(
        w(
            "note: this order has {n} clips; the bundle holds the newest ({clip}). The others:",
            n=len(rows),
            clip=taken,
        )
    )
    for r in others:
        click.echo(
            f"  {r.clip_id}  {w(r.status):11} {rfc3339(r.start_ms)}  {r.duration_ms / 1000:.1f} s"
        )
    click.echo(w("export one of them by its clip id: packseal export CLIP_ID -o FILE"))


def _print_export(r: ExportResult) -> None:
    w = words()
    s = r.summary
    first, last, of = s.segments
    span = w("segments {first}..{last} of {of}", first=first, last=last, of=of) + (
        w(" (excerpt)") if r.excerpt else ""
    )
    rows = [
        (w("order"), printable(s.order_id)),
        (w("tracking"), ", ".join(map(printable, s.tracking_ids)) or "-"),
        (w("clip"), f"{s.clip_id}, {span}, {(s.end_ms - s.start_ms) / 1000:.1f} s"),
    ]
    if r.derived:
        video = w(
            "{video}: a re-encoded copy, sha256 {sha}; derived from the sealed bytes sha256 "
            "{sealed} (verify reports it as a derived copy, not as verified footage)",
            video=s.video,
            sha=s.video_sha256,
            sealed=s.sealed_sha256,
        )
    else:
        video = w("{video}, the sealed bytes, sha256 {sha}", video=s.video, sha=s.video_sha256)
    rows.append((w("video"), video))
    if len(r.views) > 1:  # a clip filmed by several cameras: each view's file and its hash,
        # as the sheet's integrity block names them (a merchant pastes them into a dispute)
        sha = {member: sha for _, member, sha in s.views} | {s.video: s.video_sha256}
        for k, (view, member) in enumerate(r.views):
            shown = w("{view}: {video}, sha256 {sha}", view=view, video=member, sha=sha[member])
            rows.append((w("views") if k == 0 else "", shown))
    rows += [
        (w("entry"), s.entry_hash),
        (
            w("log"),
            w(
                "{origin}, index {index}, checkpoint size {size}",
                origin=s.origin,
                index=s.log_index,
                size=s.checkpoint_size,
            ),
        ),
    ]
    anchors = [w("{n} witness cosignature(s)", n=r.cosignatures)]
    anchors.append(w("RFC 3161 time-stamp") if r.stamped else w("no time-stamp"))
    anchors.append(w("C2PA clip.c2pa.mp4") if r.c2pa else w("no C2PA"))
    rows.append((w("anchors"), ", ".join(anchors)))
    if r.claim_photos is not None:
        claimed = w(
            "claim/: the report of a claim check of {n} photo(s) (a report, not evidence by "
            "itself; the photos are not in the bundle)",
            n=r.claim_photos,
        )
        rows.append((w("claim"), claimed))
    click.echo(w("wrote {path} ({size})", path=r.path, size=_human(r.size)))
    for label, value in rows:
        click.echo(f"  {pad(label, 11)} {value}")
    click.echo(
        w(
            "verify with: packseal verify {path} --trust trust.json (publish the trust file "
            "with `packseal keys trust`)",
            path=r.path,
        )
    )


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The merchant's trust file, obtained from the merchant (never from the bundle).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(bundle: Path, trust_path: Path, as_json: bool) -> int:
    """Check BUNDLE offline. Exit 0 verified, 1 not verified, 2 unusable input."""
    try:
        trust = read_trust_file(trust_path)
        report = verify_bundle(bundle, trust).report
        code = 0
    except NotVerified as e:
        report, code = e.report, 1
    except PacksealError as e:  # not a bundle, unreadable, or a bad trust file: exit 2
        if not as_json:
            raise
        _json_error(bundle, e)
        return 2
    if as_json:
        click.echo(report.to_json())
    else:
        _print_report(report)
    return code


def _json_error(bundle: Path, e: PacksealError) -> None:
    doc = {
        "format": "packseal-verify/v1",
        "bundle": str(bundle),
        "verified": False,
        "verdict": f"UNUSABLE: {e.message}",
        "error": e.message,
        "hint": e.hint,
        "checks": [],
        "facts": None,
    }
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _print_report(report: Report) -> None:
    w = words()
    marks = _marks()
    click.echo(w.said(report.verdict()))
    for c in report.checks:
        click.echo(f"  {marks[c.ok]} {pad(w(c.name), 10)} {w.said(c.message)}")
        if c.ok is not True and c.expected is not None:
            click.echo(f"    {'':<10} {w('expected:')} {w.said(c.expected)}")
        if c.ok is not True and c.found is not None:
            click.echo(f"    {'':<10} {w('found:   ')} {w.said(c.found)}")
    f = report.facts
    if f is None:
        return
    if report.verified:
        head = w("facts proven")
    elif f.derived and not report.failed:
        head = w("facts proven by the entry and proofs (the video is a derived copy, not verified)")
    else:
        head = w("facts the entry claims (NOT verified)")
    click.echo(f"{head}{w(':')}")
    first, last, of = f.segments
    rows = [
        (w("order"), printable(f.order_id)),
        (w("tracking"), ", ".join(map(printable, f.tracking_ids)) or "-"),
        (
            w("clip"),
            w(
                "{clip} ({status}, ended by {reason})",
                clip=f.clip_id,
                status=w(f.status),
                reason=w(f.end_reason),
            ),
        ),
        (w("station"), f.station + (f" ({f.station_name})" if f.station_name else "")),
        (w("filmed by"), printable(w.said(f.source))),
        (w("merchant"), f.merchant or "-"),
        (
            w("recorded"),
            w(
                "{start} to {end} ({secs} s)",
                start=f.start_utc,
                end=f.end_utc,
                secs=f"{f.duration_ms / 1000:.1f}",
            ),
        ),
        (
            w("segments"),
            w("{first}..{last} of {of}", first=first, last=last, of=of),
        ),
    ]
    if f.excerpt:
        rows[-1] = (rows[-1][0], rows[-1][1] + w(" (excerpt)"))
    if f.views:
        per_view = [
            w(
                "{view} ({video}, {first}..{last} of {of})",
                view=v.view,
                video=v.video or "-",
                first=v.segments[0],
                last=v.segments[1],
                of=v.segments[2],
            )
            for v in f.views
        ]
        rows.append((w("views"), "; ".join(per_view)))
    start_local, end_local = f.local(f.start_ms), f.local(f.end_ms)
    utc_anyway = all(t.endswith("+00:00") for t in (start_local or "", end_local or ""))
    if start_local and end_local and not utc_anyway:
        said = (
            w("the station's clock, signed") if f.zone_signed else w("from the manifest, unsigned")
        )
        rows.append(
            (
                w("local time"),
                w(
                    "{start} to {end} ({zone}: {said})",
                    start=start_local,
                    end=end_local,
                    zone=f.zone,
                    said=said,
                ),
            )
        )
    rows.append((w("log"), _log_position(f)))
    if f.existed_before_ms is not None:
        rows.append(
            (
                w("existed"),
                w("before {when} per {tsa}", when=rfc3339(f.existed_before_ms), tsa=f.tsa),
            )
        )
    if f.witnessed:
        rows.append((w("witnessed"), "; ".join(f.witnessed)))
    if f.content_credentials:
        rows.append((w("C2PA"), w("Trusted, signed by {signer}", signer=f.content_credentials)))
    for label, value in rows:
        click.echo(f"  {pad(label, 11)} {value}")


def _log_position(f: Facts) -> str:
    """Where the entry is logged, or plainly that no valid proof says so (never "None")."""
    w = words()
    if f.log_index is None or f.checkpoint_size is None:
        return w(
            "{origin}: position not proven (no valid inclusion proof in the bundle)",
            origin=f.origin,
        )
    return w(
        "{origin}, index {index}, checkpoint size {size}",
        origin=f.origin,
        index=f.log_index,
        size=f.checkpoint_size,
    )


def _marks() -> dict[bool | None, str]:
    # A console that cannot print ✓ (a Windows code page, LANG=C) still gets a readable mark.
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗–".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {True: "ok", False: "FAIL", None: "--"}
    return {True: "✓", False: "✗", None: "–"}


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size} bytes"


@click.command("verify-page")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the page (publish it anywhere: it needs no server).",
)
def verify_page_command(output: Path) -> None:
    """Write the in-browser verify page: one HTML file, no install, no network.

    A reviewer opens it, picks a bundle and the merchant's trust file, and sees the
    checks of `packseal verify` run in the browser. `packseal serve` serves the same
    page at /verify.

    Example: packseal verify-page -o verify.html
    """
    from packseal.web.verify_page import verify_page

    data = verify_page()
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(data):,} bytes): open it in a browser, or publish it")


COMMANDS: list[click.Command] = [export, verify, verify_page_command]
