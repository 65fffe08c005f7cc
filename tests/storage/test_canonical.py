from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import canonical
from storage._errors import FormatError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-canonical.MAX_SAFE_INT, canonical.MAX_SAFE_INT)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_roundtrip(value: Any) -> None:
    data = canonical.dumps(value)
    assert canonical.loads(data) == value
    assert canonical.dumps(canonical.loads(data)) == data


def test_exact_bytes() -> None:
    assert (
        canonical.dumps({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'{"a": 1}', "not canonical"),
        (b'{"b":1,"a":2}', "not canonical"),
        (b'{"a":1,"a":2}', "duplicate key"),
        (b'{"a":1.5}', "floats"),
        (b'{"a":1e3}', "floats"),
        (b'{"a":-0}', "not canonical"),
        (b'{"a":NaN}', "not JSON"),
        (b'{"a":9007199254740992}', "canonical subset"),
        (b'"\\u00e9"', "not canonical"),
        (b"\xff", "UTF-8"),
        (b'{"a":1}\n', "not canonical"),
        (b"[" * 100 + b"]" * 100, "canonical subset"),
    ],
)
def test_rejects(data: bytes, why: str) -> None:
    with pytest.raises(FormatError, match=why):
        canonical.loads(data)


@given(st.binary(max_size=200))
def test_hostile_bytes_raise_format_error_only(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        canonical.loads(data)


def test_dumps_rejects_floats_and_big_ints() -> None:
    with pytest.raises(TypeError, match="floats"):
        canonical.dumps({"t": 1.0})
    with pytest.raises(ValueError, match="outside"):
        canonical.dumps(2**53)
    with pytest.raises(TypeError, match="keys must be strings"):
        canonical.dumps({1: 2})


@given(st.binary(max_size=120) | json_values.map(lambda v: canonical.dumps(v)))
def test_fast_path_agrees_with_the_strict_parser(data: bytes) -> None:
    # loads() tries the C parser first and falls back to the strict, hooked parser only
    # to name an error; both must accept and reject exactly the same inputs.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        strict = canonical._loads_strict(data, text)
    except FormatError:
        with pytest.raises(FormatError):
            canonical.loads(data)
        return
    assert canonical.loads(data) == strict


@given(json_values)
def test_fast_check_agrees_with_the_strict_check(value: Any) -> None:
    if canonical._valid(value, 0):
        canonical._check(value, "$", 0)  # must not raise
