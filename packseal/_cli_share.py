"""`packseal share`: a link that lets one reviewer verify one clip in a browser."""

from __future__ import annotations

import click

from packseal._cli import Lazy, pass_lazy, words


def base_url(lazy: Lazy) -> str:
    web = lazy.app.config.web
    if web.public_url:
        return web.public_url.rstrip("/")
    scheme = "https" if web.tls_cert else "http"
    return f"{scheme}://{web.host}:{web.port}"


@click.command()
@click.argument("order", required=False)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True, max=365),
    default=30,
    show_default=True,
    help="How long the link works.",
)
@click.option("--list", "list_", is_flag=True, help="List share links (of ORDER, if given).")
@click.option("--revoke", type=int, metavar="ID", help="Revoke the share link ID.")
@pass_lazy
def share(lazy: Lazy, order: str | None, days: float, list_: bool, revoke: int | None) -> int:
    """Make a link for ORDER's clip (an order id or a clip id): it opens the portal's
    verify page with that clip's bundle and the trust file, and nothing else.

    The link is printed once; only its hash is stored. Every use is written to the clip's
    chain of custody. The portal (`packseal serve`) must be reachable at web.public_url.

    Example: packseal share SO-2026-000123 --days 14
    """
    from packseal.accounts import Accounts
    from packseal.web.shares import Shares
    from storage.facts import rfc3339

    app = lazy.app
    accounts = Accounts(app.web_database)
    shares = Shares(accounts.engine)
    now = app.clock.now_ms()
    if revoke is not None:
        link = shares.revoke(revoke, at_ms=now)
        accounts.record(
            at_ms=now,
            user="cli",
            role="cli",
            action="share-revoke",
            client_ip="local",
            clip_id=link.clip_id,
            order_id=link.order_id,
            detail=f"share link {link.id}",
        )
        click.echo(
            words()("revoked share link {id} of order {order}", id=link.id, order=link.order_id)
        )
        return 0
    if list_:
        clip = None if order is None else app.store.find_clip(order).clip_id
        for link in shares.links(clip):
            click.echo(
                f"{link.id:6}  {link.order_id:24} {link.state(now):8} "
                f"expires {rfc3339(link.expires_ms, ms=True)}  by {link.created_by}"
            )
        return 0
    if order is None:
        raise click.UsageError("name the ORDER to share (or use --list / --revoke ID)")
    row = app.store.find_clip(order)
    secret, link = shares.create(row.clip_id, row.order_id, by="cli", at_ms=now, days=days)
    accounts.record(
        at_ms=now,
        user="cli",
        role="cli",
        action="share-create",
        client_ip="local",
        clip_id=row.clip_id,
        order_id=row.order_id,
        detail=f"share link {link.id}, {days:g} days",
    )
    click.echo(f"{base_url(lazy)}/s/{secret}")
    click.echo(
        words()(
            "share link {id} for order {order} (clip {clip}), valid until {until}; shown "
            "once. Revoke: packseal share --revoke {id}",
            id=link.id,
            order=row.order_id,
            clip=row.clip_id,
            until=rfc3339(link.expires_ms, ms=True),
        ),
        err=True,
    )
    return 0


COMMANDS: list[click.Command] = [share]
