"""The claim report's words in English and Simplified Chinese.

As on the evidence sheet (``verifier/_sheet_text.py``): the page is worded in the
language asked for, the facts on it (ids, names, hashes, values found, times) never are.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "words"]

LANGUAGES = ("en", "zh-CN")

_EN = {
    "kicker": "PACKSEAL  ·  CLAIM CHECK",
    "title": "Claim check — order {order}",
    "subtitle": "{merchant}  ·  checked {when}  ·  clip {clip}",
    "statement": (
        "packseal reports the AI-content labels and provenance found in each claim photo, "
        "and the regions where the photo differs from the sealed packing footage of this "
        "order. It does not decide whether a photo is fake. A missing label proves nothing: "
        "any re-encode or screenshot removes labels."
    ),
    "photo": "PHOTO {n}",
    "labels": "LABELS",
    "no_labels": "none found (this proves nothing either way)",
    "footage": "FOOTAGE",
    "listing": "LISTING",
    "differs": "differs from the sealed footage in {n} region(s), {pct} of the product seen",
    "no_difference": (
        "no region differs beyond lighting and compression in the part compared (outlined in blue)"
    ),
    "unseen": (
        "{pct} of the product in the photo was not compared (yellow): the sealed frames "
        "show something else there, such as the packer's hand; damage there is neither "
        "found nor ruled out"
    ),
    "not_found": "the product was not found in the sealed footage ({why})",
    "listing_differs": "differs from the listing photo in {n} region(s)",
    "listing_same": "no region differs from the listing photo",
    "listing_not_found": "the product was not found in the listing photo",
    "frame": "sealed frame: segment {seg}/{segs} (sha256 {sha}…), {when}",
    "frame_also": (
        "where that frame hides {pct} of the product: segment {seg}/{segs} (sha256 {sha}…), {when}"
    ),
    "frame_moved": (
        "where that frame shows something over {pct} of the product that the photo and this "
        "frame do not: segment {seg}/{segs} (sha256 {sha}…), {when}"
    ),
    "file": "FILE",
    "more": "{n} more photo(s): see claim.json",
    "footer": (
        "Frames come only from segments whose bytes re-hashed to the sealed log entry "
        "({frames} frames looked at{skipped}). Every finding, where it was found, and "
        "the alignment: claim.json beside this page."
    ),
    "skipped": "; {n} segment(s) left out: not verified",
    "panel_frame": "sealed packing frame",
    "panel_claim": "photo: blue = compared, yellow = not, red = differs",
    "panel_aligned": "sealed frame aligned to the photo",
    "panel_also": "sealed frame {n}: for what the first hides",
    "panel_moved": "sealed frame {n}: where the first shows something over the product",
}

_ZH = {
    "kicker": "PACKSEAL  ·  索赔照片核查",
    "title": "索赔照片核查 — 订单 {order}",
    "subtitle": "{merchant}  ·  核查于 {when}  ·  片段 {clip}",
    "statement": (
        "packseal 报告每张索赔照片中发现的 AI 生成内容标识与来源信息，以及照片与本订单"
        "封存装箱视频不同的区域。它不判定照片是否伪造。没有标识不能证明任何事：任何重新编码"
        "或截图都会去掉标识。"
    ),
    "photo": "照片 {n}",
    "labels": "标识",
    "no_labels": "未发现（不能据此得出任何结论）",
    "footage": "装箱视频",
    "listing": "商品图",
    "differs": "与封存画面有 {n} 处区域不同，占可见商品面积的 {pct}",
    "no_difference": "在比对的部分（蓝色轮廓）内，除光照与压缩外没有不同的区域",
    "unseen": (
        "照片中 {pct} 的商品部分未比对（黄色）：封存画面在该处显示的是别的东西，例如"
        "打包员的手；该处的损坏既不能发现，也不能排除"
    ),
    "not_found": "在封存视频中未找到该商品（{why}）",
    "listing_differs": "与商品图有 {n} 处区域不同",
    "listing_same": "与商品图没有不同的区域",
    "listing_not_found": "在商品图中未找到该商品",
    "frame": "封存画面：分段 {seg}/{segs}（sha256 {sha}…），{when}",
    "frame_also": "该画面遮住的 {pct} 商品部分：分段 {seg}/{segs}（sha256 {sha}…），{when}",
    "frame_moved": (
        "该画面在 {pct} 的商品上有照片与下述画面都没有的东西，该处改为对照："
        "分段 {seg}/{segs}（sha256 {sha}…），{when}"
    ),
    "file": "文件",
    "more": "另有 {n} 张照片：见 claim.json",
    "footer": (
        "画面只取自字节重新计算哈希后与封存日志条目一致的分段（共查看 {frames} 帧{skipped}）。"
        "全部发现、发现位置与对齐参数见本页旁的 claim.json。"
    ),
    "skipped": "；{n} 个分段未验证，未使用",
    "panel_frame": "封存的装箱画面",
    "panel_claim": "索赔照片：蓝框内已比对，黄框内未比对，红色为不同",
    "panel_aligned": "对齐到照片的封存画面",
    "panel_also": "封存画面 {n}：补比第一帧被遮住的部分",
    "panel_moved": "封存画面 {n}：改比第一帧商品上有遮挡的部分",
}


def words(language: str) -> dict[str, str]:
    if language == "en":
        return _EN
    if language == "zh-CN":
        return _ZH
    raise ValueError(f"the claim report speaks {', '.join(LANGUAGES)}, not {language!r}")
