"""The product region of a claim comparison: where the claim photo shows the product
that the reference shows too (grown from the matched points over where both agree, to its
convex outline, minus what the reference cannot show, such as a hand holding it)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from verifier.claim._light import relight

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_AGREE_DELTA_E = 18.0  # coarse Lab distance under which a pixel is the product's surface
_REACH = 0.5  # how far (x the matched points' extent) the product region may grow


def product_region(claim: U8, ref: U8, hull: U8, valid: U8) -> U8:
    """The product region: the inliers' hull, grown over the pixels where claim photo and
    reference agree at a coarse scale (the product's surface; the buyer's table and the
    packing table disagree), with the holes damage leaves in that agreement filled."""
    inside = hull > 0
    if int(inside.sum()) < 64:
        return hull
    a = cv2.GaussianBlur(claim, (0, 0), 4).astype(np.float32)
    b = relight(a, cv2.GaussianBlur(ref, (0, 0), 4).astype(np.float32), inside)
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
    """``grown`` plus those notches of its convex hull ``filled`` that the reference shows
    as the product's surface while the photo looks foreign there at least as much (a
    stain or a crack across the rim breaks the agreement: compared). A notch where the
    reference shows something else is left out: a hand holding the product in the
    packing frame (cannot be checked), or the packing table beside the product's edge
    (measured: kept, it was a source of false alarms along the card's edge)."""
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
        if own >= theirs and theirs < _AGREE_DELTA_E:
            out[part] = 255
    return out
