"""zh-CN for the faces: the table covers every text the pages, the station script and
the station screen use (placeholders kept); pages follow Accept-Language, else
ui.language; the CLI frames its errors in ui.language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from packseal._zh_cn import ZH_CN
from packseal.cli import main
from packseal.i18n import negotiate, translator
from packseal.web import station as station_screen
from packseal.web._http import _TITLES
from packseal.web._templates import TEMPLATES

# The share-link 404 (packseal/web/_share_routes.py): an anonymous reviewer's only page.
SHARE_404 = [
    "this share link is not valid: it expired, was revoked, or was never issued",
    "ask the merchant for a new link",
]

PLACEHOLDER = re.compile(r"\{\w*\}")


def template_ids() -> list[str]:
    ids: list[str] = []
    for path in sorted(TEMPLATES.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        ids += [json.loads(f'"{m}"') for m in re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', text)]
    return ids


def station_ids() -> list[str]:
    src = Path(station_screen.__file__).read_text(encoding="utf-8")
    return [
        *station_screen.js_ids(),
        *station_screen.ADVICE.values(),
        *(message for _, message in station_screen._SAID),
        *re.findall(r'\b_\(\s*"((?:[^"\\]|\\.)*)"', src),
        # recorder/scanner.py Classifier.why_other
        "it holds control, invisible or separator characters",
        "a product barcode (EAN/UPC digits), not an order or a waybill",
        "it matches neither the order pattern nor a waybill pattern",
    ]


def test_every_text_of_the_faces_has_a_chinese_translation() -> None:
    badges = ["sealed", "cancelled", "interrupted", "clean", "findings", "failed", "running"]
    badges += ["abandoned", "verified", "mismatch", "missing", "purged"]
    durations = ["{s} s", "{m} min {s} s", "{h} h {m} min"]  # packseal/web/_templates.py
    # error.html shows these through _(), with its home link's label
    errors = [*_TITLES.values(), *SHARE_404, "Back to clips", "Back to the station screen"]
    ids = template_ids() + station_ids() + badges + durations + ["error:", "hint:", "interrupted"]
    ids += errors
    assert len(ids) > 250
    missing = sorted({i for i in ids if i not in ZH_CN})
    assert missing == []
    for english, chinese in ZH_CN.items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(chinese)), english


def test_translator_formats_and_falls_back_to_english() -> None:
    _ = translator("zh-CN")
    assert _("opens a clip for order {order}", order="SO-1") == "为订单 SO-1 开始片段"
    assert _("a text nobody translated") == "a text nobody translated"
    assert translator("en")("opens a clip for order {order}", order="SO-1") == (
        "opens a clip for order SO-1"
    )


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        (None, "en", "en"),
        (None, "zh-CN", "zh-CN"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "en", "zh-CN"),
        ("zh", "en", "zh-CN"),
        ("zh-Hans-CN", "en", "zh-CN"),
        ("en-US,en;q=0.9", "zh-CN", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "en", "zh-CN"),
        ("zh-TW", "en", "en"),  # Traditional: not this table
        ("fr-FR, de;q=0.9", "zh-CN", "zh-CN"),
        ("zh-CN;q=0, en", "zh-CN", "en"),
        ("*", "zh-CN", "zh-CN"),
        ("zh-CN;q=abc", "en", "en"),
    ],
)
def test_accept_language(header: str | None, default: str, expected: str) -> None:
    assert negotiate(header, default) == expected  # type: ignore[arg-type]


def test_the_cli_frames_errors_in_the_configured_language(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "config.yaml").write_text(
        "merchant: {name: Test Shop, id: test}\nui: {language: zh-CN}\n"
    )
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["export", "NO-SUCH-ORDER", "-o", str(workdir / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：")
    assert "\n提示：" in err


def test_an_unknown_language_is_a_config_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "config.yaml").write_text("ui: {language: fr}\n")
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")  # the settings could not be read: English
    assert "ui.language" in err
