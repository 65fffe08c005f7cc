"""A frame of the demo table: sprites pasted where the layout says, flaps, tape and hands."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from recorder._demolayout import CARRY_MS, XY, Card, Image, Item, Plan, Point, blend, ease, tint
from recorder._demosprites import Sprites

_SKIN = (128, 165, 214)
_SLEEVE = (92, 70, 52)


class Drawing(Sprites):
    """Draws one order at one moment onto a copy of the background."""

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

    def _draw_order(self, img: Image, p: Plan, t: int) -> None:
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

    def _draw_flaps(self, img: Image, p: Plan, box: XY, t: int) -> None:
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
            theta = open_angle + (-math.pi / 2 - open_angle) * ease(u)
            ext = length * math.sin(theta)
            lit = 0.55 + 0.45 * abs(math.cos(theta))
            color = tint(p.box_tone, lit)
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
            cv2.polylines(img, [arr], True, tint(p.box_tone, 0.55), 1, cv2.LINE_AA)

    def _draw_tape(self, img: Image, p: Plan, box: XY, u: float) -> None:
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

    def _wiggle(self, p: Plan, t: int, amp: float) -> Point:
        a = amp * self._s
        return (
            a * math.sin(2 * math.pi * t / 900 + p.wiggle),
            a * math.cos(2 * math.pi * t / 1300 + p.wiggle),
        )

    def _hands(self, p: Plan, t: int) -> tuple[Point | None, Point | None]:
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

        def grips(c: Card, xy: XY | None, at: int) -> tuple[Point, Point]:
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
            return blend(off_l, a, u), blend(off_r, b, u)
        if t < ph["sheet_in0"]:
            a, b = corners(box)
            u = (t - ph["in1"]) / (ph["sheet_in0"] - ph["in1"])
            return blend(a, off_l, u), blend(b, off_r, u)
        if t < ph["sheet_out1"]:
            return grips(p.sheet, self._sheet_xy(p, t), t)
        if t < ph["close0"]:
            left = blend(off_l, rim(t), (t - ph["sheet_out1"]) / 500)
            return left, self._right_items(p, t, off_r, hover)
        if t < ph["close1"]:
            u = (t - ph["close0"]) / (ph["close1"] - ph["close0"])
            a = (bx + d(30) + d(50) * ease(u), cy + d(40))
            b = (bx + bw - d(30) - d(50) * ease(u), cy + d(40))
            v = (t - ph["close0"]) / 250
            return blend(rim(ph["close0"]), a, v), blend(hover(ph["close0"]), b, v)
        end_a = (bx + d(80), cy + d(40))
        end_b = (bx + bw - d(80), cy + d(40))
        if t < ph["tape1"]:
            u = (t - ph["tape0"]) / (ph["tape1"] - ph["tape0"])
            a = (bx + d(40), cy + d(16))
            b = (bx + d(40) + (bw - d(60)) * min(1.0, max(0.0, u)), cy + d(26))
            v = (t - ph["close1"]) / 200
            return blend(end_a, a, v), blend(end_b, b, v)
        tape_a = (bx + d(40), cy + d(16))
        tape_b = (bx + bw - d(20), cy + d(26))
        _, low_b = corners(box)
        # From here the left hand steadies the box from outside its left wall, clear of
        # the waybill, which slides up past the box's near edge and must stay unobstructed.
        wa = self._wiggle(p, t, 3)
        side = (bx - d(48) + wa[0], cy + d(60) + wa[1])
        left = blend(tape_a, side, (t - ph["tape1"]) / 300)
        if t < ph["press1"]:
            _, g = grips(p.label, self._label_xy(p, t), t)
            return left, blend(tape_b, g, (t - ph["tape1"]) / 300)
        if t < ph["withdraw1"]:
            rest = (box[0] + p.label_rel[0], box[1] + p.label_rel[1])
            _, g = grips(p.label, rest, t)
            return left, blend(g, low_b, (t - ph["press1"]) / (ph["withdraw1"] - ph["press1"]))
        wb = self._wiggle(p, t + 500, 3)
        return left, (low_b[0] + wb[0], low_b[1] + wb[1])

    def _right_items(self, p: Plan, t: int, off: Point, hover: Callable[[int], Point]) -> Point:
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
                return blend(prev, entry, (t - it.start) / (it.carry - it.start))
            prod = self._product_xy(p, t)
            if prod is not None and p.product is not None:
                g = self._product_grip(p, it, t)
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
            return blend(grip, hover(t), (t - it.place) / 500)
        return hover(t)

    def _product_grip(self, p: Plan, it: Item, t: int) -> Point:
        """Where the right hand holds the shown product: by its right corner, then, half
        way through the show, by its left one (the corner it covered comes into view)."""
        assert p.product is not None
        right, left = p.product.grips[1], p.product.grips[0]
        arrive = it.carry + CARRY_MS
        mid = arrive + (it.flip - arrive) // 2
        return blend(right, left, (t - (mid - 200)) / 400)

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
        skin_dark = tint(_SKIN, 0.82)
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
            fx, fy = pt(reach, spread * d(17))
            for color, thickness in ((_SKIN, -1), (skin_dark, 1)):  # a finger, then its outline
                cv2.ellipse(
                    img,
                    (round(fx), round(fy)),
                    (d(26), d(8)),
                    angle,
                    0,
                    360,
                    color,
                    thickness,
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
