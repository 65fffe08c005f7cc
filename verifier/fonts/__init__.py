"""The fonts the evidence sheet and replay draw with, shipped so that output does not
depend on what a machine has installed (DejaVu, free license: see LICENSE here).

A package (not a bare data directory) so that setuptools' ``package-data`` ``*.ttf``
pattern picks the files up in a wheel.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

SANS = _HERE / "DejaVuSans.ttf"
SANS_BOLD = _HERE / "DejaVuSans-Bold.ttf"
MONO = _HERE / "DejaVuSansMono.ttf"
LICENSE = _HERE / "LICENSE"

__all__ = ["LICENSE", "MONO", "SANS", "SANS_BOLD"]
