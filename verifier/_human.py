"""The bundle's human-readable parts against what verify proved.

README.txt and the evidence sheet (PNG, PDF, and the QR code on it) are made at export and
are not signed: they are for people, not evidence. But a person reads them first, so a
bundle whose README or sheet names another order (copied from another bundle, edited) is
misleading even when the clip verifies, and the ``facts`` check fails on it.

- README: its ``Order`` and ``Clip`` lines must show the proven entry's order and clip id.
- sheet.png: its QR code's summary (:meth:`verifier.bundle.BundleSummary.text`) must name
  the proven entry (leaf hash), order and clip. Decoding it needs zxing-cpp and Pillow,
  which ``verify`` does not require (a reviewer may have neither); without them the QR
  code is reported as "not checked", never as checked.
- sheet.pdf is not read (no PDF parser is required either); it says the same as the PNG.
"""

from __future__ import annotations

import io

from storage.entries import Clip
from storage.text import printable
from verifier._zip import Problem

__all__ = ["readme_problems", "sheet_problems"]

README = "README.txt"
SHEET = "sheet.png"
SUMMARY = "packseal-bundle/"  # the first line of the QR code's summary


def readme_problems(members: dict[str, bytes], clip: Clip) -> list[Problem]:
    data = members.get(README)
    if data is None:
        return []  # the zip check reports a missing member
    lines = data.decode("utf-8", "replace").splitlines()
    said = {line[:11].strip(): line[11:] for line in lines[:12] if len(line) > 11}
    problems = []
    order, clip_line = said.get("Order"), said.get("Clip")
    if order != printable(clip.order_id):
        problems.append(
            Problem(
                f"{README} names order {printable(order or 'none', 80)}; the signed entry is "
                f"order {printable(clip.order_id, 80)}: the README is not this clip's",
                printable(clip.order_id, 80),
                printable(order or "no Order line", 80),
            )
        )
    if clip_line is None or not clip_line.startswith(f"{clip.clip_id} "):
        problems.append(
            Problem(
                f"{README} names clip {printable((clip_line or 'none').split(' ')[0], 80)}; "
                f"the signed entry is clip {clip.clip_id}",
                clip.clip_id,
                printable(clip_line or "no Clip line", 80),
            )
        )
    return problems


def sheet_problems(
    members: dict[str, bytes], clip: Clip, entry_hash: str
) -> tuple[list[Problem], str]:
    """Problems with the sheet's QR code, and a phrase saying what was checked."""
    data = members.get(SHEET)
    if data is None:
        return [], "no sheet.png"
    try:
        import numpy as np
        import zxingcpp
        from PIL import Image
    except ImportError:
        return [], "the sheet's QR code was not checked (install zxing-cpp and pillow to check it)"
    try:
        with Image.open(io.BytesIO(data)) as image:
            gray = np.asarray(image.convert("L"))
        h, w = gray.shape[:2]
        # The keyframes show the pick list's own codes: the summary QR (bottom right,
        # in the integrity panel) is looked for there too, where it is the only one.
        # .bytes, not .text: zxing-cpp shows control characters in .text as "<LF>".
        found = [
            text
            for area in (gray, gray[h * 3 // 5 :, w * 3 // 5 :])
            for b in zxingcpp.read_barcodes(area)
            if (text := bytes(b.bytes).decode("utf-8", "replace")).startswith(SUMMARY)
        ]
    except (OSError, ValueError):
        found = []
    if not found:
        # Not packseal's sheet, or damaged: what it shows cannot be compared, and a person
        # must be told so rather than left to believe it.
        return [], "sheet.png has no readable QR code: what the sheet shows was NOT checked"
    payload = found[0]
    lines = payload.split("\n")
    # The entry's leaf hash binds order, times and footage; the order line is not
    # compared as text (a QR reader may not give arbitrary Unicode back byte for byte).
    wanted = {"entry": f"entry {entry_hash}"}
    problems = []
    for what, line in wanted.items():
        if line not in lines:
            said = next((x for x in lines if x.startswith(f"{what} ")), f"no {what} line")
            problems.append(
                Problem(
                    f"{SHEET}'s QR code says {printable(said, 100)!r}, the signed entry is "
                    f"{printable(line, 100)!r}: the sheet is not this clip's",
                    printable(line, 100),
                    printable(said, 100),
                )
            )
    if not any(x.startswith(f"clip {clip.clip_id} ") for x in lines):
        problems.append(
            Problem(
                f"{SHEET}'s QR code does not name clip {clip.clip_id}: the sheet is not this "
                "clip's",
                clip.clip_id,
                printable(payload, 100),
            )
        )
    return problems, "the sheet's QR code agrees"
