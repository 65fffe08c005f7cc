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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from packseal._zh_cn import ZH_CN

__all__ = ["LANGUAGES", "Language", "Translate", "negotiate", "translator"]

Language = Literal["en", "zh-CN"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
Translate = Callable[..., str]

_TABLES: dict[Language, dict[str, str]] = {"en": {}, "zh-CN": ZH_CN}


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
