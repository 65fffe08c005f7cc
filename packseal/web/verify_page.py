"""The in-browser verify page: one self-contained HTML file, built from ``web-verify/``.

The file is committed (``packseal/web/verify.html``) so that neither a portal nor CI
needs Node; ``tests/packseal/web/test_verify_page_build.py`` rebuilds it and fails when
the committed file is stale. It carries its own strict CSP in a meta tag (inline script
and style pinned by hash, connections to its own origin only); a server sends the same
policy as a header, plus ``frame-ancestors``, which a meta tag cannot set.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["PAGE", "page_csp", "verify_page"]

PAGE = Path(__file__).with_name("verify.html")
_META = re.compile(rb'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')


@cache
def verify_page() -> bytes:
    """The page's bytes, exactly as committed."""
    return PAGE.read_bytes()


def page_csp(html: bytes | None = None) -> str:
    """The Content-Security-Policy of the page (from its meta tag), for a response header."""
    match = _META.search(verify_page() if html is None else html)
    if match is None:
        raise ValueError(f"{PAGE} has no Content-Security-Policy meta tag")
    return match[1].decode() + "; frame-ancestors 'none'"
