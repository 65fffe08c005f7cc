"""A synthetic packing table: the station's demo mode, and the camera of tests and benchmarks.

:class:`DemoScene` draws a table seen from above on which a packer packs one order after
another: a box slides in, the pick list with the ORDER barcode is held up (Code128 and QR
alternate), one to three items go in (sometimes one is shown with its EAN-13 product
barcode, which the station must not take for an order or a waybill), the box is closed and
taped, a waybill label with a Code128 TRACKING barcode is stuck on, and the box leaves.

Everything follows from the seed: ``render(i)`` is a pure function of ``(seed, i)`` (and the
frame size and rate), and ``script`` / ``orders()`` say to the frame when each code is fully
in view, because they are computed from the same motion functions that ``render`` draws.

Barcodes come from zxing-cpp's writer at >= 3 px per module at 720p, scaled with the frame:
below ~3 px nothing decodes reliably (FIELD-NOTES). A frame is a copy of a table drawn once
plus a few sprites pasted at whole-pixel offsets and some polygons, so it costs well under
the 4 ms budget of a 30 fps capture loop (bench/demo.py).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

__all__ = ["DemoEvent", "DemoOrder", "DemoScene"]

Image = npt.NDArray[np.uint8]
_F32 = npt.NDArray[np.float32]
Point = tuple[float, float]
XY = tuple[int, int]

# With orders=None the scene is endless; `script` covers this much, render goes on past it.
_ENDLESS_SCRIPT_MS = 2 * 3600 * 1000
_LEAD_MS = 2000  # an empty table before the first order, as when a station is armed
_TAIL_MS = 3000  # and after the last one, so a clip's post-roll has frames to show
_PART_CACHE = 12  # sprite sets kept (an order has up to 5); a sequential reader needs ~5

_CARRY_MS = 800  # an item from the edge of the frame to the box, or to where it is shown

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BOLD = cv2.FONT_HERSHEY_DUPLEX
_INK = (34, 30, 28)
_PAPER = (236, 240, 241)
_SKIN = (128, 165, 214)
_SLEEVE = (92, 70, 52)

_PRODUCTS = (
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
_NAMES = ("A. Novak", "M. Chen", "L. Garcia", "S. Okafor", "J. Schmidt", "P. Rossi", "K. Sato")
_CITIES = ("Berlin", "Lyon", "Porto", "Gdansk", "Milano", "Utrecht", "Vienna", "Leeds")


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One code shown to the camera; it is fully in view in frames ``start_ms <= t < end_ms``."""

    kind: Literal["order", "tracking", "product"]
    text: str
    symbology: str  # "Code128", "QRCode", "EAN-13"
    start_ms: int  # time of the first frame (from the source's start) showing the whole code
    end_ms: int  # time of the first frame after that run that no longer does (exclusive)


@dataclass(frozen=True, slots=True)
class DemoOrder:
    order_id: str
    tracking_id: str
    start_ms: int  # the order code is first fully in view
    waybill_ms: int  # the tracking code is first fully in view
    end_ms: int  # the box has left the frame


@dataclass(frozen=True, slots=True)
class _Card:
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
class _Item:
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
class _Plan:
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
    sheet: _Card
    sheet_rest: XY
    label: _Card
    label_rel: XY  # label canvas offset from the box body, once stuck on
    product: _Card | None
    product_rest: XY
    items: tuple[_Item, ...]
    phase: dict[str, int]  # local ms of each step; see _plan()
    wiggle: float  # phase of the hands' idle motion


def _ease(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def _lerp_xy(a: XY, b: XY, u: float) -> XY:
    e = _ease(u)
    return round(a[0] + (b[0] - a[0]) * e), round(a[1] + (b[1] - a[1]) * e)


def _blend(a: Point, b: Point, u: float) -> Point:
    e = _ease(u)
    return a[0] + (b[0] - a[0]) * e, a[1] + (b[1] - a[1]) * e


def _tint(color: tuple[int, int, int], f: float, add: float = 0) -> tuple[int, int, int]:
    b, g, r = (min(255, max(0, int(c * f + add))) for c in color)
    return b, g, r


def _u8(a: object) -> Image:
    return np.asarray(a, dtype=np.uint8)


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


class DemoScene:
    """A packing table that packs orders forever (``orders=None``) or ``orders`` times."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        seed: int = 1,
        orders: int | None = None,
    ) -> None:
        if not (64 <= width <= 7680 and 64 <= height <= 4320):
            raise ValueError(f"demo frame size must be 64x64 to 7680x4320, got {width}x{height}")
        if not 1 <= fps <= 240:
            raise ValueError(f"demo fps must be 1 to 240, got {fps}")
        if seed < 0:
            raise ValueError(f"demo seed must be >= 0, got {seed}")
        if orders is not None and orders < 1:
            raise ValueError(f"orders must be at least 1 or None (endless), got {orders}")
        self.width = width
        self.height = height
        self.fps = fps
        self.seed = seed
        # Everything is laid out on a 1280x720 design and scaled; another aspect ratio
        # gets the design centred and more table around it.
        self._s = min(width / 1280, height / 720)
        self._ox = (width - 1280 * self._s) / 2
        self._oy = (height - 720 * self._s) / 2
        self._first_no = int(np.random.default_rng([seed, 11]).integers(100, 900_000))
        self._lock = threading.Lock()
        self._plans: list[_Plan] = []
        self._bases: list[int] = []
        self._parts: OrderedDict[tuple[int, str], tuple[Image, ...]] = OrderedDict()
        self._sizes: dict[tuple[str, str], tuple[int, int]] = {}
        self._grain_cache: Image | None = None
        self._limit = orders
        horizon = _ENDLESS_SCRIPT_MS if orders is None else None
        self._extend(count=orders, until_ms=horizon)
        events: list[DemoEvent] = []
        orders_: list[DemoOrder] = []
        for plan in self._plans:
            shown = self._events(plan)
            events.extend(shown)
            order, waybill = shown[0], shown[-1]
            gone = self.frame_ms(self.frame_at(plan.base_ms + plan.phase["out1"]))
            orders_.append(
                DemoOrder(plan.order_id, plan.tracking_id, order.start_ms, waybill.start_ms, gone)
            )
        self.script: tuple[DemoEvent, ...] = tuple(events)
        self._orders = tuple(orders_)
        if orders is None:
            self.duration_ms: int | None = None
        else:
            last = self._plans[-1]
            self.duration_ms = last.base_ms + last.phase["out1"] + _TAIL_MS
        self._bg = self._table()

    # ---- public ------------------------------------------------------------------

    def orders(self) -> list[DemoOrder]:
        """The orders of ``script`` (for an endless scene: its first ~2 hours)."""
        return list(self._orders)

    def render(self, index: int) -> Image:
        """Frame ``index`` (at ``frame_ms(index)``): BGR uint8, height x width x 3, a new array."""
        if index < 0:
            raise ValueError(f"frame index must be >= 0, got {index}")
        t = self.frame_ms(index)
        img = self._bg.copy()
        plan = self._plan_at(t)
        if plan is not None and t - plan.base_ms < plan.phase["out1"]:
            self._draw_order(img, plan, t - plan.base_ms)
        return img

    # ---- time and plans -------------------------------------------------------------

    def frame_ms(self, index: int) -> int:
        """The time of frame ``index`` in ms from the start: ``round(index * 1000 / fps)``."""
        return round(index * 1000 / self.fps)

    def frame_at(self, t_ms: int) -> int:
        """The first frame whose time is >= ``t_ms`` (``ceil(t * fps / 1000)`` can be one late)."""
        n = max(0, math.ceil(t_ms * self.fps / 1000) - 1)
        while self.frame_ms(n) < t_ms:
            n += 1
        return n

    def _extend(self, *, count: int | None = None, until_ms: int | None = None) -> None:
        while True:
            k = len(self._plans)
            base = self._bases[-1] + self._plans[-1].period_ms if self._plans else _LEAD_MS
            if count is not None and k >= count:
                return
            if until_ms is not None and base > until_ms:
                return
            if self._limit is not None and k >= self._limit:
                return
            self._plans.append(self._plan(k, base))
            self._bases.append(base)

    def _plan_at(self, t: int) -> _Plan | None:
        if self._limit is None and t >= self._bases[-1]:
            with self._lock:
                self._extend(until_ms=t)
        i = bisect.bisect_right(self._bases, t) - 1
        return self._plans[i] if i >= 0 else None

    # ---- layout -----------------------------------------------------------------------

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
    ) -> _Card:
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
        return _Card(
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

    def _sheet_card(self, order_id: str, qr: bool, module: float, angle: float) -> _Card:
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

    def _label_card(self, tracking: str, angle: float) -> _Card:
        d = self._d
        cols, _ = self._code_size(tracking, zxingcpp.BarcodeFormat.Code128)
        cw = round(cols * 3.0 * self._s)
        w = cw + d(28)
        h = d(262)
        code = (d(14), d(50), cw, d(80))
        return self._card(w, h, angle, code, ((0.2 * w, h + d(6)), (0.76 * w, h + d(6))))

    def _product_card(self, ean: str, angle: float) -> _Card:
        d = self._d
        cols, _ = self._code_size(ean, zxingcpp.BarcodeFormat.EAN13)
        cw = round(cols * 3.0 * self._s)
        w = cw + d(56)
        h = d(250)
        code = (d(28), d(24), cw, d(72))
        return self._card(w, h, angle, code, ((0.15 * w, h + d(4)), (0.86 * w, h + d(4))))

    def _plan(self, k: int, base: int) -> _Plan:
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
            ean = _ean13(prefix + "".join(str(int(x)) for x in rng.integers(0, 10, 9)))
            product = self._product_card(ean, u(-5.0, 5.0))
            px, py = self._p(905 + u(-20, 20), 468 + u(-8, 8))
            product_rest = (round(px - product.cw / 2), round(py - product.ch / 2))

        # The timeline in ms from the order's base; every later step follows an earlier one.
        ph: dict[str, int] = {"in1": 1100, "sheet_in0": 1400, "sheet_in1": 2000}
        ph["sheet_out0"] = ph["sheet_in1"] + ui(2600, 3300)
        ph["sheet_out1"] = ph["sheet_out0"] + 500
        items0 = ph["items0"] = ph["sheet_out1"] + 150
        shows = [ui(1300, 1800) if j == shown else 0 for j in range(n_items)]
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
        items: list[_Item] = []
        t = items0
        for j in range(n_items):
            name, color = _PRODUCTS[ui(0, len(_PRODUCTS) - 1)]
            iw = min(round(col_w * u(0.6, 0.9)), d(260))
            ih = round((box_h - 2 * inner) * u(0.45, 0.85))
            slot = (
                inner + j * col_w + ui(0, max(0, col_w - iw)),
                inner + ui(0, max(0, box_h - 2 * inner - ih)),
            )
            carry = t + 400
            flip = carry + _CARRY_MS + shows[j] if shows[j] else carry
            place = flip + 700 if shows[j] else carry + _CARRY_MS
            items.append(_Item(name, color, iw, ih, slot, t, carry, flip, place))
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
        return _Plan(
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

    def _box_xy(self, p: _Plan, t: int) -> XY | None:
        ph = p.phase
        if t >= ph["out1"]:
            return None
        flap = self._d(72)
        if t < ph["in1"]:
            start = (-p.box_w - flap - 4, p.box_rest[1])
            return _lerp_xy(start, p.box_rest, t / ph["in1"])
        if t < ph["out0"]:
            return p.box_rest
        end = (self.width + flap + 4, p.box_rest[1])
        return _lerp_xy(p.box_rest, end, (t - ph["out0"]) / (ph["out1"] - ph["out0"]))

    def _jitter(self, p: _Plan, t: int, t0: int, t1: int) -> XY:
        # Hands are never still; the envelope keeps the motion continuous at both ends.
        env = math.sin(math.pi * min(1.0, max(0.0, (t - t0) / max(1, t1 - t0))))
        a = 4.0 * self._s * env
        return (
            round(a * math.sin(2 * math.pi * t / 1700 + p.wiggle)),
            round(a * math.sin(2 * math.pi * t / 1300 + 2 * p.wiggle)),
        )

    def _sheet_xy(self, p: _Plan, t: int) -> XY | None:
        ph = p.phase
        if not ph["sheet_in0"] <= t < ph["sheet_out1"]:
            return None
        below = (p.sheet_rest[0], self.height + 4)
        if t < ph["sheet_in1"]:
            u = (t - ph["sheet_in0"]) / (ph["sheet_in1"] - ph["sheet_in0"])
            return _lerp_xy(below, p.sheet_rest, u)
        if t < ph["sheet_out0"]:
            jx, jy = self._jitter(p, t, ph["sheet_in1"], ph["sheet_out0"])
            return p.sheet_rest[0] + jx, p.sheet_rest[1] + jy
        u = (t - ph["sheet_out0"]) / (ph["sheet_out1"] - ph["sheet_out0"])
        return _lerp_xy(p.sheet_rest, below, u)

    def _shown_item(self, p: _Plan) -> _Item | None:
        return next((it for it in p.items if it.flip > it.carry), None)

    def _product_xy(self, p: _Plan, t: int) -> XY | None:
        it = self._shown_item(p)
        if it is None or not it.carry <= t < it.flip:
            return None
        arrive = it.carry + _CARRY_MS
        if t < arrive:
            start = (self.width + 4, p.product_rest[1])
            return _lerp_xy(start, p.product_rest, (t - it.carry) / _CARRY_MS)
        jx, jy = self._jitter(p, t, arrive, it.flip)
        return p.product_rest[0] + jx, p.product_rest[1] + jy

    def _label_xy(self, p: _Plan, t: int) -> XY | None:
        ph = p.phase
        box = self._box_xy(p, t)
        if box is None or t < ph["label_in0"]:
            return None
        rest = (box[0] + p.label_rel[0], box[1] + p.label_rel[1])
        if t >= ph["label_in1"]:
            return rest
        u = (t - ph["label_in0"]) / (ph["label_in1"] - ph["label_in0"])
        return _lerp_xy((rest[0], self.height + 4), rest, u)

    def _item_xy(self, p: _Plan, it: _Item, t: int) -> tuple[XY, bool] | None:
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
            return _lerp_xy((cx, cy), slot, (t - it.flip) / (it.place - it.flip)), False
        start = (self.width + 4, slot[1])
        return _lerp_xy(start, slot, (t - it.carry) / (it.place - it.carry)), False

    # ---- the script -----------------------------------------------------------------------

    def _visible(self, card: _Card, xy: XY | None) -> bool:
        if xy is None:
            return False
        x0, y0, x1, y1 = card.code_box
        return (
            xy[0] + x0 >= 0
            and xy[1] + y0 >= 0
            and xy[0] + x1 <= self.width
            and xy[1] + y1 <= self.height
        )

    def _window(
        self,
        p: _Plan,
        card: _Card,
        where: Callable[[_Plan, int], XY | None],
        enter: tuple[int, int],
        leave: tuple[int, int],
    ) -> tuple[int, int]:
        """First frame showing the whole code, and the first frame after that which does not.

        Motion during ``enter`` and ``leave`` is monotonic, so visibility switches once in
        each and a binary search over frames finds the switch.
        """

        def vis(n: int) -> bool:
            t = self.frame_ms(n) - p.base_ms
            return self._visible(card, where(p, t))

        def first(lo: int, hi: int, want: bool) -> int:
            while lo < hi:
                mid = (lo + hi) // 2
                if vis(mid) == want:
                    hi = mid
                else:
                    lo = mid + 1
            return lo

        a = self.frame_at(p.base_ms + enter[0])
        b = self.frame_at(p.base_ms + enter[1])
        c = self.frame_at(p.base_ms + leave[0])
        e = self.frame_at(p.base_ms + leave[1])
        start = first(a, b, True)
        end = first(c, e, False)
        if not vis(b) or start >= end:
            raise AssertionError(f"demo layout error: order {p.k} code not in view at rest")
        return self.frame_ms(start), self.frame_ms(end)

    def _events(self, p: _Plan) -> list[DemoEvent]:
        ph = p.phase
        s0, s1 = self._window(
            p,
            p.sheet,
            self._sheet_xy,
            (ph["sheet_in0"], ph["sheet_in1"]),
            (ph["sheet_out0"], ph["sheet_out1"]),
        )
        out = [DemoEvent("order", p.order_id, p.symbology, s0, s1)]
        it = self._shown_item(p)
        if it is not None and p.product is not None and p.ean is not None:
            e0, e1 = self._window(
                p, p.product, self._product_xy, (it.carry, it.carry + _CARRY_MS), (it.flip, it.flip)
            )
            out.append(DemoEvent("product", p.ean, "EAN-13", e0, e1))
        w0, w1 = self._window(
            p, p.label, self._label_xy, (ph["label_in0"], ph["label_in1"]), (ph["out0"], ph["out1"])
        )
        out.append(DemoEvent("tracking", p.tracking_id, "Code128", w0, w1))
        return out

    # ---- pixels ---------------------------------------------------------------------------

    def _part(self, p: _Plan, name: str) -> tuple[Image, ...]:
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
        draw: dict[str, Callable[[_Plan], tuple[Image, ...]]] = {
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
            g = self._grain_cache = _u8(np.clip(200 + 7 * n, 0, 255))
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
        return _u8(cv2.resize(sym, (w, h), interpolation=cv2.INTER_AREA))

    def _paste_code(self, card: Image, c: _Card, text: str, fmt: zxingcpp.BarcodeFormat) -> None:
        """Print the code in ink on whatever the card's paper is there."""
        x, y, w, h = c.code
        gray = self._code_pixels(text, fmt, w, h).astype(np.float32)[..., None] / 255
        paper = card[y, x].astype(np.float32)
        ink = np.array(_INK, np.float32)
        card[y : y + h, x : x + w] = _u8(ink + (paper - ink) * gray)

    def _turn(self, c: _Card, card: Image, blur: float) -> tuple[Image, Image, Image]:
        """The card on its canvas, its mask, and the multiplier of the shadow it casts."""
        img = _u8(cv2.warpAffine(card, c.matrix, (c.cw, c.ch), flags=cv2.INTER_LINEAR))
        solid = np.full((c.h, c.w), 255, np.uint8)
        soft = _u8(cv2.warpAffine(solid, c.matrix, (c.cw, c.ch), flags=cv2.INTER_LINEAR))
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
        return _u8(cv2.cvtColor(fac, cv2.COLOR_GRAY2BGR))

    def _draw_box(self, p: _Plan) -> tuple[Image, Image, Image]:
        """The open box (walls and floor), the closed top, and the shadow of either."""
        d = self._d
        bw, bh = p.box_w, p.box_h
        tone = p.box_tone
        grain = cv2.cvtColor(self._grain(bw, bh), cv2.COLOR_GRAY2BGR)

        def cardboard(t: tuple[int, int, int]) -> Image:
            flat = np.empty((bh, bw, 3), np.uint8)
            flat[:] = t
            return _u8(cv2.multiply(flat, grain, scale=1 / 200))

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
        body_open[wall : bh - wall, wall : bw - wall] = _u8(
            cv2.convertScaleAbs(body_open[wall : bh - wall, wall : bw - wall], alpha=0.62)
        )
        cv2.rectangle(body_open, (0, 0), (bw - 1, bh - 1), shade(1.06), d(3))

        body_closed = cardboard(shade(1.04))
        cv2.line(body_closed, (0, bh // 2), (bw, bh // 2), shade(0.55), d(2), cv2.LINE_AA)
        cv2.rectangle(body_closed, (0, 0), (bw - 1, bh - 1), shade(0.8), d(2))
        shadow = self._shadow(np.full((bh, bw), 255, np.uint8), 14, 0.5)
        return body_open, body_closed, shadow

    def _draw_items(self, p: _Plan) -> tuple[Image, ...]:
        return tuple(self._draw_item(it) for it in p.items)

    def _draw_product(self, p: _Plan) -> tuple[Image, Image, Image]:
        it, c = self._shown_item(p), p.product
        assert it is not None
        assert c is not None
        assert p.ean is not None
        return self._turn(c, self._product_face(c, p.ean, it), 14)

    def _draw_sheet(self, p: _Plan) -> tuple[Image, Image, Image]:
        return self._turn(p.sheet, self._sheet_face(p), 16)

    def _draw_label(self, p: _Plan) -> tuple[Image, Image, Image]:
        return self._turn(p.label, self._label_face(p), 0)

    def _sheet_face(self, p: _Plan) -> Image:
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

    def _label_face(self, p: _Plan) -> Image:
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

    def _product_face(self, c: _Card, ean: str, it: _Item) -> Image:
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
        dark = _tint(it.color, 0.6)
        cv2.rectangle(img, (0, c.h - d(70)), (c.w, c.h), dark, -1)
        self._text(img, it.name, (d(20), c.h - d(28)), 0.7, (250, 250, 250), bold=True)
        return img

    def _draw_item(self, it: _Item) -> Image:
        d = self._d
        img = np.full((it.h, it.w, 3), it.color, np.uint8)
        dark = _tint(it.color, 0.7)
        light = _tint(it.color, 1.25, 20)
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

        def noise(rows: int, cols: int) -> _F32:
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
        return _u8(np.clip(img.astype(np.float32) * vignette, 0, 255))

    # ---- compositing ------------------------------------------------------------------------

    def _blit(self, img: Image, src: Image, xy: XY, mask: Image | None = None) -> None:
        x, y = xy
        h, w = src.shape[:2]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        part = src[y0 - y : y1 - y, x0 - x : x1 - x]
        dst = img[y0:y1, x0:x1]
        if mask is None:
            dst[...] = part
        else:
            cv2.copyTo(part, mask[y0 - y : y1 - y, x0 - x : x1 - x], dst)

    def _darken(self, img: Image, fac: Image, xy: XY) -> None:
        x, y = xy
        h, w = fac.shape[:2]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        roi = img[y0:y1, x0:x1]
        cv2.multiply(roi, fac[y0 - y : y1 - y, x0 - x : x1 - x], dst=roi, scale=1 / 255)

    def _cast(self, img: Image, fac: Image, sprite: Image, xy: XY, lift: float) -> None:
        """Darken the table under a sprite held ``lift`` (design px) above it."""
        pad = (fac.shape[1] - sprite.shape[1]) // 2
        self._darken(img, fac, (xy[0] - pad + self._d(lift), xy[1] - pad + self._d(1.3 * lift)))

    def _draw_order(self, img: Image, p: _Plan, t: int) -> None:
        ph = p.phase
        box = self._box_xy(p, t)
        assert box is not None
        body_open, body_closed, box_shadow = self._part(p, "box")
        self._cast(img, box_shadow, body_open, box, 10)
        items = self._part(p, "items") if ph["items0"] <= t < ph["close1"] else ()
        if t < ph["close1"]:
            self._blit(img, body_open, box)
            for it, pix in zip(p.items, items, strict=False):
                where = self._item_xy(p, it, t)
                if where is not None and where[1]:
                    self._blit(img, pix, where[0])
            self._draw_flaps(img, p, box, t)
        else:
            self._blit(img, body_closed, box)
            if t >= ph["tape0"]:
                u = min(1.0, (t - ph["tape0"]) / (ph["tape1"] - ph["tape0"]))
                self._draw_tape(img, p, box, u)
        lab = self._label_xy(p, t)
        if lab is not None:
            label, label_mask, _ = self._part(p, "label")
            self._blit(img, label, lab, label_mask)
        for it, pix in zip(p.items, items, strict=False):
            where = self._item_xy(p, it, t)
            if where is not None and not where[1]:
                self._blit(img, pix, where[0])
        prod = self._product_xy(p, t)
        if prod is not None:
            face, mask, shadow = self._part(p, "product")
            self._cast(img, shadow, face, prod, 22)
            self._blit(img, face, prod, mask)
        sheet = self._sheet_xy(p, t)
        if sheet is not None:
            face, mask, shadow = self._part(p, "sheet")
            self._cast(img, shadow, face, sheet, 24)
            self._blit(img, face, sheet, mask)
        left, right = self._hands(p, t)
        for palm, base_x, side in ((left, 0.30, -1), (right, 0.70, 1)):
            if palm is not None:
                self._draw_hand(img, palm, (self.width * base_x, self.height + self._d(430)), side)

    def _draw_flaps(self, img: Image, p: _Plan, box: XY, t: int) -> None:
        ph = p.phase
        bx, by = box
        bw, bh = p.box_w, p.box_h
        span = ph["close1"] - ph["close0"]
        short = (t - ph["close0"]) / (0.45 * span)
        long = (t - ph["close0"] - 0.4 * span) / (0.6 * span)
        length = bh / 2
        open_angle = math.asin(min(1.0, self._d(72) / length))
        for which, u in (("l", short), ("r", short), ("t", long), ("b", long)):
            # A flap turns about its hinge from leaning outwards to flat on the box; seen
            # from above its far edge moves by length * sin(angle), lit by cos(angle).
            theta = open_angle + (-math.pi / 2 - open_angle) * _ease(u)
            ext = length * math.sin(theta)
            lit = 0.55 + 0.45 * abs(math.cos(theta))
            color = _tint(p.box_tone, lit)
            cut = abs(ext) * 0.18 if ext > 0 else 0.0
            if which == "t":
                pts = [(bx + cut, by - ext), (bx + bw - cut, by - ext), (bx + bw, by), (bx, by)]
            elif which == "b":
                pts = [
                    (bx, by + bh),
                    (bx + bw, by + bh),
                    (bx + bw - cut, by + bh + ext),
                    (bx + cut, by + bh + ext),
                ]
            elif which == "l":
                pts = [(bx - ext, by + cut), (bx, by), (bx, by + bh), (bx - ext, by + bh - cut)]
            else:
                pts = [
                    (bx + bw, by),
                    (bx + bw + ext, by + cut),
                    (bx + bw + ext, by + bh - cut),
                    (bx + bw, by + bh),
                ]
            arr = np.array(pts, np.float64).round().astype(np.int32)
            cv2.fillConvexPoly(img, arr, color, cv2.LINE_AA)
            cv2.polylines(img, [arr], True, _tint(p.box_tone, 0.55), 1, cv2.LINE_AA)

    def _draw_tape(self, img: Image, p: _Plan, box: XY, u: float) -> None:
        half = self._d(22)
        x0, y = box[0], box[1] + p.box_h // 2
        x1 = x0 + round(p.box_w * u)
        if x1 <= x0:
            return
        cv2.rectangle(img, (x0, y - half), (x1, y + half), (150, 186, 212), -1)
        cv2.line(img, (x0, y - half // 2), (x1, y - half // 2), (182, 214, 232), self._d(3))
        cv2.line(img, (x0, y - half), (x1, y - half), (120, 150, 176), 1)
        cv2.line(img, (x0, y + half), (x1, y + half), (120, 150, 176), 1)

    # ---- hands --------------------------------------------------------------------------------

    def _wiggle(self, p: _Plan, t: int, amp: float) -> Point:
        a = amp * self._s
        return (
            a * math.sin(2 * math.pi * t / 900 + p.wiggle),
            a * math.cos(2 * math.pi * t / 1300 + p.wiggle),
        )

    def _hands(self, p: _Plan, t: int) -> tuple[Point | None, Point | None]:
        """Palm centres of the packer's left and right hand (None: out of the picture)."""
        ph = p.phase
        d = self._d
        off_l = (self.width * 0.3, self.height + d(260))
        off_r = (self.width * 0.7, self.height + d(260))
        if t >= ph["out1"]:
            return None, None
        box = self._box_xy(p, t)
        assert box is not None
        bx, by, bw, bh = box[0], box[1], p.box_w, p.box_h
        cy = by + bh / 2

        def corners(b: XY) -> tuple[Point, Point]:
            return (b[0] + 0.14 * bw, b[1] + bh + d(10)), (b[0] + 0.86 * bw, b[1] + bh + d(10))

        def grips(c: _Card, xy: XY | None, at: int) -> tuple[Point, Point]:
            if xy is None:
                return off_l, off_r
            g = c.grips
            return (xy[0] + g[0][0], xy[1] + g[0][1]), (xy[0] + g[1][0], xy[1] + g[1][1])

        def rim(at: int) -> Point:
            w = self._wiggle(p, at, 12)
            return bx + d(40) + w[0], cy + d(70) + w[1]

        def hover(at: int) -> Point:
            w = self._wiggle(p, at + 300, 24)
            return bx + 0.68 * bw + w[0], cy + d(30) + w[1]

        if t < ph["in1"]:
            a, b = corners(box)
            u = t / 300
            return _blend(off_l, a, u), _blend(off_r, b, u)
        if t < ph["sheet_in0"]:
            a, b = corners(box)
            u = (t - ph["in1"]) / (ph["sheet_in0"] - ph["in1"])
            return _blend(a, off_l, u), _blend(b, off_r, u)
        if t < ph["sheet_out1"]:
            return grips(p.sheet, self._sheet_xy(p, t), t)
        if t < ph["close0"]:
            left = _blend(off_l, rim(t), (t - ph["sheet_out1"]) / 500)
            return left, self._right_items(p, t, off_r, hover)
        if t < ph["close1"]:
            u = (t - ph["close0"]) / (ph["close1"] - ph["close0"])
            a = (bx + d(30) + d(50) * _ease(u), cy + d(40))
            b = (bx + bw - d(30) - d(50) * _ease(u), cy + d(40))
            v = (t - ph["close0"]) / 250
            return _blend(rim(ph["close0"]), a, v), _blend(hover(ph["close0"]), b, v)
        end_a = (bx + d(80), cy + d(40))
        end_b = (bx + bw - d(80), cy + d(40))
        if t < ph["tape1"]:
            u = (t - ph["tape0"]) / (ph["tape1"] - ph["tape0"])
            a = (bx + d(40), cy + d(16))
            b = (bx + d(40) + (bw - d(60)) * min(1.0, max(0.0, u)), cy + d(26))
            v = (t - ph["close1"]) / 200
            return _blend(end_a, a, v), _blend(end_b, b, v)
        tape_a = (bx + d(40), cy + d(16))
        tape_b = (bx + bw - d(20), cy + d(26))
        _, low_b = corners(box)
        # From here the left hand steadies the box from outside its left wall, clear of
        # the waybill, which slides up past the box's near edge and must stay unobstructed.
        wa = self._wiggle(p, t, 3)
        side = (bx - d(48) + wa[0], cy + d(60) + wa[1])
        left = _blend(tape_a, side, (t - ph["tape1"]) / 300)
        if t < ph["press1"]:
            _, g = grips(p.label, self._label_xy(p, t), t)
            return left, _blend(tape_b, g, (t - ph["tape1"]) / 300)
        if t < ph["withdraw1"]:
            rest = (box[0] + p.label_rel[0], box[1] + p.label_rel[1])
            _, g = grips(p.label, rest, t)
            return left, _blend(g, low_b, (t - ph["press1"]) / (ph["withdraw1"] - ph["press1"]))
        wb = self._wiggle(p, t + 500, 3)
        return left, (low_b[0] + wb[0], low_b[1] + wb[1])

    def _right_items(self, p: _Plan, t: int, off: Point, hover: Callable[[int], Point]) -> Point:
        """The right hand while packing: fetch each item from the right, put it in, fiddle."""
        d = self._d
        prev: Point = off
        for j, it in enumerate(p.items):
            nxt = p.items[j + 1].start if j + 1 < len(p.items) else p.phase["close0"]
            if t >= nxt:
                prev = hover(nxt)
                continue
            entry = (self.width + d(60), p.box_rest[1] + it.slot[1] + it.h / 2)
            if t < it.carry:
                return _blend(prev, entry, (t - it.start) / (it.carry - it.start))
            prod = self._product_xy(p, t)
            if prod is not None and p.product is not None:
                g = p.product.grips[1]
                return prod[0] + g[0], prod[1] + g[1]
            where = self._item_xy(p, it, t)
            hold = where is not None and not where[1]
            if hold and where is not None:
                (ix, iy), _ = where
                return ix + it.w - d(8), iy + it.h + d(4)
            grip = (
                p.box_rest[0] + it.slot[0] + it.w - d(8),
                p.box_rest[1] + it.slot[1] + it.h + d(4),
            )
            return _blend(grip, hover(t), (t - it.place) / 500)
        return hover(t)

    def _draw_hand(self, img: Image, palm: Point, base: Point, side: int) -> None:
        d = self._d
        dx, dy = palm[0] - base[0], palm[1] - base[1]
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        nx, ny = -uy, ux
        if palm[1] - d(100) > self.height:
            return

        def pt(along: float, across: float) -> tuple[float, float]:
            return palm[0] + ux * along + nx * across, palm[1] + uy * along + ny * across

        def quad(a0: float, w0: float, a1: float, w1: float) -> npt.NDArray[np.int32]:
            pts = [pt(a0, -w0), pt(a0, w0), pt(a1, w1), pt(a1, -w1)]
            return np.array(pts, np.float64).round().astype(np.int32)

        far = -length - d(100)
        skin_dark = _tint(_SKIN, 0.82)
        cv2.fillConvexPoly(img, quad(-d(40), d(30), -d(130), d(36)), _SKIN, cv2.LINE_AA)
        cv2.fillConvexPoly(img, quad(-d(120), d(44), far, d(56)), _SLEEVE, cv2.LINE_AA)
        cv2.fillConvexPoly(img, quad(-d(120), d(45), -d(140), d(47)), (70, 52, 40), cv2.LINE_AA)
        angle = math.degrees(math.atan2(uy, ux))
        c = pt(0, 0)
        cv2.ellipse(
            img, (round(c[0]), round(c[1])), (d(46), d(38)), angle, 0, 360, _SKIN, -1, cv2.LINE_AA
        )
        for k, spread in enumerate((-1.5, -0.5, 0.5, 1.5)):
            reach = d(58) - abs(spread) * d(6) + (d(4) if k in (1, 2) else 0)
            f = pt(reach, spread * d(17))
            cv2.ellipse(
                img,
                (round(f[0]), round(f[1])),
                (d(26), d(8)),
                angle,
                0,
                360,
                _SKIN,
                -1,
                cv2.LINE_AA,
            )
            cv2.ellipse(
                img,
                (round(f[0]), round(f[1])),
                (d(26), d(8)),
                angle,
                0,
                360,
                skin_dark,
                1,
                cv2.LINE_AA,
            )
        th = pt(d(14), -side * d(40))
        cv2.ellipse(
            img,
            (round(th[0]), round(th[1])),
            (d(24), d(10)),
            angle - side * 40,
            0,
            360,
            _SKIN,
            -1,
            cv2.LINE_AA,
        )
