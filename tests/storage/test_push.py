"""The push format: canonical JSON, round trip, and refusals."""

from __future__ import annotations

import pytest

from storage import FormatError
from storage.push import Push


def _push() -> Push:
    return Push(3, b"\x01" * 32, (b"\x02" * 32, b"\x03" * 32), (b'{"kind":"gap"}',), b"o\n5\nx\n\n")


def test_round_trip() -> None:
    push = _push()
    data = push.to_bytes()
    assert Push.from_bytes(data) == push
    assert Push.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"[]", "expected an object"),
        (b'{"old":1}', "expected an object"),
        (
            b'{"checkpoint":"x","entries":[],"old":-1,"old_root":"","proof":[]}',
            "non-negative",
        ),
        (
            b'{"checkpoint":"x","entries":[],"old":0,"old_root":"AAAA","proof":[]}',
            "32 bytes",
        ),
        (
            b'{"checkpoint":"x","entries":["!"],"old":0,'
            b'"old_root":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","proof":[]}',
            "not base64",
        ),
        (b'{"checkpoint": "x"}', "canonical"),
    ],
)
def test_refusals(data: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        Push.from_bytes(data)
