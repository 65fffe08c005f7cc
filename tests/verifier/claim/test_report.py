"""The claim page's words: both languages, and Chinese lines filled (no spaces to break at)."""

from __future__ import annotations

import pytest

from verifier._page import CONTENT_W, _width, _wrap
from verifier.claim._words import _EN, _ZH, words


def test_both_languages_have_every_text() -> None:
    assert _EN.keys() == _ZH.keys()
    with pytest.raises(ValueError, match="speaks en, zh-CN"):
        words("fr")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_statement_lines_are_filled(language: str) -> None:
    lines = _wrap(words(language)["statement"], "sans", 8.5, CONTENT_W - 8)
    assert len(lines) >= 2
    for line in lines[:-1]:  # every line but the last reaches most of the width
        assert _width(line, "sans", 8.5) > 0.8 * (CONTENT_W - 8), line
    assert "".join(lines).replace(" ", "") == words(language)["statement"].replace(" ", "")
