"""Package attributes imported on first use (PEP 562): how ``recorder`` and ``verifier``
name their whole public API while importing OpenCV, numpy and ffmpeg only for the names
that need them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each lazy name to the module
    that defines it; the value is imported once, then kept in ``namespace``."""

    def lazy_getattr(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return lazy_getattr
