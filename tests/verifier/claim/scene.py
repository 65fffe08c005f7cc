"""Buyer's photos of the session recording's products (tests/recording.py: demo seed 1,
640x360): the product's printed face drawn at twice that size, seen at an angle on a
plain table, JPEG 85; optionally with a dark crack, or a stain on the card's rim far from
its print, of known mask."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

from recorder.demo import DemoScene

U8 = npt.NDArray[np.uint8]


@cache
def product(order_id: str, seed: int = 1) -> tuple[U8, U8]:
    """(RGB face, mask) of the product shown in ``order_id``, at 1280x720 scene scale."""
    scene = DemoScene(1280, 720, 15, seed=seed, orders=3)
    scene.orders()
    for plan in scene._plans:
        if plan.order_id == order_id and scene._shown_item(plan) is not None:
            face, mask, _ = scene._part(plan, "product")
            return np.ascontiguousarray(face[:, :, ::-1]), mask
    raise LookupError(f"order {order_id} shows no product")


def photo(
    face: U8,
    mask: U8,
    *,
    crack: bool,
    rim_stain: bool = False,
    corner_stain: bool = False,
    corner_paste: U8 | None = None,
) -> tuple[bytes, U8]:
    """(JPEG bytes, damage mask in the photo's pixels)."""
    face = face.copy()
    truth = np.zeros(face.shape[:2], np.uint8)
    h, w = face.shape[:2]
    stains = []
    if corner_stain:  # both bottom corners: the packer's hand holds the card by one, then the other
        stains.append(((round(w * 0.9), round(h * 0.82)), (w // 18, h // 10)))
        stains.append(((round(w * 0.1), round(h * 0.82)), (w // 18, h // 10)))
    if rim_stain:  # over the left edge, where the card is plain colour: no feature nearby
        stains.append(((round(w * 0.04), round(h * 0.55)), (w // 14, h // 9)))
    for centre, axes in stains:
        blob = np.zeros((h, w), np.uint8)
        cv2.ellipse(blob, centre, axes, 0, 0, 360, 255, -1)
        blob &= mask
        stain = blob[..., None].astype(np.float32) / 255 * 0.7
        face = (face * (1 - stain) + np.float32([95, 60, 25]) * stain).astype(np.uint8)
        truth |= blob
    if corner_paste is not None:  # another print over a bottom corner, larger than the hand
        ph, pw = corner_paste.shape[:2]
        y0, x0 = h - ph, w - pw
        here = mask[y0:, x0:] > 0
        face[y0:, x0:][here] = corner_paste[here]
        truth[y0:, x0:][here] = 255
    if crack:
        pts = np.array([[w * 0.30, h * 0.75], [w * 0.45, h * 0.62], [w * 0.62, h * 0.70]], np.int32)
        cv2.polylines(face, [pts], False, (25, 20, 15), 7, cv2.LINE_AA)
        cv2.polylines(truth, [pts], False, 255, 7)
        truth &= mask
    pad = 120
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32(
        [[pad + 20, pad], [pad + w, pad + 30], [pad + w - 10, pad + h], [pad, pad + h - 25]]
    )
    hmat = cv2.getPerspectiveTransform(src, dst)
    size = (w + 2 * pad, h + 2 * pad)
    table = np.full((size[1], size[0], 3), (182, 160, 140), np.uint8)
    warped = cv2.warpPerspective(face, hmat, size)
    alpha = cv2.warpPerspective(mask, hmat, size).astype(np.float32)[..., None] / 255
    out = (table * (1 - alpha) + warped * alpha * 1.08).clip(0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes(), cv2.warpPerspective(truth, hmat, size, flags=cv2.INTER_NEAREST)


def unrelated() -> bytes:
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.random((400, 600, 3)).astype(np.float32), (0, 0), 5) * 255
    for _ in range(12):
        p0 = tuple(int(v) for v in rng.integers(0, 400, 2))
        p1 = tuple(int(v) for v in rng.integers(0, 600, 2))
        cv2.rectangle(img, p0, p1, rng.integers(0, 255, 3).tolist(), 3)
    ok, data = cv2.imencode(
        ".jpg", img.clip(0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    assert ok
    return data.tobytes()
