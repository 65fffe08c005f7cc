"""Starlette's TestClient, imported without its deprecation warning.

Starlette 1.x asks for the ``httpx2`` fork and warns when it finds ``httpx``, which the
project's dev dependencies pin and which works the same; warnings are errors in this
suite, so the one import is wrapped here. (Switching to httpx2 is a dependency decision,
not a test's.)
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
