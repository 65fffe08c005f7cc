"""The product region of a claim comparison: where the claim photo shows the product
that the reference shows too. It is built from the reference, whose every pixel is
sealed: the flat colour areas of the product (a band of the card, a plain rim) that
touch the matched points, lie near them and look the same in the photo at a coarse
scale, joined with the matched points' hull, the print between them and the holes
closed. A hand holding the product in the packing frame, or the packing table beside
it, is not the photo's product and is left out: not compared, not marked."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from verifier.claim._light import plane_at, plane_fit, relight

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_FLAT = 2.0  # local standard deviation (8-bit Lab, sigma 1.5 px) under which a pixel is flat
_AGREE_DELTA_E = 18.0  # coarse Lab distance under which photo and reference agree
_AGREE = 0.5  # of a flat area's pixels that must agree for it to be the product
_OWN_L, _OWN_AB = 30.0, 12.0  # a flat area's own light: its Lab offset at most this
_NEAR = 0.9  # of a flat area's pixels that must lie within _REACH of the matched points
_REACH = 1.5  # x the matched points' extent (square root of their hull's area)
_BRIDGE = 11  # work pixels of print between flat areas that are closed over
_MARGIN = 4  # work pixels along an edge that the flatness window (sigma 1 + 1.5) takes
_TABLE_DELTA_E = 15.0  # Lab distance from the photo's table colour that is not the table
_PIECE = 0.005  # of the region: smaller pieces showing the table are left to the comparison
_EDGED = 0.8  # of a piece's border on an edge of the frame: another object (_another_object)
_EDGE_SLACK = 3  # work pixels between the photo's table and the frame's edge (alignment, blur)
_SLIVER = 11  # work pixels: narrower parts of the unseen area are the outline's uncertainty
_UNSEEN_REACH = 0.15  # x the region's extent: how far beyond it the unseen part is looked for


def product_region(claim: U8, ref: U8, hull: U8, valid: U8) -> tuple[U8, U8]:
    """The product region (255) in work pixels: ``hull`` (the matched points' hull on the
    product) grown over the reference's flat areas that belong to the same product; and
    the part of the product the photo shows that the reference does not (see
    :func:`_unseen`).

    A flat area counts when it comes within ``_BRIDGE`` of the hull, lies (``_NEAR``)
    within ``_REACH`` of it (the packing table around the product is flat too, but
    reaches far beyond) and the photo agrees with it at a coarse scale over ``_AGREE``
    of it, under the light fitted to the hull or under a light of its own (see
    ``_own_light``; a hand over the product in the frame is a flat area the photo does
    not show). Damage in the photo does not shape the region: the reference does, so a
    stain across the rim is compared, not cut away with the rim."""
    inside = hull > 0
    area = int(inside.sum())
    if area < 64:
        return hull, np.zeros_like(hull)
    a = cv2.GaussianBlur(claim, (0, 0), 4).astype(np.float32)
    b = relight(a, cv2.GaussianBlur(ref, (0, 0), 4).astype(np.float32), inside)
    lab_a = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    agree = np.sqrt(((lab_a - lab_b) ** 2).sum(axis=2)) < _AGREE_DELTA_E
    lab = cv2.cvtColor(cv2.GaussianBlur(ref, (0, 0), 1), cv2.COLOR_RGB2LAB).astype(np.float32)
    mean = cv2.GaussianBlur(lab, (0, 0), 1.5)
    var = cv2.GaussianBlur(lab * lab, (0, 0), 1.5) - mean * mean
    flat = ((np.sqrt(np.maximum(var, 0)).max(axis=2) < _FLAT) & (valid > 0)).astype(np.uint8)
    reach = max(5, round(_REACH * math.sqrt(area))) | 1
    # Within reach's radius of the hull: a distance transform, not a dilation by a disc
    # hundreds of pixels wide (which took 40 % of a comparison).
    off = cv2.distanceTransform(cv2.bitwise_not(hull), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    near = off <= reach // 2
    bridge = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_BRIDGE, _BRIDGE))
    side = 2 * _BRIDGE + 1
    touching = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))) > 0
    _, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    taken = np.zeros_like(inside)
    behind = np.zeros_like(inside)  # flat areas of the frame that are not the product
    for j in set(np.unique(labels[touching]).tolist()) - {0}:
        part = labels == j
        size = int(stats[j, cv2.CC_STAT_AREA])
        if int((part & near).sum()) >= _NEAR * size and (
            int((part & agree).sum()) >= _AGREE * size or _own_light(lab_a, lab_b, part)
        ):
            taken |= part
        elif 2 * int((part & inside).sum()) < size:
            behind |= part
    # The flatness window leaves a few pixels along every edge out of every flat area: the
    # areas taken reach back over them (not over another flat area), up to the product's
    # edge, where damage on a plain rim often is.
    margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _MARGIN + 1,) * 2)
    areas = taken.copy()
    taken |= (cv2.dilate(taken.astype(np.uint8), margin) > 0) & (flat == 0) & (valid > 0)
    grown = inside | taken
    closed = cv2.morphologyEx(grown.astype(np.uint8) * 255, cv2.MORPH_CLOSE, bridge)
    # Fill holes: everything not reachable from the border through non-product pixels.
    flood = np.pad(cv2.bitwise_not(closed), 1, constant_values=255)
    cv2.floodFill(flood, None, (0, 0), 0)
    filled = np.asarray(cv2.bitwise_or(closed, flood[1:-1, 1:-1]), np.uint8)
    # A keypoint on the card's corner can lie a few pixels beyond it, and the hull with
    # it: where the frame shows there what lies behind the product (a flat area not taken,
    # mostly outside the hull) and the photo its table, neither shows the product
    # (measured: 4 of 8 false alarms on bench claim's development and held-out-3 splits
    # were the card's edge compared inside such a sliver). A tear shows the table too,
    # but the frame shows the card there, not what lies behind it.
    # The flatness window's margin beside what is cut goes with it, as it comes with
    # what is taken.
    table = _table(claim, filled)
    if table is not None:
        shown = table < _TABLE_DELTA_E
        cut = (behind & shown).astype(np.uint8)
        cut |= _another_object(areas & ~inside & shown, filled, flat == 0)
        cut |= (cv2.dilate(cut, margin) > 0) & (flat == 0)
        filled[cut > 0] = 0
    edge_off = cv2.erode(filled, np.ones((3, 3), np.uint8))  # off the product's edge
    region = np.asarray(cv2.bitwise_and(edge_off, valid), np.uint8)
    return region, _unseen(claim, region)


def _another_object(
    table: npt.NDArray[np.bool_], region: U8, edges: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """The pieces of ``table`` (what the region took beyond the matched points where the
    photo shows its table) that the frame shows as another object: the frame has an edge
    along nearly all of the piece's border with the rest of the region (``edges``: its
    pixels that are not flat). A white card laid on a white pick list is one flat area
    where the card's faint edge fades (measured: 6 of 8 false alarms on bench claim's
    held-out-4 split, the pick list compared with the buyer's table beside the card, each
    piece's border 94-100 % on such an edge). A torn corner shows the table too, but its
    border runs through the card's plain colour, where the frame has no edge."""
    out = np.zeros(table.shape, bool)
    total = int(np.count_nonzero(region))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(table.astype(np.uint8), connectivity=8)
    if n <= 1:
        return out
    ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _EDGE_SLACK + 1,) * 2)
    near_edge = cv2.dilate(edges.astype(np.uint8), ring) > 0
    square = np.ones((3, 3), np.uint8)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < _PIECE * total:
            continue
        piece = labels == i
        rest = np.asarray((region > 0) & ~piece, np.uint8)
        border = piece & (cv2.dilate(rest, square) > 0)
        if border.any() and float(near_edge[border].mean()) >= _EDGED:
            out |= piece
    return out


def _own_light(lab_a: F32, lab_b: F32, part: npt.NDArray[np.bool_]) -> bool:
    """Whether the photo shows ``part`` as the reference does under a light of its own:
    one offset (a band a shade lighter, a lamp to one side) brings most of it within
    _AGREE_DELTA_E, and the offset is one light could make (lightness, a little hue)."""
    d = lab_a[part] - lab_b[part]
    offset = np.median(d, axis=0)
    if abs(float(offset[0])) > _OWN_L or float(np.hypot(offset[1], offset[2])) > _OWN_AB:
        return False
    close = np.sqrt(((d - offset) ** 2).sum(axis=1)) < _AGREE_DELTA_E
    return float(close.mean()) >= _AGREE


def _unseen(claim: U8, region: U8) -> U8:
    """Where the photo shows the product beyond the region (255): the frame shows
    something else there (the packer's hand over a corner of the card), or nothing, or
    the region stopped short (the matched points did not reach a stained corner). It is
    what lies next to the region in a colour other than the buyer's table's (fitted to a
    ring around the region), less slivers along the region's edge. Not compared, so
    damage there is neither found nor ruled out; the report says so and outlines it."""
    inside = region > 0
    table = _table(claim, region)
    if table is None:
        return np.zeros_like(region)
    off = cv2.distanceTransform(cv2.bitwise_not(region), cv2.DIST_L2, 3)
    near = off <= _reach(region)
    part = (near & ~inside & (table > _TABLE_DELTA_E)).astype(np.uint8) * 255
    rim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_SLIVER, _SLIVER))
    part = np.asarray(cv2.morphologyEx(part, cv2.MORPH_OPEN, rim), np.uint8)
    # Each piece whole (damage in it may have the table's colour), and only beside the
    # region: what is not the table further off is something else on it.
    out = np.zeros_like(region)
    touch = cv2.dilate(region, np.ones((5, 5), np.uint8)) > 0
    n, labels = cv2.connectedComponents(part)
    for j in range(1, n):
        piece = labels == j
        if not (piece & touch).any():
            continue
        hull = cv2.convexHull(cv2.findNonZero(piece.astype(np.uint8)))
        cv2.fillConvexPoly(out, hull, 255)
    out[~near | inside] = 0
    return out


def _reach(region: U8) -> float:
    """How far beyond ``region`` the product may still be: ``_UNSEEN_REACH`` of its extent."""
    return max(3.0, _UNSEEN_REACH * math.sqrt(float(np.count_nonzero(region))))


def _table(claim: U8, region: U8) -> F32 | None:
    """Each pixel's CIE Lab distance from the photo's table colour around ``region``, or
    None if too little of the table shows. The table's colour drifts across the photo (a
    lamp to one side, vignetting): a plane per channel, fitted to a ring at one to two
    ``_reach`` from the region and refitted on its better half (stripes and things on the
    table). Not a quadratic: where the photo's edge cuts the ring to a strip on one side,
    a quadratic runs wild across the rest."""
    if np.count_nonzero(region) < 64:
        return None
    reach = _reach(region)
    off = cv2.distanceTransform(cv2.bitwise_not(region), cv2.DIST_L2, 3)
    ring_at = (off > reach) & (off <= 2 * reach)
    if int(ring_at.sum()) < 64:
        return None
    lab = cv2.cvtColor(cv2.GaussianBlur(claim, (0, 0), 3), cv2.COLOR_RGB2LAB).astype(np.float32)
    ys, xs = np.nonzero(ring_at)
    step = max(1, len(ys) // 4000)
    ys, xs = ys[::step], xs[::step]
    coef = plane_fit(ys, xs, lab[ys, xs], keep=0.5, refits=1)
    h, w = region.shape
    table = plane_at(coef, np.arange(h)[:, None], np.arange(w)[None, :])
    return np.asarray(np.sqrt(((lab - table) ** 2).sum(axis=2)), np.float32)
