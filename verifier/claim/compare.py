"""Hold a claim photo against a reference picture (a sealed packing frame, or the listing
photo): find the product, align, and localise what differs.

1. **Find**: SIFT keypoints, Lowe's ratio test, a MAGSAC++ homography from the claim
   photo to the reference. The product counts as found only with ``MIN_INLIERS`` inliers
   (each point of the reference counted once) making up ``MIN_INLIER_RATIO`` of the
   ratio-test matches (``FEW_RATIO`` when under ``FEW``) and a homography that keeps
   orientation, does not collapse the photo and spans ``MIN_SEEN`` pixels of the
   reference; otherwise the answer is "not found", never a guess (an unrelated product
   gives a few chance inliers, measured in ``bench claim``).
2. **Align**: the reference is warped into the claim photo's frame and refined with ECC
   (enhanced correlation, homography model) over the matched points' hull, at the
   resolution the reference actually has there: a packing frame sees the product at far
   fewer pixels than a phone, and comparing a sharp photo with an upsampled frame would
   find texture everywhere.
3. **Compare**, inside the product region (the inlier keypoints' hull grown over the
   reference's flat colour areas that touch it, lie near it and look the same in the
   photo at a coarse scale; so not over a hand holding the product or the packing table
   beside it; see ``_region``): a per-channel gain and offset fitted by least squares,
   then a plane offset per flat colour area of the reference, take out lighting and the
   camera's tone curve, a smoothed optical flow of at most ``_difference._MAX_SHIFT``
   pixels the homography's residual misalignment; structural dissimilarity (1 - SSIM)
   and the CIE Lab distance to the nearest colour the reference has within a few
   pixels, both after the same blur that takes out JPEG blocking, mark pixels that
   differ; so does, where the reference shows bars (a barcode), a photo more uneven
   along them than the reference (each against its own average along the bars);
   regions smaller than ``MIN_REGION`` of the product (half that if they
   differ by ``STRONG`` or more), and regions weaker than that whose structure is the
   reference's (a colour cast on print), are dropped.

The result says which regions differ and how strongly; it does not say why (damage,
a different unit of the same product, a label moved, a hand in the picture).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from verifier._claim_words import Reason
from verifier.claim._difference import Differences, differences
from verifier.claim._region import product_region

__all__ = [
    "MIN_INLIERS",
    "UNSEEN_SAID",
    "Comparison",
    "Features",
    "Match",
    "Region",
    "compare",
    "cover",
    "features",
    "instead",
    "likeness",
    "match",
]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
MAX_SIDE = 1024  # the claim photo is analysed at most this large: detail beyond is noise here
MIN_INLIERS = 30
MIN_INLIER_RATIO = 0.25
# Under FEW inliers they must make up FEW_RATIO of the matches: an unrelated card of the
# same layout (a barcode's guard bars, the EAN's first digits, the label's corners) gave
# 33 of 105 and 31 of 73 on bench claim's held-out-4 and -3 once more frames were refined;
# photos of the product there gave 49 or more at 720p, and at 640x360 (the tests'
# footage) those under 45 were 0.58-0.7 of their matches.
FEW = 45
FEW_RATIO = 0.5
MIN_REGION = 0.004  # of the product's area
MIN_STRENGTH = 14.0  # mean colour distance (CIE Lab, beyond the reference's range) of a region
# A region this much stronger may be half as large: a crack a few pixels wide across the
# card is small but unmistakable (measured: two such cracks were missed at MIN_REGION, and
# halving it for them adds no false alarm on bench claim's calibration split).
STRONG = 20.0
# A region weaker than STRONG, on print, whose structure is the frame's, (1 - SSIM) / 2
# under this on average, is a tone: the photo's colour cast on black print, every bar in
# place. Damage brings edges of its own (measured: both calibration false alarms were
# such bars, no damage found there was lost).
SAME_STRUCTURE = 0.03
OWN_EDGE = 1.0  # Lab units per pixel: a region on a plain band with less all round is a tone
_RATIO = 0.75  # Lowe's ratio test
# The matched points must span this many pixels of the reference (the square root of
# their hull's area): a product the frame shows smaller has nothing to compare.
MIN_SEEN = 32
# Of the product the photo shows, the part not compared (Comparison.unseen) that reports
# mention: below it, the outline's own uncertainty.
UNSEEN_SAID = 0.01


@dataclass(frozen=True, slots=True)
class Features:
    """SIFT keypoints (x, y) and descriptors of one picture, with the scale it was taken at."""

    points: F32  # (n, 2), in the picture's own pixels
    descriptors: F32  # (n, 128)
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Match:
    inliers: int
    matches: int  # after the ratio test
    homography: npt.NDArray[np.float64] | None  # claim pixels -> reference pixels
    inlier_points: F32  # (k, 2) claim-photo pixels of the inliers
    why: Reason | None = None  # set when the product is not found

    @property
    def found(self) -> bool:
        return self.why is None

    @property
    def why_not(self) -> str:
        """Why the product is not found, in English; '' if it is."""
        return "" if self.why is None else self.why.say()


@dataclass(frozen=True, slots=True)
class Region:
    """A differing region, in claim-photo pixels."""

    x: int
    y: int
    w: int
    h: int
    area: int  # differing pixels in it
    strength: float  # mean colour distance in it beyond the reference (CIE Lab units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
            "area": self.area,
            "strength": round(self.strength, 1),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    match: Match
    regions: tuple[Region, ...]
    mask: U8 | None  # differing pixels (255), claim-photo size; None if not found
    product: U8 | None  # the compared product region (255), claim-photo size
    aligned: U8 | None  # the reference warped into the claim photo (RGB), claim size
    scale: float  # reference pixels per claim-photo pixel over the product
    refined: bool  # ECC converged
    # the product in the photo that the reference hides (a hand over it), claim-photo size
    unseen: U8 | None = None

    @property
    def unseen_fraction(self) -> float:
        """Of the product the photo shows (compared or not), the part not compared."""
        if self.unseen is None or self.product is None:
            return 0.0
        hidden = int(np.count_nonzero(self.unseen))
        total = hidden + int(np.count_nonzero(self.product))
        return hidden / total if total else 0.0

    @property
    def differing_fraction(self) -> float:
        if self.mask is None or self.product is None:
            return 0.0
        product = int(np.count_nonzero(self.product))
        return float(np.count_nonzero(self.mask)) / product if product else 0.0


def _gray(rgb: U8) -> U8:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def features(rgb: U8, *, max_side: int = MAX_SIDE, nfeatures: int = 3000) -> Features:
    """SIFT features of an RGB picture (points in its own pixels, found at <= max_side)."""
    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    gray = _gray(rgb)
    if s < 1.0:
        gray = np.asarray(
            cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        )
    sift = cv2.SIFT_create(nfeatures=nfeatures)  # type: ignore[attr-defined]
    kps, desc = sift.detectAndCompute(gray, None)
    if desc is None or not kps:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), w, h)
    pts = np.array([k.pt for k in kps], dtype=np.float32) / s
    return Features(pts, np.asarray(desc, dtype=np.float32), w, h)


def match(claim: Features, reference: Features) -> Match:
    """The homography from the claim photo to the reference, if the product is there."""
    empty = np.zeros((0, 2), np.float32)
    if len(claim.points) < 2 or len(reference.points) < 2:
        return Match(0, 0, None, empty, Reason.of("few_keypoints"))
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(claim.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        few = Reason.of("few_matches", n=len(good), need=MIN_INLIERS)
        return Match(0, len(good), None, empty, few)
    src = claim.points[[m.queryIdx for m in good]]
    dst = reference.points[[m.trainIdx for m in good]]
    h, inl = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 4.0, maxIters=5000, confidence=0.999)
    if h is None or inl is None:
        return Match(0, len(good), None, empty, Reason.of("no_homography"))
    keep = inl.ravel().astype(bool)
    agree = int(keep.sum())
    # Inliers count once per point of the reference: many of the photo's keypoints on
    # one point each of a pattern the frame shows tiny (another order's barcode, held up
    # at the back) fit a homography that shrinks the photo onto it (measured: an
    # unrelated product "matched" with 50 inliers on 4 points of a frame in bench claim).
    n = len({good[i].trainIdx for i in np.flatnonzero(keep)})
    pts = src[keep]
    why: Reason | None
    if n < MIN_INLIERS <= agree:
        why = Reason.of("few_points", agree=agree, n=n, need=MIN_INLIERS)
    elif n < MIN_INLIERS:
        why = Reason.of("few_consistent", n=n, need=MIN_INLIERS)
    elif n < MIN_INLIER_RATIO * len(good) or (n < FEW and n < FEW_RATIO * len(good)):
        why = Reason.of("few_agree", n=n, matches=len(good))
    else:
        why = _implausible(h, pts)
    return Match(n, len(good), np.asarray(h, np.float64), pts, why)


def _implausible(h: npt.NDArray[Any], pts: F32) -> Reason | None:
    """Why a homography cannot be a view of the same flat-ish product, or None."""
    a = h[:2, :2] / h[2, 2]
    det = float(np.linalg.det(a))
    if det <= 0:
        return Reason.of("mirrors")
    hull = cv2.convexHull(pts.reshape(-1, 1, 2))
    area = float(cv2.contourArea(hull))
    if area < 1.0:
        return Reason.of("one_spot")
    warped = cv2.perspectiveTransform(hull.astype(np.float64), h)
    seen = float(cv2.contourArea(warped.astype(np.float32)))  # px² of the reference
    if not 1e-3 < seen / area < 1e3 or not cv2.isContourConvex(warped.astype(np.float32)):
        return Reason.of("folds")
    if seen < MIN_SEEN**2:
        return Reason.of("too_small", side=round(math.sqrt(seen)), need=MIN_SEEN)
    return None


def compare(claim: U8, reference: U8, m: Match) -> Comparison:
    """Align ``reference`` onto ``claim`` (both RGB) with ``m`` and localise differences."""
    if not m.found or m.homography is None:
        return Comparison(m, (), None, None, None, 0.0, False)
    ch, cw = claim.shape[:2]
    h = m.homography
    scale = _scale(h, m.inlier_points)
    # Work at the reference's effective resolution over the product (never above the
    # claim photo's own, never above MAX_SIDE).
    s = min(1.0, max(scale, 0.05), MAX_SIDE / max(ch, cw))
    wh = (max(16, round(cw * s)), max(16, round(ch * s)))
    down = np.diag([1.0 / s, 1.0 / s, 1.0])  # work pixels -> claim pixels
    hw = h @ down  # work pixels -> reference pixels
    small = np.asarray(cv2.resize(claim, wh, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    product = np.zeros(wh[::-1], np.uint8)
    hull = cv2.convexHull((m.inlier_points * s).astype(np.int32).reshape(-1, 1, 2))
    cv2.fillConvexPoly(product, hull, 255)
    hw, refined = _refine(small, reference, hw, product)
    warped = cv2.warpPerspective(reference, hw, wh, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    full = np.full(reference.shape[:2], 255, np.uint8)
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    valid: U8 = np.asarray(cv2.warpPerspective(full, hw, wh, flags=flags), np.uint8)
    valid = np.asarray(cv2.erode(valid, np.ones((5, 5), np.uint8)), np.uint8)
    # The hull of the matched points is on the product by construction; growing it
    # reaches the buyer's table at the product's edges (measured: half the false alarms).
    product = np.asarray(cv2.erode(product, np.ones((3, 3), np.uint8)), np.uint8)
    product = np.asarray(cv2.bitwise_and(product, valid), np.uint8)
    product, unseen = product_region(small, np.asarray(warped, np.uint8), product, valid)
    d = differences(small, np.asarray(warped, np.uint8), product)
    mask = d.mask
    regions = _regions(d, product, 1.0 / s)
    up = (cw, ch)
    return Comparison(
        m,
        regions,
        np.asarray(cv2.resize(mask, up, interpolation=cv2.INTER_NEAREST), np.uint8),
        np.asarray(cv2.resize(product, up, interpolation=cv2.INTER_NEAREST), np.uint8),
        np.asarray(cv2.resize(warped, up, interpolation=cv2.INTER_LINEAR), np.uint8),
        scale,
        refined,
        np.asarray(cv2.resize(unseen, up, interpolation=cv2.INTER_NEAREST), np.uint8),
    )


def _scale(h: npt.NDArray[Any], pts: F32) -> float:
    """Reference pixels per claim pixel, around the inliers' centre."""
    c = pts.mean(axis=0)
    quad = np.array([[c, c + np.array([1, 0]), c + np.array([0, 1])]], dtype=np.float64)
    p = cv2.perspectiveTransform(quad, h)[0]
    u, v = p[1] - p[0], p[2] - p[0]
    return float(math.sqrt(abs(u[0] * v[1] - u[1] * v[0])))


def _refine(
    small: U8, reference: U8, hw: npt.NDArray[Any], where: U8
) -> tuple[npt.NDArray[Any], bool]:
    """ECC refinement of ``hw`` (work -> reference pixels) over ``where``; the input back
    if it fails."""
    template = _gray(small).astype(np.float32)
    image = _gray(reference).astype(np.float32)
    warp = (hw / hw[2, 2]).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
    # Over the product only: the rest of the photo is the buyer's table, the frame's rest
    # the packing table, and over the whole picture they pulled the fit off the product
    # (measured on bench claim's development split: 5 of 7 false alarms were edges and
    # print a few pixels off where the whole-picture fit had converged).
    everywhere = np.full(image.shape, 255, np.uint8)
    try:
        _, out = cv2.findTransformECCWithMask(
            template, image, where, everywhere, warp, cv2.MOTION_HOMOGRAPHY, criteria, 5
        )
    except cv2.error:
        return hw, False
    out64 = np.asarray(out, np.float64)
    # A refinement that moves the product's corners by more than a few pixels jumped to
    # another optimum: keep the feature homography.
    hh, ww = small.shape[:2]
    corners = np.array([[[0, 0], [ww, 0], [ww, hh], [0, hh]]], dtype=np.float64)
    moved = np.abs(cv2.perspectiveTransform(corners, out64) - cv2.perspectiveTransform(corners, hw))
    if not np.isfinite(moved).all() or float(moved.max()) > 0.05 * max(reference.shape[:2]):
        return hw, False
    return out64, True


def _regions(d: Differences, product: U8, up: float) -> tuple[Region, ...]:
    """The regions of ``d.mask`` worth reporting (the others are cleared from it)."""
    mask, dist = d.mask, d.dist
    total = int(np.count_nonzero(product))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        here = labels == i
        strength = float(dist[here].mean())
        strong = strength >= STRONG
        least = MIN_REGION * total / (2 if strong else 1)
        # Below MIN_STRENGTH: a faint change over a large area (lighting, focus).
        tone = not strong and _tone(here, (x, y, w, h), d)
        if area < least or strength < MIN_STRENGTH or tone:
            mask[here] = 0
            continue
        out.append(
            Region(
                round(x * up),
                round(y * up),
                round(w * up),
                round(h * up),
                round(area * up * up),
                strength,
            )
        )
    out.sort(key=lambda r: -r.area)
    return tuple(out)


def _tone(here: npt.NDArray[np.bool_], box: tuple[int, int, int, int], d: Differences) -> bool:
    """Whether a region (``here``, within ``box``) is a tone, not damage. On print: its
    structure is the reference's (``SAME_STRUCTURE``), a cast with every bar in place. On
    a plain band structure says nothing (a uniform stain keeps the band's lack of it):
    there a stain has an edge of its own all round, where light that the band's plane
    offset did not follow fades out (``OWN_EDGE``; measured on held-out-4: a dark stain
    on a navy band 1.9, a lighting residue on a white label 0.2)."""
    x, y, w, h = box
    if 2 * int(d.plain[here].sum()) < int(here.sum()):
        return float(d.dissim[here].mean()) < SAME_STRUCTURE
    pad = 3
    y0, x0 = max(0, y - pad), max(0, x - pad)
    part = here[y0 : y + h + pad, x0 : x + w + pad].astype(np.uint8)
    square = np.ones((5, 5), np.uint8)
    ring = (cv2.dilate(part, square) > 0) & ~(cv2.erode(part, square) > 0)
    return float(d.steps[y0 : y + h + pad, x0 : x + w + pad][ring].mean()) < OWN_EDGE


def cover(first: Comparison, other: Comparison) -> tuple[Comparison, U8, tuple[Region, ...]]:
    """``first`` with the part it left unseen compared where ``other`` (the same photo
    against another sealed frame) compares it: the merged comparison, that part
    (claim-photo size), and the regions ``other`` found in it.

    A region of ``other`` counts when most of its pixels lie in that part; its pixels
    outside stay out (``first`` compared them). The aligned picture shows ``other``'s
    frame there, so what a reviewer sees is what was compared.
    """
    none = np.zeros((0, 0), np.uint8)
    if first.unseen is None or first.product is None or other.product is None:
        return first, none, ()
    part = np.asarray(cv2.bitwise_and(first.unseen, other.product), np.uint8)
    merged = _merge(first, other, part > 0)
    if merged is None:
        return first, part, ()
    c, kept = merged
    c = replace(
        c,
        product=np.asarray(cv2.bitwise_or(first.product, part), np.uint8),
        unseen=np.where(part > 0, 0, first.unseen).astype(np.uint8),
    )
    return c, part, kept


def instead(
    first: Comparison, other: Comparison, part: U8
) -> tuple[Comparison, tuple[Region, ...]] | None:
    """``first`` with ``part`` (claim-photo size, inside what it compared) compared with
    ``other``'s frame instead: where ``first``'s reference shows something over the
    product that the photo and ``other``'s frame do not (the packer's fingers as they
    change grip). ``first``'s marks there give way to ``other``'s; its regions mostly
    there are dropped. None if ``other`` does not compare nearly all of ``part``."""
    if first.mask is None or other.product is None:
        return None
    inside = part > 0
    total = int(inside.sum())
    if total == 0 or int(np.count_nonzero(other.product[inside])) < 0.9 * total:
        return None
    cleared = first.mask.copy()
    cleared[inside] = 0
    regions = []
    for r in first.regions:
        box = (slice(r.y, r.y + r.h), slice(r.x, r.x + r.w))
        here = first.mask[box] > 0
        if 2 * int((here & inside[box]).sum()) < int(here.sum()):
            regions.append(r)
    merged = _merge(replace(first, regions=tuple(regions), mask=cleared), other, inside)
    return merged


def _merge(
    first: Comparison, other: Comparison, seen: npt.NDArray[np.bool_]
) -> tuple[Comparison, tuple[Region, ...]] | None:
    """``first`` with ``other``'s regions that lie mostly in ``seen`` (their pixels there
    marked) and ``other``'s aligned frame shown there; None if either lacks a picture."""
    if first.mask is None or first.aligned is None:
        return None
    if other.mask is None or other.aligned is None:
        return None
    if not seen.any():
        return first, ()
    mask = first.mask.copy()
    kept = []
    for r in other.regions:
        box = (slice(r.y, r.y + r.h), slice(r.x, r.x + r.w))
        here = other.mask[box] > 0
        inside = here & seen[box]
        if 2 * int(inside.sum()) >= int(here.sum()) > 0:
            kept.append(r)
            mask[box][inside] = 255
    aligned = first.aligned.copy()
    aligned[seen] = other.aligned[seen]
    regions = tuple(sorted((*first.regions, *kept), key=lambda r: -r.area))
    return replace(first, regions=regions, mask=mask, aligned=aligned), tuple(kept)


def likeness(claim: U8, reference: U8, m: Match, part: U8, around: U8) -> float:
    """How unlike the claim photo ``reference`` (aligned by ``m``) looks over ``part``:
    the mean absolute difference of grey levels, each standardised over ``around`` (the
    product both show), at the reference's resolution. Cheap: it looks only at the box
    around ``part``. Lower is more alike; a hand over the product scores high."""
    if m.homography is None or not part.any():
        return math.inf
    ch, cw = claim.shape[:2]
    ys, xs = np.nonzero(part)
    pad = 8 + (max(int(np.ptp(xs)), int(np.ptp(ys))) + 1) // 4
    x0, y0 = max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad)
    x1, y1 = min(cw, int(xs.max()) + pad + 1), min(ch, int(ys.max()) + pad + 1)
    s = min(1.0, max(_scale(m.homography, m.inlier_points), 0.05))
    wh = (max(8, round((x1 - x0) * s)), max(8, round((y1 - y0) * s)))
    back = np.array([[1 / s, 0, x0], [0, 1 / s, y0], [0, 0, 1]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(_gray(reference), m.homography @ back, wh, flags=flags)
    small = cv2.resize(_gray(claim[y0:y1, x0:x1]), wh, interpolation=cv2.INTER_AREA)
    near = cv2.INTER_NEAREST
    here = cv2.resize(part[y0:y1, x0:x1], wh, interpolation=near) > 0
    ring = cv2.resize(around[y0:y1, x0:x1], wh, interpolation=near) > 0
    if not here.any() or int(ring.sum()) < 16:
        return math.inf
    a, b = (
        np.asarray(cv2.GaussianBlur(np.asarray(x, np.float32), (0, 0), 1.5), np.float32)
        for x in (small, warped)
    )
    a = (a - a[ring].mean()) / max(1.0, float(a[ring].std()))
    b = (b - b[ring].mean()) / max(1.0, float(b[ring].std()))
    return float(np.abs(a - b)[here].mean())
