"""Attack vectors as data (STYLE rule 12): every tampering a verifier or an audit must catch.

A vector names what it does, how it tampers with a private copy of an honest target (a
bundle zip, or a store's data directory), and which named check must fail with what
message. ``tests/verifier/test_attacks.py`` runs them all in one parametrized test;
every bug found becomes a new vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storage import TrustFile


@dataclass(frozen=True, slots=True)
class Attack:
    name: str
    target: Literal["bundle", "store"]
    # tamper(path, ctx) mutates the copy at ``path`` (the .zip, or the data dir) in place;
    # ``ctx`` is the harness's context (the honest recording, its keys, other clips).
    tamper: Callable[[Path, Any], None]
    check: str  # the named check that must fail
    message: str  # a regular expression the failing check's message must match
    # "anchored": tamper with the bundle of a station with a TSA, a witness and C2PA
    # (tests/anchored.py), verified against its trust file, which requires all three.
    # "twoview": a bundle of a clip filmed by two cameras (tests/twoview.py), its context
    # tests.verifier.conftest.TwoViews.
    base: Literal["plain", "anchored", "twoview"] = "plain"
    # A scenario, not an edit: the merchant's trust file as it is after a revocation.
    trust: Callable[[Any], TrustFile] | None = None
