"""Hold a claim photo against a reference picture (a sealed packing frame, or the listing
photo): find the product, align, and localise what differs.

1. **Find**: SIFT keypoints, Lowe's ratio test, a MAGSAC++ homography from the claim
   photo to the reference. The product counts as found only with ``MIN_INLIERS`` inliers
   making up ``MIN_INLIER_RATIO`` of the ratio-test matches and a homography that keeps
   orientation and does not collapse the photo; otherwise the answer is "not found",
   never a guess (an unrelated product gives a few chance inliers, measured in
   ``bench claim``).
2. **Align**: the reference is warped into the claim photo's frame and refined with ECC
   (enhanced correlation, homography model), at the resolution the reference actually
   has there: a packing frame sees the product at far fewer pixels than a phone, and
   comparing a sharp photo with an upsampled frame would find texture everywhere.
3. **Compare**, inside the product region (the inlier keypoints' hull grown over where
   photo and reference agree at a coarse scale, to its convex outline, minus the parts
   the reference cannot show, such as a hand holding the product): a per-channel gain
   and offset fitted by least squares takes out lighting, a smoothed optical flow of at
   most ``_MAX_SHIFT`` pixels the homography's residual misalignment; structural
   dissimilarity (1 - SSIM) and CIE Lab colour difference beyond the reference's local
   range, both after the same blur that takes out JPEG blocking, mark pixels that
   differ; regions smaller than ``MIN_REGION`` of the product are dropped.

The result says which regions differ and how strongly; it does not say why (damage,
a different unit of the same product, a label moved, a hand in the picture).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_INLIERS",
    "Comparison",
    "Features",
    "Match",
    "Region",
    "compare",
    "features",
    "match",
]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
MAX_SIDE = 1024  # the claim photo is analysed at most this large: detail beyond is noise here
MIN_INLIERS = 30
MIN_INLIER_RATIO = 0.25
MIN_REGION = 0.004  # of the product's area
MIN_STRENGTH = 14.0  # mean colour distance (CIE Lab, beyond the reference's range) of a region
_RATIO = 0.75  # Lowe's ratio test
_RANGE_DELTA_E = 12.0  # Lab distance beyond the reference's local range that marks a pixel
_SSIM_THRESHOLD = 0.35  # (1 - SSIM) / 2 that marks a pixel with some colour change
_AGREE_DELTA_E = 18.0  # coarse Lab distance under which a pixel is the product's surface
_BLUR = 1.5  # sigma (work pixels) against JPEG blocks and H.264 softness, both sides
_SLACK = 3  # work pixels of misalignment and stroke width the comparison forgives
_REACH = 0.5  # how far (x the matched points' extent) the product region may grow
# A phone's print is crisper than a packing frame's: where the reference has strokes, its
# blacks are greyer and its whites duller, so the photo may overshoot the local range
# by this fraction of it (on a plain surface the range, and so the allowance, is small).
_CONTRAST = 0.2
_MAX_SHIFT = 4.0  # work pixels the local re-alignment may move the reference


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
    why_not: str = ""  # set when the product is not found

    @property
    def found(self) -> bool:
        return not self.why_not


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
        return Match(0, 0, None, empty, "too few keypoints to match")
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(claim.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return Match(
            0, len(good), None, empty, f"{len(good)} feature matches, {MIN_INLIERS} needed"
        )
    src = claim.points[[m.queryIdx for m in good]]
    dst = reference.points[[m.trainIdx for m in good]]
    h, inl = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 4.0, maxIters=5000, confidence=0.999)
    if h is None or inl is None:
        return Match(0, len(good), None, empty, "no consistent homography")
    keep = inl.ravel().astype(bool)
    n = int(keep.sum())
    pts = src[keep]
    why = ""
    if n < MIN_INLIERS:
        why = f"{n} geometrically consistent matches, {MIN_INLIERS} needed"
    elif n < MIN_INLIER_RATIO * len(good):
        why = f"only {n} of {len(good)} matches agree on one geometry"
    else:
        why = _implausible(h, pts)
    return Match(n, len(good), np.asarray(h, np.float64), pts, why)


def _implausible(h: npt.NDArray[Any], pts: F32) -> str:
    """Why a homography cannot be a view of the same flat-ish product, or ''."""
    a = h[:2, :2] / h[2, 2]
    det = float(np.linalg.det(a))
    if det <= 0:
        return "the matching geometry mirrors the picture"
    hull = cv2.convexHull(pts.reshape(-1, 1, 2))
    area = float(cv2.contourArea(hull))
    if area < 1.0:
        return "the matching points are all in one spot"
    warped = cv2.perspectiveTransform(hull.astype(np.float64), h)
    ratio = float(cv2.contourArea(warped.astype(np.float32))) / area
    if not 1e-3 < ratio < 1e3 or not cv2.isContourConvex(warped.astype(np.float32)):
        return "the matching geometry folds or collapses the picture"
    return ""


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
    hw, refined = _refine(small, reference, hw)
    warped = cv2.warpPerspective(reference, hw, wh, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    full = np.full(reference.shape[:2], 255, np.uint8)
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    valid: U8 = np.asarray(cv2.warpPerspective(full, hw, wh, flags=flags), np.uint8)
    valid = np.asarray(cv2.erode(valid, np.ones((5, 5), np.uint8)), np.uint8)
    product = np.zeros(wh[::-1], np.uint8)
    hull = cv2.convexHull((m.inlier_points * s).astype(np.int32).reshape(-1, 1, 2))
    cv2.fillConvexPoly(product, hull, 255)
    # The hull of the matched points is on the product by construction; growing it
    # reaches the buyer's table at the product's edges (measured: half the false alarms).
    product = np.asarray(cv2.erode(product, np.ones((3, 3), np.uint8)), np.uint8)
    product = np.asarray(cv2.bitwise_and(product, valid), np.uint8)
    product = _grow(small, np.asarray(warped, np.uint8), product, valid)
    mask, dissim = _differences(small, np.asarray(warped, np.uint8), product)
    regions = _regions(mask, dissim, product, 1.0 / s)
    up = (cw, ch)
    return Comparison(
        m,
        regions,
        np.asarray(cv2.resize(mask, up, interpolation=cv2.INTER_NEAREST), np.uint8),
        np.asarray(cv2.resize(product, up, interpolation=cv2.INTER_NEAREST), np.uint8),
        np.asarray(cv2.resize(warped, up, interpolation=cv2.INTER_LINEAR), np.uint8),
        scale,
        refined,
    )


def _scale(h: npt.NDArray[Any], pts: F32) -> float:
    """Reference pixels per claim pixel, around the inliers' centre."""
    c = pts.mean(axis=0)
    quad = np.array([[c, c + np.array([1, 0]), c + np.array([0, 1])]], dtype=np.float64)
    p = cv2.perspectiveTransform(quad, h)[0]
    u, v = p[1] - p[0], p[2] - p[0]
    return float(math.sqrt(abs(u[0] * v[1] - u[1] * v[0])))


def _refine(small: U8, reference: U8, hw: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], bool]:
    """ECC refinement of ``hw`` (work -> reference pixels); the input back if it fails."""
    template = _gray(small).astype(np.float32)
    image = _gray(reference).astype(np.float32)
    warp = (hw / hw[2, 2]).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
    try:
        _, out = cv2.findTransformECC(  # type: ignore[call-overload]
            template, image, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 5
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


def _differences(claim: U8, ref: U8, product: U8) -> tuple[U8, F32]:
    """Pixels of ``claim`` that differ from ``ref`` (aligned) beyond lighting and
    compression, and the per-pixel colour distance behind it."""
    inside = product > 0
    if int(inside.sum()) < 64:
        return np.zeros(product.shape, np.uint8), np.zeros(product.shape, np.float32)
    a = cv2.GaussianBlur(claim, (0, 0), _BLUR).astype(np.float32)
    b = cv2.GaussianBlur(ref, (0, 0), _BLUR).astype(np.float32)
    b = _relight(a, b, inside)
    b = _local_align(a, b, inside)
    lab_a = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    # Each claim pixel against the range of the reference around it (a 5x5 min/max): a
    # stroke printed a pixel bolder, an edge a pixel off after alignment, or a sharper
    # lens stays inside that range; a crack across a plain surface does not.
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * _SLACK + 1,) * 2)
    lo, hi = cv2.erode(lab_b, k), cv2.dilate(lab_b, k)
    over = np.maximum(lab_a - hi, 0) + np.maximum(lo - lab_a, 0)
    over = np.maximum(over - _CONTRAST * (hi - lo), 0)
    dist = np.sqrt((over**2).sum(axis=2))
    # In dense print (barcodes, small text) a homography a pixel or two off locally moves
    # whole bars: there the range is taken twice as wide (measured: most honest false
    # alarms were single bars of a barcode).
    gray_b = lab_b[..., 0]
    busy = cv2.GaussianBlur(np.abs(gray_b - cv2.GaussianBlur(gray_b, (0, 0), 3)), (0, 0), 3) > 12
    k2 = cv2.getStructuringElement(cv2.MORPH_RECT, (4 * _SLACK + 1,) * 2)
    lo2, hi2 = cv2.erode(lab_b, k2), cv2.dilate(lab_b, k2)
    over2 = np.maximum(lab_a - hi2, 0) + np.maximum(lo2 - lab_a, 0)
    over2 = np.maximum(over2 - _CONTRAST * (hi2 - lo2), 0)
    dist = np.where(busy, np.sqrt((over2**2).sum(axis=2)), dist)
    dist = np.asarray(cv2.GaussianBlur(dist, (0, 0), 1.0), np.float32)
    ga = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    dissim = (1.0 - _ssim(ga, gb)) / 2.0
    # Structure lost where colours still fall in range (a pattern scraped off, a patch
    # pasted over print) shows as a strong SSIM drop with some colour change.
    marked = (dist > _RANGE_DELTA_E) | ((dissim > _SSIM_THRESHOLD) & (dist > 0.4 * _RANGE_DELTA_E))
    mask: U8 = (marked & inside).astype(np.uint8) * 255
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8)
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, ellipse), np.uint8)
    return np.asarray(cv2.bitwise_and(mask, product), np.uint8), dist


def _local_align(a: F32, b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``b`` moved by a smooth field of small shifts (dense optical flow, smoothed and
    capped at ``_MAX_SHIFT``) onto ``a``: a homography is exact for a flat card only, and
    a bent box or a lens leaves a pixel or two of residue that lights up every edge.
    The field is smooth on the scale of the product's print, so it cannot paint damage."""
    ga = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = np.asarray(dis.calc(ga, gb, None), np.float32)  # type: ignore[call-overload]
    m = inside.astype(np.float32)
    sigma = max(3.0, 0.04 * math.sqrt(float(m.sum())))
    w = cv2.GaussianBlur(m, (0, 0), sigma) + 1e-3
    for c in range(2):
        flow[..., c] = cv2.GaussianBlur(flow[..., c] * m, (0, 0), sigma) / w
    mag = np.sqrt((flow**2).sum(axis=2, keepdims=True))
    flow *= np.minimum(1.0, _MAX_SHIFT / np.maximum(mag, 1e-6))
    h, w_ = ga.shape
    gx, gy = np.meshgrid(np.arange(w_, dtype=np.float32), np.arange(h, dtype=np.float32))
    moved = cv2.remap(
        b, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(moved, np.float32)


def _grow(claim: U8, ref: U8, hull: U8, valid: U8) -> U8:
    """The product region: the inliers' hull, grown over the pixels where claim photo and
    reference agree at a coarse scale (the product's surface; the buyer's table and the
    packing table disagree), with the holes damage leaves in that agreement filled."""
    inside = hull > 0
    if int(inside.sum()) < 64:
        return hull
    a = cv2.GaussianBlur(claim, (0, 0), 4).astype(np.float32)
    b = _relight(a, cv2.GaussianBlur(ref, (0, 0), 4).astype(np.float32), inside)
    lab_a = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    agree = ((np.sqrt(((lab_a - lab_b) ** 2).sum(axis=2)) < _AGREE_DELTA_E) & (valid > 0)).astype(
        np.uint8
    ) * 255
    side = max(5, round(0.12 * math.sqrt(float(inside.sum())))) | 1
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    agree = cv2.morphologyEx(agree, cv2.MORPH_CLOSE, k)
    agree = cv2.morphologyEx(agree, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    _, labels = cv2.connectedComponents(agree)
    keep: U8 = np.zeros(hull.shape, np.uint8)
    for i in set(np.unique(labels[inside]).tolist()) - {0}:
        keep[labels == i] = 255
    keep = np.asarray(cv2.bitwise_or(keep, hull), np.uint8)
    # Fill holes: everything not reachable from the border through non-product pixels.
    padded = np.pad(cv2.bitwise_not(keep), 1, constant_values=255)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 0)
    holes = flood[1:-1, 1:-1]
    grown = cv2.bitwise_or(keep, holes)
    grown = cv2.erode(grown, np.ones((5, 5), np.uint8))  # off the product's edge
    # Never far beyond the matched points: a table the colour of the product is not it.
    reach = max(5, round(_REACH * math.sqrt(float(inside.sum())))) | 1
    near = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    grown = np.asarray(cv2.bitwise_and(cv2.bitwise_or(grown, hull), near), np.uint8)
    # A product's outline is convex or nearly so: damage at its edge (a crack, a stain
    # across the rim) breaks the agreement there and must not be cut away with it.
    pts = cv2.findNonZero(grown)
    if pts is not None:
        outline: U8 = np.asarray(grown, np.uint8).copy()
        cv2.fillConvexPoly(outline, cv2.convexHull(pts), 255)
        outline = np.asarray(cv2.bitwise_and(outline, near), np.uint8)
        grown = _notches(np.asarray(grown, np.uint8), outline, lab_a, lab_b)
    edge = np.asarray(cv2.erode(valid, np.ones((5, 5), np.uint8)), np.uint8)
    return np.asarray(cv2.bitwise_and(grown, edge), np.uint8)


def _notches(grown: U8, filled: U8, lab_a: F32, lab_b: F32) -> U8:
    """``grown`` plus those notches of its convex hull ``filled`` where the claim photo
    shows the product's surface and the reference does not: there the packing frame's
    view was blocked (a hand holding the product), which is not the photo's damage and
    cannot be checked. A notch where the photo looks foreign and the reference like the
    product (a stain across the rim) is damage, and is kept for comparison."""
    notch = np.asarray(cv2.subtract(filled, grown), np.uint8)
    n, labels = cv2.connectedComponents(notch)
    out = grown.copy()
    ring_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    for i in range(1, n):
        part = labels == i
        if int(part.sum()) < 16:
            out[part] = 255
            continue
        ring = (cv2.dilate(part.astype(np.uint8), ring_k) > 0) & (grown > 0)
        if int(ring.sum()) < 16:
            continue
        surface = np.median(lab_a[ring], axis=0)
        own = float(np.linalg.norm(np.median(lab_a[part], axis=0) - surface))
        theirs = float(np.linalg.norm(np.median(lab_b[part], axis=0) - surface))
        if own >= theirs:
            out[part] = 255
    return out


def _relight(a: F32, b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``b`` with the claim photo's lighting: a per-channel gain and offset fitted over the
    product (twice, the second time without the worst 20 %: damage is not lighting),
    then a smooth gain field for a gradient across the product."""
    b = b.copy()
    for c in range(3):
        x, y = b[..., c][inside], a[..., c][inside]
        if float(x.std()) > 1:
            gain, offset = np.polyfit(x, y, 1)
            resid = np.abs(gain * x + offset - y)
            keep = resid <= np.quantile(resid, 0.8)
            if int(keep.sum()) > 32 and float(x[keep].std()) > 1:
                gain, offset = np.polyfit(x[keep], y[keep], 1)
        else:
            gain, offset = 1.0, float(y.mean() - x.mean())
        b[..., c] = np.clip(gain * b[..., c] + offset, 0, 255)
    m = inside.astype(np.float32)
    sigma = max(4.0, 0.15 * math.sqrt(float(m.sum())))
    ga = cv2.GaussianBlur(a.mean(axis=2) * m, (0, 0), sigma)
    gb = cv2.GaussianBlur(b.mean(axis=2) * m, (0, 0), sigma)
    field = np.clip((ga + 1.0) / (gb + 1.0), 0.7, 1.4)
    return np.asarray(np.clip(b * field[..., None], 0, 255), np.float32)


def _ssim(a: F32, b: F32) -> F32:
    """The SSIM map (Wang et al. 2004, Gaussian window sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: F32) -> F32:
        return np.asarray(cv2.GaussianBlur(x, (0, 0), 1.5), np.float32)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (va + vb + c2)
    return np.asarray(num / den, np.float32)


def _regions(mask: U8, dissim: F32, product: U8, up: float) -> tuple[Region, ...]:
    total = int(np.count_nonzero(product))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < MIN_REGION * total:
            mask[labels == i] = 0
            continue
        strength = float(dissim[labels == i].mean())
        if strength < MIN_STRENGTH:  # a faint change over a large area: lighting, focus
            mask[labels == i] = 0
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
