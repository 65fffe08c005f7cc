"""The evidence sheet's faces: the shipped DejaVu fonts, and a CJK face for what they lack.

DejaVu covers Latin, Greek, Cyrillic and many symbols, but no Chinese; on a Chinese
marketplace the merchant, the product names and scanned texts are in Chinese. Debian's
``fonts-noto-cjk`` (Noto Sans CJK, SIL Open Font License 1.1; ``scripts/setup.sh``
installs it) supplies the Simplified Chinese faces, read from the system rather than
shipped: 20 MB per weight is too much for a wheel, and a subset would miss rare
characters of names and codes.

Text is drawn in runs, each character in the first face that has it. A character that no
face has is drawn as U+25A1 (□), visibly, and :func:`missing` names it so the sheet can
say which font to install; it is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from verifier import fonts

FontName = Literal["sans", "bold", "mono"]
MISSING_GLYPH = "\u25a1"

# Where Debian (fonts-noto-cjk) and other distributions put Noto Sans CJK; the face index
# of "Noto Sans CJK SC" / "Noto Sans Mono CJK SC" in the collection.
CJK_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
_CJK_FILES: dict[FontName, tuple[str, int]] = {
    "sans": ("NotoSansCJK-Regular.ttc", 2),
    "bold": ("NotoSansCJK-Bold.ttc", 2),
    "mono": ("NotoSansCJK-Regular.ttc", 7),
}
_DEJAVU: dict[FontName, Path] = {"sans": fonts.SANS, "bold": fonts.SANS_BOLD, "mono": fonts.MONO}
CJK_HINT = "install a CJK font: on Debian/Ubuntu `apt-get install fonts-noto-cjk`"


@dataclass(frozen=True, slots=True)
class Face:
    path: Path
    index: int = 0  # the face in a TrueType/OpenType collection

    @property
    def key(self) -> str:
        """A name for the PDF's font table."""
        return f"{self.path.stem}-{self.index}"


def _cjk(name: FontName, dirs: tuple[Path, ...]) -> Face | None:
    file, index = _CJK_FILES[name]
    for d in dirs:
        if (d / file).is_file():
            return Face(d / file, index)
    return None


def faces(name: FontName) -> tuple[Face, ...]:
    """The faces to draw ``name`` with, in order of preference (CJK_DIRS is read each
    time, so a test can point it at a directory without the font)."""
    return _faces(name, CJK_DIRS)


@cache
def _faces(name: FontName, dirs: tuple[Path, ...]) -> tuple[Face, ...]:
    cjk = _cjk(name, dirs)
    return (Face(_DEJAVU[name]),) if cjk is None else (Face(_DEJAVU[name]), cjk)


@cache
def coverage(face: Face) -> frozenset[int]:
    font = TTFont(str(face.path), fontNumber=face.index, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def runs(text: str, name: FontName) -> list[tuple[str, Face]]:
    """``text`` cut into runs of characters that one face draws; characters no face has
    become :data:`MISSING_GLYPH` in the first face."""
    chain = faces(name)
    out: list[tuple[str, Face]] = []
    for ch in text:
        face = next((f for f in chain if ord(ch) in coverage(f)), None)
        if face is None:
            ch, face = MISSING_GLYPH, chain[0]
        if out and out[-1][1] == face:
            out[-1] = (out[-1][0] + ch, face)
        else:
            out.append((ch, face))
    return out


def lacking(text: str, name: FontName) -> set[str]:
    """The characters of ``text`` that no face of ``name`` draws."""
    chain = faces(name)
    return {ch for ch in text if not any(ord(ch) in coverage(f) for f in chain)}
