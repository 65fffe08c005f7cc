"""Every label carrier of issue 14, and the negatives, each reported exactly."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from PIL import Image

from tests.verifier.claim import photos as p
from verifier.claim import ClaimPhoto, Finding, read_photo

LABEL_1 = "Label 1: the producer declares the content AI-generated, produced by " + str(
    p.AIGC["ContentProducer"]
)
Expected = tuple[str, str, str, str, str]  # kind, where, field, value, signal


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    make: Callable[[], bytes]
    expected: tuple[Expected, ...]  # the non-fact findings, in order


CASES = [
    Case(
        "xmp-tc260-in-jpeg",
        lambda: p.jpeg_xmp(p.xmp_packet(p.attr("TC260:AIGC", p.AIGC_JSON))),
        (("aigc-label", "JPEG APP1 XMP at byte 2", "TC260:AIGC", "1", "ai"),),
    ),
    Case(
        "xmp-tc260-in-png",
        lambda: p.png_xmp(p.xmp_packet(p.attr("TC260:AIGC", p.AIGC_JSON))),
        (("aigc-label", "PNG iTXt 'XML:com.adobe.xmp' at byte 33", "TC260:AIGC", "1", "ai"),),
    ),
    Case(
        "png-aigc-text-chunk",
        lambda: p.png_with(p.png_chunk(b"tEXt", b"AIGC\x00" + p.AIGC_JSON.encode())),
        (("aigc-label", "PNG tEXt 'AIGC' at byte 33", "PNG text AIGC", "1", "ai"),),
    ),
    Case(
        "exif-usercomment-aigc",
        lambda: p.exif_jpeg(b"ASCII\x00\x00\x00" + json.dumps({"AIGC": p.AIGC}).encode()),
        (("aigc-label", "JPEG APP1 Exif at byte 20", "EXIF UserComment", "1", "ai"),),
    ),
    Case(
        "exif-usercomment-aigc-label-2-unicode",
        lambda: p.exif_jpeg(
            b"UNICODE\x00" + json.dumps({"AIGC": {**p.AIGC, "Label": "2"}}).encode("utf-16-le")
        ),
        (("aigc-label", "JPEG APP1 Exif at byte 20", "EXIF UserComment", "2", "possibly-ai"),),
    ),
    Case(
        "png-aigc-label-3",
        lambda: p.png_text("AIGC", json.dumps({**p.AIGC, "Label": "3"})),
        (("aigc-label", "PNG tEXt 'AIGC' at byte 33", "PNG text AIGC", "3", "possibly-ai"),),
    ),
    Case(
        "iptc-digital-source-type-ai",
        lambda: p.jpeg_xmp(
            p.xmp_packet(p.attr("Iptc4xmpExt:DigitalSourceType", p.DST + "trainedAlgorithmicMedia"))
        ),
        (
            (
                "digital-source-type",
                "JPEG APP1 XMP at byte 2",
                "Iptc4xmpExt:DigitalSourceType",
                p.DST + "trainedAlgorithmicMedia",
                "ai",
            ),
        ),
    ),
    Case(
        "iptc-composite-with-ai-in-png",
        lambda: p.png_xmp(
            p.xmp_packet(
                p.attr(
                    "Iptc4xmpExt:DigitalSourceType", p.DST + "compositeWithTrainedAlgorithmicMedia"
                )
            )
        ),
        (
            (
                "digital-source-type",
                "PNG iTXt 'XML:com.adobe.xmp' at byte 33",
                "Iptc4xmpExt:DigitalSourceType",
                p.DST + "compositeWithTrainedAlgorithmicMedia",
                "ai",
            ),
        ),
    ),
    Case(
        "negative-algorithmic-media",
        lambda: p.jpeg_xmp(
            p.xmp_packet(p.attr("Iptc4xmpExt:DigitalSourceType", p.DST + "algorithmicMedia"))
        ),
        (
            (
                "digital-source-type",
                "JPEG APP1 XMP at byte 2",
                "Iptc4xmpExt:DigitalSourceType",
                p.DST + "algorithmicMedia",
                "not-ai",
            ),
        ),
    ),
    Case(
        "c2pa-trained-algorithmic-media",
        lambda: p.c2pa_jpeg(),
        (
            ("c2pa", "JPEG APP11 JUMBF at byte 20", "C2PA manifest", "Valid", "none"),
            (
                "digital-source-type",
                "JPEG APP11 JUMBF at byte 20",
                "C2PA c2pa.created digitalSourceType",
                p.DST + "trainedAlgorithmicMedia",
                "ai",
            ),
        ),
    ),
    Case(
        "sd-parameters-chunk",
        lambda: p.png_text("parameters", p.SD_PARAMETERS),
        (
            (
                "generator",
                "PNG tEXt 'parameters' at byte 33",
                "PNG text parameters",
                p.SD_PARAMETERS,
                "ai",
            ),
        ),
    ),
    Case(
        "exif-software-generator",
        lambda: p.exif_jpeg(Software="Midjourney v6"),
        (("generator", "JPEG APP1 Exif at byte 20", "EXIF Software", "Midjourney v6", "ai"),),
    ),
    Case(
        "xmp-creator-tool-editor",
        lambda: p.jpeg_xmp(p.xmp_packet(p.attr("xmp:CreatorTool", "Adobe Photoshop 26.1"))),
        (
            (
                "software",
                "JPEG APP1 XMP at byte 2",
                "xmp:CreatorTool",
                "Adobe Photoshop 26.1",
                "none",
            ),
        ),
    ),
    Case("negative-none", lambda: p.jpeg(), ()),
    Case(
        "negative-camera-photo",
        lambda: p.exif_jpeg(b"ASCII\x00\x00\x00", Make="Xiaomi", Model="14"),
        (),
    ),
    Case(
        "negative-label-stripped-by-reencoding",
        lambda: p.reencoded(p.jpeg_xmp(p.xmp_packet(p.attr("TC260:AIGC", p.AIGC_JSON)))),
        (),
    ),
]


def _read(data: bytes, **kw: str) -> ClaimPhoto:
    photo, picture = read_photo(data, name="claim.jpg", **kw)
    assert picture.shape == (64, 96, 3)
    return photo


def _labels(photo: ClaimPhoto) -> list[Expected]:
    return [
        (f.kind, f.where, f.field, f.value, f.signal) for f in photo.findings if f.kind != "fact"
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_carrier_is_reported_exactly(case: Case) -> None:
    photo = _read(case.make())
    assert _labels(photo) == list(case.expected)
    assert photo.ai_declared == any(e[4] == "ai" for e in case.expected)
    assert ClaimPhoto.from_dict(json.loads(json.dumps(photo.to_dict()))) == photo


def test_the_gb45438_label_keeps_its_producer_fields() -> None:
    photo = _read(p.jpeg_xmp(p.xmp_packet(p.attr("TC260:AIGC", p.AIGC_JSON))))
    (label,) = photo.labels
    assert label.meaning == LABEL_1
    assert dict(label.details) == {
        "Label": "1",
        "ContentProducer": p.AIGC["ContentProducer"],
        "ProduceID": p.AIGC["ProduceID"],
    }


def test_c2pa_signer_is_known_only_under_the_callers_ca() -> None:
    data = p.c2pa_jpeg()
    ca, _, _ = p.c2pa_ca()
    unknown = _read(data).findings[0]
    assert "CA is unknown here" in unknown.meaning
    assert dict(unknown.details)["signer"] == "imagegen (issuer Test Generator Inc)"
    known = _read(data, c2pa_roots=ca.decode()).findings[0]
    assert (known.value, "chains to a CA you trust" in known.meaning) == ("Trusted", True)
    other, _, _ = p.c2pa_ca.__wrapped__()
    foreign = _read(data, c2pa_roots=other.decode()).findings[0]
    assert foreign.value != "Trusted"
    assert "does not chain to a CA you trust" in foreign.meaning


def test_a_tampered_c2pa_photo_says_its_manifest_fails() -> None:
    data = bytearray(p.c2pa_jpeg())
    data[-200] ^= 0xFF  # in the picture's scan data, which the manifest hashes
    photo = _read(bytes(data))
    manifest = photo.findings[0]
    assert manifest.value == "Invalid"
    assert "assertion.dataHash.mismatch" in manifest.meaning
    assert "in a manifest that validates as Invalid" in photo.findings[1].meaning


def test_the_files_own_facts() -> None:
    photo = _read(p.exif_jpeg(b"ASCII\x00\x00\x00", Make="Xiaomi", Model="14"))
    facts = {f.field: f.value for f in photo.findings if f.kind == "fact"}
    assert facts == {
        "format": "JPEG",
        "EXIF Make/Model": "Xiaomi 14",
        "EXIF DateTimeOriginal": "2026:11:30 14:02:11",
        "JPEG quality": "90",
    }
    stripped = {f.field: f.value for f in _read(p.reencoded(p.jpeg())).findings}
    assert stripped["metadata"] == "none"
    assert stripped["JPEG quality"] == "80"


def test_trailing_bytes_of_a_polyglot_are_reported() -> None:
    zip_tail = b"PK\x03\x04" + b"\x00" * 26 + b"evil.html"
    photo = _read(p.jpeg() + zip_tail)
    (tail,) = (f for f in photo.findings if f.field == "trailing data")
    assert tail.value == str(len(zip_tail))


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    p.picture().save(out, "JPEG", exif=exif.tobytes())
    photo, picture = read_photo(out.getvalue(), name="rotated.jpg")
    assert (photo.width, photo.height, picture.shape[:2]) == (64, 96, (96, 64))


def test_webp_carriers() -> None:
    out = io.BytesIO()
    packet = p.xmp_packet(p.attr("TC260:AIGC", p.AIGC_JSON))
    p.picture().save(out, "WEBP", xmp=packet)
    photo = _read(out.getvalue())
    assert [(f.kind, f.value, f.where.split(" at ")[0]) for f in photo.labels] == [
        ("aigc-label", "1", "WebP XMP chunk")
    ]


def test_finding_round_trip() -> None:
    f = Finding("c2pa", "w", "f", "v", "m", "ai", (("a", "1"),))
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f
