"""A claim photo read within limits: its labels, its own facts, and its decoded picture.

The file is refused (:class:`ClaimPhotoError`) when it is larger than ``MAX_BYTES``, not
a JPEG/PNG/WebP, structurally broken or truncated, or declares more than
``MAX_PIXELS`` pixels (checked from the header, before anything is decoded: a
decompression bomb costs nothing). A carrier that is there but unreadable (bad XMP,
EXIF, C2PA) is a finding, not an error: the rest of the file still tells something.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from verifier.claim._containers import Layout, pixels_only, walk
from verifier.claim._errors import ClaimPhotoError
from verifier.claim.labels import Finding, c2pa_findings, exif_tags, label_findings

__all__ = ["MAX_BYTES", "MAX_PIXELS", "ClaimPhoto", "jpeg_quality", "read_photo"]

MAX_BYTES = 40 << 20  # phone photos are 2-12 MB; marketplace uploads stop at 10-20 MB
MAX_PIXELS = 50_000_000  # a 50 MP phone sensor's full-resolution mode
RGB = npt.NDArray[np.uint8]
# The IJG (libjpeg) luminance table at quality 50; every common encoder scales it.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip
_TRANSPOSE = {
    2: (PILImage.Transpose.FLIP_LEFT_RIGHT,),
    3: (PILImage.Transpose.ROTATE_180,),
    4: (PILImage.Transpose.FLIP_TOP_BOTTOM,),
    5: (PILImage.Transpose.TRANSPOSE,),
    6: (PILImage.Transpose.ROTATE_270,),
    7: (PILImage.Transpose.TRANSVERSE,),
    8: (PILImage.Transpose.ROTATE_90,),
}


@dataclass(frozen=True, slots=True)
class ClaimPhoto:
    """What the claim check read from one photo (the picture itself is returned beside)."""

    name: str
    sha256: str
    size: int
    format: str
    width: int  # as shown (EXIF orientation applied)
    height: int
    findings: tuple[Finding, ...]

    @property
    def labels(self) -> tuple[Finding, ...]:
        """Findings that say something about AI generation (either way)."""
        return tuple(f for f in self.findings if f.signal in ("ai", "possibly-ai", "not-ai"))

    @property
    def ai_declared(self) -> bool:
        return any(f.signal == "ai" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClaimPhoto:
        return cls(
            d["name"],
            d["sha256"],
            d["size"],
            d["format"],
            d["width"],
            d["height"],
            tuple(Finding.from_dict(f) for f in d["findings"]),
        )


def read_photo(data: bytes, *, name: str, c2pa_roots: str | None = None) -> tuple[ClaimPhoto, RGB]:
    """Read ``data`` (the photo file's bytes): findings, facts and the RGB picture.

    ``c2pa_roots`` are PEM CA certificates whose C2PA signers count as known.
    """
    if len(data) > MAX_BYTES:
        raise ClaimPhotoError(
            f"{name} is {len(data)} bytes; a claim photo may be at most {MAX_BYTES}",
            hint="send the photo as the buyer uploaded it (phone photos are 2-12 MB)",
        )
    layout = walk(data)
    picture, orientation = _decode(data, name, layout)
    height, width = picture.shape[:2]
    findings = label_findings(layout)
    findings.extend(c2pa_findings(data, layout, c2pa_roots))
    findings.extend(_facts(data, layout, width, height, orientation))
    photo = ClaimPhoto(
        name, hashlib.sha256(data).hexdigest(), len(data), layout.format, width, height,
        tuple(findings),
    )  # fmt: skip
    return photo, picture


def _decode(data: bytes, name: str, layout: Layout) -> tuple[RGB, int]:
    tags, _ = exif_tags(layout)
    orientation = tags.values.get("Orientation", 1) if tags else 1
    try:
        with warnings.catch_warnings():
            # Only the bomb warning matters: the metadata Pillow could warn about is gone.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            pixels = io.BytesIO(pixels_only(data, layout))
            opened = PILImage.open(pixels, formats=[layout.format])
            w, h = opened.size
            if w * h > MAX_PIXELS:
                raise ClaimPhotoError(
                    f"{name} declares {w}x{h} = {w * h} pixels; at most {MAX_PIXELS} are "
                    f"decoded (a small file declaring a huge picture is a decompression bomb)",
                    hint="send the photo at its camera resolution",
                )
            im = opened.convert("RGB")
    except ClaimPhotoError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as e:
        raise ClaimPhotoError(f"{name}: {e}", hint="send the photo at its camera resolution") from e
    except Exception as e:  # Pillow's decoders raise OSError, SyntaxError, ValueError, ...
        raise ClaimPhotoError(
            f"{name}: the picture cannot be decoded ({type(e).__name__}: {e})",
            hint="the file may be truncated or damaged; send the original file",
        ) from e
    if isinstance(orientation, int) and orientation in _TRANSPOSE:
        for op in _TRANSPOSE[orientation]:
            im = im.transpose(op)
    return np.asarray(im, dtype=np.uint8), orientation if isinstance(orientation, int) else 1


def jpeg_quality(table: tuple[int, ...]) -> tuple[int, bool]:
    """The IJG quality whose luminance table is closest to ``table`` (file order, i.e.
    zigzag), and whether it is an exact match."""
    best, best_err = 50, None
    for q in range(1, 101):
        scale = 5000 // q if q < 50 else 200 - 2 * q
        err = 0
        for k in range(64):
            want = min(max((_IJG_LUMA[_ZIGZAG[k]] * scale + 50) // 100, 1), 255)
            err += abs(want - table[k])
        if best_err is None or err < best_err:
            best, best_err = q, err
    return best, best_err == 0


def _facts(data: bytes, layout: Layout, width: int, height: int, orientation: int) -> list[Finding]:
    kb = len(data) / 1024
    size = f"{kb / 1024:.1f} MB" if kb >= 1024 else f"{kb:.0f} kB"
    out = [
        Finding(
            "fact", "file", "format", layout.format, f"{layout.format}, {width}x{height}, {size}"
        )
    ]
    tags, where = exif_tags(layout)
    values = tags.values if tags else {}
    camera = " ".join(str(values[k]) for k in ("Make", "Model") if values.get(k))
    if camera:
        out.append(Finding("fact", where, "EXIF Make/Model", camera, "the camera named in EXIF"))
    taken = values.get("DateTimeOriginal") or values.get("DateTime")
    if taken:
        out.append(
            Finding(
                "fact", where, "EXIF DateTimeOriginal", str(taken),
                "capture time written by the camera (its own clock, no zone; editable)",
            )
        )  # fmt: skip
    if not layout.carriers or not any(c.kind in ("exif", "xmp") for c in layout.carriers):
        out.append(
            Finding(
                "fact", "file", "metadata", "none",
                "no EXIF or XMP at all: common after a re-encode, a screenshot or a messaging "
                "app; this proves nothing either way",
            )
        )  # fmt: skip
    elif not camera:
        out.append(Finding("fact", where or "file", "camera", "none", "no camera named in EXIF"))
    px, py = values.get("PixelXDimension"), values.get("PixelYDimension")
    if isinstance(px, int) and isinstance(py, int) and px and py:
        shown = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        if (px, py) != shown:
            out.append(
                Finding(
                    "fact", where, "EXIF PixelX/YDimension", f"{px}x{py}",
                    f"EXIF says {px}x{py} but the picture is {shown[0]}x{shown[1]}: resized "
                    "or cropped after the EXIF was written",
                )
            )  # fmt: skip
    if layout.dqt:
        q, exact = jpeg_quality(layout.dqt[0])
        how = "exactly" if exact else "closest to"
        out.append(
            Finding(
                "fact", "JPEG DQT", "JPEG quality", str(q),
                f"quantisation {how} libjpeg quality {q} (phones save at ~85-95; a lower "
                "figure suggests a re-encode)",
            )
        )  # fmt: skip
    if layout.trailing:
        out.append(
            Finding(
                "fact", f"byte {layout.end}", "trailing data", str(layout.trailing),
                f"{layout.trailing} bytes after the end of the image: another file glued on "
                "(a polyglot) or junk; not part of the picture",
            )
        )  # fmt: skip
    return out
