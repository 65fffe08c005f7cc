"""Command: claim (hold a buyer's damage photos against the order's sealed footage)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from packseal._cli import Lazy, pass_lazy
from storage.text import printable
from storage.zones import local_zone
from verifier.claim import ClaimReport, ReportFiles, check_claim, read_limited
from verifier.claim.compare import UNSEEN_SAID


@click.command()
@click.argument("order_or_clip")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--listing",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The seller's listing photo of the product, compared too.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Report directory (default: claim-<order> here).",
)
@click.option(
    "--c2pa-trust",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="PEM CA certificates whose C2PA signers you know (e.g. generator vendors').",
)
@click.option(
    "--language",
    type=click.Choice(["en", "zh-CN"]),
    default=None,
    help="The report page's language (default: ui.language from the config).",
)
@click.option("--json", "as_json", is_flag=True, help="Print claim.json to stdout.")
@pass_lazy
def claim(
    lazy: Lazy,
    order_or_clip: str,
    photos: tuple[Path, ...],
    listing: Path | None,
    out_dir: Path | None,
    c2pa_trust: Path | None,
    language: str | None,
    as_json: bool,
) -> int:
    """Check claim PHOTOS against the sealed footage of ORDER_OR_CLIP and write a report.

    Reports the AI-content labels and provenance found in each photo (GB 45438, IPTC,
    C2PA, generator traces) and the regions where it differs from the sealed packing
    frames; never whether it is fake. A missing label proves nothing.

    Example: packseal claim SO-2026-815961 buyer-1.jpg buyer-2.jpg -o claim-815961
    """
    app = lazy.app
    target = out_dir or Path(f"claim-{_slug(order_or_clip)}")
    report, files = check_claim(
        app.store,
        order_or_clip,
        [(p.name, read_limited(p)) for p in photos],
        target,
        at_ms=app.clock.now_ms(),
        listing=(listing.name, read_limited(listing)) if listing else None,
        c2pa_roots=c2pa_trust.read_text() if c2pa_trust else None,
        merchant=app.config.merchant.name,
        zone=local_zone(app.config.station.timezone),
        language=language or app.config.ui.language,
    )
    if as_json:
        click.echo(files.json.read_text(encoding="utf-8"), nl=False)
    else:
        _print(report, files)
    return 0


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80] or "order"


def _print(report: ClaimReport, files: ReportFiles) -> None:
    click.echo(
        f"order {printable(report.order_id)}, clip {report.clip_id}: "
        f"{report.footage_frames} sealed frames looked at"
        + (
            f", {len(report.skipped)} segment(s) not verified and left out"
            if report.skipped
            else ""
        )
    )
    for r in report.photos:
        labels = [f for f in r.photo.findings if f.kind not in ("fact",)]
        click.echo(f"{printable(r.photo.name)}:")
        for label in labels:
            click.echo(
                f"  {label.field} = {printable(label.value, 80)}: {label.meaning} [{label.where}]"
            )
        if not labels:
            click.echo("  no AI-content label or provenance found (this proves nothing)")
        a = r.footage
        if a is None:
            continue
        if a.outcome == "not-found":
            click.echo(f"  footage: product not found ({a.why_not_said('en')})")
        elif a.comparison is not None and a.reference is not None and a.reference.frame:
            frame = a.reference.frame
            n = len(a.comparison.regions)
            what = f"{n} region(s) differ" if n else "no region differs in the part compared"
            click.echo(
                f"  footage: {what} (sealed frame: segment {frame.segment}/{frame.segments}, "
                f"sha256 {frame.sha256[:16]}…, frame {frame.frame})"
            )
            for v in a.covers:
                f = v.reference.frame
                assert f is not None
                click.echo(
                    f"  footage: {100 * v.fraction:.0f} % of the product, hidden in that frame, "
                    f"compared with segment {f.segment}/{f.segments}, sha256 {f.sha256[:16]}…, "
                    f"frame {f.frame}"
                )
            unseen = a.comparison.unseen_fraction
            if unseen >= UNSEEN_SAID:
                click.echo(
                    f"  footage: {100 * unseen:.0f} % of the product in the photo not compared: "
                    "the sealed frames show something else there (a hand?); see the yellow "
                    "outline"
                )
    click.echo(f"wrote {files.json}, {files.png}, {files.pdf}")
    data = json.loads(files.json.read_text(encoding="utf-8"))
    click.echo(f"{len(data['photos'])} annotated picture(s) in {files.json.parent}")


COMMANDS: list[click.Command] = [claim]
