"""The evidence sheet in Chinese, and Chinese names on any sheet: drawn with a CJK face
(Noto Sans CJK from fonts-noto-cjk), extracted back exactly from the PDF by poppler's
pdftotext, and shown as □ with a note saying which font to install when it is missing."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from storage.footage import FootageSource, describe_source
from tests.verifier.test_sheet import Recorded, facts_for, recorded  # noqa: F401
from verifier import _sheet_fonts
from verifier._page import AMBER, AMBER_BG, MARGIN, MUTED, PAGE_W, _Rect, _Text, _width
from verifier.sheet import SheetFacts, _layout, _localize, make_sheet, pick_keyframes

MERCHANT = "杭州小熊文具店"
PRODUCT = "晨光笔记本A5"  # short: a caption cuts a long one with …
NEEDS = pytest.mark.skipif(
    shutil.which("pdftotext") is None or not _sheet_fonts.faces("sans")[1:],
    reason="needs poppler-utils (pdftotext) and fonts-noto-cjk: scripts/setup.sh --test",
)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def chinese_sheet(recorded: Recorded, language: str) -> tuple[bytes, bytes]:  # noqa: F811
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    frames = pick_keyframes(clip, path)
    # a product scanned on a Chinese marketplace: its text on a keyframe caption
    frames = [replace(frames[0], detail=PRODUCT), *frames[1:]]
    facts = facts_for(clip, path, merchant=MERCHANT, station="一号打包台", language=language)
    sheet = make_sheet(facts, clip, path, keyframes=frames)
    return sheet.png, sheet.pdf


@NEEDS
def test_chinese_names_extract_back_exactly_from_an_english_sheet(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
) -> None:
    png, pdf = chinese_sheet(recorded, "en")
    text = pdf_text(pdf, tmp_path)
    assert f"{MERCHANT}  ·  station 一号打包台" in text.replace("\n", " ") or MERCHANT in text
    assert MERCHANT in text
    assert PRODUCT in text
    assert "□" not in text
    (tmp_path / "sheet.png").write_bytes(png)


@NEEDS
def test_the_sheet_in_chinese(recorded: Recorded, tmp_path: Path) -> None:  # noqa: F811
    png, pdf = chinese_sheet(recorded, "zh-CN")
    text = pdf_text(pdf, tmp_path)
    clip = recorded.clips[0]
    for words in (
        "装箱证据单",
        f"装箱证据 — 订单 {clip.order_id}",
        "订单",
        "运单",
        "商家",
        "完整性",
        "封存片段的关键帧",
        "验证摘要",
        MERCHANT,
        PRODUCT,
        "已封存",
    ):
        assert words in text, words
    # the wrapped disclaimer, re-wrapped in Chinese, reads back whole
    assert "本单只是摘要，本身不能证明任何事。" in text.replace("\n", "")
    assert "This sheet is a summary" not in text
    assert "□" not in text
    shots = Path("/work/notes/shots")
    if shots.is_dir():  # the development machine: keep it to look at
        (shots / "sheet-zh-CN.png").write_bytes(png)
        (shots / "sheet-zh-CN.pdf").write_bytes(pdf)


def test_without_a_cjk_font_the_sheet_says_so(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sheet_fonts, "CJK_DIRS", (tmp_path / "no-fonts",))
    _, pdf = chinese_sheet(recorded, "en")
    if shutil.which("pdftotext"):
        text = pdf_text(pdf, tmp_path).replace("\n", " ")
        assert "□□□□□□□" in text  # the merchant, visibly not drawn
        assert "no font for" in text
        assert "fonts-noto-cjk" in text


def test_an_unknown_language_is_a_caller_mistake(recorded: Recorded) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="zh-CN"):
        chinese_sheet(recorded, "fr")


@NEEDS
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_sheet_says_the_footage_was_an_imported_file(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
    language: str,
) -> None:
    # A file imported with a chosen time looks like a camera's footage on the keyframes:
    # the sheet names the source from the signed entry, in amber when it is not live.
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    imported = FootageSource("file", name="packing.mp4", sha256="ab" * 32)
    facts = facts_for(
        clip,
        path,
        source=describe_source(imported),
        source_live=False,
        language=language,
    )
    sheet = make_sheet(facts, clip, path)
    text = pdf_text(sheet.pdf, tmp_path).replace("\n", " ")
    if language == "en":
        assert "FILMED BY" in text
        assert f"imported file packing.mp4 sha256 {'ab' * 32}: NOT live" in text
    else:
        assert "拍摄来源" in text
        assert f"导入的文件 packing.mp4 sha256 {'ab' * 32}：非现场拍摄" in text.replace(" ", " ")
    shots = Path("/work/notes/shots")
    if shots.is_dir():
        (shots / f"sheet-source-file-{language}.png").write_bytes(sheet.png)


def test_chinese_paragraphs_fill_their_lines_inside_their_box() -> None:
    """The derived-copy note and the footer in zh-CN break between characters, fill
    their lines, and stay inside the note's box (the same inset right as left)."""
    facts = SheetFacts(
        merchant=MERCHANT,
        station="一号打包台",
        origin="packseal.local/test/station-01",
        order_id="SO-1",
        tracking_ids=(),
        clip_id="01J",
        status="sealed",
        end_reason="stop",
        start_ms=1_764_000_000_000,
        end_ms=1_764_000_020_000,
        zone=dt.UTC,
        clip_sha256="ab" * 32,
        entry_hash="cd" * 32,
        log_index=1,
        checkpoint_size=2,
        checkpoint_root="Zm9v",
        derived_from="ef" * 32,
        qr_payload="packseal-bundle/v1",
        language="zh-CN",
    )
    ops = _localize(_layout(facts, []), "zh-CN")
    box = next(op for op in ops if isinstance(op, _Rect) and op.fill == AMBER_BG)
    note = [op for op in ops if isinstance(op, _Text) and op.color == AMBER and op.y > box.y]
    footer = [op for op in ops if isinstance(op, _Text) and op.size == 7 and op.color == MUTED]
    assert note[0].text.startswith("派生副本。")
    assert len(note) == 2
    assert footer[0].text.startswith("本单只是摘要")
    for lines, right in ((note, box.x + box.w - (note[0].x - box.x)), (footer, PAGE_W - MARGIN)):
        room = right - lines[0].x
        for op in lines:
            assert op.x + _width(op.text, op.font, op.size) <= right + 1e-6, op.text
        for op in lines[:-1]:  # before: a line stopped before "sha256" at half its width
            assert _width(op.text, op.font, op.size) > 0.9 * room, op.text
