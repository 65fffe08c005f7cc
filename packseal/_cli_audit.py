"""Commands: audit (the whole store, every finding) and purge (retention of old media)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from packseal._cli import Lazy, Words, pass_lazy, words
from packseal._progress import terminal_progress
from storage.outbox import Outbox
from storage.retention import DAY_MS, PurgeResult, purge_expired
from storage.text import printable
from storage.trust import read_trust_file
from verifier.audit import AuditReport, Finding, Severity, audit_store

if TYPE_CHECKING:
    from packseal.app import App

_HEADINGS: dict[Severity, str] = {"error": "errors", "warning": "warnings", "info": "notes"}


@click.command()
@click.option(
    "--against",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A signed checkpoint you saved earlier (`packseal log checkpoint`): the log must "
    "still contain it (no rollback, no rewritten history).",
)
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(path_type=Path),
    help="The merchant's published trust file to audit against (default: this store's "
    "own keys, which needs the key files).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--evidence-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write proofs of misbehaviour (default: <data_dir>-evidence beside the "
    "data directory).",
)
@click.option(
    "--no-hash",
    is_flag=True,
    help="Check that every blob exists with its logged size, without reading it.",
)
@pass_lazy
def audit(
    lazy: Lazy,
    against: Path | None,
    trust_path: Path | None,
    as_json: bool,
    evidence_dir: Path | None,
    no_hash: bool,
) -> int:
    """Audit the whole store: log, checkpoints, blobs, gaps. Exit 1 on error findings."""
    app = lazy.app
    trust = read_trust_file(trust_path) if trust_path else app.trust_file()
    store = app.store
    saved = against.read_bytes() if against is not None else None
    with terminal_progress("auditing", counts=True) as bar:
        report = audit_store(
            store,
            trust.log_verifiers(store.origin),
            root=trust.root_verifier(),
            against=saved,
            hash_blobs=not no_hash,
            progress=bar,
            require_live_source=trust.require_live_source,
        )
    written = _write_evidence(report, evidence_dir or _default_evidence_dir(app.config.data_dir))
    if as_json:
        click.echo(report.to_json())
    else:
        _summary(report, written)
    for path in written if as_json else ():
        click.echo(f"proof of misbehaviour written to {path}", err=True)
    return 0 if report.ok else 1


def _default_evidence_dir(data_dir: Path) -> Path:
    # Beside the data directory, not in it: evidence against the store should not live
    # where whoever controls the store keeps its files.
    return data_dir.parent / f"{data_dir.name}-evidence"


def _write_evidence(report: AuditReport, directory: Path) -> list[Path]:
    out = []
    for item in report.evidence:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / item.filename
        path.write_bytes(item.to_bytes())
        out.append(path)
    return out


def _summary(report: AuditReport, evidence: list[Path]) -> None:
    w = words()
    stats = report.stats
    checked = w("verified") if report.hashed_blobs else w("present (not hashed: --no-hash)")
    facts = w(
        "{entries} entries, {clips} clips, {blobs} blobs {checked}, {checkpoints} checkpoints, "
        "{secs} s",
        entries=stats.entries,
        clips=stats.clips,
        blobs=stats.blobs_checked,
        checked=checked,
        checkpoints=stats.checkpoints,
        secs=f"{stats.seconds:.1f}",
    )
    headings = {"error": w("errors"), "warning": w("warnings"), "info": w("notes")}
    if report.ok:
        click.echo(w("store clean: {facts}", facts=facts))
    else:
        counts = ", ".join(
            f"{report.count(sev)} {headings[sev]}" for sev in _HEADINGS if report.count(sev)
        )
        click.echo(w("FINDINGS: {counts} ({facts})", counts=counts, facts=facts))
    sources = [
        (stats.live_clips, w("live (camera or network camera)")),
        (stats.file_clips, w("from imported files (NOT live)")),
        (stats.demo_clips, w("from the demo (NOT live)")),
        (stats.unsourced_clips, w("with no recorded source")),
    ]
    if stats.clips:
        click.echo(w("footage:") + " " + ", ".join(f"{n} {what}" for n, what in sources if n))
    for severity in _HEADINGS:
        listed = report.by_severity(severity)
        if listed:
            click.echo(f"{headings[severity]}{w(':')}")
            for f in listed:
                click.echo(f"  {w(f'[{f.check}]')} {w.said(f.message)}")
                if f.affects or f.more_affected:
                    click.echo(f"      {w('affects')} {_affects(f, w)}")
    for path in evidence:
        click.echo(w("proof of misbehaviour written to {path}", path=path))


def _affects(f: Finding, w: Words) -> str:
    """The clips a finding affects (``Finding.affects_text``, in the CLI's language)."""
    if w.language == "en":
        return f.affects_text()
    named = [w("order {order} (clip {clip})", order=printable(o, 80), clip=c) for o, c in f.affects]
    if f.more_affected:
        named.append(w("and {n} more clip(s)", n=f.more_affected))
    return w(", ").join(named)


@click.command()
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    help="Delete media older than this many days (default: storage.retention_days).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@pass_lazy
def purge(lazy: Lazy, days: int | None, dry_run: bool) -> int:
    """Delete old media (never log entries); a purge entry records each deletion first."""
    app = lazy.app
    days = days or app.config.storage.retention_days
    result = purge_expired(
        app.store,
        None if dry_run else app.station_signer,
        older_than_ms=days * DAY_MS,
        now_ms=app.clock.now_ms(),
        dry_run=dry_run,
        hub_holds=Outbox(app.store).hub_holds if app.config.hub is not None else None,
    )
    _purge_summary(result, days)
    _retain_claim_photos(app, dry_run)
    if result.kept_for_hub:
        click.echo(
            f"kept {result.kept_for_hub} expired segments the hub does not hold yet "
            "(they go once it acknowledged them)"
        )
    return 0


def _purge_summary(result: PurgeResult, days: int) -> None:
    cutoff = datetime.fromtimestamp(result.cutoff_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    verb = "would delete" if result.dry_run else "deleted"
    if not result.runs and not result.leftovers and not result.inits:
        click.echo(f"nothing to purge: no media ended before {cutoff} ({days} days ago)")
    for run in result.runs:
        what = (
            f"segment {run.first_seq}"
            if run.segments == 1
            else (f"segments {run.first_seq}..{run.last_seq}")
        )
        click.echo(f"{verb} {what}: {run.files} files, {_mb(run.bytes)}")
    if result.leftovers:
        click.echo(f"{verb} {result.leftovers} files left by an interrupted earlier purge")
    if result.inits:
        click.echo(f"{verb} {result.inits} init sections no remaining segment needs")
    if result.kept_for_clips:
        click.echo(
            f"kept {result.kept_for_clips} expired segments: clips that are not expired use them"
        )
    if result.runs or result.leftovers or result.inits:
        logged = "would log" if result.dry_run else "logged"
        click.echo(
            f"{logged} {len(result.runs)} purge entries ({result.policy}); "
            f"{'would free' if result.dry_run else 'freed'} {_mb(result.bytes_freed)}"
        )
    if result.checkpoint is not None:
        click.echo(f"signed checkpoint at size {result.checkpoint.size}")


def _retain_claim_photos(app: App, dry_run: bool) -> None:
    """Buyer photos of claim checks go by their own rule (claims.keep_photos_days)."""
    root = app.config.data_dir / "claims"
    if not root.is_dir():  # only the portal keeps claim checks (the web extra)
        return
    from packseal.accounts import Accounts
    from packseal.claims import retain

    keep = app.config.claims.keep_photos_days
    expired = retain(
        root,
        Accounts(app.web_database),
        keep_days=keep,
        now_ms=app.clock.now_ms(),
        dry_run=dry_run,
    )
    if expired:
        verb = "would delete" if dry_run else "deleted"
        files = sum(len(e.files) for e in expired)
        click.echo(
            f"{verb} the buyer photos of {len(expired)} claim check(s) older than {keep} days "
            f"(claims.keep_photos_days): {files} files, {_mb(sum(e.bytes for e in expired))}; "
            "their reports stay"
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


COMMANDS: list[click.Command] = [audit, purge]
