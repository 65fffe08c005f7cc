"""Simplified Chinese for texts the library makes and the CLI shows: verify's checks and
verdict, everyday errors and their hints (see :func:`packseal.i18n.said`).

Each pattern matches a whole text; the facts in it (ids, hashes, times, paths, numbers)
are carried over by group. A text no pattern matches is shown in English, as made.
"""

# ruff: noqa: E501  (a table of texts: a translation is not split to fit a line)
from __future__ import annotations

import re
from collections.abc import Callable

from packseal._zh_cn import ZH_CN
from packseal._zh_cn_failed import failed_zh

__all__ = ["ZH_CN_SAID"]

Replacement = str | Callable[[re.Match[str]], str]

_STATUS = {"sealed": "已封存", "cancelled": "已取消", "interrupted": "中断"}


def _verified(m: re.Match[str]) -> str:
    excerpt, order, status, station, start, end, secs, origin, index, anchored = m.groups()
    part = ""
    if excerpt:
        first, last, of = re.findall(r"\d+", excerpt)
        part = f"（节选：第 {first}..{last} 段，共 {of} 段）"
    state = ""
    if status:
        kind, reason = status.strip(" ()").split(": ", 1)
        state = f"（{_STATUS.get(kind, kind)}：{reason}）"
    anchor = ""
    if anchored:
        when, tsa = re.fullmatch(r"; existed before (\S+) per (.+)", anchored).groups()  # type: ignore[union-attr]
        anchor = f"；据 {tsa}，存在于 {when} 之前"
    return (
        f"已验证{part}：订单 {order}{state} 于工位 {station} 装箱，{start} 至 {end}，{secs} 秒，"
        f"封存于日志 {origin} 第 {index} 条{anchor}"
    )


def _media(m: re.Match[str]) -> str:
    _, n, first, last, of, moved, tracks, name, member = m.groups()
    what = f"全部 {n} 段" if n else f"节选：第 {first}..{last} 段，共 {of} 段"
    back = ""
    if moved:
        tracks = re.sub(r"track (\d+) \+(\d+)", r"轨道 \1 +\2", tracks)
        tracks = re.sub(r"empty edit (\d+)", r"空编辑 \1", tracks)
        back = f"（解码时间已还原为录制时的位置：{tracks}；{name} 从 0 开始播放）"
    return f"{what}；初始化段和每个片段都与签名条目一致{back}、顺序正确，{member} 中没有其他内容"


# A clip filmed by several cameras: a check's text is one part per view, "; "-joined
# (verifier/_media.py, verifier/verify.py); each part is a text of one view.
_MEDIA_VIEW = re.compile(r"; (?=[a-z0-9][a-z0-9-]* \(clip(?:\.[a-z0-9-]+)?\.mp4\): )")
_TIMELINE_VIEW = re.compile(r"; (?=view [a-z0-9][a-z0-9-]*: )")


def _one(text: str) -> str:
    """One view's part, translated as a whole text (English when no pattern knows it)."""
    for pattern, replacement in ZH_CN_SAID:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement) if isinstance(replacement, str) else replacement(m)
    return failed_zh(text) or text


def _media_views(m: re.Match[str]) -> str:
    parts = []
    for part in _MEDIA_VIEW.split(m[2]):
        name, member, rest = re.fullmatch(r"(\S+) \((\S+)\): (.*)", part, re.DOTALL).groups()  # type: ignore[union-attr]
        parts.append(f"'{name}'（{member}）：{_one(rest)}")
    return f"{m[1]} 个视角；" + "；".join(parts)


def _timeline_views(m: re.Match[str]) -> str:
    parts = []
    for part in _TIMELINE_VIEW.split(m[0]):
        name, rest = re.fullmatch(r"view (\S+): (.*)", part, re.DOTALL).groups()  # type: ignore[union-attr]
        parts.append(f"视角 '{name}'：{_one(rest)}")
    return "；".join(parts)


def _cited(text: str) -> str:
    if text == "cites no packing frame (the product was not found in the footage)":
        return "未引用任何装箱画面（在视频中没有找到该商品）"
    m = re.fullmatch(
        r"cites (\d+) packing frame\(s\), each in a segment of this clip's signed entry \((.+)\)",
        text,
    )
    if m is None:
        return text
    cited = re.sub(r"photo (\d+): segment (\d+)/(\d+)", r"照片 \1：第 \2/\3 段", m[2])
    return f"引用了 {m[1]} 个装箱画面，每个都在此片段签名条目的某一段中（{cited}）"


ZH_CN_SAID: list[tuple[re.Pattern[str], Replacement]] = [
    # -- verify: verdicts ------------------------------------------------------------------
    (
        re.compile(
            r"VERIFIED( \(excerpt: segments \d+\.\.\d+ of \d+\))?: order (.+?)( \((?:cancelled|interrupted): [a-z-]+\))? "
            r"packed at station (.+), (\S+) to (\S+), ([\d.]+) s, sealed in log (\S+) at index (\d+)(; existed before .+)?"
        ),
        _verified,
    ),
    (
        re.compile(r"NOT VERIFIED: (\d+) check\(s\) failed \((.+)\)"),
        lambda m: (
            f"未通过验证：{m[1]} 项检查失败（"
            + "、".join(ZH_CN.get(name, name) for name in m[2].split(", "))
            + "）"
        ),
    ),
    (
        re.compile(
            r"NOT VERIFIED: the video is a derived copy — not the sealed bytes \(the entry and proofs of order (.+), clip (\S+), verified\)"
        ),
        r"未通过验证：视频是派生副本，不是封存的原始字节（订单 \1、片段 \2 的条目和证明已验证）",
    ),
    (re.compile(r"NOT VERIFIED: not checked: (.+)"), r"未通过验证：未检查：\1"),
    # -- verify: the checks when they pass --------------------------------------------------
    (
        re.compile(r"(\d+) members, safe to read; their hashes match SHA256SUMS and the manifest"),
        r"\1 个成员，可安全读取；哈希与 SHA256SUMS 和清单一致",
    ),
    (
        re.compile(
            r"(all (\d+) segments|excerpt: segments (\d+)\.\.(\d+) of (\d+)); the init section and "
            r"every fragment match the signed entry( \(with their decode times put back where the "
            r"recording had them: (.+); (\S+) plays from 0\))?, in order, and nothing else is in (\S+)"
        ),
        _media,
    ),
    (re.compile(r"(\d+) views; (.+)", re.DOTALL), _media_views),
    (re.compile(r"view [a-z0-9][a-z0-9-]*: .+", re.DOTALL), _timeline_views),
    (
        re.compile(r"(\d+) segment\(s\), contiguous: (\S+) to (\S+) \(([\d.]+) s\)"),
        r"\1 段，连续：\2 至 \3（\4 秒）",
    ),
    (
        re.compile(
            r"clip signed by station (.+)'s key (\S+), certified by the trusted merchant root (\S+) \((.*)\)"
        ),
        r"片段由工位 \1 的密钥 \2 签名，该密钥由受信任的商家根密钥 \3（\4）认证",
    ),
    (
        re.compile(
            r"clip entry \(index (\d+)\) and station key \(index (\d+)\) lead to the same checkpoint of size (\d+) of log (\S+), signed by the trusted log key"
        ),
        r"片段条目（第 \1 条）和工位密钥（第 \2 条）指向日志 \4 的同一个大小为 \3 的检查点，由受信任的日志密钥签名",
    ),
    (
        re.compile(
            r"clip entry \(index (\d+)\) and station key \(index (\d+)\) lead to checkpoints of size (\d+) and (\d+) of log (\S+), signed by the trusted log key"
        ),
        r"片段条目（第 \1 条）和工位密钥（第 \2 条）指向日志 \5 大小为 \3 和 \4 的检查点，由受信任的日志密钥签名",
    ),
    (re.compile(r"no trusted time-stamp required by the trust file"), "信任文件不要求可信时间戳"),
    (
        re.compile(
            r"this clip existed before (\S+) per (.+) \(RFC 3161 time-stamp of checkpoint size (\d+)\); its footage \((\S+) to (\S+)\) and its sealing \((\S+)\) by the station clock are before it"
        ),
        r"据「\2」，此片段存在于 \1 之前（检查点大小 \3 的 RFC 3161 时间戳）；按工位时钟，其画面（\4 至 \5）和封存（\6）都在此之前",
    ),
    (
        re.compile(
            r"checkpoint size (\d+) cosigned by (\d+) of (\d+) witnesses \((\d+) required\): (.+); each saw no conflicting history of the log"
        ),
        lambda m: (
            f"检查点大小 {m[1]}，由 {m[3]} 个见证者中的 {m[2]} 个联署（要求 {m[4]} 个）："
            + re.sub(r" at (\S+)", r" 于 \1", m[5])
            + "；每个见证者都未见到与日志冲突的历史"
        ),
    ),
    (re.compile(r"no cosignature required; cosigned by: (.+)"), r"不要求联署；联署者：\1"),
    (
        re.compile(
            r"(\S+) carries Content Credentials signed by (.+) \((.+)\), Trusted under the trust file's C2PA CA; its packseal assertion is this entry and checkpoint, and without its manifest box it is clip\.mp4 byte for byte"
        ),
        r"\1 带有由「\2」（「\3」）签名的 C2PA 内容凭证，在信任文件的 C2PA CA 下为 Trusted；其 packseal 断言就是此条目和检查点，去掉清单 box 后与 clip.mp4 逐字节相同",
    ),
    (re.compile(r"no witness cosignature required by the trust file"), "信任文件不要求见证者联署"),
    (re.compile(r"no witness cosignature required"), "不要求见证者联署"),
    # -- verify: the claim section (verifier/_claim_section.py) -----------------------------
    (re.compile(r"no claim report in the bundle"), "证据包中没有索赔核查报告"),
    (
        re.compile(
            r"included; a report, not evidence by itself: (\S+) of (\d+) buyer photo\(s\) \(not in the bundle; their SHA-256 are in it\) (.+)"
        ),
        lambda m: (
            f"已包含；这是一份报告，本身不是证据：{m[1]}，涉及 {m[2]} 张买家照片（照片不在证据包中；"
            f"报告中有它们的 SHA-256），{_cited(m[3])}"
        ),
    ),
    (
        re.compile(r"no Content Credentials required by the trust file"),
        "信任文件不要求 C2PA 内容凭证",
    ),
    (
        re.compile(
            r"order (.+), tracking (.+), station (.+), (\S+) to (\S+) \(([\d.]+) s\), clip (\S+) \(([a-z]+), ([a-z-]+)\); the README agrees, (.+) \(neither is evidence by itself: what the checks above prove is\)"
        ),
        lambda m: (
            f"订单 {m[1]}，运单 {m[2]}，工位 {m[3]}，{m[4]} 至 {m[5]}（{m[6]} 秒），片段 {m[7]}"
            f"（{_STATUS.get(m[8], m[8])}，{m[9]}）；README 一致，"
            + {
                "the sheet's QR code agrees": "证据单的二维码一致",
                "sheet.png has no readable QR code: what the sheet shows was NOT checked": "sheet.png 没有可读的二维码：证据单内容未经检查",
            }.get(m[10], m[10])
            + "（二者本身都不是证据：以上检查所证明的才是）"
        ),
    ),
    # -- verify: where the footage came from (storage.footage) ------------------------------
    (
        re.compile(r"(.+) \(the trust file does not require live footage\)"),
        lambda m: f"{_source(m[1])}（信任文件不要求现场拍摄）",
    ),
    (
        re.compile(
            r"the trust file requires live footage \(a camera or an RTSP stream\); this clip's footage is from: (.+)"
        ),
        lambda m: (
            f"信任文件要求现场拍摄的画面（摄像头或 RTSP 视频流）；此片段的画面来自：{_source(m[1])}"
        ),
    ),
    (
        re.compile(
            r"(live camera .+|live network camera .+|imported file .+|demo scene .+|not recorded \(.+\))"
        ),
        lambda m: _source(m[1]),
    ),
    (re.compile(r"not checked: (.+)"), lambda m: f"未检查：{failed_zh(m[1]) or m[1]}"),
    # -- everyday errors and hints ----------------------------------------------------------
    (re.compile(r"(\S+) already exists"), r"\1 已存在"),
    (
        re.compile(r"choose another -o, or pass --force to replace it"),
        "请换一个 -o，或加 --force 覆盖它",
    ),
    (re.compile(r"trust file (.+) does not exist"), r"信任文件 \1 不存在"),
    (
        re.compile(
            r"the merchant publishes it \(`packseal keys trust > trust\.json` on their store\); pass that file with --trust"
        ),
        "信任文件由商家发布（在其存储上运行 `packseal keys trust > trust.json`）；用 --trust 指定该文件",
    ),
    (
        re.compile(r"no clip of order or clip id (.+) in this store"),
        r"本存储中没有订单或片段 ID 为 \1 的片段",
    ),
    (re.compile(r"no clip of order (.+) in this store"), r"本存储中没有订单 \1 的片段"),
    (
        re.compile(r"each failed check says what was expected and what was found"),
        "每项失败的检查都写明了期望值和实际值",
    ),
    (
        re.compile(
            r"ask the merchant for the bundle of the sealed clip \(exported without --max-size\)"
        ),
        "请向商家索取封存片段的证据包（导出时不加 --max-size）",
    ),
    (
        re.compile(r"(.+) is not a packseal bundle: it has no manifest\.json \(members: (.*)\)"),
        r"\1 不是 packseal 证据包：没有 manifest.json（成员：\2）",
    ),
    (
        re.compile(r"a bundle is the \.zip that `packseal export` writes"),
        "证据包是 `packseal export` 写出的 .zip 文件",
    ),
]

_SOURCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"live camera (\S+) \(no identity reported\)"), r"现场摄像头 \1（未报告型号）"),
    (re.compile(r"live camera (\S+) \((.*)\)"), r"现场摄像头 \1（「\2」）"),  # as the camera said
    (re.compile(r"live network camera \(RTSP\) at (\S+)"), r"现场网络摄像头（RTSP）\1"),
    (re.compile(r"live network camera \(HTTP MJPEG\) at (\S+)"), r"现场网络摄像头（HTTP MJPEG）\1"),
    (
        re.compile(
            r"imported file (.*) sha256 ([0-9a-f]{64}): NOT live, its times were chosen when it was imported"
        ),
        r"导入的文件 \1 sha256 \2：非现场拍摄，时间是导入时设定的",
    ),
    (
        re.compile(r"demo scene (\S+): synthetic footage, NOT a camera"),
        r"演示场景 \1：合成画面，不是摄像头",
    ),
    (
        re.compile(r"not recorded \(sealed before packseal recorded footage sources\)"),
        "未记录（封存于 packseal 记录画面来源之前）",
    ),
]


def _source(text: str) -> str:
    for pattern, replacement in _SOURCES:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement)
    return text
