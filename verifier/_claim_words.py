"""The claim report's words in English and Simplified Chinese.

As on the evidence sheet (``verifier/_sheet_text.py``): the page is worded in the
language asked for, the facts on it (ids, names, hashes, values found, times) never are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "LANGUAGES",
    "Reason",
    "why_not_from_dict",
    "why_not_said",
    "why_not_to_dict",
    "words",
]

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
    "closest": "the closest, segment {seg}/{segs} frame {frame}: {why}",
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
    # Why a photo and a picture are not the same product (verifier/claim/compare.py's
    # match; Reason): claim.json keeps the English with the key and numbers.
    "why_few_keypoints": "too few keypoints to match",
    "why_few_matches": "{n} feature matches, {need} needed",
    "why_no_homography": "no consistent homography",
    "why_few_points": (
        "{agree} matches agree on one geometry, but on only {n} points of the reference "
        "({need} needed)"
    ),
    "why_few_consistent": "{n} geometrically consistent matches, {need} needed",
    "why_few_agree": "only {n} of {matches} matches agree on one geometry",
    "why_mirrors": "the matching geometry mirrors the picture",
    "why_one_spot": "the matching points are all in one spot",
    "why_folds": "the matching geometry folds or collapses the picture",
    "why_too_small": (
        "the matching points would span {side} pixels of the reference, {need} needed to "
        "compare anything"
    ),
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
    "closest": "最接近的是分段 {seg}/{segs} 第 {frame} 帧：{why}",
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
    "why_few_keypoints": "特征点太少，无法匹配",
    "why_few_matches": "{n} 个特征匹配，需要 {need} 个",
    "why_no_homography": "找不到一致的几何变换",
    "why_few_points": (
        "{agree} 个匹配符合同一几何关系，但只落在参考画面的 {n} 个点上（需要 {need} 个）"
    ),
    "why_few_consistent": "{n} 个几何一致的匹配，需要 {need} 个",
    "why_few_agree": "{matches} 个匹配中只有 {n} 个符合同一几何关系",
    "why_mirrors": "匹配的几何关系使画面镜像翻转",
    "why_one_spot": "匹配点都集中在一处",
    "why_folds": "匹配的几何关系使画面折叠或塌缩",
    "why_too_small": "匹配点在参考画面上只覆盖 {side} 像素，至少需要 {need} 像素才能比对",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the product was not found in one picture: the words ``why_<key>`` and their
    numbers."""

    key: str
    args: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, key: str, **args: int) -> Reason:
        if f"why_{key}" not in _EN:
            raise ValueError(f"no words for the reason {key!r}")
        return cls(key, tuple(args.items()))

    def say(self, language: str = "en") -> str:
        return words(language)[f"why_{self.key}"].format(**dict(self.args))


def why_not_said(why: Reason, closest: tuple[int, int, int] | None, language: str) -> str:
    """Why a product was not found, in ``language``; ``closest`` = (segment, of, frame) of
    the sealed frame closest to a match."""
    if closest is None:
        return why.say(language)
    seg, segs, frame = closest
    return words(language)["closest"].format(seg=seg, segs=segs, frame=frame, why=why.say(language))


_SPOT = ("segment", "segments", "frame")


def why_not_to_dict(why: Reason, closest: tuple[int, int, int] | None) -> dict[str, Any]:
    """claim.json's ``why_not``: the reason's key and numbers, and the closest frame."""
    out: dict[str, Any] = {"reason": why.key, **dict(why.args)}
    if closest is not None:
        out["closest"] = dict(zip(_SPOT, closest, strict=True))
    return out


def why_not_from_dict(d: object, language: str) -> str | None:
    """:func:`why_not_said` of claim.json's ``why_not``; None for one it cannot read (a
    report from before reasons were kept, or from a newer packseal): say the English."""
    if not isinstance(d, dict) or f"why_{d.get('reason')}" not in _EN:
        return None
    args = {str(k): v for k, v in d.items() if k not in ("reason", "closest")}
    c = d.get("closest")
    spot = None if not isinstance(c, dict) else tuple(c.get(k) for k in _SPOT)
    numbers = [*args.values(), *(spot or ())]
    if ("closest" in d and spot is None) or not all(type(v) is int for v in numbers):
        return None
    try:
        return why_not_said(Reason(str(d["reason"]), tuple(args.items())), spot, language)  # type: ignore[arg-type]
    except (KeyError, IndexError, ValueError):  # numbers the words do not name, or cannot print
        return None


def words(language: str) -> dict[str, str]:
    if language == "en":
        return _EN
    if language == "zh-CN":
        return _ZH
    raise ValueError(f"the claim report speaks {', '.join(LANGUAGES)}, not {language!r}")
