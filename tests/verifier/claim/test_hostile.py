"""Hostile input gives a clear error or an "unreadable" finding: never a crash or a hang.

The named cases are data (``hostile.py``); the mutation run flips, cuts and splices bytes
of every carrier fixture and of the hostile files, and requires that each result is
either a read photo or a :class:`ClaimPhotoError` with a message, quickly.
"""

from __future__ import annotations

import re
import time
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.verifier.claim import photos as p
from tests.verifier.claim.hostile import HOSTILE, Hostile
from tests.verifier.claim.test_labels import CASES
from verifier.claim import ClaimPhotoError, read_photo


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
def test_hostile_photo(case: Hostile) -> None:
    data = case.make()
    start = time.perf_counter()
    if case.error:
        with pytest.raises(ClaimPhotoError, match=case.error) as caught:
            read_photo(data, name="hostile")
        assert caught.value.hint
    else:
        photo, _ = read_photo(data, name="hostile")
        unreadable = [f.meaning for f in photo.findings if f.kind == "unreadable"]
        if case.unreadable:
            assert any(re.search(case.unreadable, m) for m in unreadable), unreadable
        else:
            assert unreadable == []
    assert time.perf_counter() - start < 10  # generous under load; a hang is minutes


@cache
def _seeds() -> list[bytes]:
    small = [h.make() for h in HOSTILE if h.name not in ("oversized", "ztxt-bomb")]
    return [c.make() for c in CASES] + small


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_seeds())))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "cut", "splice", "length"]))
        if how == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:]
        elif how == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:  # a length field blown up: the commonest way parsers go wrong
            data[at : at + 2] = b"\xff\xff"
    return bytes(data)


@settings(
    max_examples=300,
    deadline=None,  # measured below, with room for a loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(_mutated())
def test_mutated_photos_never_crash_or_hang(data: bytes) -> None:
    start = time.perf_counter()
    try:
        photo, picture = read_photo(data, name="mutated", c2pa_roots=p.c2pa_ca()[0].decode())
    except ClaimPhotoError as e:
        message = str(e)
    else:
        message = "read"
        assert picture.shape == (photo.height, photo.width, 3)
    assert message
    assert time.perf_counter() - start < 10
