"""What a claim photo says about itself: AI-content labels, provenance and generator traces.

Pure over bytes (C2PA excepted, which c2pa-python reads). Every :class:`Finding` names
the carrier it came from (``where``) and quotes the value found, so a reviewer can check
it with any metadata tool. What is read:

- GB 45438-2025 implicit labels: XMP ``TC260:AIGC``, a PNG text chunk ``AIGC``, and
  ``{"AIGC": {...}}`` in EXIF UserComment; ``Label`` 1 (AI-generated), 2 (possibly),
  3 (suspected), with the producer and propagator fields.
- IPTC ``Iptc4xmpExt:DigitalSourceType`` (XMP): the AI values vs the others.
- C2PA manifests: validation state, signer, ``c2pa.actions`` digital source types, and
  whether the signer chains to a CA the caller trusts (without one, "Valid" only means
  the signature matches a certificate anyone can make).
- Generator traces: a Stable Diffusion ``parameters`` chunk, ComfyUI/InvokeAI/NovelAI
  chunks, ``Software`` / ``CreatorTool`` naming a generator or an editor.

Every label can be stripped by any re-encode (FIELD-NOTES): finding none proves nothing,
and the report says so.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException

from verifier.claim._containers import Carrier, Layout
from verifier.claim._exif import ExifError, ExifTags, read_exif, user_comment

__all__ = [
    "AI_SOURCE_TYPES",
    "TC260_NS",
    "Finding",
    "Signal",
    "c2pa_findings",
    "label_findings",
]

Signal = Literal["ai", "possibly-ai", "not-ai", "none", "unreadable"]
Kind = Literal[
    "aigc-label", "digital-source-type", "c2pa", "generator", "software", "fact", "unreadable"
]
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP_NS = "http://ns.adobe.com/xap/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DST_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC's AI-generated source types (FIELD-NOTES); ``algorithmicMedia`` (made by an
# algorithm without training data) is not one of them.
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "compositeSynthetic"}
)
_LABELS = {
    "1": ("ai", "Label 1: the producer declares the content AI-generated"),
    "2": ("possibly-ai", "Label 2: the content is possibly AI-generated"),
    "3": ("possibly-ai", "Label 3: the content is suspected to be AI-generated"),
}
_LABEL_FIELDS = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
# PNG text keywords that image generators write (AUTOMATIC1111/Forge, ComfyUI, InvokeAI,
# NovelAI); their presence is the trace, their values say which tool and prompt.
_GENERATOR_KEYS = {
    "parameters": "Stable Diffusion web UI (AUTOMATIC1111 / Forge) generation parameters",
    "prompt": "ComfyUI prompt graph",
    "workflow": "ComfyUI workflow",
    "invokeai_metadata": "InvokeAI generation metadata",
    "sd-metadata": "InvokeAI generation metadata",
    "dream": "InvokeAI generation metadata",
}
_GENERATOR_NAMES = re.compile(
    r"stable[ -]?diffusion|midjourney|dall[-·]?e|firefly|novelai|comfyui|invokeai|"
    r"automatic1111|imagen|gemini|chatgpt|openai|leonardo\.ai|ideogram|flux\.1|"
    r"doubao|豆包|tongyi|通义|wenxin|文心|jimeng|即梦|kling|可灵|hunyuan|混元",
    re.IGNORECASE,
)
MAX_VALUE = 400  # characters of a value quoted in a finding (prompts can be long)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found in the photo, where, and what it means (never a verdict)."""

    kind: Kind
    where: str
    field: str
    value: str
    meaning: str
    signal: Signal = "none"
    details: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "where": self.where,
            "field": self.field,
            "value": self.value,
            "meaning": self.meaning,
            "signal": self.signal,
            "details": {k: v for k, v in self.details},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            d["kind"],
            d["where"],
            d["field"],
            d["value"],
            d["meaning"],
            d["signal"],
            tuple((str(k), str(v)) for k, v in d.get("details", {}).items()),
        )


def _quote(value: str) -> str:
    value = "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in value)
    return value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + "…"


def label_findings(layout: Layout) -> list[Finding]:
    """Labels, source types and generator traces in the carriers (C2PA: see below)."""
    out: list[Finding] = []
    for c in layout.carriers:
        if c.error:
            out.append(_unreadable(c, c.error))
        elif c.kind == "xmp":
            out.extend(_xmp(c))
        elif c.kind == "exif":
            out.extend(_exif(c))
        elif c.kind == "text":
            out.extend(_text(c))
        elif c.kind == "comment":
            text = c.data.decode("utf-8", "replace")
            out.extend(_software(c.where, "JPEG comment", text))
    return out


def _unreadable(c: Carrier | str, why: str) -> Finding:
    where = c if isinstance(c, str) else c.where
    return Finding("unreadable", where, "", "", f"present but unreadable: {why}", "unreadable")


# -- GB 45438 labels ----------------------------------------------------------------------


def _aigc(where: str, field: str, raw: str) -> Finding:
    """A GB 45438 label (the JSON object, or ``{"AIGC": {...}}`` around it)."""
    try:
        data = json.loads(raw)
    except ValueError as e:
        return Finding(
            "aigc-label",
            where,
            field,
            _quote(raw),
            f"an AIGC label is present but is not the JSON GB 45438 defines ({e})",
            "possibly-ai",
        )
    if isinstance(data, dict) and isinstance(data.get("AIGC"), dict):
        data = data["AIGC"]
    if not isinstance(data, dict):
        return Finding(
            "aigc-label",
            where,
            field,
            _quote(raw),
            "an AIGC label is present but is not a JSON object",
            "possibly-ai",
        )
    label = str(data.get("Label", "")).strip()
    signal, meaning = _LABELS.get(
        label, ("possibly-ai", f"an AIGC label with an unknown Label value {label!r}")
    )
    details = tuple(
        (k, _quote(str(data[k]))) for k in _LABEL_FIELDS if k in data and str(data[k]) != ""
    )
    producer = dict(details).get("ContentProducer")
    if producer:
        meaning += f", produced by {producer}"
    return Finding("aigc-label", where, field, label, meaning, signal, details)  # type: ignore[arg-type]


# -- XMP ----------------------------------------------------------------------------------


def _xmp(c: Carrier) -> list[Finding]:
    text = c.data.rstrip(b"\x00 \n\r\t")
    try:
        root = SafeXml.fromstring(text)
    except (ParseError, DefusedXmlException, ValueError) as e:
        return [_unreadable(c, f"XMP is not well-formed XML ({type(e).__name__}: {e})")]
    out: list[Finding] = []
    for ns, local, value in _properties(root):
        if local == "AIGC":
            field = "TC260:AIGC" if ns == TC260_NS else f"AIGC in namespace {ns or 'none'}"
            out.append(_aigc(c.where, field, value))
        elif local == "DigitalSourceType" and ns == IPTC_EXT_NS:
            out.append(_source_type(c.where, "Iptc4xmpExt:DigitalSourceType", value))
        elif local == "CreatorTool" and ns == XMP_NS:
            out.extend(_software(c.where, "xmp:CreatorTool", value))
    return out


def _properties(root: Element) -> Iterator[tuple[str, str, str]]:
    """(namespace, local name, value) of every simple XMP property, attribute or element."""
    for el in root.iter():
        for name, value in el.attrib.items():
            ns, local = _split(name)
            if ns != RDF_NS:
                yield ns, local, value
        ns, local = _split(el.tag)
        if ns in (RDF_NS, "adobe:ns:meta/"):
            continue
        resource = el.attrib.get(f"{{{RDF_NS}}}resource")
        if resource is not None:
            yield ns, local, resource
        elif el.text and el.text.strip() and len(el) == 0:
            yield ns, local, el.text.strip()
        else:  # a value in an rdf:Alt/Seq/Bag: its first rdf:li
            li = next((x for x in el.iter(f"{{{RDF_NS}}}li") if x.text and x.text.strip()), None)
            if li is not None and li.text is not None:
                yield ns, local, li.text.strip()


def _split(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _source_type(where: str, field: str, value: str) -> Finding:
    code = value.strip().rsplit("/", 1)[-1]
    if code in AI_SOURCE_TYPES:
        meaning = f"IPTC digital source type {code}: declared as made with generative AI"
        signal: Signal = "ai"
    elif value.strip().startswith(DST_PREFIX) or code in _KNOWN_SOURCE_TYPES:
        meaning = f"IPTC digital source type {code}: not a generative-AI source type"
        signal = "not-ai"
    else:
        meaning = f"an unknown digital source type {code!r}"
        signal = "none"
    return Finding("digital-source-type", where, field, _quote(value), meaning, signal)


_KNOWN_SOURCE_TYPES = frozenset(
    {
        "digitalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "minorHumanEdits",
        "humanEdits",
        "compositeCapture",
        "algorithmicallyEnhanced",
        "dataDrivenMedia",
        "digitalArt",
        "virtualRecording",
        "composite",
        "screenCapture",
        "algorithmicMedia",
        "digitalCreation",
    }
)


# -- EXIF ---------------------------------------------------------------------------------


def exif_tags(layout: Layout) -> tuple[ExifTags | None, str]:
    """The first readable EXIF block and where it is (for the file facts)."""
    for c in layout.carriers:
        if c.kind == "exif" and not c.error:
            try:
                return read_exif(c.data), c.where
            except ExifError:
                continue
    return None, ""


def _exif(c: Carrier) -> list[Finding]:
    try:
        tags = read_exif(c.data).values
    except ExifError as e:
        return [_unreadable(c, f"EXIF: {e}")]
    out: list[Finding] = []
    comment = tags.get("UserComment")
    if isinstance(comment, bytes):
        text = user_comment(comment)
        if "AIGC" in text:
            out.append(_aigc(c.where, "EXIF UserComment", text))
        else:
            out.extend(_software(c.where, "EXIF UserComment", text))
    for name in ("Software", "ImageDescription", "Artist"):
        value = tags.get(name)
        if isinstance(value, str) and value:
            out.extend(_software(c.where, f"EXIF {name}", value, report_any=name == "Software"))
    return out


# -- PNG text chunks and software names ---------------------------------------------------


def _text(c: Carrier) -> list[Finding]:
    text = c.data.decode("utf-8", "replace")
    key = c.key
    if key == "AIGC":
        return [_aigc(c.where, "PNG text AIGC", text)]
    trace = _GENERATOR_KEYS.get(key.lower())
    if trace is not None:
        return [
            Finding(
                "generator",
                c.where,
                f"PNG text {key}",
                _quote(text),
                f"a text chunk image generators write: {trace}",
                "ai",
            )
        ]
    if key in ("Software", "Source", "Comment", "Description", "Title"):
        return _software(c.where, f"PNG text {key}", text, report_any=key == "Software")
    return []


def _software(where: str, field: str, value: str, *, report_any: bool = False) -> list[Finding]:
    hit = _GENERATOR_NAMES.search(value)
    if hit:
        return [
            Finding(
                "generator",
                where,
                field,
                _quote(value),
                f"names an image generator ({hit.group(0)})",
                "ai",
            )
        ]
    if report_any or field == "xmp:CreatorTool":
        return [Finding("software", where, field, _quote(value), "the software that wrote it")]
    return []


# -- C2PA ---------------------------------------------------------------------------------

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def c2pa_findings(data: bytes, layout: Layout, roots_pem: str | None) -> list[Finding]:
    """The C2PA manifest, if the file carries one, read by c2pa-python.

    ``roots_pem`` are the CAs the caller trusts; the signer's chain is "known" only if
    the manifest validates as ``Trusted`` under them.
    """
    carrier = next((c for c in layout.carriers if c.kind == "c2pa"), None)
    if carrier is None:
        return []
    from verifier.c2pa import _c2pa  # imported on use: c2pa-python is a native library

    c2pa = _c2pa()
    settings: dict[str, Any] = {
        "verify": {
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
            "verify_trust": roots_pem is not None,
        }
    }
    if roots_pem is not None:
        settings["trust"] = {"trust_anchors": roots_pem}
    try:
        with (
            c2pa.Context.from_dict(settings) as context,
            c2pa.Reader(_MIME[layout.format], io.BytesIO(data), context=context) as reader,
        ):
            state = str(reader.get_validation_state() or "none")
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except Exception as e:  # c2pa raises its own tree, and ValueError/OSError from Rust
        return [_unreadable(carrier, f"C2PA manifest: {type(e).__name__}: {e}")]
    return _manifest(carrier.where, state, results, manifest, roots_pem is not None)


def _manifest(
    where: str,
    state: str,
    results: dict[str, Any],
    manifest: dict[str, Any],
    anchored: bool,
) -> list[Finding]:
    sig = manifest.get("signature_info") or {}
    signer = f"{sig.get('common_name', '?')} (issuer {sig.get('issuer', '?')})"
    generators = ", ".join(
        str(g.get("name", "?"))
        for g in manifest.get("claim_generator_info") or []
        if isinstance(g, dict)
    )
    failures = [
        f"{f.get('code')}" for f in (results.get("activeManifest") or {}).get("failure", [])
    ]
    if state == "Trusted":
        trust = "its signer chains to a CA you trust"
    elif anchored:
        trust = "its signer does not chain to a CA you trust"
    else:
        trust = "whose signer's CA is unknown here (anyone can make a CA)"
    meaning = f"a C2PA manifest, validation state {state}, {trust}"
    if failures:
        meaning += f"; failures: {', '.join(failures[:5])}"
    details = [("signer", signer), ("state", state)]
    if generators:
        details.append(("claim_generator", generators))
    out = [Finding("c2pa", where, "C2PA manifest", state, meaning, "none", tuple(details))]
    for action in _actions(manifest):
        dst = str(action.get("digitalSourceType", ""))
        if not dst:
            continue
        f = _source_type(where, f"C2PA {action.get('action', '?')} digitalSourceType", dst)
        if state not in ("Valid", "Trusted"):
            f = Finding(
                f.kind,
                f.where,
                f.field,
                f.value,
                f.meaning + f" (in a manifest that validates as {state})",
                f.signal,
            )
        out.append(f)
    return out


def _actions(manifest: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data") or {}
            for action in data.get("actions") or [] if isinstance(data, dict) else []:
                if isinstance(action, dict):
                    yield action
