"""The page primitives' line breaking: English at spaces as before, Chinese between
characters (it has no spaces), punctuation kept with its character."""

from __future__ import annotations

import itertools

import pytest

from verifier._page import CONTENT_W, _width, _wrap

# The sheet's zh-CN footer (verifier/_sheet_text.py) and derived-copy note, joined: long
# enough for four lines, with Latin words and full-width punctuation. (A hash too long
# for what is left of a line starts a line of its own, as in English: not tested here.)
ZH = (
    "本单只是摘要，本身不能证明任何事。证据是证据包（封存的片段、其签名日志条目和包含证明），"
    "并须用从商家处取得的信任文件验证，绝不能用证据包里自带的。派生副本。本单所附视频由封存片段"
    "（sha256 9f2c41aa）重新编码，以符合上传大小限制。它的哈希不可能与日志一致："
    "能通过验证的是证据包中的封存片段。运行 packseal verify 即可核对。"
)
CLOSING = "，。、；：？！）」』】》”"
OPENING = "（「『【《“"


@pytest.mark.parametrize(("size", "width"), [(7, CONTENT_W), (8, CONTENT_W - 8), (9.5, 60.0)])
def test_chinese_lines_are_filled_and_keep_their_punctuation(size: float, width: float) -> None:
    lines = _wrap(ZH, "sans", size, width)
    assert len(lines) >= 3
    assert "".join(lines).replace(" ", "") == ZH.replace(" ", "")
    for line in lines:
        assert _width(line, "sans", size) <= width + 1e-6, line
    for line in lines[:-1]:
        # With breaks only at spaces, a line stopped before "sha256" at half its width.
        assert _width(line, "sans", size) > 0.85 * width, line
    for before, after in itertools.pairwise(lines):
        assert after[0] not in CLOSING, (before, after)
        assert before[-1] not in OPENING, (before, after)
    assert any("packseal" in line for line in lines)  # a Latin word is never cut


def test_english_breaks_at_spaces_and_hashes_anywhere() -> None:
    text = "This sheet is a summary and proves nothing on its own. " * 3 + "sha256 " + "9f" * 40
    lines = _wrap(text, "sans", 8, 80.0)
    words = [w for line in lines for w in line.split(" ") if w]
    assert words[: 3 * 11] == text.split(" ")[: 3 * 11]  # whole words, in order
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    hash_lines = [line for line in lines if "9f9f" in line]
    assert len(hash_lines) >= 2  # 80 hex digits do not fit 80 mm at 8 pt
    for line in lines:
        assert _width(line, "sans", 8) <= 80.0 + 1e-6


def test_double_spaces_between_fields_are_kept() -> None:
    assert _wrap("size 3  ·  root abc", "mono", 8, 200.0) == ["size 3  ·  root abc"]
    assert _wrap("", "sans", 8, 50.0) == [""]
