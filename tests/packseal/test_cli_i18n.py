"""The CLI's own messages in zh-CN (issue 13 item 12): every text it writes through
:func:`packseal._cli.words` has a translation, the language comes from the settings file
else the locale, and the everyday commands leave no English prose around the facts."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from packseal import _cli
from packseal._zh_cn import ZH_CN
from packseal.cli import main
from storage.entries import CLIP_STATUSES, END_REASONS
from tests.recording import Recording, copy_store
from tests.verifier.conftest import recording  # noqa: F401  (the session's recording)
from tests.zh_said import leftover_english
from verifier.audit import CHECKS as AUDIT_CHECKS
from verifier.verify import CHECKS

PACKAGE = Path(_cli.__file__).parent
PLACEHOLDER = re.compile(r"\{\w*\}")
ZH_CONFIG = "merchant: {name: Test Shop, id: test}\nui: {language: zh-CN}\n"


def cli_ids() -> list[str]:
    """Every constant text the CLI modules pass to ``w(...)`` or ``words()(...)``."""
    ids = []
    for path in [*PACKAGE.glob("_cli*.py"), PACKAGE / "runner.py", PACKAGE / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            named = isinstance(f, ast.Name) and f.id == "w"
            called = isinstance(f, ast.Call) and isinstance(f.func, ast.Name)
            if not (named or (called and f.func.id == "words")):  # type: ignore[union-attr]
                continue
            ids += _texts(node.args[0])
    return ids


def _texts(arg: ast.expr) -> list[str]:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):  # w("a" if x else "b")
        return _texts(arg.body) + _texts(arg.orelse)
    return []


def test_every_text_the_cli_writes_has_a_chinese_translation() -> None:
    ids = cli_ids()
    ids += [*CHECKS, *CLIP_STATUSES, *END_REASONS]
    ids += [f"[{check}]" for check in AUDIT_CHECKS]  # a finding's tag in `packseal audit`
    ids += ["STARTING", "IDLE", "RECORDING", "ALARM", "STOPPED"]  # runner.status_text
    ids += ["exporting", "auditing", "replaying", "verifying"]  # progress bars
    assert len(ids) > 100
    missing = sorted({i for i in ids if i not in ZH_CN})
    assert missing == []
    for english in ids:
        chinese = ZH_CN[english]
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(chinese))


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        (ZH_CONFIG, {}, "zh-CN"),
        ("ui: {language: en}\n", {"LANG": "zh_CN.UTF-8"}, "en"),  # the file says otherwise
        ("merchant: {name: X}\n", {"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ("merchant: {name: X}\n", {"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional: not ours
        ("merchant: {name: X}\n", {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_MESSAGES": "zh_SG.UTF-8"}, "zh-CN"),  # no settings file at all
        (None, {}, "en"),
        ("ui: {language: fr}\n", {"LANG": "zh_CN.UTF-8"}, "en"),  # unreadable: English
    ],
)
def test_the_language_is_the_settings_else_the_locale(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: str | None,
    env: dict[str, str],
    expected: str,
) -> None:
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "PACKSEAL_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    if config is not None:
        (tmp_path / "config.yaml").write_text(config)
    assert _cli.Lazy(None, None).language == expected


def test_everyday_commands_speak_chinese(
    recording: Recording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy_store(recording.data_dir, tmp_path / "data")
    (tmp_path / "config.yaml").write_text(ZH_CONFIG)
    monkeypatch.chdir(tmp_path)
    clip = recording.app.store.clips()[0]
    assert main(["export", clip.clip_id, "-o", "b.zip"]) == 0
    (tmp_path / "trust.json").write_bytes(recording.app.trust_file().to_bytes())
    exported = capsys.readouterr().out
    assert "已写入 b.zip" in exported
    assert main(["verify", "b.zip", "--trust", "trust.json"]) == 0
    verified = capsys.readouterr().out
    assert verified.startswith(f"已验证：订单 {clip.order_id} 于工位 ")
    assert "  ✓ 来源" in verified
    assert "  拍摄来源    演示场景 demo:1：合成画面，不是摄像头" in verified
    assert main(["audit", "--no-hash"]) == 0
    audited = capsys.readouterr().out
    assert audited.startswith("存储无问题：")
    for output in (exported, verified, audited):
        assert leftover_english(output) == []
    # machines read --json: its keys and values stay as documented, in English
    assert main(["verify", "b.zip", "--trust", "trust.json", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"].startswith("VERIFIED: order ")
    # an error the library raised, with its hint
    assert main(["export", clip.clip_id, "-o", "b.zip"]) == 2
    assert capsys.readouterr().err == (
        "错误：b.zip 已存在\n提示：请换一个 -o，或加 --force 覆盖它\n"
    )


def test_the_status_line_speaks_chinese_alarms_included() -> None:
    from packseal._cli import Words
    from packseal.runner import status_text
    from recorder.status import StationStatus

    status = StationStatus(
        state="alarm",
        now_ms=0,
        order_id=None,
        clip_started=None,
        tracking_ids=(),
        alarms=("camera lost: /dev/video0 stopped delivering frames",),
        alarm_kinds=("source-lost",),
        last_scan=None,
        recent=(),
        frames_captured=0,
        frames_encoded=0,
        frames_dropped=2,
        fps=29.5,
        segments_sealed=3,
        clips_opened=1,
        clips_sealed=1,
        alarm_count=1,
        log_size=9,
    )
    english = status_text(status).plain
    assert english.startswith(" ALARM camera lost: /dev/video0 stopped delivering frames ")
    assert "drops 2  segments 3  clips 1  last scan -" in english
    chinese = status_text(status, Words("zh-CN")).plain
    lost = ZH_CN["camera lost: {0}"].format("/dev/video0 stopped delivering frames")
    assert chinese.startswith(f" 警报 {lost} ")
    assert "丢帧 2  分段 3  片段 1  最近扫码 -" in chinese


def test_the_checker_of_chinese_failures_catches_what_it_must() -> None:
    from packseal import i18n
    from tests.zh_said import chinese_problems

    member = "member 'sheet.png': sha256 differs from SHA256SUMS (changed after export)"
    assert chinese_problems(member) == []
    assert i18n.said(member, "en") == member  # English stays as made
    # no pattern knows it
    assert chinese_problems("the flux capacitor is off")[0].startswith("no translation")
    # a translation that lost a fact, or left English around the facts
    lost = "成员 'sheet.png'：sha256 不符"
    english = "成员 'sheet.png'：sha256 与 SHA256SUMS differs"
    for wrong, problem in ((lost, "fact"), (english, "English left")):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("tests.zh_said.said", lambda text, language, w=wrong: w)
            assert chinese_problems(member)[0].startswith(problem)
    # several problems in one failed check: each one is translated, the count kept
    several = "member 'a.txt' is missing (and 2 more: member 'b.txt' is missing; …)"
    assert i18n.said(several, "zh-CN") == "缺少成员 'a.txt'（另有 2 项：缺少成员 'b.txt'；…）"


def test_a_failed_verify_speaks_chinese_end_to_end(
    recording: Recording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What a reviewer reads when a bundle was tampered with, as `packseal verify` prints
    it in zh-CN: the verdict, the failing check, its expected and found, facts kept."""
    from tests.verifier.attacks_bundle import edit

    copy_store(recording.data_dir, tmp_path / "data")
    (tmp_path / "config.yaml").write_text(ZH_CONFIG)
    monkeypatch.chdir(tmp_path)
    clip = recording.app.store.clips()[0]
    assert main(["export", clip.clip_id, "-o", "b.zip"]) == 0
    (tmp_path / "trust.json").write_bytes(recording.app.trust_file().to_bytes())

    def cut(members: dict[str, bytes]) -> None:  # a forger who re-computes the checksums
        video = bytearray(members["clip.mp4"])
        video[-50] ^= 1  # inside the last fragment's media data
        members["clip.mp4"] = bytes(video)

    edit(tmp_path / "b.zip", cut)
    capsys.readouterr()
    assert main(["verify", "b.zip", "--trust", "trust.json"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("未通过验证：1 项检查失败（媒体）\n"), out
    assert "  ✗ 媒体" in out
    assert "期望：" in out
    assert "实际：" in out
    assert leftover_english(out) == []


# The audit's warnings and notes no attack vector makes (the vectors make errors), in the
# words of verifier/_audit*.py.
AUDIT_NOTES = [
    "no trusted merchant root given: station-key certifications were checked against the "
    "root each entry names, not against the merchant's published root",
    "entry 0: the certified station key packseal.local/x+1a2b3c4d+AQQH is not one of the log "
    "keys the audit was given",
    "entry 9: segment 7 starts 1.5 s before segment 6 ends (the station clock went back?)",
    "entry 12: 31.0 s without footage after segment 8, from 2026-11-18T11:07:20.000Z: "
    "camera-lost (/dev/video0 stopped delivering frames)",
    "entry 3: 4.0 s without footage, from 2026-11-18T11:07:20.000Z: crash",
    "the log is consistent with the saved checkpoint at size 18 (consistency proof to the "
    "signed checkpoint at size 44 verified)",
    "the saved checkpoint at size 18: the log's root at that size cannot be recomputed "
    "(entries are missing)",
    "the saved checkpoint at size 18 has root 0b74a8780c420ce9…, the log's entries give "
    "d0a5201463985e1c…: entries before 18 were rewritten",
    "entry 40: segments 0..12 purged at 2026-11-18T11:07:20.000Z by policy 'retention 30 d'",
    "entry 41: segment 13 purged at 2026-11-18T11:07:20.000Z by policy 'retention 30 d'",
    "3 purged segment(s) still have their media on disk (an interrupted purge: `packseal "
    "purge` deletes them)",
    "2 segment(s) were purged by a retention run logged after this audit's snapshot",
]


@pytest.mark.parametrize("note", AUDIT_NOTES)
def test_the_audits_warnings_and_notes_speak_chinese(note: str) -> None:
    from tests.zh_said import chinese_problems

    assert chinese_problems(note) == []


def test_a_tampered_store_audited_in_chinese_end_to_end(
    recording: Recording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`packseal audit` in zh-CN on a store whose media was changed on disk: the finding and
    the clip it affects in Chinese, the hashes kept."""
    data = copy_store(recording.data_dir, tmp_path / "data")
    (tmp_path / "config.yaml").write_text(ZH_CONFIG)
    monkeypatch.chdir(tmp_path)
    blob = sorted(p for p in (data / "blobs").rglob("*") if p.is_file())[4]
    changed = bytearray(blob.read_bytes())
    changed[len(changed) // 2] ^= 1
    blob.write_bytes(bytes(changed))
    assert main(["audit"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("发现问题：1 错误"), out
    assert "：其磁盘上的内容已改变\n" in out
    # a segment in the overlap of two orders' clips affects both: each is named in Chinese
    assert re.search(r"\n      影响 订单 \S+（片段 \w+）(、订单 \S+（片段 \w+）)*\n", out), out
    assert leftover_english(out) == []


def test_the_status_line_shows_each_views_health() -> None:
    from dataclasses import replace

    from packseal._cli import Words
    from packseal.runner import status_text
    from recorder.status import StationStatus, ViewStatus

    top = ViewStatus(
        "top",
        True,
        True,
        "encode",
        1280,
        720,
        None,
        900,
        900,
        2,
        29.9,
    )
    side = replace(top, view="side", primary=False, lost="camera side: unplugged")
    status = StationStatus(
        state="recording",
        now_ms=0,
        order_id=None,
        clip_started=None,
        tracking_ids=(),
        alarms=(),
        alarm_kinds=(),
        last_scan=None,
        recent=(),
        frames_captured=1800,
        frames_encoded=1800,
        frames_dropped=2,
        fps=29.9,
        segments_sealed=3,
        clips_opened=0,
        clips_sealed=0,
        alarm_count=0,
        log_size=9,
        views=(top, side),
    )
    assert status_text(status).plain.endswith("last scan -  top drops 2  side camera lost")
    chinese = status_text(status, Words("zh-CN")).plain
    assert chinese.endswith("最近扫码 -  top 丢帧 2  side 摄像头断开")
    # one camera: the line is as before
    assert status_text(replace(status, views=(top,))).plain.endswith("last scan -")
