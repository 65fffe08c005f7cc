"""Where everything on the demo table is, and when: the scene's layer without pixels.

Each order is a :class:`Plan` drawn from the seed. Each moving part has one motion function
(``_box_xy``, ``_sheet_xy``, ...) that both the renderer and the script call, which is how
the script can say to the frame when a code is fully in view.

Everything is laid out on a 1280x720 design and scaled (``_d``, ``_p``); another aspect
ratio gets the design centred and more table around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

Image = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Point = tuple[float, float]
XY = tuple[int, int]

CARRY_MS = 800  # an item from the edge of the frame to the box, or to where it is shown

Catalogue = tuple[tuple[str, tuple[int, int, int]], ...]  # (product name, BGR colour)

PRODUCTS: Catalogue = (
    ("Ceramic mug 350 ml", (60, 120, 200)),
    ("Cotton tote bag", (120, 160, 90)),
    ("Phone case, clear", (190, 150, 60)),
    ("Tea sampler 12 pcs", (70, 150, 110)),
    ("USB-C cable 1 m", (90, 90, 96)),
    ("Notebook A5 dotted", (150, 90, 160)),
    ("Bamboo toothbrush x4", (110, 170, 170)),
    ("Wool socks, size M", (80, 80, 170)),
    ("Candle, fig & cedar", (160, 190, 210)),
    ("Puzzle 500 pieces", (170, 110, 60)),
)


@dataclass(frozen=True, slots=True)
class Card:
    """A printed card (pick list, waybill, product face) turned by a small angle; no pixels.

    The renderer and the script both use this geometry, which keeps them in agreement.
    """

    w: int
    h: int
    matrix: npt.NDArray[np.float64]  # 2x3, card -> canvas
    cw: int
    ch: int
    code: tuple[int, int, int, int]  # x, y, w, h on the card, quiet zone included
    code_box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) on the canvas
    grips: tuple[Point, Point]  # where the left and right hand hold it, canvas coords


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    color: tuple[int, int, int]
    w: int
    h: int
    slot: XY  # top-left inside the box body
    start: int  # local ms: the right hand sets off to fetch it
    carry: int  # the hand has it at the right edge of the frame
    flip: int  # end of showing its EAN face (== carry when not shown)
    place: int  # it lies in the box


@dataclass(frozen=True, slots=True)
class Plan:
    """One order: everything ``render`` needs, in frame pixels and ms from ``base_ms``."""

    k: int
    base_ms: int
    period_ms: int
    order_id: str
    tracking_id: str
    symbology: Literal["Code128", "QRCode"]
    ean: str | None
    box_w: int
    box_h: int
    box_tone: tuple[int, int, int]
    box_rest: XY  # top-left of the box body at rest
    sheet: Card
    sheet_rest: XY
    label: Card
    label_rel: XY  # label canvas offset from the box body, once stuck on
    product: Card | None
    product_rest: XY
    items: tuple[Item, ...]
    phase: dict[str, int]  # local ms of each step; see _plan()
    wiggle: float  # phase of the hands' idle motion


def ease(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def lerp_xy(a: XY, b: XY, u: float) -> XY:
    e = ease(u)
    return round(a[0] + (b[0] - a[0]) * e), round(a[1] + (b[1] - a[1]) * e)


def blend(a: Point, b: Point, u: float) -> Point:
    e = ease(u)
    return a[0] + (b[0] - a[0]) * e, a[1] + (b[1] - a[1]) * e


def tint(color: tuple[int, int, int], f: float, add: float = 0) -> tuple[int, int, int]:
    b, g, r = (min(255, max(0, int(c * f + add))) for c in color)
    return b, g, r


def u8(a: object) -> Image:
    return np.asarray(a, dtype=np.uint8)


def ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


class Layout:
    """The frame's geometry, each order's plan, and where its parts are at any time."""

    products: Catalogue = PRODUCTS

    def __init__(self, width: int, height: int, fps: int, seed: int) -> None:
        if not (64 <= width <= 7680 and 64 <= height <= 4320):
            raise ValueError(f"demo frame size must be 64x64 to 7680x4320, got {width}x{height}")
        if not 1 <= fps <= 240:
            raise ValueError(f"demo fps must be 1 to 240, got {fps}")
        if seed < 0:
            raise ValueError(f"demo seed must be >= 0, got {seed}")
        self.width = width
        self.height = height
        self.fps = fps
        self.seed = seed
        self._s = min(width / 1280, height / 720)
        self._ox = (width - 1280 * self._s) / 2
        self._oy = (height - 720 * self._s) / 2
        self._first_no = int(np.random.default_rng([seed, 11]).integers(100, 900_000))
        self._sizes: dict[tuple[str, str], tuple[int, int]] = {}

    def _d(self, v: float) -> int:
        """A design length (720p pixels) in frame pixels."""
        return max(1, round(v * self._s))

    def _p(self, x: float, y: float) -> Point:
        return self._ox + x * self._s, self._oy + y * self._s

    def _card(
        self,
        w: int,
        h: int,
        angle: float,
        code: tuple[int, int, int, int],
        grips: tuple[Point, Point],
    ) -> Card:
        m = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), np.float64)
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
        lo = np.floor(corners.min(axis=0)) - 1
        m[:, 2] -= lo
        hi = np.ceil(corners.max(axis=0) - lo) + 1
        x, y, cw, ch = code
        pts = np.array([[x, y, 1], [x + cw, y, 1], [x, y + ch, 1], [x + cw, y + ch, 1]]) @ m.T
        box = (
            math.floor(pts[:, 0].min()),
            math.floor(pts[:, 1].min()),
            math.ceil(pts[:, 0].max()),
            math.ceil(pts[:, 1].max()),
        )
        g = np.array([[*grips[0], 1.0], [*grips[1], 1.0]]) @ m.T
        return Card(
            w,
            h,
            m,
            int(hi[0]),
            int(hi[1]),
            code,
            box,
            ((float(g[0, 0]), float(g[0, 1])), (float(g[1, 0]), float(g[1, 1]))),
        )

    def _code_size(self, text: str, fmt: zxingcpp.BarcodeFormat) -> tuple[int, int]:
        # The symbol's size depends only on the kind of each character (Code128 code sets,
        # QR modes), so one encoding per shape serves every order id of that shape.
        shape = "".join("0" if c.isdigit() else c for c in text)
        key = (shape, str(fmt))
        size = self._sizes.get(key)
        if size is None:
            m = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=1))
            size = self._sizes[key] = (int(m.shape[1]), int(m.shape[0]))
        return size

    def _sheet_card(self, order_id: str, qr: bool, module: float, angle: float) -> Card:
        d = self._d
        h = d(350)
        if qr:
            cols, _ = self._code_size(order_id, zxingcpp.BarcodeFormat.QRCode)
            side = round(cols * module)
            w = d(560)
            code = (d(22), d(52), side, side)
        else:
            cols, _ = self._code_size(order_id, zxingcpp.BarcodeFormat.Code128)
            cw = round(cols * module)
            w = max(cw + d(48), d(540))
            code = ((w - cw) // 2, d(62), cw, d(84))
        grips = ((0.17 * w, h + d(6)), (0.83 * w, h + d(6)))
        return self._card(w, h, angle, code, grips)

    def _label_card(self, tracking: str, angle: float) -> Card:
        d = self._d
        cols, _ = self._code_size(tracking, zxingcpp.BarcodeFormat.Code128)
        cw = round(cols * 3.0 * self._s)
        w = cw + d(28)
        h = d(262)
        code = (d(14), d(50), cw, d(80))
        return self._card(w, h, angle, code, ((0.2 * w, h + d(6)), (0.76 * w, h + d(6))))

    def _product_card(self, ean: str, angle: float) -> Card:
        d = self._d
        cols, _ = self._code_size(ean, zxingcpp.BarcodeFormat.EAN13)
        cw = round(cols * 3.0 * self._s)
        w = cw + d(56)
        h = d(250)
        code = (d(28), d(24), cw, d(72))
        return self._card(w, h, angle, code, ((0.15 * w, h + d(4)), (0.86 * w, h + d(4))))

    def _plan(self, k: int, base: int) -> Plan:
        rng = np.random.default_rng([self.seed, k, 3])
        d, s = self._d, self._s

        def u(lo: float, hi: float) -> float:
            return float(rng.uniform(lo, hi))

        def ui(lo: int, hi: int) -> int:
            return int(rng.integers(lo, hi + 1))

        order_id = f"SO-2026-{(self._first_no + k) % 1_000_000:06d}"
        tracking = "TRK-" + "".join(str(int(x)) for x in rng.integers(0, 10, 12))
        qr = k % 2 == 1
        module = (u(5.0, 6.2) if qr else u(3.0, 3.6)) * s
        sheet = self._sheet_card(order_id, qr, module, u(-7.0, 7.0))
        label = self._label_card(tracking, u(-3.0, 3.0))

        box_w, box_h = d(u(650, 690)), d(u(350, 372))
        cx, cy = self._p(640 + u(-25, 25), 318 + u(-8, 8))
        box_rest = (round(cx - box_w / 2), round(cy - box_h / 2))
        spare_x = min(d(10), max(0, (box_w - label.cw) // 2 - d(6)))
        spare_y = max(0, (box_h - label.ch) // 2 - d(6))
        label_rel = (
            (box_w - label.cw) // 2 + ui(-spare_x, spare_x),
            (box_h - label.ch) // 2 + ui(-spare_y, spare_y),
        )
        sx, sy = self._p(640 + u(-50, 50), 438 + u(-8, 8))
        sheet_rest = (round(sx - sheet.cw / 2), round(sy - sheet.ch / 2))

        n_items = ui(1, 3)
        shown = ui(0, n_items - 1) if rng.random() < 0.5 else -1
        ean = None
        product = None
        product_rest = (0, 0)
        if shown >= 0:
            prefix = ("400", "500", "690", "761", "871", "890")[ui(0, 5)]
            ean = ean13(prefix + "".join(str(int(x)) for x in rng.integers(0, 10, 9)))
            product = self._product_card(ean, u(-5.0, 5.0))
            px, py = self._p(905 + u(-20, 20), 468 + u(-8, 8))
            product_rest = (round(px - product.cw / 2), round(py - product.ch / 2))

        # The timeline in ms from the order's base; every later step follows an earlier one.
        ph: dict[str, int] = {"in1": 1100, "sheet_in0": 1400, "sheet_in1": 2000}
        ph["sheet_out0"] = ph["sheet_in1"] + ui(2600, 3300)
        ph["sheet_out1"] = ph["sheet_out0"] + 500
        items0 = ph["items0"] = ph["sheet_out1"] + 150
        # Shown to the camera for 2.4-3.2 s, the grip changed halfway (see _demodraw): as
        # a packer does, and so no part of the product is hidden in every sealed frame.
        shows = [ui(2400, 3200) if j == shown else 0 for j in range(n_items)]
        need = [1700 + (sh + 700 if sh else 0) for sh in shows]
        after_items = 1400 + 100 + 900 + 150 + 600 + 300 + 400 + 1000
        wait = ui(900, 1600)
        idle = ui(2000, 4500)
        target = ui(21_000, 28_500)
        total_items = max(sum(need), target - items0 - after_items - wait - idle)
        weights = rng.dirichlet(np.ones(n_items))
        spare = total_items - sum(need)
        durations = [need[j] + int(spare * weights[j]) for j in range(n_items)]

        inner = d(16)
        col_w = (box_w - 2 * inner) // n_items
        items: list[Item] = []
        t = items0
        for j in range(n_items):
            name, color = self.products[ui(0, len(self.products) - 1)]
            iw = min(round(col_w * u(0.6, 0.9)), d(260))
            ih = round((box_h - 2 * inner) * u(0.45, 0.85))
            slot = (
                inner + j * col_w + ui(0, max(0, col_w - iw)),
                inner + ui(0, max(0, box_h - 2 * inner - ih)),
            )
            carry = t + 400
            flip = carry + CARRY_MS + shows[j] if shows[j] else carry
            place = flip + 700 if shows[j] else carry + CARRY_MS
            items.append(Item(name, color, iw, ih, slot, t, carry, flip, place))
            t += durations[j]
        ph["close0"] = t
        ph["close1"] = t + 1400
        ph["tape0"] = ph["close1"] + 100
        ph["tape1"] = ph["tape0"] + 900
        ph["label_in0"] = ph["tape1"] + 150
        ph["label_in1"] = ph["label_in0"] + 600
        ph["press1"] = ph["label_in1"] + 300
        ph["withdraw1"] = ph["press1"] + 400
        ph["out0"] = ph["withdraw1"] + wait
        ph["out1"] = ph["out0"] + 1000
        tone = (
            int(rng.integers(88, 104)),
            int(rng.integers(138, 152)),
            int(rng.integers(182, 198)),
        )
        return Plan(
            k=k,
            base_ms=base,
            period_ms=ph["out1"] + idle,
            order_id=order_id,
            tracking_id=tracking,
            symbology="QRCode" if qr else "Code128",
            ean=ean,
            box_w=box_w,
            box_h=box_h,
            box_tone=tone,
            box_rest=box_rest,
            sheet=sheet,
            sheet_rest=sheet_rest,
            label=label,
            label_rel=label_rel,
            product=product,
            product_rest=product_rest,
            items=tuple(items),
            phase=ph,
            wiggle=u(0, 2 * math.pi),
        )

    # ---- motion: one function per moving thing, shared by render and the script -----------

    def _box_xy(self, p: Plan, t: int) -> XY | None:
        ph = p.phase
        if t >= ph["out1"]:
            return None
        flap = self._d(72)
        if t < ph["in1"]:
            start = (-p.box_w - flap - 4, p.box_rest[1])
            return lerp_xy(start, p.box_rest, t / ph["in1"])
        if t < ph["out0"]:
            return p.box_rest
        end = (self.width + flap + 4, p.box_rest[1])
        return lerp_xy(p.box_rest, end, (t - ph["out0"]) / (ph["out1"] - ph["out0"]))

    def _jitter(self, p: Plan, t: int, t0: int, t1: int) -> XY:
        # Hands are never still; the envelope keeps the motion continuous at both ends.
        env = math.sin(math.pi * min(1.0, max(0.0, (t - t0) / max(1, t1 - t0))))
        a = 4.0 * self._s * env
        return (
            round(a * math.sin(2 * math.pi * t / 1700 + p.wiggle)),
            round(a * math.sin(2 * math.pi * t / 1300 + 2 * p.wiggle)),
        )

    def _sheet_xy(self, p: Plan, t: int) -> XY | None:
        ph = p.phase
        if not ph["sheet_in0"] <= t < ph["sheet_out1"]:
            return None
        below = (p.sheet_rest[0], self.height + 4)
        if t < ph["sheet_in1"]:
            u = (t - ph["sheet_in0"]) / (ph["sheet_in1"] - ph["sheet_in0"])
            return lerp_xy(below, p.sheet_rest, u)
        if t < ph["sheet_out0"]:
            jx, jy = self._jitter(p, t, ph["sheet_in1"], ph["sheet_out0"])
            return p.sheet_rest[0] + jx, p.sheet_rest[1] + jy
        u = (t - ph["sheet_out0"]) / (ph["sheet_out1"] - ph["sheet_out0"])
        return lerp_xy(p.sheet_rest, below, u)

    def _shown_item(self, p: Plan) -> Item | None:
        return next((it for it in p.items if it.flip > it.carry), None)

    def _product_xy(self, p: Plan, t: int) -> XY | None:
        it = self._shown_item(p)
        if it is None or not it.carry <= t < it.flip:
            return None
        arrive = it.carry + CARRY_MS
        if t < arrive:
            start = (self.width + 4, p.product_rest[1])
            return lerp_xy(start, p.product_rest, (t - it.carry) / CARRY_MS)
        jx, jy = self._jitter(p, t, arrive, it.flip)
        return p.product_rest[0] + jx, p.product_rest[1] + jy

    def _label_xy(self, p: Plan, t: int) -> XY | None:
        ph = p.phase
        box = self._box_xy(p, t)
        if box is None or t < ph["label_in0"]:
            return None
        rest = (box[0] + p.label_rel[0], box[1] + p.label_rel[1])
        if t >= ph["label_in1"]:
            return rest
        u = (t - ph["label_in0"]) / (ph["label_in1"] - ph["label_in0"])
        return lerp_xy((rest[0], self.height + 4), rest, u)

    def _item_xy(self, p: Plan, it: Item, t: int) -> tuple[XY, bool] | None:
        """Where a plain item is drawn, and whether it lies in the box (else it is carried)."""
        if t < it.carry or it.carry <= t < it.flip:
            return None
        box = p.box_rest
        slot = (box[0] + it.slot[0], box[1] + it.slot[1])
        if t >= it.place:
            return slot, True
        if it.flip > it.carry:
            assert p.product is not None
            cx = p.product_rest[0] + p.product.cw // 2 - it.w // 2
            cy = p.product_rest[1] + p.product.ch // 2 - it.h // 2
            return lerp_xy((cx, cy), slot, (t - it.flip) / (it.place - it.flip)), False
        start = (self.width + 4, slot[1])
        return lerp_xy(start, slot, (t - it.carry) / (it.place - it.carry)), False
