"""Commands over the store: init, config, keys, and the log in C2SP formats."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import click

from packseal._cli import Lazy, Words, out, pad, pass_lazy, words
from packseal._config_files import ConfigLocation, user_config_path, write_template
from packseal.config import Config, ConfigError, load_config
from recorder.settings import StationSettings
from storage import PacksealError
from storage.redact import redact


@click.command()
@pass_lazy
def init(lazy: Lazy) -> int:
    """Create the keys, the database and the log, and certify the station key."""
    result = lazy.app.init()
    cfg = lazy.app.config
    w = words()
    for label in result.created_keys:
        path = cfg.root_key if label == "root" else cfg.station_key
        key = w(
            "created root key {path} (mode 0600)"
            if label == "root"
            else "created station key {path} (mode 0600)",
            path=path,
        )
        click.echo(key)
    made = "created log {origin}" if result.created_log else "existing log {origin}"
    click.echo(w(made, origin=result.origin))
    click.echo(w("database {url}", url=cfg.database_url))
    click.echo(w("latest checkpoint:"))
    out(result.checkpoint.note)
    if "root" in result.created_keys:
        click.echo(
            "\n"
            + w(
                "The merchant root key {path} certifies stations: keep a backup offline. "
                "Publish `packseal keys trust` so reviewers can verify bundles.",
                path=cfg.root_key,
            )
        )
    return 0


@click.group()
def config() -> None:
    """Inspect the settings, or write a commented settings file."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@pass_lazy
def config_check(lazy: Lazy, path: Path | None) -> int:
    """Validate a config file (default: the one commands use) and report every problem."""
    if path is not None:
        location = ConfigLocation(path, "--config", lazy.location.data_dir)
    else:
        location = lazy.location
    target = location.describe()
    try:
        cfg = location.load(data_dir=lazy.data_dir)
    except ConfigError as e:
        w = words()
        click.echo(w("{target}: {n} problem(s)", target=target, n=len(e.problems)), err=True)
        for where, message in e.problems:
            click.echo(f"  {where}: {w.said(message)}", err=True)
        if e.hint:
            click.echo(f"{w('hint:')} {w.said(e.hint)}", err=True)
        return 1
    w = words()
    click.echo(w("{target}: OK", target=target))
    for label, value in (
        (w("data"), cfg.data_dir),
        (w("origin"), cfg.origin),
        (w("database"), cfg.database_url),
        # "blobs" is a count's noun in the table (the hub page): the label has its own id
        ("blobs" if w.language == "en" else w("blob directory"), cfg.blob_dir),
        (w("keys"), f"{cfg.root_key}, {cfg.station_key}"),
    ):
        click.echo(f"  {pad(label, 9)} {value}")
    if cfg.station.cameras is not None:
        click.echo(f"  {pad(w('views'), 9)} {views_text(cfg.station, w)}")
    return _check_hub(cfg)


def views_text(station: StationSettings, w: Words) -> str:
    """The views a station records, as `config check` lists them (no password shown)."""
    shown = []
    for i, view in enumerate(station.views):
        facts = [redact(str(view.camera.device)), f"{view.camera.width}x{view.camera.height}"]
        facts.append(view.camera.mode)
        if view.scan:
            facts.append(w("scans"))
        if i == 0:
            facts.append(w("primary"))
        shown.append(f"{view.label} ({', '.join(facts)})")
    return "; ".join(shown)


def _check_hub(cfg: Config) -> int:
    """Both sides of the hub: a station's link (its token) and a hub's engines."""
    # Each import where its side is configured: the hub and the web server bring in boto3,
    # FastAPI and the portal, ~0.8 s of every `config check` of a plain station.
    problems: list[tuple[str, str]] = []
    if cfg.hub is not None:
        from packseal.hub.app import station_token

        try:
            station_token(cfg, os.environ)
            click.echo(f"  hub       {cfg.hub.url} (push every {cfg.hub.push_interval_seconds} s)")
        except PacksealError as e:
            problems.append(("hub.token_env", e.message))
    if cfg.hub_server is not None:
        from packseal.hub.app import Hub
        from packseal.web.server import is_loopback

        hub = Hub(cfg, os.environ)
        try:
            result = hub.check()
        except PacksealError as e:
            problems.append(("hub_server.object_store", e.message))
        else:
            problems += result.problems
            if result.lock is not None:
                click.echo(
                    f"  hub store {cfg.hub_server.object_store.bucket}: Object Lock "
                    f"{result.lock.describe()}"
                )
            click.echo(f"  hub db    {result.stations} enrolled station(s)")
            if result.c2pa_signer is not None:
                click.echo(f"  hub c2pa  signs clip.c2pa.mp4 as {result.c2pa_signer}")
        finally:
            hub.close()
        where = cfg.hub_server.host
        click.echo(
            f"  hub on    {where}:{cfg.hub_server.port}"
            + ("" if is_loopback(where) else " (not loopback: put TLS in front of it)")
        )
    for key, message in problems:
        click.echo(f"  {key}: {message}", err=True)
    return 1 if problems else 0


@config.command("init")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_lazy
def config_init(lazy: Lazy, path: Path | None, force: bool) -> int:
    """Write the commented settings file (every key at its default).

    Without PATH: the per-user file ($XDG_CONFIG_HOME/packseal/config.yaml), with its
    data in $XDG_DATA_HOME/packseal. With PATH, data goes beside the file.

    Example: packseal config init && packseal init && packseal record --source demo --for 30
    """
    if path is None:
        path = user_config_path(os.environ, Path.home())
        data_dir: Path | None = lazy.location.data_dir
    else:
        data_dir = None
    write_template(path, data_dir=data_dir, force=force)
    w = words()
    click.echo(w("wrote {path}", path=path))
    cfg = load_config(path)
    click.echo(f"  {pad(w('data'), 9)} {cfg.data_dir}")
    click.echo(w("next: edit merchant and station, then `packseal init`"))
    return 0


# -- keys --------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Public keys and the trust file."""


@keys.command("show")
@pass_lazy
def keys_show(lazy: Lazy) -> int:
    """Print the merchant root and station verifier keys."""
    app = lazy.app
    click.echo(f"merchant root  {app.root_signer.verifier.vkey}")
    click.echo(f"station log    {app.station_signer.verifier.vkey}")
    return 0


@keys.command("trust")
@pass_lazy
def keys_trust(lazy: Lazy) -> int:
    """Print the trust file to publish (reviewers verify bundles against it)."""
    out(lazy.app.trust_file().to_bytes())
    return 0


@keys.command("x509")
@pass_lazy
def keys_x509(lazy: Lazy) -> int:
    """Issue the merchant CA (once) and this station's C2PA signing certificate."""
    files, creds = lazy.app.issue_c2pa()
    leaf = creds.certificate
    click.echo(f"merchant CA     {files.ca} (self-signed by the merchant root key)")
    click.echo(
        f"station cert    {files.chain} ({creds.alg}, {leaf.subject.rfc4514_string()}, "
        f"valid to {leaf.not_valid_after_utc:%Y-%m-%d})"
    )
    click.echo(f"station key     {files.key} (mode 0600)")
    if not lazy.app.config.c2pa.enabled:
        click.echo("set c2pa.enabled: true in config.yaml to sign exported clips")
    click.echo("republish `packseal keys trust`: it now lists the CA for C2PA")
    return 0


@keys.command("x509-hub")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for the hub's key (0600) and chain; copy it to the hub.",
)
@click.option(
    "--name",
    default=None,
    help="The hub's name in its certificate (default: packseal-hub/<merchant id>).",
)
@pass_lazy
def keys_x509_hub(lazy: Lazy, out: Path, name: str | None) -> int:
    """Issue the hub's C2PA signing certificate under the merchant CA (run where the
    merchant root key is): the hub signs clip.c2pa.mp4 in exports of C2PA stations."""
    app = lazy.app
    hub = name or f"packseal-hub/{app.config.merchant.id}"
    files, creds = app.issue_hub_c2pa(out, hub)
    leaf = creds.certificate
    click.echo(f"merchant CA     {files.ca} (self-signed by the merchant root key)")
    click.echo(
        f"hub cert        {files.chain} ({creds.alg}, {leaf.subject.rfc4514_string()}, "
        f"valid to {leaf.not_valid_after_utc:%Y-%m-%d})"
    )
    click.echo(f"hub key         {files.key} (mode 0600)")
    click.echo("in the hub's config.yaml:")
    click.echo(f"  hub_server:\n    c2pa:\n      chain: {files.chain}\n      key: {files.key}")
    return 0


@keys.command("rotate")
@click.option(
    "--reason",
    type=click.Choice(["rotated", "compromised", "retired"]),
    default="rotated",
    show_default=True,
)
@click.option(
    "--after",
    type=click.IntRange(min=0),
    help="Last log index the old key's signatures still count for (default: the last "
    "entry before the rotation). After a theft, the last index you still vouch for.",
)
@pass_lazy
def keys_rotate(lazy: Lazy, reason: str, after: int | None) -> int:
    """Replace the station key: the root certifies a new one and revokes the old one.

    Run it with the station stopped: a running station keeps signing with the old key
    (so it is refused while one records into this store).
    """
    lazy.app.hold_writer(click.get_current_context().command_path)
    try:
        index, certify, revoke = lazy.app.rotate_station_key(reason, after)
    except ValueError as e:  # the library's word for a caller mistake: a usage error here
        raise click.UsageError(str(e)) from e
    click.echo(f"new station key {certify.vkey} (certified at log index {index})")
    click.echo(f"revoked {revoke.vkey} ({revoke.reason}) after index {revoke.after}")
    click.echo("republish `packseal keys trust`: verifiers learn of the revocation from it")
    return 0


# -- the log -----------------------------------------------------------------------------


@click.group()
def log() -> None:
    """The transparency log, in the standard C2SP text formats."""


@log.command("checkpoint")
@pass_lazy
def log_checkpoint(lazy: Lazy) -> int:
    """Print the latest signed checkpoint (a C2SP tlog-checkpoint signed note)."""
    cp = lazy.app.store.latest_checkpoint()
    if cp is None:
        raise PacksealError("the log has no signed checkpoint yet", hint="run `packseal init`")
    out(cp.note)
    return 0


@log.command("entry")
@click.argument("index", type=click.IntRange(min=0))
@pass_lazy
def log_entry(lazy: Lazy, index: int) -> int:
    """Print entry INDEX exactly as logged (canonical JSON)."""
    out(lazy.app.store.entry(index))
    return 0


@log.command("proof")
@click.argument("index", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="A stored checkpoint's size.")
@pass_lazy
def log_proof(lazy: Lazy, index: int, size: int | None) -> int:
    """Print a C2SP tlog-proof of entry INDEX against a signed checkpoint."""
    out(lazy.app.store.tlog_proof(index, size).to_bytes())
    return 0


@log.command("consistency")
@click.argument("old", type=click.IntRange(min=0))
@click.argument("new", type=click.IntRange(min=0), required=False)
@pass_lazy
def log_consistency(lazy: Lazy, old: int, new: int | None) -> int:
    """Print the consistency proof from size OLD to NEW (default: now), one hash per line."""
    proof = lazy.app.store.consistency_proof(old, new)
    out("".join(base64.b64encode(h).decode() + "\n" for h in proof))
    return 0


@log.command("anchor")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the TSAs and witnesses.",
)
@pass_lazy
def log_anchor(lazy: Lazy, wait: float) -> int:
    """Time-stamp and witness the latest checkpoint now (e.g. after an offline spell)."""
    app = lazy.app
    anchorer = app.anchorer()
    if anchorer is None:
        raise PacksealError(
            "no TSA or witness is configured",
            hint="set time.tsa_urls and/or witnesses in config.yaml",
        )
    app.store.sign_checkpoint(app.station_signer, app.clock.now_ms())
    try:
        owed = anchorer.drain(wait)
    finally:
        anchorer.close()
    for outcome in anchorer.stats.outcomes:
        click.echo(f"{'ok' if outcome.ok else 'FAILED'}  {outcome.message}")
    if owed:
        click.echo(f"{owed} target(s) still owed the latest checkpoint", err=True)
        return 1
    return 0


@log.command("verify")
@pass_lazy
def log_verify(lazy: Lazy) -> int:
    """Check the whole log: every entry, the hash chain, every checkpoint. Exit 1 if not."""
    app = lazy.app
    from packseal._progress import terminal_progress

    with terminal_progress("verifying") as bar:
        report = app.store.verify_log([app.station_signer.verifier], progress=bar)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.kinds.items()))
    click.echo(
        f"log {app.config.origin}: valid — {report.size} entries ({kinds}), "
        f"{report.checkpoints} signed checkpoints"
    )
    return 0


COMMANDS = [init, config, keys, log]
