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

from verifier.claim._light import relight

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_FLAT = 2.0  # local standard deviation (8-bit Lab, sigma 1.5 px) under which a pixel is flat
_AGREE_DELTA_E = 18.0  # coarse Lab distance under which photo and reference agree
_AGREE = 0.5  # of a flat area's pixels that must agree for it to be the product
_NEAR = 0.9  # of a flat area's pixels that must lie within _REACH of the matched points
_REACH = 1.5  # x the matched points' extent (square root of their hull's area)
_BRIDGE = 11  # work pixels of print between flat areas that are closed over
_MARGIN = 4  # work pixels along an edge that the flatness window (sigma 1 + 1.5) takes


def product_region(claim: U8, ref: U8, hull: U8, valid: U8) -> U8:
    """The product region (255) in work pixels: ``hull`` (the matched points' hull on the
    product) grown over the reference's flat areas that belong to the same product.

    A flat area counts when it comes within ``_BRIDGE`` of the hull, lies (``_NEAR``)
    within ``_REACH`` of it (the packing table around the product is flat too, but
    reaches far beyond) and the photo agrees with it at a coarse scale over ``_AGREE``
    of it (a hand over the product in the frame is a flat area the photo does not
    show). Damage in the photo does not shape the region: the reference does, so a
    stain across the rim is compared, not cut away with the rim."""
    inside = hull > 0
    area = int(inside.sum())
    if area < 64:
        return hull
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
    near = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))) > 0
    bridge = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_BRIDGE, _BRIDGE))
    side = 2 * _BRIDGE + 1
    touching = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))) > 0
    _, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    taken = np.zeros_like(inside)
    for j in set(np.unique(labels[touching]).tolist()) - {0}:
        part = labels == j
        size = int(stats[j, cv2.CC_STAT_AREA])
        if int((part & near).sum()) >= _NEAR * size and int((part & agree).sum()) >= _AGREE * size:
            taken |= part
    # The flatness window leaves a few pixels along every edge out of every flat area: the
    # areas taken reach back over them (not over another flat area), up to the product's
    # edge, where damage on a plain rim often is.
    margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _MARGIN + 1,) * 2)
    taken |= (cv2.dilate(taken.astype(np.uint8), margin) > 0) & (flat == 0) & (valid > 0)
    grown = inside | taken
    closed = cv2.morphologyEx(grown.astype(np.uint8) * 255, cv2.MORPH_CLOSE, bridge)
    # Fill holes: everything not reachable from the border through non-product pixels.
    flood = np.pad(cv2.bitwise_not(closed), 1, constant_values=255)
    cv2.floodFill(flood, None, (0, 0), 0)
    filled = cv2.bitwise_or(closed, flood[1:-1, 1:-1])
    edge_off = cv2.erode(filled, np.ones((3, 3), np.uint8))  # off the product's edge
    return np.asarray(cv2.bitwise_and(edge_off, valid), np.uint8)
