"""RFC 3161 time-stamps of checkpoints, against a real TSA on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections.abc import Iterator

import pytest

from storage import FormatError
from storage.timestamp import TimestampError, check_response, imprint, make_request
from tests.servers import Tsa, make_tsa_keys, serve_tsa

TEXT = "example.com/acme/station-01\n7\n" + "A" * 43 + "=\n"


@pytest.fixture(scope="module")
def tsa() -> Iterator[Tsa]:
    with serve_tsa() as server:
        yield server


def ask(tsa: Tsa, request: bytes) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(tsa.url, data=request)) as answer:  # noqa: S310
        return bytes(answer.read())


def test_a_fresh_stamp_verifies_and_bounds_the_time(tsa: Tsa) -> None:
    request = make_request(TEXT)
    before = dt.datetime.now(dt.UTC).timestamp() * 1000
    stamp = check_response(TEXT, request, ask(tsa, request), [tsa.keys.root])
    assert abs(stamp.gen_ms - before) < 5000
    assert "packseal test TSA" in stamp.tsa


def test_the_imprint_is_sha256_of_the_checkpoint_body() -> None:
    from rfc3161_client._rust import parse_timestamp_request

    request = parse_timestamp_request(make_request(TEXT))
    assert request.message_imprint.message == imprint(TEXT)
    assert request.nonce is not None


def test_a_token_over_another_message_fails(tsa: Tsa) -> None:
    other = make_request(TEXT.replace("\n7\n", "\n8\n"))
    with pytest.raises(TimestampError, match="not this checkpoint"):
        check_response(TEXT, other, ask(tsa, other), [tsa.keys.root])
    # A request for this text paired with the answer to another request: nonce and imprint.
    mine = make_request(TEXT)
    with pytest.raises(TimestampError):
        check_response(TEXT, mine, ask(tsa, other), [tsa.keys.root])


def test_a_wrong_root_fails(tsa: Tsa) -> None:
    request = make_request(TEXT)
    with pytest.raises(TimestampError, match="does not verify"):
        check_response(TEXT, request, ask(tsa, request), [make_tsa_keys("other").root])


def test_a_backdated_token_fails(tsa: Tsa) -> None:
    """genTime before the TSA certificate's notBefore: the chain is checked at genTime."""
    tsa.fixed = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    try:
        request = make_request(TEXT)
        response = ask(tsa, request)
    finally:
        tsa.fixed = None
    with pytest.raises(TimestampError, match="not yet valid"):
        check_response(TEXT, request, response, [tsa.keys.root])


def test_garbage_is_a_format_error(tsa: Tsa) -> None:
    request = make_request(TEXT)
    with pytest.raises(FormatError):
        check_response(TEXT, request, b"\x30\x03\x02\x01\x00", [tsa.keys.root])
    with pytest.raises(FormatError):
        check_response(TEXT, b"nope", ask(tsa, request), [tsa.keys.root])
    with pytest.raises(ValueError, match="root"):
        check_response(TEXT, request, ask(tsa, request), [])
