"""The faces' words in English or Simplified Chinese (``ui.language``; on pages the
browser's Accept-Language first).

The English text is the message id, as with gettext: ``_("Clips")``,
``_("opens a clip for order {order}", order=x)``. :mod:`packseal._zh_cn` holds the
translations. A typed table rather than gettext catalogs: two languages and a few
hundred texts, shared by templates, the station page's script and the CLI, with no
compile step to forget; tests check that every id the templates and the script use has
a translation with the same placeholders. A missing entry falls back to English.

The evidence sheet's words live in ``verifier/_sheet_text.py`` (``verifier`` must not
import this package).

The CLI also shows texts the library made (a check's message, an error and its hint):
:func:`said` translates those by exact text or by pattern (:mod:`packseal._zh_cn_said`),
keeping the facts in them (ids, hashes, times, paths) as they are; a text no pattern
knows stays English. The CLI's language is ``ui.language`` when a settings file names
it, else the POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal, get_args

from packseal._zh_cn import ZH_CN
from packseal._zh_cn_failed import failed_zh
from packseal._zh_cn_said import ZH_CN_SAID

__all__ = [
    "LANGUAGES",
    "STATION_SAID",
    "Language",
    "Translate",
    "language_from_env",
    "negotiate",
    "said",
    "translator",
]

Language = Literal["en", "zh-CN"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
Translate = Callable[..., str]

_TABLES: dict[Language, dict[str, str]] = {"en": {}, "zh-CN": ZH_CN}

# The station's alarm and warning texts (recorder/controller.py, recorder/station.py and
# the disk check of packseal/web/station.py), matched to translate them with their facts
# kept: on the station screen and on the CLI's status line. Message ids use {0}, {1}.
STATION_SAID: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"waybill (.+) scanned, but no order is open"),
        "waybill {0} scanned, but no order is open",
    ),
    (re.compile(r"(\S+) scanned, but no clip is open"), "{0} scanned, but no clip is open"),
    (
        re.compile(r"order (.+) was already packed \(clip (\w+)\); recording it again"),
        "order {0} was already packed (clip {1}); recording it again",
    ),
    (re.compile(r"camera lost: (.+)"), "camera lost: {0}"),
    (re.compile(r"scan stream lost: (.+)"), "scan stream lost: {0}"),
    (re.compile(r"camera lost"), "camera lost"),
    (re.compile(r"encoder stopped: (.+)"), "encoder stopped: {0}"),
    (re.compile(r"disk full: (.+)"), "disk full: {0}"),
    (re.compile(r"order (.+): no footage sealed"), "order {0}: no footage sealed"),
    (
        re.compile(r"disk low: (.+) free; recording stops at (.+)"),
        "disk low: {0} free; recording stops at {1}",
    ),
    (
        re.compile(r"a product barcode \((.+)\), not an order or a waybill"),
        "a product barcode ({0}), not an order or a waybill",
    ),
]  # fmt: skip


def translator(language: Language) -> Translate:
    table = _TABLES[language]

    def _(text: str, /, **values: object) -> str:
        found = table.get(text, text)
        return found.format(**values) if values else found

    return _


def negotiate(accept_language: str | None, default: Language) -> Language:
    """The language a page speaks: the browser's most preferred one we have
    (RFC 9110 section 12.5.4 quality values), else ``default``.

    ``zh``, ``zh-CN``, ``zh-Hans`` and ``zh-SG`` take Simplified Chinese; ``zh-TW`` and
    ``zh-HK`` (Traditional) do not.
    """
    if not accept_language:
        return default
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate(accept_language.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        lang: Language | None = None
        if tag in ("zh", "zh-cn", "zh-hans", "zh-sg", "zh-hans-cn"):
            lang = "zh-CN"
        elif tag == "en" or tag.startswith("en-"):
            lang = "en"
        elif tag == "*":
            lang = default
        if lang is not None and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, lang)
    return best[2] if best else default


def said(text: str, language: Language) -> str:
    """A text the library made, in ``language``: the table's entry, else the first pattern
    of :data:`packseal._zh_cn_said.ZH_CN_SAID` or :mod:`packseal._zh_cn_failed` that
    matches all of it, else ``text``.

    A failed check with several problems reads "<first> (and N more: <a>; <b>; …)"
    (``verifier._report.failed``): each problem is translated on its own.
    """
    if language == "en":
        return text
    m = _MORE.fullmatch(text)
    if m:
        head, count, listed = m.groups()
        parts = _cut(listed.removesuffix("; …"), language)
        if parts is not None:
            more = "；…" if listed.endswith("; …") else ""
            return f"{said(head, language)}（另有 {count} 项：{'；'.join(parts)}{more}）"
    found = _said(text, language)
    return text if found is None else found


_MORE = re.compile(r"(.*?) \(and (\d+) more: (.*)\)", re.DOTALL)


def _cut(listed: str, language: Language) -> list[str] | None:
    """The problems of a "; "-joined list, each translated; a problem may itself hold
    "; ", so the list is cut where each part is a text a pattern knows."""
    pieces = listed.split("; ")
    parts: list[str] = []
    i = 0
    while i < len(pieces):
        for j in range(i + 1, len(pieces) + 1):
            found = _said("; ".join(pieces[i:j]), language)
            if found is not None:
                parts.append(found)
                i = j
                break
        else:
            return None
    return parts


def _said(text: str, language: Language) -> str | None:
    table = _TABLES[language]
    found = table.get(text)
    if found is not None:
        return found
    for pattern, message in STATION_SAID:
        m = pattern.fullmatch(text)
        if m:
            return table.get(message, message).format(*m.groups())
    zh = failed_zh(text)
    if zh is not None:
        return zh
    for pattern, replacement in ZH_CN_SAID:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement) if isinstance(replacement, str) else replacement(m)
    return None


_ZH_LOCALES = ("zh", "zh-cn", "zh-sg", "zh-hans", "zh-hans-cn")


def language_from_env(env: Mapping[str, str]) -> Language | None:
    """The language of the POSIX locale: the first set of ``LC_ALL``, ``LC_MESSAGES`` and
    ``LANG`` (``zh_CN.UTF-8`` -> zh-CN); ``None`` when none is set."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:
            tag = value.split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
            return "zh-CN" if tag in _ZH_LOCALES else "en"
    return None
