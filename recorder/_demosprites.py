"""The pixels of the demo table: the background drawn once, and each order's sprites."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

from recorder._demolayout import F32, Card, Image, Item, Layout, Plan, tint, u8

_PART_CACHE = 12  # sprite sets kept (an order has up to 5); a sequential reader needs ~5

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BOLD = cv2.FONT_HERSHEY_DUPLEX
_INK = (34, 30, 28)
_PAPER = (236, 240, 241)
_NAMES = ("A. Novak", "M. Chen", "L. Garcia", "S. Okafor", "J. Schmidt", "P. Rossi", "K. Sato")
_CITIES = ("Berlin", "Lyon", "Porto", "Gdansk", "Milano", "Utrecht", "Vienna", "Leeds")


class Sprites(Layout):
    """Sprites (box, pick list, waybill, product, items) drawn when first needed, and cached."""

    def __init__(self, width: int, height: int, fps: int, seed: int) -> None:
        super().__init__(width, height, fps, seed)
        self._lock = threading.Lock()
        self._parts: OrderedDict[tuple[int, str], tuple[Image, ...]] = OrderedDict()
        self._grain_cache: Image | None = None

    def _part(self, p: Plan, name: str) -> tuple[Image, ...]:
        """The pixels of one part of an order, drawn when first needed.

        Parts are drawn one at a time (box, then sheet, ...) because drawing a whole order
        at once took ~40 ms at 1080p: more than a frame interval, so a realtime demo would
        drop a frame at every order.
        """
        key = (p.k, name)
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
                return part
        draw: dict[str, Callable[[Plan], tuple[Image, ...]]] = {
            "box": self._draw_box,
            "sheet": self._draw_sheet,
            "label": self._draw_label,
            "product": self._draw_product,
            "items": self._draw_items,
        }
        part = draw[name](p)
        with self._lock:
            self._parts[key] = part
            while len(self._parts) > _PART_CACHE:
                self._parts.popitem(last=False)
        return part

    def _grain(self, w: int, h: int) -> Image:
        """Paper-fibre noise around 200 (a multiplier /200), shared by every box.

        Always drawn at the largest box size, so a box's texture does not depend on which
        box happened to be drawn first.
        """
        g = self._grain_cache
        if g is None:
            gw, gh = self._d(700), self._d(380)
            rng = np.random.default_rng([self.seed, 4])
            small = rng.standard_normal((gh // 2 + 1, gw // 2 + 1)).astype(np.float32)
            n = np.asarray(cv2.resize(small, (gw, gh), interpolation=cv2.INTER_LINEAR))
            g = self._grain_cache = u8(np.clip(200 + 7 * n, 0, 255))
        return g[:h, :w]

    def _text(
        self,
        img: Image,
        text: str,
        org: tuple[float, float],
        size: float,
        color: tuple[int, int, int] = _INK,
        bold: bool = False,
    ) -> None:
        thick = max(1, round((2 if bold else 1) * self._s))
        at = (round(org[0]), round(org[1]))
        cv2.putText(
            img, text, at, _BOLD if bold else _FONT, size * self._s, color, thick, cv2.LINE_AA
        )

    def _code_pixels(self, text: str, fmt: zxingcpp.BarcodeFormat, w: int, h: int) -> Image:
        sym = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=1), dtype=np.uint8)
        if fmt == zxingcpp.BarcodeFormat.Code128:
            sym = sym[:1]  # one row: the bars are the same all the way down
        # INTER_AREA blends the module edges the way a camera's pixels would.
        return u8(cv2.resize(sym, (w, h), interpolation=cv2.INTER_AREA))

    def _paste_code(self, card: Image, c: Card, text: str, fmt: zxingcpp.BarcodeFormat) -> None:
        """Print the code in ink on whatever the card's paper is there."""
        x, y, w, h = c.code
        gray = self._code_pixels(text, fmt, w, h).astype(np.float32)[..., None] / 255
        paper = card[y, x].astype(np.float32)
        ink = np.array(_INK, np.float32)
        card[y : y + h, x : x + w] = u8(ink + (paper - ink) * gray)

    def _turn(self, c: Card, card: Image, blur: float) -> tuple[Image, Image, Image]:
        """The card on its canvas, its mask, and the multiplier of the shadow it casts."""
        img = u8(cv2.warpAffine(card, c.matrix, (c.cw, c.ch), flags=cv2.INTER_LINEAR))
        solid = np.full((c.h, c.w), 255, np.uint8)
        soft = u8(cv2.warpAffine(solid, c.matrix, (c.cw, c.ch), flags=cv2.INTER_LINEAR))
        mask = np.where(soft >= 128, 255, 0).astype(np.uint8)
        shadow = self._shadow(mask, blur, 0.42) if blur else mask
        return img, mask, shadow

    def _shadow(self, mask: Image, blur: float, strength: float) -> Image:
        """A multiplier (255 = unchanged) for the soft shadow of ``mask``, padded by 3 blurs.

        Blurred at a quarter of the size: a full-size blur of this radius took ~70 ms per
        order at 1080p, long enough to drop frames in a realtime demo.
        """
        pad = self._d(3 * blur)
        big = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        h, w = big.shape[:2]
        small = cv2.resize(big, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(0.5, blur * self._s / 4))
        soft = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.uint16)
        fac = (255 - ((soft * round(strength * 256)) >> 8)).astype(np.uint8)
        return u8(cv2.cvtColor(fac, cv2.COLOR_GRAY2BGR))

    def _draw_box(self, p: Plan) -> tuple[Image, Image, Image]:
        """The open box (walls and floor), the closed top, and the shadow of either."""
        d = self._d
        bw, bh = p.box_w, p.box_h
        tone = p.box_tone
        grain = cv2.cvtColor(self._grain(bw, bh), cv2.COLOR_GRAY2BGR)

        def cardboard(t: tuple[int, int, int]) -> Image:
            flat = np.empty((bh, bw, 3), np.uint8)
            flat[:] = t
            return u8(cv2.multiply(flat, grain, scale=1 / 200))

        def shade(f: float) -> tuple[int, int, int]:
            return (
                min(255, int(tone[0] * f)),
                min(255, int(tone[1] * f)),
                min(255, int(tone[2] * f)),
            )

        wall = d(18)
        body_open = cardboard(tone)
        inner = [(wall, wall), (bw - wall, wall), (bw - wall, bh - wall), (wall, bh - wall)]
        outer = [(0, 0), (bw, 0), (bw, bh), (0, bh)]
        # Light from the top of the frame: the far wall is lit, the near one in shade.
        for (a, b), f in zip(
            ((0, 1), (1, 2), (2, 3), (3, 0)), (0.96, 0.78, 0.64, 0.8), strict=True
        ):
            poly = np.array([outer[a], outer[b], inner[b], inner[a]], np.int32)
            cv2.fillConvexPoly(body_open, poly, shade(f), cv2.LINE_AA)
        body_open[wall : bh - wall, wall : bw - wall] = u8(
            cv2.convertScaleAbs(body_open[wall : bh - wall, wall : bw - wall], alpha=0.62)
        )
        cv2.rectangle(body_open, (0, 0), (bw - 1, bh - 1), shade(1.06), d(3))

        body_closed = cardboard(shade(1.04))
        cv2.line(body_closed, (0, bh // 2), (bw, bh // 2), shade(0.55), d(2), cv2.LINE_AA)
        cv2.rectangle(body_closed, (0, 0), (bw - 1, bh - 1), shade(0.8), d(2))
        shadow = self._shadow(np.full((bh, bw), 255, np.uint8), 14, 0.5)
        return body_open, body_closed, shadow

    def _draw_items(self, p: Plan) -> tuple[Image, ...]:
        return tuple(self._draw_item(it) for it in p.items)

    def _draw_product(self, p: Plan) -> tuple[Image, Image, Image]:
        it, c = self._shown_item(p), p.product
        assert it is not None
        assert c is not None
        assert p.ean is not None
        return self._turn(c, self._product_face(c, p.ean, it), 14)

    def _draw_sheet(self, p: Plan) -> tuple[Image, Image, Image]:
        return self._turn(p.sheet, self._sheet_face(p), 16)

    def _draw_label(self, p: Plan) -> tuple[Image, Image, Image]:
        return self._turn(p.label, self._label_face(p), 0)

    def _sheet_face(self, p: Plan) -> Image:
        c, d = p.sheet, self._d
        img = np.full((c.h, c.w, 3), _PAPER, np.uint8)
        qr = p.symbology == "QRCode"
        fmt = zxingcpp.BarcodeFormat.QRCode if qr else zxingcpp.BarcodeFormat.Code128
        self._paste_code(img, c, p.order_id, fmt)
        x, y, w, h = c.code
        self._text(img, "PICK LIST", (c.w - d(150), d(34)), 0.7, bold=True)
        self._text(img, "Packseal demo store", (d(22), d(34)), 0.5)
        if qr:
            tx = x + w + d(18)
            self._text(img, p.order_id, (tx, d(90)), 0.72, bold=True)
            self._text(img, "Scan to start packing", (tx, d(118)), 0.45)
            line_y, line_x = d(160), tx
        else:
            self._text(img, p.order_id, (c.w / 2 - d(110), y + h + d(32)), 0.8, bold=True)
            line_y, line_x = y + h + d(68), d(28)
        for j, it in enumerate(p.items):
            row = line_y + j * d(30)
            self._text(img, f"1 x  {it.name}", (line_x, row), 0.5)
            cv2.rectangle(img, (line_x - d(16), row - d(11)), (line_x - d(6), row - d(1)), _INK, 1)
        cv2.line(img, (d(24), c.h - d(40)), (c.w - d(24), c.h - d(40)), (170, 170, 170), 1)
        self._text(img, "packed by ________   checked ____", (d(24), c.h - d(16)), 0.42)
        return img

    def _label_face(self, p: Plan) -> Image:
        c, d = p.label, self._d
        img = np.full((c.h, c.w, 3), (246, 248, 248), np.uint8)
        img[: d(38)] = _INK
        self._text(img, "PACKSEAL EXPRESS", (d(14), d(27)), 0.7, (245, 245, 245), bold=True)
        self._text(img, "STD  1/1", (c.w - d(110), d(27)), 0.6, (245, 245, 245), bold=True)
        self._paste_code(img, c, p.tracking_id, zxingcpp.BarcodeFormat.Code128)
        _, y, _, h = c.code
        self._text(img, p.tracking_id, (c.w / 2 - d(118), y + h + d(26)), 0.75, bold=True)
        cv2.line(img, (d(10), y + h + d(40)), (c.w - d(10), y + h + d(40)), _INK, d(2))
        rng = np.random.default_rng([self.seed, p.k, 9])
        name = _NAMES[int(rng.integers(len(_NAMES)))]
        city = _CITIES[int(rng.integers(len(_CITIES)))]
        self._text(img, f"TO: {name}", (d(14), y + h + d(66)), 0.55, bold=True)
        street = (
            f"{int(rng.integers(1, 180))} Harbour Street, {int(rng.integers(10000, 99999))} {city}"
        )
        self._text(img, street, (d(14), y + h + d(90)), 0.5)
        self._text(img, f"REF {p.order_id}   1.2 kg", (d(14), y + h + d(114)), 0.45)
        cv2.rectangle(img, (0, 0), (c.w - 1, c.h - 1), (150, 150, 150), 1)
        return img

    def _product_face(self, c: Card, ean: str, it: Item) -> Image:
        d = self._d
        img = np.full((c.h, c.w, 3), it.color, np.uint8)
        x, y, w, h = c.code
        cv2.rectangle(
            img, (x - d(10), y - d(8)), (x + w + d(10), y + h + d(30)), (250, 250, 250), -1
        )
        self._paste_code(img, c, ean, zxingcpp.BarcodeFormat.EAN13)
        self._text(
            img, " ".join((ean[0], ean[1:7], ean[7:])), (x + w / 2 - d(78), y + h + d(22)), 0.6
        )
        dark = tint(it.color, 0.6)
        cv2.rectangle(img, (0, c.h - d(70)), (c.w, c.h), dark, -1)
        self._text(img, it.name, (d(20), c.h - d(28)), 0.7, (250, 250, 250), bold=True)
        return img

    def _draw_item(self, it: Item) -> Image:
        d = self._d
        img = np.full((it.h, it.w, 3), it.color, np.uint8)
        dark = tint(it.color, 0.7)
        light = tint(it.color, 1.25, 20)
        band = max(d(14), it.h // 5)
        cv2.rectangle(img, (0, it.h // 2 - band // 2), (it.w, it.h // 2 + band // 2), light, -1)
        cv2.rectangle(img, (0, 0), (it.w - 1, it.h - 1), dark, d(3))
        word = it.name.split()[0].upper()
        self._text(img, word, (d(10), it.h // 2 + d(6)), 0.5, dark, bold=True)
        return img

    def _table(self) -> Image:
        """The static background: a wooden bench, a cutting mat and the usual clutter."""
        fw, fh, s, d = self.width, self.height, self._s, self._d
        rng = np.random.default_rng([self.seed, 1])

        def noise(rows: int, cols: int) -> F32:
            small = rng.standard_normal((max(2, rows), max(2, cols))).astype(np.float32)
            return cv2.resize(small, (fw, fh), interpolation=cv2.INTER_CUBIC).astype(np.float32)

        y = np.arange(fh, dtype=np.float32)[:, None]
        low = noise(fh // 90, fw // 160)
        streak = noise(fh // 3, fw // 60)
        plank_h = 150 * s
        plank = np.floor((y + 40 * s + 10 * s * low) / plank_h)
        tone = 1 + 0.06 * np.sin(plank * 2.7)
        rings = np.sin((y + 30 * s * low) / (5.5 * s) + plank * 1.3)
        shade = tone * (1 + 0.05 * low + 0.045 * streak + 0.025 * rings)
        seam = np.abs(((y + 40 * s + 10 * s * low) % plank_h) - plank_h / 2) > plank_h / 2 - 1.5 * s
        shade = np.where(seam, shade * 0.62, shade)
        oak = np.array([112, 156, 194], np.float32)
        img = np.clip(oak[None, None, :] * shade[..., None], 0, 255).astype(np.uint8)

        mask = np.zeros((fh, fw), np.uint8)

        def shadowed(poly: npt.NDArray[np.int32], color: tuple[int, int, int]) -> None:
            mask[:] = 0
            cv2.fillPoly(mask, [poly + np.int32(d(8))], 255, cv2.LINE_AA)
            fac = self._shadow(mask, 8, 0.35)
            pad = (fac.shape[0] - fh) // 2
            img[:] = cv2.multiply(img, fac[pad : pad + fh, pad : pad + fw], scale=1 / 255)
            cv2.fillPoly(img, [poly], color, cv2.LINE_AA)

        def poly(*pts: tuple[float, float]) -> npt.NDArray[np.int32]:
            return np.array([self._p(x, yy) for x, yy in pts], np.float64).round().astype(np.int32)

        # Cutting mat under the packing area.
        mat = poly((175, 28), (1105, 28), (1105, 668), (175, 668))
        shadowed(mat, (74, 98, 44))
        x0, y0 = self._p(175, 28)
        x1, y1 = self._p(1105, 668)
        grid = (96, 124, 68)
        for i, gx in enumerate(np.arange(x0 + d(25), x1 - d(5), 25 * s)):
            cv2.line(
                img, (round(gx), round(y0)), (round(gx), round(y1)), grid, 2 if i % 8 == 7 else 1
            )
        for i, gy in enumerate(np.arange(y0 + d(25), y1 - d(5), 25 * s)):
            cv2.line(
                img, (round(x0), round(gy)), (round(x1), round(gy)), grid, 2 if i % 8 == 7 else 1
            )
        cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), (60, 80, 36), d(4))

        # Tape dispenser, top left.
        shadowed(poly((30, 40), (150, 40), (160, 170), (40, 185)), (58, 58, 62))
        c = tuple(round(v) for v in self._p(96, 110))
        cv2.circle(img, c, d(52), (118, 168, 205), -1, cv2.LINE_AA)
        cv2.circle(img, c, d(50), (128, 178, 214), d(6), cv2.LINE_AA)
        cv2.circle(img, c, d(32), (70, 72, 78), -1, cv2.LINE_AA)
        cv2.circle(img, c, d(10), (40, 40, 44), -1, cv2.LINE_AA)
        # Box cutter, top right.
        shadowed(poly((1150, 52), (1262, 118), (1246, 146), (1134, 80)), (40, 190, 235))
        cv2.fillPoly(
            img, [poly((1262, 118), (1290, 134), (1280, 150), (1246, 146))], (190, 190, 196)
        )
        # Sticky note with a scribble, left.
        shadowed(poly((42, 330), (146, 322), (152, 424), (48, 430)), (120, 230, 245))
        for j in range(4):
            a, b = self._p(58, 350 + 18 * j), self._p(128 - 14 * (j % 2), 348 + 18 * j)
            cv2.line(
                img,
                (round(a[0]), round(a[1])),
                (round(b[0]), round(b[1])),
                (110, 90, 60),
                1,
                cv2.LINE_AA,
            )
        # Pen, bottom left.
        shadowed(poly((60, 600), (170, 560), (174, 570), (64, 610)), (150, 70, 30))
        # Stack of flat cartons, right edge.
        for j in range(4):
            off = 6 * j
            shadowed(
                poly((1150 - off, 420 + off), (1300, 410 + off), (1300, 720), (1158 - off, 720)),
                (96 + 3 * j, 146 + 3 * j, 190 + 2 * j),
            )
        # Falloff of the ceiling light towards the corners.
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        r2 = ((xx - fw / 2) / (fw / 2)) ** 2 + ((yy - fh / 2) / (fh / 2)) ** 2
        vignette = (1 - 0.17 * r2)[..., None]
        return u8(np.clip(img.astype(np.float32) * vignette, 0, 255))
