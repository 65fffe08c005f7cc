"""Share links: a merchant lets one reviewer verify one clip, with nothing installed.

A link is ``<portal>/s/<secret>``: it opens the verify page, which loads that clip's
bundle and the merchant's published trust file from the same link, and nothing else in
the store. The secret is 256 random bits shown once; the database keeps its SHA-256 (a
lookup is one indexed query, as for API tokens). A link stops working when it expires or
is revoked; an altered, expired or revoked link looks exactly like one never issued.
Every use is written to the clip's chain of custody by the routes (``_share_routes``).

Time is a parameter (``at_ms``) everywhere.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from storage import PacksealError
from storage.db import write_transaction
from storage.webtables import share_links

__all__ = ["MAX_DAYS", "SHARE_PREFIX", "ShareError", "ShareLink", "Shares", "is_share_secret"]

SHARE_PREFIX = "psl_"  # lets secret scanners and people recognise a packseal share link
MAX_DAYS = 365  # disputes start within ~90 days (FIELD-NOTES); a year covers appeals
_SECRET = re.compile(r"psl_[A-Za-z0-9_-]{43}")
DAY_MS = 86_400_000


class ShareError(PacksealError):
    """A share link that cannot be made or revoked as asked."""


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: int
    clip_id: str
    order_id: str
    created_by: str
    created_ms: int
    expires_ms: int
    revoked_ms: int | None

    def live(self, at_ms: int) -> bool:
        return self.revoked_ms is None and at_ms < self.expires_ms

    def state(self, at_ms: int) -> str:
        if self.revoked_ms is not None:
            return "revoked"
        return "live" if at_ms < self.expires_ms else "expired"


def is_share_secret(text: str) -> bool:
    return bool(_SECRET.fullmatch(text))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link(row: Any) -> ShareLink:
    return ShareLink(
        int(row.id),
        row.clip_id,
        row.order_id,
        row.created_by,
        int(row.created_ms),
        int(row.expires_ms),
        None if row.revoked_ms is None else int(row.revoked_ms),
    )


class Shares:
    """The share links in the store's database (``engine``: the web face's engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, clip_id: str, order_id: str, *, by: str, at_ms: int, days: float
    ) -> tuple[str, ShareLink]:
        """A new link's secret (returned once, never stored) and its record."""
        if not 0 < days <= MAX_DAYS:
            raise ShareError(
                f"a share link lasts more than 0 and at most {MAX_DAYS} days, not {days}",
                hint="pass --days between 1 and 365",
            )
        secret = SHARE_PREFIX + secrets.token_urlsafe(32)
        expires = at_ms + round(days * DAY_MS)
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                insert(share_links).values(
                    token_hash=_hash(secret),
                    clip_id=clip_id,
                    order_id=order_id[:128],
                    created_by=by[:64],
                    created_ms=at_ms,
                    expires_ms=expires,
                )
            )
            link_id = int(done.inserted_primary_key[0])  # type: ignore[index]
        return secret, ShareLink(link_id, clip_id, order_id, by, at_ms, expires, None)

    def resolve(self, secret: str, *, at_ms: int) -> ShareLink | None:
        """The live link of ``secret``; None for anything else (altered, expired, revoked)."""
        if not is_share_secret(secret):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(share_links).where(share_links.c.token_hash == _hash(secret))
            ).first()
        if row is None:
            return None
        link = _link(row)
        return link if link.live(at_ms) else None

    def get(self, link_id: int) -> ShareLink | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(share_links).where(share_links.c.id == link_id)).first()
        return None if row is None else _link(row)

    def links(self, clip_id: str | None = None, *, limit: int = 200) -> list[ShareLink]:
        """Newest first: one clip's links, or every link."""
        q = select(share_links)
        if clip_id is not None:
            q = q.where(share_links.c.clip_id == clip_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(share_links.c.id.desc()).limit(limit)).all()
        return [_link(r) for r in rows]

    def revoke(self, link_id: int, *, at_ms: int) -> ShareLink:
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(share_links)
                .where(share_links.c.id == link_id, share_links.c.revoked_ms.is_(None))
                .values(revoked_ms=at_ms)
            )
        link = self.get(link_id)
        if not done.rowcount or link is None:
            raise ShareError(
                f"no share link {link_id} that is not already revoked",
                hint="`packseal share --list` shows the links and their ids",
            )
        return link
