"""The evidence sheet's words in other languages (``SheetFacts.language``).

The page is laid out in English (sheet.py); :func:`translate` maps each English text the
layout draws to its translation, by exact match or by pattern for texts that carry
facts (an order id, a hash, a date). The facts themselves (ids, names, scanned texts,
hashes, times) are never translated. A text with no entry stays English, so a new label
shows up untranslated rather than missing; the sheet tests list the words they expect.

A small typed table rather than gettext catalogs: the sheet has ~50 texts, two languages,
and lives in ``verifier`` (which must not import the ``packseal`` face); a table needs
no build step and is checked by mypy and the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["LANGUAGES", "PARAGRAPHS", "translate"]

LANGUAGES = ("en", "zh-CN")

_STATUS = {"sealed": "已封存", "cancelled": "已取消", "interrupted": "中断"}
_REASON = {
    "stop": "停止码",
    "cancel": "取消码",
    "next-order": "下一个订单",
    "rescan": "再次扫描订单",
    "idle": "无动作超时",
    "max-length": "达到最长时长",
    "shutdown": "工位关闭",
    "source-lost": "摄像头断开",
    "encoder-died": "编码器停止",
    "crash": "崩溃后恢复",
}
_MONTHS = (
    {
        name: n
        for n, name in enumerate(
            ("January", "February", "March", "April", "May", "June", "July"), start=1
        )
    }
    | {name: n for n, name in enumerate(("August", "September", "October"), start=8)}
    | {
        "November": 11,
        "December": 12,
    }
)

_ZH_EXACT = {
    "PACKSEAL  ·  PACKING EVIDENCE SHEET": "PACKSEAL  ·  装箱证据单",
    "DERIVED COPY": "派生副本",
    "SEALED CLIP": "已封存片段",
    "CANCELLED CLIP": "已取消片段",
    "INTERRUPTED CLIP": "中断的片段",
    "ORDER": "订单",
    "TRACKING": "运单",
    "MERCHANT": "商家",
    "STATION": "工位",
    "STATUS": "状态",
    "START": "开始",
    "END": "结束",
    "START UTC": "开始 UTC",
    "END UTC": "结束 UTC",
    "DURATION": "时长",
    "FILMED BY": "拍摄来源",
    "not recorded (sealed before packseal recorded footage sources)": (
        "未记录（封存于 packseal 记录画面来源之前）"
    ),
    "none scanned": "未扫描",
    "INTEGRITY": "完整性",
    "CLIP SHA-256": "片段 SHA-256",
    "COPY SHA-256": "副本 SHA-256",
    "ENTRY HASH": "条目哈希",
    "CHECKPOINT": "检查点",
    "LOG": "日志",
    "CLIP ID": "片段 ID",
    "verification summary": "验证摘要",
    "To verify:": "验证：",
    "Verifier:": "验证工具：",
    "KEYFRAMES FROM THE SEALED CLIP": "封存片段的关键帧",
    "KEYFRAMES FROM BOTH SEALED VIEWS": "两个封存视角的关键帧",
    "Order scan": "扫描订单",
    "Waybill scan": "扫描运单",
    "Product scan": "扫描商品",
    "Control scan": "扫描控制码",
    "Last frame": "最后一帧",
    "First frame": "第一帧",
    "Packing": "装箱中",
    # Why a keyframe's burned-in caption is not this order's (verifier/frames.py)
    "caption not yet switched to this order": "画面字幕尚未切换到本订单",
    "burned-in caption does not read as this order": "画面字幕读不出本订单",
    "pre-roll, before this order": "预录：本订单之前",
    "post-roll, after this order": "后录：本订单之后",
}


def _zh_subtitle(m: re.Match[str]) -> str:
    merchant, station, day, month, year = m.groups()
    return f"{merchant}  ·  工位 {station}  ·  {year}年{_MONTHS.get(month, 0)}月{int(day)}日"


_ZH_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Packing evidence — order (.+)"), r"装箱证据 — 订单 \1"),
    (re.compile(r"(.*)  ·  station (.*)  ·  (\d\d) ([A-Z][a-z]+) (\d{4})"), _zh_subtitle),
    (
        re.compile(r"(sealed|cancelled|interrupted), closed by ([a-z-]+)"),
        lambda m: f"{_STATUS[m[1]]}，结束原因：{_REASON.get(m[2], m[2])}",
    ),
    (re.compile(r"size (\d+)  ·  root (\S+)"), r"大小 \1  ·  根 \2"),
    (re.compile(r"VIEW (\S+) SHA-256"), r"视角 \1 SHA-256"),
    # storage.footage labels (the facts in them stay as they are)
    (re.compile(r"live camera (\S+) \(no identity reported\)"), r"现场摄像头 \1（未报告型号）"),
    (re.compile(r"live camera (\S+) \((.*)\)"), r"现场摄像头 \1（\2）"),
    (re.compile(r"live network camera \(RTSP\) at (\S+)"), r"现场网络摄像头（RTSP）\1"),
    (re.compile(r"live network camera \(HTTP MJPEG\) at (\S+)"), r"现场网络摄像头（HTTP MJPEG）\1"),
    (
        re.compile(r"demo scene (\S+): synthetic footage, NOT a camera"),
        r"演示场景 \1：合成画面，不是摄像头",
    ),
    (re.compile(r"(.+)  ·  entry (\d+)"), r"\1  ·  第 \2 条"),
    (re.compile(r"(\d+\.\d) s"), r"\1 秒"),
    (re.compile(r"(\d+:\d\d) min"), r"\1 分"),
    (
        re.compile(r"local time (.+), \+ seconds from the clip start  ·  green boxes: codes read"),
        r"当地时间 \1，+ 为距片段开始的秒数  ·  绿框：读到的条码",
    ),
    (
        re.compile(r"local time (.+)  ·  green boxes: codes read"),
        r"当地时间 \1  ·  绿框：读到的条码",
    ),
    (re.compile(r"local time (.+)"), r"当地时间 \1"),
    # A two-view sheet's note (the view names are the station's config, not translated)
    (
        re.compile(
            r"left: view (\S+), right: view (\S+)  ·  local time (.+), \+ seconds from "
            r"the clip start"
        ),
        r"左：视角 \1，右：视角 \2  ·  当地时间 \3，+ 为距片段开始的秒数",
    ),
    (
        re.compile(r"left: view (\S+), right: view (\S+)  ·  local time (.+)"),
        r"左：视角 \1，右：视角 \2  ·  当地时间 \3",
    ),
    (re.compile(r"left: view (\S+), right: view (\S+)"), r"左：视角 \1，右：视角 \2"),
    (re.compile(r"([A-Z0-9-]+) VIEW"), r"视角 \1"),  # a further camera's footage source
    (
        re.compile(r"pip install packseal  or, in a browser: (.+)"),
        r"pip install packseal  或在浏览器中打开：\1",
    ),
]

# Paragraphs the layout wraps over several lines: matched on the joined lines, re-wrapped.
PARAGRAPHS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "zh-CN": [
        (  # storage.footage's label of an imported file: two lines with its hash
            re.compile(
                r"imported file (.*) sha256 ([0-9a-f]{64}): NOT live, its times were chosen "
                r"when it was imported"
            ),
            r"导入的文件 \1 sha256 \2：非现场拍摄，时间是导入时设定的",
        ),
        (
            re.compile(
                r"This sheet is a summary and proves nothing on its own\. The evidence is the "
                r"bundle \(the sealed clip, its signed log entry and inclusion proof\) verified "
                r"against the trust file obtained from the merchant, never from the bundle\."
            ),
            "本单只是摘要，本身不能证明任何事。证据是证据包（封存的片段、其签名日志条目和"
            "包含证明），并须用从商家处取得的信任文件验证，绝不能用证据包里自带的。",
        ),
        (
            re.compile(
                r"Derived copy\. The video this sheet accompanies was re-encoded from the "
                r"sealed clip \(sha256 ([0-9a-f]+)\) to fit an upload limit\. Its hash cannot "
                r"match the log: the sealed clip in the evidence bundle is what verifies\."
            ),
            r"派生副本。本单所附视频由封存片段（sha256 \1）重新编码，以符合上传大小限制。"
            r"它的哈希不可能与日志一致：能通过验证的是证据包中的封存片段。",
        ),
    ],
}


def translate(text: str, language: str) -> str | None:
    """``text`` in ``language``, or ``None`` if the table has no entry for it."""
    if language != "zh-CN":
        return None
    if text in _ZH_EXACT:
        return _ZH_EXACT[text]
    for pattern, replacement in _ZH_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement) if isinstance(replacement, str) else replacement(m)
    return None
