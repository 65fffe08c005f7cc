"""storage.text: any recorded text shown as one safe line."""

from __future__ import annotations

import pytest

from storage.text import is_plain, printable


def test_printable_is_one_safe_line_that_names_every_code_point() -> None:
    assert printable("SO-1\u2029X") == "SO-1\\u2029X"
    assert printable("a\\u2029") == "a\\\\u2029"  # a typed backslash is not an escape
    assert printable("\u202eabc") == "\\u202eabc"
    assert printable("e\u0301\u0302\u0303") == "e\u0301\u0302\\u0303"
    assert printable("订单📦") == "订单📦"
    assert printable("\U000e0001\x00") == "\\U000e0001\\x00"
    assert printable("x" * 50, 20) == "x" * 20 + "… (50 characters)"
    assert printable("\u2029" * 10, 13) == "\\u2029\\u2029… (10 characters)"  # whole escapes
    assert is_plain("SO-2026-000001")
    assert is_plain("订单 1")
    assert not is_plain("SO\u2029")
    with pytest.raises(ValueError, match="limit"):
        printable("x", 0)
