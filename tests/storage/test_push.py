"""The push format: canonical JSON, round trip, and refusals."""

from __future__ import annotations

import dataclasses

import pytest

from storage import FormatError, canonical
from storage.push import AnchorPush, Push, PushedStamp


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


# -- anchors ----------------------------------------------------------------------------

POLICY = {"language": "en", "quorum": 1, "stamped": True, "verify_url": None, "witnesses": ["w"]}


def _anchors() -> AnchorPush:
    return AnchorPush(
        (b"o\n5\nx\n\n\xe2\x80\x94 o abc=\n",),
        (PushedStamp(5, "http://tsa", b"\x30\x01", b"\x30\x02", 1_700_000_000_000),),
        ((5, "\u2014 w AAAA\n"),),
        POLICY,
    )


def test_anchors_round_trip() -> None:
    anchors = _anchors()
    data = anchors.to_bytes()
    assert AnchorPush.from_bytes(data) == anchors
    assert AnchorPush.from_bytes(data).to_bytes() == data
    # a station with C2PA says so; one without (or from before the field) does not
    c2pa = dataclasses.replace(anchors, policy={**POLICY, "c2pa": True})
    assert AnchorPush.from_bytes(c2pa.to_bytes()) == c2pa


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"policy": {**POLICY, "quorum": 2}}, "larger than the witnesses"),
        ({"policy": {**POLICY, "extra": 1}}, "policy must have exactly"),
        ({"policy": {**POLICY, "stamped": "yes"}}, "true or false"),
        ({"policy": {**POLICY, "c2pa": "yes"}}, "c2pa must be true or false"),
        ({"checkpoints": [""]}, "signed note as text"),
        ({"cosignatures": [{"size": -1, "line": "x"}]}, "non-negative"),
        ({"stamps": [{"size": 1}]}, "a stamp is"),
        ({"stamps": ["x"] * 1025}, "at most 1024"),
    ],
)
def test_anchors_refusals(change: dict[str, object], match: str) -> None:
    import json

    doc = json.loads(_anchors().to_bytes())
    doc.update(change)
    with pytest.raises(FormatError, match=match):
        AnchorPush.from_bytes(canonical.dumps(doc))
