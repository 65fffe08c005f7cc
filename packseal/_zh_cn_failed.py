"""Simplified Chinese for what goes wrong: verify's failing checks (message, expected,
found) and the audit's findings (see :func:`packseal.i18n.said`).

These are the texts a merchant or a reviewer reads when something is wrong, so every
fact in them (ids, hashes, sizes, times, paths, quoted values) is carried over byte for
byte by group. A text made of parts ("entries/clip.proof: <why>", "not checked: <why>")
translates its parts with :func:`failed_zh`. A message a third-party library made (the
JSON parser, OpenSSL, the C2PA validator) is shown as made, in 「」, as a quoted fact.
The attack vectors of ``tests/verifier/attacks*.py`` drive these patterns: each vector's
failure must translate with its facts kept (``tests/verifier/test_attacks.py``).
"""

# ruff: noqa: E501  (a table of texts: a translation is not split to fit a line)
from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["failed_zh"]

Replacement = str | Callable[[re.Match[str]], str]

_KINDS = {
    "clip": "片段",
    "station-key": "工位密钥",
    "segment": "分段",
    "gap": "间隙",
    "purge": "清除",
    "checkpoint": "检查点",
}


def _kind(name: str) -> str:
    return _KINDS.get(name, name)


def _sub(index: int) -> Callable[[re.Match[str]], str]:
    """The translation of one group (a part of the text that is itself a message)."""
    return lambda m: failed_zh(m[index]) or m[index]


def _view_zh(said: str) -> str:
    """An audit finding's "view top" or "the unnamed view", in Chinese."""
    return "未命名的视角" if said == "the unnamed view" else f"视角 '{said.removeprefix('view ')}'"


def _names(listed: str) -> str:
    """View names ("top, side"), quoted: a name a station chose is a fact, not English."""
    return "、".join(f"'{name}'" for name in listed.split(", "))


def _quoted(text: str) -> str:
    return f"「{text}」"


_CLAIMS = {
    "order id": "订单号",
    "clip id": "片段 ID",
    "log origin": "日志来源",
    "log index": "日志序号",
    "station-key index": "工位密钥序号",
    "checkpoint size": "检查点大小",
}
_THING = {"order": "订单", "clip": "片段"}
_GAP_REASONS = {
    "camera-lost": "摄像头断开",
    "encoder-died": "编码器停止",
    "restart": "重启",
    "crash": "崩溃后恢复",
    "disk-full": "磁盘已满",
    "not-recording": "未在录制",
}


def _seqs(text: str) -> str:
    """ "segment 3" / "segments 3..9" (``verifier._audit_media.seqs``) in Chinese."""
    return f"第 {text.split(' ', 1)[1]} 段"


FAILED: list[tuple[re.Pattern[str], Replacement]] = [
    # -- zip ---------------------------------------------------------------------------------
    (re.compile(r"expected one video \(clip\.mp4 or derived\.mp4\), found (\d+)"), r"应有一个视频（clip.mp4 或 derived.mp4），实际有 \1 个"),
    (re.compile(r"member '(.+?)' declares (\d+) bytes, more than the (\d+) a bundle member of its kind may hold"), r"成员 '\1' 声明 \2 字节，超过此类证据包成员的上限 \3 字节"),
    (re.compile(r"member '(.+?)' expands (\d+)x \((\d+) to (\d+) bytes\): a zip bomb"), r"成员 '\1' 解压后膨胀 \2x（\3 字节到 \4 字节）：压缩炸弹"),
    (re.compile(r"member '(.+?)' is encrypted"), r"成员 '\1' 已加密"),
    (re.compile(r"member '(.+?)' is named (.+) in its local header: tools that read local headers would see another file"), r"成员 '\1' 在其本地文件头中名为 \2：读取本地文件头的工具会看到另一个文件"),
    (re.compile(r"member '(.+?)' uses compression method (\d+)"), r"成员 '\1' 使用压缩方法 \2"),
    (re.compile(r"member '(.+?)': its local header offset (\d+) is outside the file"), r"成员 '\1'：本地文件头偏移 \2 超出文件范围"),
    (re.compile(r"member '(.+?)': sha256 differs from SHA256SUMS \(changed after export\)"), r"成员 '\1'：sha256 与 SHA256SUMS 不符（导出后被改动）"),
    (re.compile(r"member '(.+?)': sha256 differs from the manifest \(changed after export\)"), r"成员 '\1'：sha256 与清单不符（导出后被改动）"),
    (re.compile(r"member '(.+?)' appears twice \(as '(.+?)' before\): tools disagree on which copy they read"), r"成员 '\1' 出现两次（之前为 '\2'）：不同工具读取的可能是不同的副本"),
    (re.compile(r"member '(.+?)' is missing"), r"缺少成员 '\1'"),
    (re.compile(r"member '(.+?)' is a symbolic link"), r"成员 '\1' 是符号链接"),
    (re.compile(r"member name '(.+)' climbs out of the bundle with '\.\.' \(path traversal\)"), r"成员名 '\1' 用 '..' 跳出证据包（路径穿越）"),
    (re.compile(r"member name '(.+)' contains a backslash \(a path separator on Windows\)"), r"成员名 '\1' 含反斜杠（Windows 上的路径分隔符）"),
    (re.compile(r"member name '(.+)' is an absolute path"), r"成员名 '\1' 是绝对路径"),
    (re.compile(r"member name '(.+)' starts with a drive letter"), r"成员名 '\1' 以盘符开头"),
    (re.compile(r"the zip has (\d+) members, more than (\d+)"), r"zip 有 \1 个成员，超过 \2 个"),
    (re.compile(r"unexpected member '(.+?)': a trust file inside a bundle is never used \(trust comes only from --trust\); it was ignored"), r"多余的成员 '\1'：证据包内的信任文件从不被使用（信任只来自 --trust）；已忽略"),
    (re.compile(r"unexpected member '(.+?)'"), r"多余的成员 '\1'"),
    (re.compile(r"SHA256SUMS does not list '(.+?)'"), r"SHA256SUMS 未列出 '\1'"),
    (re.compile(r"SHA256SUMS lists '(.+?)', which is not in the bundle"), r"SHA256SUMS 列出了 '\1'，但证据包中没有它"),
    (re.compile(r"the manifest lists an unknown member '(.+?)'"), r"清单列出了未知成员 '\1'"),
    # zip: expected / found
    (re.compile(r"a compression ratio of at most (\d+)"), r"压缩比不超过 \1"),
    (re.compile(r"a plain relative name"), "普通的相对路径名"),
    (re.compile(r"an offset below (\d+)"), r"小于 \1 的偏移"),
    (re.compile(r"at most (\d+) members"), r"不超过 \1 个成员"),
    (re.compile(r"at most (\d+) bytes"), r"不超过 \1 字节"),
    (re.compile(r"each member once"), "每个成员只出现一次"),
    (re.compile(r"no trust file in the bundle"), "证据包中没有信任文件"),
    (re.compile(r"one video"), "一个视频"),
    (re.compile(r"only the bundle format's members"), "只有证据包格式规定的成员"),
    (re.compile(r"plain members"), "未加密的成员"),
    (re.compile(r"regular files"), "普通文件"),
    (re.compile(r"stored \(0\) or deflate \(8\)"), "存储（0）或 deflate（8）"),
    (re.compile(r"'(.+)' twice"), r"'\1' 出现两次"),
    (re.compile(r"(\d+) bytes"), r"\1 字节"),
    (re.compile(r"(\d+) members"), r"\1 个成员"),
    (re.compile(r"a symlink"), "符号链接"),
    (re.compile(r"encrypted"), "已加密"),
    (re.compile(r"method (\d+)"), r"方法 \1"),
    (re.compile(r"nothing"), "无"),
    (re.compile(r"no line"), "没有这一行"),
    # -- media -------------------------------------------------------------------------------
    (re.compile(r"view ([a-z0-9][a-z0-9-]*) \((\S+)\): the view's video is missing from the bundle \(the signed entry names view (\S+)\)"), r"视角 '\1'（\2）：证据包中缺少该视角的视频（签名条目列有视角 '\3'）"),
    (re.compile(r"view ([a-z0-9][a-z0-9-]*) \((\S+)\): manifest\.json does not describe this view"), r"视角 '\1'（\2）：manifest.json 没有描述此视角"),
    (re.compile(r"view ([a-z0-9][a-z0-9-]*) \((\S+)\): the manifest declares segments (\S+) of (\d+); beside the primary view's segments the bundle carries the view's (\S+) of (\d+)"), r"视角 '\1'（\2）：清单声明第 \3 段（共 \4 段）；与主视角的分段对应，证据包应包含该视角的第 \5 段（共 \6 段）"),
    (re.compile(r"view ([a-z0-9][a-z0-9-]*) \((\S+)\): (.+)", re.DOTALL), lambda m: f"视角 '{m[1]}'（{m[2]}）：{_sub(3)(m)}"),
    (re.compile(r"(\S+) is not a view of this clip \(its signed entry names no further views\)"), r"\1 不是本片段的视角（其签名条目没有列出其他视角）"),
    (re.compile(r"no clip\.<view>\.mp4 member"), "没有 clip.<view>.mp4 成员"),
    (re.compile(r"(\S+) is not a view of this clip \(its signed entry names: (.+)\)"), lambda m: f"{m[1]} 不是本片段的视角（其签名条目列有：{_names(m[2])}）"),
    (re.compile(r"the manifest names '(\S+)' for view (\S+), which is not in the bundle"), r"清单为视角 '\2' 列出了 '\1'，但证据包中没有它"),
    (re.compile(r"a views item for (\S+) naming (\S+)"), r"视角 '\1' 的 views 条目，列有 \2"),
    (re.compile(r"segments (\d+\.\.\d+) of (\d+)"), r"第 \1 段（共 \2 段）"),
    (re.compile(r"(\d+\.\.\d+) of (\d+)"), r"第 \1 段（共 \2 段）"),
    (re.compile(r"(\S+) holds segments (\S+) of (\d+); the manifest declares (\S+): segments are missing"), r"\1 包含第 \2 段（共 \3 段）；清单声明的是第 \4 段：缺少分段"),
    (re.compile(r"(\S+) is (\d+) bytes, but segments (\S+) total (\d+) bytes \(plus an init section of about a kilobyte\): bytes were added"), r"\1 有 \2 字节，但第 \3 段合计 \4 字节（另加约 1 KB 的初始化段）：有字节被添加"),
    (re.compile(r"(\S+): offset (\d+): (.+)"), lambda m: f"{m[1]}：偏移 {m[2]}：{_sub(3)(m)}"),
    (re.compile(r"track (\d+)'s leading empty edit lasts (\d+); a rebased clip carries 0 \(anything else delays the picture\)"), r"轨道 \1 的起始空编辑时长为 \2；重定时间基准的片段应为 0（否则画面会延迟）"),
    (re.compile(r"box '(\w+)' declares (\d+) bytes but only (\d+) are left \(truncated file\)"), r"box '\1' 声明 \2 字节，但只剩 \3 字节（文件被截断）"),
    (re.compile(r"(\d+) byte\(s\) left, a box header needs 8 \(truncated file or trailing bytes\)"), r"剩余 \1 字节，box 头需要 8 字节（文件被截断或末尾有多余字节）"),
    (re.compile(r"expected the next fragment \('styp' or 'moof'\) or the end of the file, found box '(\w+)' of (\d+) bytes"), r"应为下一个片段（'styp' 或 'moof'）或文件结尾，实际是 \2 字节的 box '\1'"),
    (re.compile(r"fragment (\d+) \(bytes (\S+)\) is segment (\d+): segment\(s\) (\S+) are missing or out of order"), r"第 \1 个片段（字节 \2）是第 \3 段：第 \4 段缺失或顺序错乱"),
    (re.compile(r"fragment (\d+) \(bytes (\S+)\) is not a segment of this clip \(expected segment (\d+) of (\d+)\)"), r"第 \1 个片段（字节 \2）不是本片段的分段（应为第 \3 段，共 \4 段）"),
    (re.compile(r"fragment (\d+) \(bytes (\S+)\) is segment (\d+) again: duplicated or out of order \(expected (\d+)\)"), r"第 \1 个片段（字节 \2）又是第 \3 段：重复或顺序错乱（应为第 \4 段）"),
    (re.compile(r"init section \(bytes (\S+)\): sha256 does not match the entry"), r"初始化段（字节 \1）：sha256 与条目不符"),
    (re.compile(r"(\S+) is not a valid clip entry: (.+)"), lambda m: f"{m[1]} 不是有效的片段条目：{_sub(2)(m)}"),
    (re.compile(r"expected an? ([\w-]+) entry, found an? ([\w-]+) entry"), lambda m: f"应为{_kind(m[1])}条目，实际是{_kind(m[2])}条目"),
    (re.compile(r"not JSON: (.+)"), lambda m: f"不是 JSON：{_quoted(m[1])}"),
    (re.compile(r"init \+ whole fragments"), "初始化段 + 完整片段"),
    (re.compile(r"segments (\d+\.\.\d+)"), r"第 \1 段"),
    (re.compile(r"offset (\d+)"), r"偏移 \1"),
    # -- signature ---------------------------------------------------------------------------
    (re.compile(r"clip (\S+) names signing key '(.+?)', expected '(.+?)'"), r"片段 \1 指明的签名密钥为 '\2'，应为 '\3'"),
    (re.compile(r"clip (\S+): station signature does not verify: the entry was changed after it was signed, or signed by another key"), r"片段 \1：工位签名验证失败：条目在签名后被改动，或由其他密钥签名"),
    (re.compile(r"station key for (\S+) is certified by root '(.+?)', expected the trusted root '(.+?)'"), r"\1 的工位密钥由根密钥 '\2' 认证，应为受信任的根密钥 '\3'"),
    (re.compile(r"station key for (\S+): the root's certification signature does not verify"), r"\1 的工位密钥：根密钥的认证签名验证失败"),
    (re.compile(r"the clip \(log index (\d+)\) is signed by station key (\S+), which the trust file marks compromised after index (\d+): its signatures after that point do not count"), r"片段（日志第 \1 条）由工位密钥 \2 签名，信任文件标记该密钥在第 \3 条之后已泄露：此后的签名无效"),
    (re.compile(r"the clip names station '(.+?)', the certified key is station '(.+?)''s"), r"片段指明工位 '\1'，但经认证的密钥属于工位 '\2'"),
    (re.compile(r"the station key is for log (\S+), which the trust file does not list \(it lists: (.+)\)"), r"工位密钥属于日志 \1，信任文件未列出该日志（列出的是：\2）"),
    (re.compile(r"the trust file lists another key for log (\S+) than the certification names"), r"信任文件为日志 \1 列出的密钥与认证中指明的不同"),
    (re.compile(r"a signature at index (\d+) or before, or by the key that replaced it"), r"第 \1 条或之前的签名，或由替换它的密钥做出的签名"),
    (re.compile(r"a valid signature by (\S+)"), r"由 \1 做出的有效签名"),
    (re.compile(r"an invalid signature"), "无效的签名"),
    (re.compile(r"index (\d+)"), r"第 \1 条"),
    # -- inclusion ---------------------------------------------------------------------------
    (re.compile(r"a checkpoint signed by the key the trust file lists for its log"), "由信任文件为该日志列出的密钥签名的检查点"),
    (re.compile(r"an index below (\d+)"), r"小于 \1 的索引"),
    (re.compile(r"(\S+) as leaf (\d+) under the checkpoint's root"), r"\1 作为检查点根下的第 \2 个叶子"),
    (re.compile(r"another root: the entry, the index or the proof hashes were changed"), "另一个根：条目、索引或证明中的哈希被改动"),
    (re.compile(r"no such signature"), "没有这样的签名"),
    (re.compile(r"([\w-]+): (\S+) or (\S+) is missing"), lambda m: f"{_kind(m[1])}：缺少 {m[2]} 或 {m[3]}"),
    (re.compile(r"(\S+) is not a C2SP tlog-proof: tlog-proof must start with '(.+?)', found '(.*)'"), r"\1 不是 C2SP tlog-proof：tlog-proof 必须以 '\2' 开头，实际是 '\3'"),
    (re.compile(r"(\S+): entry is not leaf (\d+) of (\S+) at size (\d+): (.+)"), lambda m: f"{m[1]}：条目不是日志 {m[3]} 大小为 {m[4]} 时的第 {m[2]} 个叶子：{_sub(5)(m)}"),
    (re.compile(r"inclusion proof for index (\d+) in size (\d+) leads to root (\S+), expected (\S+)"), r"索引 \1、大小 \2 的包含证明得出根 \3，应为 \4"),
    (re.compile(r"inclusion proof: index (\d+) is outside a tree of size (\d+)"), r"包含证明：索引 \1 超出大小为 \2 的树"),
    (re.compile(r"inclusion proof for index (\d+) in size (\d+): expected (\d+) hashes, found (\d+)"), r"索引 \1、大小 \2 的包含证明：应有 \3 个哈希，实际有 \4 个"),
    (re.compile(r"(\S+): no trusted key for log origin '(.+?)' \(key (\S+) was compromised after index (\d+): it cannot sign a checkpoint of size (\d+)\)"), r"\1：日志来源 '\2' 没有受信任的密钥（密钥 \3 在第 \4 条之后已泄露：它不能签署大小为 \5 的检查点）"),
    (re.compile(r"(\S+): no trusted key for log origin '(.+?)'"), r"\1：日志来源 '\2' 没有受信任的密钥"),
    (re.compile(r"(.+?): note has no signature by a trusted key \(signed by: (.+); trusted: (.+)\)"), lambda m: f"{_where(m[1])}：检查点没有受信任密钥的签名（签名者：{m[2]}；受信任：{m[3]}）"),
    (re.compile(r"(\S+): note signature by (\S+) \(key (\S+)\) does not verify"), r"\1：\2（密钥 \3）对检查点的签名验证失败"),
    (re.compile(r"(\S+): the checkpoint is of log (\S+), but the clip's station key signs log (\S+)"), r"\1：检查点属于日志 \2，但片段的工位密钥签署的是日志 \3"),
    (re.compile(r"the station key was certified at index (\d+), not before the clip at index (\d+)"), r"工位密钥在第 \1 条才被认证，不在第 \2 条的片段之前"),
    # -- facts -------------------------------------------------------------------------------
    (re.compile(r"the manifest's (order id|clip id|log origin|log index|station-key index|checkpoint size) is (.+), the bundle's entry and proof say (.+)"), lambda m: f"清单中的{_CLAIMS[m[1]]}是 {m[2]}，证据包的条目和证明给出的是 {m[3]}"),
    (re.compile(r"README\.txt names (order|clip) (.+); the signed entry is (order|clip) (.+?): the README is not this clip's"), lambda m: f"README.txt 写的{_THING[m[1]]}是 {m[2]}；签名条目的{_THING[m[3]]}是 {m[4]}：README 不属于此片段"),
    (re.compile(r"README\.txt names (order|clip) (.+); the signed entry is (order|clip) (.+)"), lambda m: f"README.txt 写的{_THING[m[1]]}是 {m[2]}；签名条目的{_THING[m[3]]}是 {m[4]}"),
    (re.compile(r"sheet\.png's QR code says (.+), the signed entry is (.+): the sheet is not this clip's"), r"sheet.png 的二维码内容为 \1，签名条目是 \2：证据单不属于此片段"),
    (re.compile(r"sheet\.png's QR code does not name clip (\S+): the sheet is not this clip's"), r"sheet.png 的二维码没有写明片段 \1：证据单不属于此片段"),
    (re.compile(r"entry ([0-9a-f]{64})"), r"条目 \1"),
    (re.compile(r"no (Order|Clip) line"), lambda m: f"没有 {m[1]} 行"),
    # -- claim (verifier/_claim_section.py) --------------------------------------------------
    (re.compile(r"the claim section has (.+) but no (\S+)"), r"索赔报告部分有 \1，但没有 \2"),
    (re.compile(r"(\S+) is not JSON: (「.*」)", re.DOTALL), r"\1 不是 JSON：\2"),
    (re.compile(r"(\S+) is not a (\S+) report \(format (.*)\)"), r"\1 不是 \2 报告（格式为 \3）"),
    (re.compile(r"a (packseal-claim/v\d+) report"), r"一份 \1 报告"),
    (re.compile(r"bytes that do not parse"), "无法解析的字节"),
    (re.compile(r"(\S+) is a report of (clip id|order id) (.+); the bundle's signed entry is of (.+)"), lambda m: f"{m[1]} 是{'片段' if m[2] == 'clip id' else '订单'} {m[3]} 的报告；证据包的签名条目属于 {m[4]}"),
    (re.compile(r"(\S+) lists no photos"), r"\1 没有列出任何照片"),
    (re.compile(r"a list of photos"), "照片列表"),
    (re.compile(r"none"), "无"),
    (re.compile(r"the claim section has no (\S+)"), r"索赔报告部分没有 \1"),
    (re.compile(r"(\S+) photo (\d+) names strip (.+), not a claim-N\.png of the section"), r"\1 的第 \2 张照片指向标注图 \3，它不是本部分的 claim-N.png"),
    (re.compile(r"(claim-1\.png \.\. claim-8\.png)"), r"\1"),
    (re.compile(r"(\S+), named by (\S+), is missing"), r"\2 指向的 \1 不存在"),
    (re.compile(r"(\S+) is in the claim section but (\S+) names it not"), r"\1 在索赔报告部分中，但 \2 没有指向它"),
    (re.compile(r"(\S+) photo (\d+): its footage reference is not a packing frame"), r"\1 的第 \2 张照片：其视频参照不是装箱画面"),
    (re.compile(r"a reference with source 'footage'"), "来源为 'footage' 的参照"),
    (re.compile(r"(\S+) photo (\d+) cites a frame of clip (.+), not of this bundle's clip (\S+)"), r"\1 的第 \2 张照片引用的是片段 \3 的画面，不是本证据包的片段 \4"),
    (re.compile(r"(\S+) photo (\d+) cites a frame without segment, segments, segment_sha256 and t_ms"), r"\1 的第 \2 张照片引用的画面缺少 segment、segments、segment_sha256 和 t_ms"),
    (re.compile(r"integers and a SHA-256"), "整数和一个 SHA-256"),
    (re.compile(r"(\S+) photo (\d+) cites segment (-?\d+) of (-?\d+); the signed entry has (\d+) segments"), r"\1 的第 \2 张照片引用第 \3 段（共 \4 段）；签名条目共有 \5 段"),
    (re.compile(r"a segment 1\.\.(\d+) of (\d+)"), r"第 1..\1 段（共 \2 段）之一"),
    (re.compile(r"(-?\d+) of (-?\d+)"), r"第 \1 段（共 \2 段）"),
    (re.compile(r"(\S+) photo (\d+) cites segment (\d+) of (\d+) with sha256 ([0-9a-f]{64}), which is not that segment of this clip's signed entry \(other footage\)"), r"\1 的第 \2 张照片引用第 \3 段（共 \4 段），sha256 为 \5，这不是此片段签名条目中的该段（其他视频）"),
    (re.compile(r"(\S+) photo (\d+) cites a frame at (-?\d+) ms, outside segment (\d+) \((\d+)\.\.(\d+) ms\)"), r"\1 的第 \2 张照片引用 \3 毫秒处的画面，在第 \4 段（\5..\6 毫秒）之外"),
    (re.compile(r"(\d+)\.\.(\d+)"), r"\1..\2"),
    # -- c2pa --------------------------------------------------------------------------------
    (re.compile(r"(\S+) has no C2PA manifest box right after its ftyp box"), r"\1 在 ftyp box 之后没有紧跟 C2PA 清单 box"),
    (re.compile(r"(\S+) without its C2PA manifest box is not the sealed clip byte for byte: bytes were added, removed or changed outside what C2PA signs \(a free or skip box appended after signing is one way\)"), r"\1 去掉 C2PA 清单 box 后与封存的片段不是逐字节相同：在 C2PA 签名范围之外有字节被添加、删除或改动（例如签名后追加了 free 或 skip box）"),
    (re.compile(r"the C2PA manifest validates as '(\w+)', not 'Trusted' under the trust file's C2PA CA \((.+)\)"), lambda m: f"C2PA 清单在信任文件的 C2PA CA 下验证结果为 '{m[1]}'，而不是 'Trusted'（{_quoted(m[2])}）"),
    (re.compile(r"the C2PA manifest's (\S+) assertion disagrees with the signed entry and proof on (.+)"), r"C2PA 清单的 \1 断言与签名条目和证明不一致：\2"),
    (re.compile(r"the trust file requires C2PA Content Credentials; the bundle has no (\S+)"), r"信任文件要求 C2PA 内容凭证；证据包中没有 \1"),
    (re.compile(r"uuid \(C2PA manifest store\)"), "uuid（C2PA 清单存储）"),
    (re.compile(r"(moov|free|skip|mdat|moof|styp)"), r"\1 box"),
    # -- source, time, timeline, witness ------------------------------------------------------
    (re.compile(r"a live camera or RTSP stream"), "现场摄像头或 RTSP 视频流"),
    (re.compile(r"a time-stamp by a TSA the trust file lists"), "由信任文件所列 TSA 签发的时间戳"),
    (re.compile(r"a time-stamp of this checkpoint by a TSA the trust file lists"), "由信任文件所列 TSA 为此检查点签发的时间戳"),
    (re.compile(r"footage times at or before (\S+)( \(genTime \+ 5 min\))?"), lambda m: f"画面时间不晚于 {m[1]}" + ("（genTime + 5 分钟）" if m[2] else "")),
    (re.compile(r"one that does not verify"), "一个验证失败的时间戳"),
    (re.compile(r"(\S+): the time-stamp does not verify: (.+)"), lambda m: f"{m[1]}：时间戳验证失败：{_quoted(m[2])}"),
    (re.compile(r"(\S+): the time-stamp request is over (\S+), not this checkpoint \(SHA-256 (\S+)\)"), r"\1：时间戳请求针对的是 \2，不是此检查点（SHA-256 \3）"),
    (re.compile(r"no verified checkpoint to stamp"), "没有已验证的检查点可加时间戳"),
    (re.compile(r"no verified checkpoint"), "没有已验证的检查点"),
    (re.compile(r"the zip is not safe to read"), "zip 不能安全读取"),
    (re.compile(r"the clip, its proof or its video did not verify"), "片段、其证明或其视频未通过验证"),
    (re.compile(r"segment (\d+) end is dated (\S+), (\d+) s after the station sealed the entry \((\S+)\): footage cannot be sealed before it was recorded, so these times are not true \(a source with a chosen epoch, or a clock that jumped\)"), r"第 \1 段的结束时间为 \2，比工位封存条目的时间（\4）晚 \3 秒：画面不可能在录制之前被封存，所以这些时间不真实（来源的起始时间是人为设定的，或时钟跳变）"),
    (re.compile(r"segment (\d+) end is dated (\S+), after the TSA's genTime (\S+) of the checkpoint that logs it: footage dated after its own time-stamp cannot be true \(a source with a chosen epoch, or a station clock set ahead\)"), r"第 \1 段的结束时间为 \2，晚于记录它的检查点的 TSA genTime \3：画面时间晚于它自己的时间戳，不可能真实（来源的起始时间是人为设定的，或工位时钟被调快）"),
    (re.compile(r"the time-stamp is incomplete: (\S+) is missing"), r"时间戳不完整：缺少 \1"),
    (re.compile(r"the trust file requires an RFC 3161 time-stamp of the checkpoint; the bundle has none \((\S+)\)"), r"信任文件要求检查点有 RFC 3161 时间戳；证据包中没有（\1）"),
    (re.compile(r"segment (\d+) to start at (\S+)"), r"第 \1 段开始于 \2"),
    (re.compile(r"gap of ([\d.]+) s between segment (\d+) \(ends (\S+)\) and segment (\d+) \(starts (\S+)\)"), r"第 \2 段（结束于 \3）与第 \4 段（开始于 \5）之间有 \1 秒的间隙"),
    (re.compile(r"(\d+) of (\d+)"), r"\1 / \2"),
    (re.compile(r"valid cosignatures by the trust file's witnesses"), "信任文件所列见证者的有效联署"),
    (re.compile(r"an altered or forged cosignature"), "被改动或伪造的联署"),
    (re.compile(r"the checkpoint has valid cosignatures by (\d+) witness\(es\) \((.*)\); the trust file requires (\d+) of its (\d+) witnesses"), lambda m: f"检查点有 {m[1]} 个见证者的有效联署（{'无' if m[2] == 'none' else m[2]}）；信任文件要求其 {m[4]} 个见证者中的 {m[3]} 个"),
    (re.compile(r"the cosignature by witness (\S+) \(key (\S+)\) does not verify"), r"见证者 \1（密钥 \2）的联署验证失败"),
    # -- the audit's findings ----------------------------------------------------------------
    (re.compile(r"rollback: the saved checkpoint covers (\d+) entries, the log now has (\d+): entries (\S+) were removed"), r"回滚：保存的检查点包含 \1 条，日志现在只有 \2 条：第 \3 条被删除"),
    (re.compile(r"the saved checkpoint at size (\d+) and the stored checkpoint at size (\d+) are both signed by the log key with different roots \((\S+) vs (\S+)\): the log forked"), r"大小为 \1 的已保存检查点与大小为 \2 的已存储检查点都由日志密钥签名，但根不同（\3 与 \4）：日志出现分叉"),
    (re.compile(r"init section (\S+) \(first used by segment (\d+)\) hashes to (\S+): its content changed on disk"), r"初始化段 \1（首次被第 \2 段使用）的哈希为 \3：其磁盘上的内容已改变"),
    (re.compile(r"init section (\S+) is missing, but segments (\S+) \(from entry (\d+)\) that need it were not purged"), r"缺少初始化段 \1，但需要它的第 \2 段（来自第 \3 条）并未被清除"),
    (re.compile(r"segment (\d+) \(from entry (\d+)\): media missing from (.+) and no purge entry covers it: deleted outside retention \(tampering or a lost disk\)"), r"第 \1 段（来自第 \2 条）：\3 中缺少媒体，且没有清除条目涵盖它：在保留期之外被删除（篡改或磁盘丢失）"),
    (re.compile(r"segment (\d+) \(entry (\d+)\): blob sha256 expected (\S+), found (\S+): its content changed on disk"), r"第 \1 段（第 \2 条）：数据块 sha256 应为 \3，实际为 \4：其磁盘上的内容已改变"),
    (re.compile(r"checkpoint at size (\d+): signed root (\S+) does not match the root of the stored entries (\S+)"), r"大小为 \1 的检查点：签名的根 \2 与已存储条目的根 \3 不符"),
    (re.compile(r"clip (\S+) \(entry (\d+)\) is signed by key '(.+?)', which no station-key entry before it certifies"), r"片段 \1（第 \2 条）由密钥 '\3' 签名，但在它之前没有任何工位密钥条目认证该密钥"),
    (re.compile(r"clip (\S+) \(entry (\d+)\), segment (\d+): sha256 (\S+) differs from the segment entry (\d+) \((\S+)\)"), r"片段 \1（第 \2 条），第 \3 段：sha256 \4 与分段条目第 \5 条（\6）不符"),
    (re.compile(r"clip (\S+) \(entry (\d+)\), segment (\d+): times/size (\S+) differ from the segment entry (\d+) \((\S+)\)"), r"片段 \1（第 \2 条），第 \3 段：时间/大小 \4 与分段条目第 \5 条（\6）不符"),
    (re.compile(r"clip (\S+) \(entry (\d+)\): segment (\d+) is not in the log before the clip \(last logged segment: (\d+)\)"), r"片段 \1（第 \2 条）：第 \3 段不在片段之前的日志中（最后记录的是第 \4 段）"),
    (re.compile(r"clip (\S+) \(entry (\d+)\): segment (\d+) is not in the log"), r"片段 \1（第 \2 条）：第 \3 段不在日志中"),
    (re.compile(r"clip (\S+) \(entry (\d+)\): the clip's close is dated (\S+), (\d+) s after the station sealed the clip \((\S+)\): its times are not true"), r"片段 \1（第 \2 条）：片段结束时间为 \3，比工位封存片段的时间（\5）晚 \4 秒：其时间不真实"),
    (re.compile(r"clip (\S+): station signature does not verify"), r"片段 \1：工位签名验证失败"),
    (re.compile(r"stored checkpoint at size (\d+) \(root (\S+)\) and the stored checkpoint at size (\d+) are both signed by the log key, but the consistency proof from the log's tree leads to root (\S+) at size (\d+): entries before (\d+) were rewritten and re-signed \(the log forked\)"), r"大小为 \1 的已存储检查点（根 \2）与大小为 \3 的已存储检查点都由日志密钥签名，但由日志的树得出的一致性证明在大小 \5 处得到根 \4：第 \6 条之前的条目被改写并重新签名（日志出现分叉）"),
    (re.compile(r"entries (\S+) do not match the leaf hashes the tree recorded when they were appended: entries were edited, replaced, moved or inserted"), r"第 \1 条与追加时树记录的叶子哈希不符：条目被编辑、替换、移动或插入"),
    (re.compile(r"entry (\d+) is not canonical JSON: (.+)"), lambda m: f"第 {m[1]} 条不是规范 JSON：{_sub(2)(m)}"),
    (re.compile(r"JSON is not canonical: differs from its canonical form at byte (\d+)"), r"JSON 不规范：在第 \1 字节处与其规范形式不同"),
    (re.compile(r"entry (\d+) does not match the leaf hash the tree recorded when it was appended: the entry was edited, replaced or moved"), r"第 \1 条与追加时树记录的叶子哈希不符：条目被编辑、替换或移动"),
    (re.compile(r"stored leaf hash (\S+) does not match its bytes \((\S+)\): the entry was edited"), r"存储的叶子哈希 \1 与其字节（\2）不符：条目被编辑"),
    (re.compile(r"entry (\d+) is missing \(next stored index is (\d+)\)"), r"缺少第 \1 条（下一个存储的序号是 \2）"),
    (re.compile(r"([\d.]+) s without footage between segment (\d+) \(ends (\S+)\) and segment (\d+) \(starts (\S+)\), and no gap entry explains it: footage was cut"), r"第 \2 段（结束于 \3）与第 \4 段（开始于 \5）之间有 \1 秒没有画面，且没有间隙条目说明原因：画面被剪掉了"),
    (re.compile(r"([\d.]+) s without footage of view (\S+) between segment (\d+) \(ends (\S+)\) and segment (\d+) \(starts (\S+)\), and no gap entry explains it: footage was cut"), r"视角 '\2' 的第 \3 段（结束于 \4）与第 \5 段（开始于 \6）之间有 \1 秒没有画面，且没有间隙条目说明原因：画面被剪掉了"),
    (re.compile(r"clip (\S+) \(entry (\d+)\) leaves out segment (\d+) of view (\S+) \(entry (\d+)\), between the view's segments (\d+) and (\d+) it binds"), r"片段 \1（第 \2 条）漏掉了视角 '\4' 的第 \3 段（第 \5 条），它位于该片段所含该视角的第 \6 段与第 \7 段之间"),
    (re.compile(r"clip (\S+) \(entry (\d+)\), segment (\d+): the clip puts it in (view \S+|the unnamed view), the segment entry (\d+) is (view \S+|the unnamed view)'s"), lambda m: f"片段 {m[1]}（第 {m[2]} 条），第 {m[3]} 段：片段把它放在{_view_zh(m[4])}，而分段条目第 {m[5]} 条属于{_view_zh(m[6])}"),
    (re.compile(r"clip (\S+) \(entry (\d+)\): segment (\d+) of view (\S+) is not in the log before the clip \(last logged segment: (\d+)\)"), r"片段 \1（第 \2 条）：视角 '\4' 的第 \3 段不在片段之前的日志中（最后记录的是第 \5 段）"),
    (re.compile(r"segment (\d+) of view (\S+) starts ([\d.]+) s before segment (\d+) ends \(the station clock went back\?\)"), r"视角 '\2' 的第 \1 段在第 \4 段结束前 \3 秒就开始了（工位时钟倒退了？）"),
    (re.compile(r"([\d.]+) s without footage of view (\S+)(?: after segment (\d+))?, from (\S+): ([a-z-]+)(?: \((.+)\))?"), lambda m: f"视角 '{m[2]}' {m[1]} 秒没有画面" + (f"（第 {m[3]} 段之后）" if m[3] else "") + f"，从 {m[4]} 起：{_GAP_REASONS.get(m[5], m[5])}" + (f"（{_quoted(m[6])}）" if m[6] else "")),
    (re.compile(r"the log head says size (\d+), but (\d+) entries are stored \(entries were deleted or appended outside the log\)"), r"日志头记录的大小为 \1，但存储了 \2 条（有条目在日志之外被删除或追加）"),
    (re.compile(r"purge of segments (\S+) covers segments not logged before it \(last logged: (\d+)\): a purge can only excuse media that already existed"), r"清除第 \1 段的条目涵盖了在它之前尚未记录的分段（最后记录的是第 \2 段）：清除只能解释已存在的媒体"),
    (re.compile(r"segment numbers jump from (\d+) to (\d+): segment (\S+) is not in the log \(entries deleted or moved\)"), r"分段编号从 \1 跳到 \2：第 \3 段不在日志中（条目被删除或移动）"),
    (re.compile(r"segment (\d+) ends (\S+), (\d+) s after the station logged it \((\S+)\): footage cannot be logged before it was recorded, so its times are not true \(a source with a chosen epoch, or a clock that jumped\)"), r"第 \1 段结束于 \2，比工位记录它的时间（\4）晚 \3 秒：画面不可能在录制之前被记录，所以其时间不真实（来源的起始时间是人为设定的，或时钟跳变）"),
    (re.compile(r"segment (\d+) follows segment (\d+): numbers repeat or go back \(entries inserted or moved\)"), r"第 \1 段排在第 \2 段之后：编号重复或倒退（条目被插入或移动）"),
    (re.compile(r"stored subtree hash \(level (\d+), index (\d+)\) for entries (\S+) does not match the entries"), r"存储的子树哈希（第 \1 层，序号 \2，对应第 \3 条）与条目不符"),
    # the audit's warnings and notes
    (re.compile(r"no trusted merchant root given: station-key certifications were checked against the root each entry names, not against the merchant's published root"), "未提供受信任的商家根密钥：工位密钥的认证是按各条目自己指明的根密钥检查的，而不是按商家公布的根密钥"),
    (re.compile(r"the certified station key (\S+) is not one of the log keys the audit was given"), r"经认证的工位密钥 \1 不在审计所用的日志密钥之中"),
    (re.compile(r"segment (\d+) starts ([\d.]+) s before segment (\d+) ends \(the station clock went back\?\)"), r"第 \1 段在第 \3 段结束前 \2 秒就开始了（工位时钟倒退了？）"),
    (re.compile(r"([\d.]+) s without footage(?: after segment (\d+))?, from (\S+): ([a-z-]+)(?: \((.+)\))?"), lambda m: f"{m[1]} 秒没有画面" + (f"（第 {m[2]} 段之后）" if m[2] else "") + f"，从 {m[3]} 起：{_GAP_REASONS.get(m[4], m[4])}" + (f"（{_quoted(m[5])}）" if m[5] else "")),
    (re.compile(r"the log is consistent with the saved checkpoint at size (\d+) \((.+)\)"), lambda m: f"日志与大小为 {m[1]} 的已保存检查点一致（{_sub(2)(m)}）"),
    (re.compile(r"consistency proof to the signed checkpoint at size (\d+) verified"), r"到大小为 \1 的已签名检查点的一致性证明已验证"),
    (re.compile(r"the saved checkpoint at size (\d+): the log's root at that size cannot be recomputed \(entries are missing\)"), r"大小为 \1 的已保存检查点：无法重新计算该大小下的日志根（缺少条目）"),
    (re.compile(r"the saved checkpoint at size (\d+) has root (\S+), the log's entries give (\S+): entries before (\d+) were rewritten"), r"大小为 \1 的已保存检查点的根为 \2，日志条目得出的是 \3：第 \4 条之前的条目被改写"),
    (re.compile(r"(segments? \d+(?:\.\.\d+)?) purged at (\S+) by policy '(.*)'"), lambda m: f"{_seqs(m[1])}于 {m[2]} 按策略 '{m[3]}' 清除"),
    (re.compile(r"(\d+) purged segment\(s\) still have their media on disk \(an interrupted purge: `packseal purge` deletes them\)"), r"\1 个已清除的分段的媒体仍在磁盘上（清除被中断：`packseal purge` 会删除它们）"),
    (re.compile(r"(\d+) segment\(s\) were purged by a retention run logged after this audit's snapshot"), r"\1 个分段被本次审计快照之后记录的保留期清理清除"),
    # -- where a finding is, then what it is --------------------------------------------------
    (re.compile(r"entry (\d+): (.+)"), lambda m: f"第 {m[1]} 条：{_sub(2)(m)}"),
    (re.compile(r"log (\S+): (.+)"), lambda m: f"日志 {m[1]}：{_sub(2)(m)}"),
]  # fmt: skip

# Where a finding is ("entry 5", "checkpoint at size 18", a member's path).
_WHERE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"entry (\d+)"), r"第 \1 条"),
    (re.compile(r"checkpoint at size (\d+)"), r"大小为 \1 的检查点"),
    (re.compile(r"log (\S+)"), r"日志 \1"),
    (re.compile(r"(\S*[/.]\S*)"), r"\1"),
]


def _where(text: str) -> str:
    for pattern, replacement in _WHERE:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement)
    return text


def failed_zh(text: str) -> str | None:
    """``text`` in Chinese, or ``None`` when no pattern knows it."""
    for pattern, replacement in FAILED:
        m = pattern.fullmatch(text)
        if m:
            return m.expand(replacement) if isinstance(replacement, str) else replacement(m)
    return None
