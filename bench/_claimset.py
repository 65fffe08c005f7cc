"""Ground truth for ``bench claim``: buyer's photos made from the demo scene's products.

A claim photo is the product's printed face drawn at twice the footage's resolution (the
demo scene at 2560x1440; its sprites are the same artwork at any size), laid on a
buyer's table, then put through what a phone and a buyer do: a perspective view, a
scale, blur (sigma up to 1.6 px) and vignetting, a lighting shift (gain, white balance off
by up to 12 % per channel, a gradient), shot and read noise, optionally damage, JPEG at
quality 40-90, and a resize. Damage is painted (cracks: dark polylines; stains:
translucent blobs; scuffs: lightened noise) or pasted (a patch of another product);
its mask goes through the same geometry, so it is exact in the final photo's pixels.

Unrelated products are the products of other demo seeds (same card template, other
artwork and barcode: the hard case) and procedural objects (noise textures with shapes).
There is no camera on this machine, so no photograph of a physical product is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Photo:
    kind: str  # "damaged", "honest", "unrelated"
    product: str
    jpeg: bytes
    truth: U8 | None  # damage mask (255) in the photo's pixels, damaged only
    recipe: str
    # where the damage changes the photo by more than VISIBLE (before its JPEG), damaged only
    seen: U8 | None = None


# A colour step one can see (max over channels, of 255): the same as for painted damage.
VISIBLE = 24


def _table(rng: np.random.Generator, w: int, h: int) -> U8:
    """A buyer's table: a smooth colour with grain and a few stripes."""
    base = rng.integers(60, 200, size=3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    img += rng.normal(0, 6, (h, w, 1))
    for _ in range(rng.integers(2, 6)):
        y = int(rng.integers(0, h))
        cv2.line(img, (0, y), (w, y + int(rng.integers(-40, 40))), (base * 0.8).tolist(), 3)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 1.5), 0, 255).astype(np.uint8)


def _damage(rng: np.random.Generator, face: U8, mask: U8, others: list[U8]) -> tuple[U8, U8, str]:
    """Damage drawn on the product (inside ``mask``); returns the face, the truth, the kind."""
    h, w = face.shape[:2]
    out = face.astype(np.float32)
    truth = np.zeros((h, w), np.uint8)
    ys, xs = np.nonzero(mask)
    cy, cx = int(rng.choice(ys)), int(rng.choice(xs))
    kind = str(rng.choice(["crack", "stain", "scuff", "paste"]))
    size = min(h, w)
    if kind == "crack":
        pts = [(cx, cy)]
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(3, 7))):
            angle += rng.uniform(-0.7, 0.7)
            step = rng.uniform(0.05, 0.12) * size
            x, y = pts[-1]
            pts.append((int(x + step * math.cos(angle)), int(y + step * math.sin(angle))))
        thick = int(rng.integers(max(3, size // 90), max(5, size // 35)))
        color = rng.integers(10, 60, size=3).tolist()
        cv2.polylines(out, [np.array(pts, np.int32)], False, color, thick, cv2.LINE_AA)
        cv2.polylines(truth, [np.array(pts, np.int32)], False, 255, thick)
    elif kind == "stain":
        blob = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(2, 5))):
            c = (int(cx + rng.normal(0, size * 0.04)), int(cy + rng.normal(0, size * 0.04)))
            axes = (int(rng.uniform(0.04, 0.12) * size), int(rng.uniform(0.03, 0.09) * size))
            cv2.ellipse(blob, c, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        alpha = float(rng.uniform(0.45, 0.75))
        color = np.array([rng.uniform(60, 120), rng.uniform(40, 80), rng.uniform(10, 40)])
        soft = cv2.GaussianBlur(blob, (0, 0), 2)[..., None] * alpha
        out = out * (1 - soft) + color * soft
        truth[blob > 0] = 255
    elif kind == "scuff":
        r = int(rng.uniform(0.06, 0.14) * size)
        patch = np.zeros((h, w), np.float32)
        cv2.circle(patch, (cx, cy), r, 1.0, -1)
        noise = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2)
        scratch = (noise > 0.5).astype(np.float32) * patch
        out = out * (1 - scratch[..., None] * 0.6) + 235 * scratch[..., None] * 0.6
        truth[scratch > 0] = 255
    else:  # a patch of another product pasted on
        other = others[int(rng.integers(0, len(others)))]
        ph, pw = int(rng.uniform(0.12, 0.25) * size), int(rng.uniform(0.12, 0.3) * size)
        oy = int(rng.integers(0, max(1, other.shape[0] - ph)))
        ox = int(rng.integers(0, max(1, other.shape[1] - pw)))
        src = other[oy : oy + ph, ox : ox + pw].astype(np.float32)
        y0, x0 = max(0, cy - ph // 2), max(0, cx - pw // 2)
        y1, x1 = min(h, y0 + src.shape[0]), min(w, x0 + src.shape[1])
        out[y0:y1, x0:x1] = src[: y1 - y0, : x1 - x0]
        truth[y0:y1, x0:x1] = 255
    truth &= mask
    keep = mask > 0
    result = np.clip(np.where(keep[..., None], out, face.astype(np.float32)), 0, 255)
    # Only damage one can see counts: a white scuff on a white label changes nothing.
    visible = np.abs(result - face.astype(np.float32)).max(axis=2) > VISIBLE
    truth[~visible] = 0
    return result.astype(np.uint8), truth, kind


def make_photo(
    rng: np.random.Generator,
    face: U8,
    mask: U8,
    *,
    kind: str,
    product: str,
    others: list[U8],
) -> Photo:
    """One buyer's photo of ``face`` (RGB, its ``mask`` marks the product's pixels)."""
    truth = seen = None
    recipe = []
    clean = face
    if kind == "damaged":
        face, truth, how = _damage(rng, face, mask, others)
        recipe.append(how)
        # The same photo of the undamaged product, with the same draws (view, light,
        # noise): where the two differ is the damage one can see in the buyer's photo.
        twin = np.random.default_rng()
        twin.bit_generator.state = rng.bit_generator.state
        undamaged, _, _ = _shoot(twin, clean, mask, truth, [])
    photo8, truth, quality = _shoot(rng, face, mask, truth, recipe)
    if kind == "damaged":
        diff = np.abs(photo8.astype(np.int16) - undamaged.astype(np.int16)).max(axis=2)
        seen = ((diff > VISIBLE) * 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", photo8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return Photo(kind, product, data.tobytes(), truth, ", ".join(recipe), seen)


def _shoot(
    rng: np.random.Generator, face: U8, mask: U8, truth: U8 | None, recipe: list[str]
) -> tuple[U8, U8 | None, int]:
    """The photo before its JPEG: view, optics, light, noise and a resize; the truth mask
    through the same geometry; the JPEG quality to save it at."""
    h, w = face.shape[:2]
    pad = int(0.35 * max(h, w))
    canvas_w, canvas_h = w + 2 * pad, h + 2 * pad
    # A perspective view: each corner of the product moved by up to 10 % of its size.
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-0.10, 0.10, (4, 2)) * [w, h]
    scale = float(rng.uniform(0.7, 1.4))
    angle = math.radians(float(rng.uniform(-20, 20)))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centred = (src - [w / 2, h / 2] + jitter) @ rot.T * scale
    out_w, out_h = round(canvas_w * scale), round(canvas_h * scale)
    dst = np.float32(centred + np.array([out_w / 2, out_h / 2]))
    hmat = cv2.getPerspectiveTransform(src, dst)
    recipe.append(f"scale {scale:.2f} rot {math.degrees(angle):+.0f}")
    photo = _table(rng, out_w, out_h).astype(np.float32)
    warped = cv2.warpPerspective(face, hmat, (out_w, out_h), flags=cv2.INTER_LINEAR)
    wmask = cv2.warpPerspective(mask, hmat, (out_w, out_h), flags=cv2.INTER_LINEAR)
    a = (wmask.astype(np.float32) / 255)[..., None]
    photo = photo * (1 - a) + warped.astype(np.float32) * a
    # A phone's optics: a little defocus or shake blur, and vignetting.
    blur = float(rng.uniform(0.0, 1.6))
    if blur > 0.3:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    r2 = ((xx - out_w / 2) ** 2 + (yy - out_h / 2) ** 2) / ((out_w / 2) ** 2 + (out_h / 2) ** 2)
    photo = photo * (1 - float(rng.uniform(0, 0.25)) * r2)[..., None]
    # Lighting: gain, a white balance off by up to 12 % per channel, a gradient.
    gain = float(rng.uniform(0.75, 1.25))
    cast = rng.uniform(0.88, 1.12, 3)
    ramp = np.linspace(1 - rng.uniform(0, 0.2), 1 + rng.uniform(0, 0.1), out_w, dtype=np.float32)
    photo = photo * gain * cast * ramp[None, :, None]
    recipe.append(f"light {gain:.2f} blur {blur:.1f}")
    # Sensor noise: shot noise grows with the signal, plus a floor and a little chroma.
    shot = np.sqrt(np.clip(photo, 0, 255) / 255) * float(rng.uniform(1.0, 5.0))
    photo = photo + rng.normal(0, 1, photo.shape).astype(np.float32) * (shot + 1.5)
    photo8 = np.clip(photo, 0, 255).astype(np.uint8)
    if truth is not None:
        truth = cv2.warpPerspective(truth, hmat, (out_w, out_h), flags=cv2.INTER_NEAREST)
    # A resize (a messaging app's), then JPEG.
    resize = float(rng.uniform(0.5, 1.0))
    size = (max(64, round(out_w * resize)), max(64, round(out_h * resize)))
    photo8 = cv2.resize(photo8, size, interpolation=cv2.INTER_AREA)
    if truth is not None:
        truth = cv2.resize(truth, size, interpolation=cv2.INTER_NEAREST)
    quality = int(rng.integers(40, 91))
    recipe.append(f"resize {resize:.2f} jpeg {quality}")
    return photo8, truth, quality


def procedural_object(rng: np.random.Generator, w: int = 700, h: int = 460) -> tuple[U8, U8]:
    """An unrelated product: a textured card with random shapes and text."""
    img = np.full((h, w, 3), rng.integers(40, 220, size=3), np.uint8)
    noise = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 6)
    img = np.clip(img.astype(np.float32) * (0.7 + 0.6 * noise), 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(6, 14))):
        color = rng.integers(0, 255, size=3).tolist()
        if rng.random() < 0.5:
            p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.rectangle(img, p0, p1, color, int(rng.choice([-1, 3])))
        else:
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(img, c, int(rng.integers(10, 80)), color, int(rng.choice([-1, 4])))
    for _ in range(3):
        text = "".join(chr(int(rng.integers(65, 91))) for _ in range(int(rng.integers(4, 9))))
        org = (int(rng.integers(10, w // 2)), int(rng.integers(40, h - 10)))
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.5, (20, 20, 20), 3)
    return img, np.full((h, w), 255, np.uint8)
