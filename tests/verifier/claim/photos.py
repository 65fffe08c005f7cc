"""Claim photos made by the tests: one per label carrier, the negatives, and hostile files.

Each maker returns the file's bytes. Carriers are written the way the tools that use them
write them (Pillow's EXIF and PNG text writers, an XMP packet, c2pa-python signing with a
test CA), and a few are spliced in as raw segments/chunks so their exact offsets are known.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib
from functools import cache

import c2pa
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from storage import certs

AIGC = {
    "Label": "1",
    "ContentProducer": "001191110108MA01KP2T5U00000",
    "ProduceID": "gen-20261201-0042",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
    "ReservedCode2": "",
}
AIGC_JSON = json.dumps(AIGC, separators=(",", ":"))
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SD_PARAMETERS = (
    "a cracked ceramic mug on a wooden table\nNegative prompt: blurry\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, "
    "Model: sd_xl_base_1.0"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def picture(w: int = 96, h: int = 64) -> Image.Image:
    """A small picture with structure (JPEG of a flat colour is degenerate)."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) * 3) % 256], axis=2)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def jpeg(quality: int = 90, **save: object) -> bytes:
    out = io.BytesIO()
    picture().save(out, "JPEG", quality=quality, **save)
    return out.getvalue()


def png(info: PngInfo | None = None, **save: object) -> bytes:
    out = io.BytesIO()
    picture().save(out, "PNG", pnginfo=info, **save)
    return out.getvalue()


def xmp_packet(*properties: str) -> bytes:
    """An XMP packet with these ``prefix:Name="value"`` attributes on one rdf:Description."""
    attrs = " ".join(properties)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" {attrs}/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def attr(name: str, value: str) -> str:
    escaped = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'{name}="{escaped}"'


def jpeg_with(marker: int, body: bytes, base: bytes | None = None) -> bytes:
    """``base`` with one segment inserted right after SOI (at byte 2)."""
    base = base or jpeg()
    return base[:2] + struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body + base[2:]


def jpeg_xmp(packet: bytes) -> bytes:
    return jpeg_with(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_with(chunk: bytes, base: bytes | None = None) -> bytes:
    """``base`` with one chunk inserted right after IHDR (at byte 33)."""
    base = base or png()
    return base[:33] + chunk + base[33:]


def png_xmp(packet: bytes) -> bytes:
    return png_with(png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet))


def png_text(key: str, text: str) -> bytes:
    info = PngInfo()
    info.add_text(key, text)
    return png(info)


def exif_jpeg(comment: bytes | None = None, **ifd0: str) -> bytes:
    exif = Image.Exif()
    tags = {"Make": 0x010F, "Model": 0x0110, "Software": 0x0131}
    for name, value in ifd0.items():
        exif[tags[name]] = value
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = comment
        exif.get_ifd(0x8769)[0x9003] = "2026:11:30 14:02:11"
    return jpeg(exif=exif.tobytes())


def reencoded(data: bytes) -> bytes:
    """What a messaging app or an editor does: decode, save again, no metadata kept."""
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


@cache
def c2pa_ca() -> tuple[bytes, bytes, bytes]:
    """(CA PEM, chain PEM, leaf key PEM) of an AI generator's test CA."""
    root = Ed25519PrivateKey.generate()
    ca = certs.issue_ca(root, "Test Generator Inc", _NOW)
    key = certs.generate_station_key("es256")
    leaf = certs.issue_station(ca, root, key, "imagegen", "Test Generator Inc", _NOW)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certs.pem(ca), certs.pem(leaf) + certs.pem(ca), key_pem


@cache
def c2pa_jpeg(source_type: str = "trainedAlgorithmicMedia") -> bytes:
    _, chain, key = c2pa_ca()
    definition = {
        "claim_generator_info": [{"name": "imagegen", "version": "3.1"}],
        "title": "generated.jpg",
        "format": "image/jpeg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": DST + source_type}]
                },
            }
        ],
    }
    settings = {
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    info = c2pa.C2paSignerInfo(b"es256", chain, key, None)
    out = io.BytesIO()
    with (
        c2pa.Context.from_dict(settings) as context,
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(definition, context=context) as builder,
    ):
        builder.sign(signer, "image/jpeg", io.BytesIO(jpeg()), out)
    return out.getvalue()
