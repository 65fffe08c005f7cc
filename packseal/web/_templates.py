"""Jinja2 templates of both faces, with autoescape forced on and a few display filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from packseal.i18n import Language, Translate, negotiate, translator
from storage.text import printable

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def local_time(t_ms: int | None, zone: dt.tzinfo, *, seconds: bool = True) -> str:
    if t_ms is None:
        return "–"
    when = dt.datetime.fromtimestamp(t_ms / 1000, zone)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration(ms: int | None, _: Translate | None = None) -> str:
    if ms is None:
        return "–"
    _ = _ or translator("en")
    secs = max(0, round(ms / 1000))
    if secs < 60:
        return _("{s} s", s=secs)
    if secs < 3600:
        return _("{m} min {s} s", m=secs // 60, s=f"{secs % 60:02d}")
    return _("{h} h {m} min", h=secs // 3600, m=f"{secs % 3600 // 60:02d}")


@pass_context
def _duration_filter(context: Context, ms: int | None) -> str:
    return duration(ms, context.get("_"))


def size(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _shown(value: object) -> object:
    """Every text a page prints, as one safe line (storage.text): scanned codes are any
    Unicode, and HTML escaping does not stop a bidi override from disguising an order id."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def make_templates(
    zone: dt.tzinfo, *, home: tuple[str, str] = ("/clips", "Back to clips")
) -> Jinja2Templates:
    # autoescape=True for every template, not by file extension: a search string like
    # <script> must come back as text wherever it is shown.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["when"] = lambda t, seconds=True: local_time(t, zone, seconds=seconds)
    env.filters["duration"] = _duration_filter
    env.filters["size"] = size
    env.globals["zone_name"] = zone_label(zone)
    env.globals["home_url"], env.globals["home_label"] = home
    env.globals["hub"] = False  # a hub's portal sets it: its pages in the top bar
    return Jinja2Templates(env=env, context_processors=[language_context])


def page_language(request: Request) -> Language:
    """The page's language: the browser's choice among ours, else ``ui.language``."""
    default: Language = getattr(request.app.state, "language", "en")
    return negotiate(request.headers.get("accept-language"), default)


def language_context(request: Request) -> dict[str, object]:
    lang = page_language(request)
    return {"_": translator(lang), "lang": lang}


def zone_label(zone: dt.tzinfo) -> str:
    return str(getattr(zone, "key", None) or dt.datetime.now(zone).tzname() or "UTC")
