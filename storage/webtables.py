"""The tables the web face keeps in the store's database: users, sessions, API tokens,
the chain of custody, audit runs and share links.

Not evidence and not derived from the log. Their shape belongs to storage (one database,
one migration history, ``storage/migrations``); their meaning to
:mod:`packseal.accounts` and :mod:`packseal.web.shares`, the only modules that read
or write them.
"""

from __future__ import annotations

from storage._schema import api_tokens, audit_runs, custody_events, sessions, share_links, users

__all__ = [
    "api_tokens",
    "audit_runs",
    "custody_events",
    "sessions",
    "share_links",
    "users",
]
