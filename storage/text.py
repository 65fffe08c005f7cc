"""Showing a recorded text to a person: any Unicode in, one safe line out.

A QR code carries arbitrary UTF-8, and a scanner gun or the station page types whatever
it is given; the clip entry records that text exactly, because it is what was read. But
the same text is then drawn on the evidence sheet, in the replay, in the README, on the
portal and in the terminal, where some characters do harm: U+2028/U+2029 and newlines
break text layout (Pillow's raqm layout raised on U+2029, making a signed clip
impossible to export, forever), bidi overrides (U+202E) make one id look like another,
stacked combining marks paint over the lines around them, and a 7,000-character QR text
fills a page. :func:`printable` turns any text into a single line with none of those:

- control, format (bidi controls, zero-width characters), line and paragraph separators,
  surrogate, private-use and unassigned code points become ``\\xHH``, ``\\uHHHH`` or
  ``\\UHHHHHHHH``, as Python writes them, and a backslash becomes ``\\\\``, so the
  shown text still names every code point read, unambiguously;
- a third and further combining mark on one base character is escaped the same way;
- with ``limit``, a longer text is cut and says how long it was.

CJK, emoji and other letters stay as they are (whether a font draws them is the
renderer's business). :func:`is_plain` says whether a text needs none of this: a code
that is not plain can never be an order or tracking id (the scanner classifies it as
``other``), but it is still recorded.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_COMBINING", "is_plain", "printable"]

MAX_COMBINING = 2  # marks shown on one base character; more is zalgo, not a script
_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
_MARKS = frozenset(("Mn", "Me"))


def _escape(ch: str) -> str:
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def _pieces(text: str) -> list[tuple[str, bool]]:
    """(shown piece, whether it was escaped) per code point."""
    out: list[tuple[str, bool]] = []
    marks = 0
    for ch in text:
        category = unicodedata.category(ch)
        if category in _MARKS:
            marks += 1
            if marks > MAX_COMBINING:
                out.append((_escape(ch), True))
                continue
        else:
            marks = 0
        if category in _UNSAFE:
            out.append((_escape(ch), True))
        elif ch == "\\":
            out.append(("\\\\", False))
        else:
            out.append((ch, False))
    return out


def is_plain(text: str) -> bool:
    """True if :func:`printable` shows ``text`` as it is (a backslash aside)."""
    return not any(escaped for _, escaped in _pieces(text))


def printable(text: str, limit: int | None = None) -> str:
    """``text`` as one safe line; at most about ``limit`` characters if given.

    A cut text ends in ``… (N characters)`` with N the length of the original, so a
    reader knows there is more than is shown (the signed entry has it all).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pieces = [piece for piece, _ in _pieces(text)]
    shown = "".join(pieces)
    if limit is None or len(shown) <= limit:
        return shown
    kept, size = [], 0
    for piece in pieces:  # whole pieces: never half an escape
        if size + len(piece) > limit:
            break
        kept.append(piece)
        size += len(piece)
    return f"{''.join(kept).rstrip()}… ({len(text)} characters)"
