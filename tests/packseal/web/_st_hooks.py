"""Schemathesis hooks for test_openapi.py (loaded by the ``st`` CLI via SCHEMATHESIS_HOOKS).

OpenAPI cannot say that ``until`` is not before ``since``; the API answers such a search
with 422 (as the page does), which schemathesis would count as a valid request refused.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    if not query:
        return True
    since, until = query.get("since"), query.get("until")
    return not (isinstance(since, str) and isinstance(until, str) and until < since)
