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

The scene is built in layers, one module each: ``_demolayout`` (geometry, plans, motion),
``_demosprites`` (pixels of the table and of each order's parts), ``_demodraw`` (one frame:
compositing and hands), and this module (the order timeline, the script, ``render``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from recorder._demodraw import Drawing
from recorder._demolayout import CARRY_MS, XY, Card, Catalogue, Image, Plan

__all__ = ["DemoEvent", "DemoOrder", "DemoScene"]

# With orders=None the scene is endless; `script` covers this much, render goes on past it.
_ENDLESS_SCRIPT_MS = 2 * 3600 * 1000
_LEAD_MS = 2000  # an empty table before the first order, as when a station is armed
_TAIL_MS = 3000  # and after the last one, so a clip's post-roll has frames to show


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


class DemoScene(Drawing):
    """A packing table that packs orders forever (``orders=None``) or ``orders`` times."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        seed: int = 1,
        orders: int | None = None,
        products: Catalogue | None = None,
    ) -> None:
        """``products``: the catalogue the orders draw from, (name, BGR colour) each; the
        default is ``PRODUCTS`` (a benchmark's held-out split brings models of its own)."""
        if orders is not None and orders < 1:
            raise ValueError(f"orders must be at least 1 or None (endless), got {orders}")
        super().__init__(width, height, fps, seed)
        if products is not None:
            if not products:
                raise ValueError("a demo catalogue needs at least one product")
            self.products = tuple(products)
        self._plans: list[Plan] = []
        self._bases: list[int] = []
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

    def _plan_at(self, t: int) -> Plan | None:
        if self._limit is None and t >= self._bases[-1]:
            with self._lock:
                self._extend(until_ms=t)
        i = bisect.bisect_right(self._bases, t) - 1
        return self._plans[i] if i >= 0 else None

    # ---- the script -----------------------------------------------------------------------

    def _visible(self, card: Card, xy: XY | None) -> bool:
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
        p: Plan,
        card: Card,
        where: Callable[[Plan, int], XY | None],
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

    def _events(self, p: Plan) -> list[DemoEvent]:
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
                p, p.product, self._product_xy, (it.carry, it.carry + CARRY_MS), (it.flip, it.flip)
            )
            out.append(DemoEvent("product", p.ean, "EAN-13", e0, e1))
        w0, w1 = self._window(
            p, p.label, self._label_xy, (ph["label_in0"], ph["label_in1"]), (ph["out0"], ph["out1"])
        )
        out.append(DemoEvent("tracking", p.tracking_id, "Code128", w0, w1))
        return out
