"""The demo scene: deterministic, and its script agrees with what it draws."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import zxingcpp

from recorder.demo import DemoEvent, DemoScene
from recorder.settings import ScanSettings

FORMATS = {
    "Code128": zxingcpp.BarcodeFormat.Code128,
    "QRCode": zxingcpp.BarcodeFormat.QRCode,
    "EAN-13": zxingcpp.BarcodeFormat.EAN13,
}


@pytest.fixture(scope="module")
def scene() -> DemoScene:
    return DemoScene(seed=1, orders=4)


def frame_at(scene: DemoScene, t_ms: int) -> int:
    """The first frame whose time is >= t_ms (frame n is at round(n * 1000 / fps))."""
    n = t_ms * scene.fps // 1000
    while round(n * 1000 / scene.fps) < t_ms:
        n += 1
    return n


def decoded(image: np.ndarray, symbology: str) -> set[str]:
    found = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormats([FORMATS[symbology]]),
        try_rotate=False,
        try_downscale=False,
    )
    return {b.text for b in found}


def test_same_seed_same_frames_in_any_order() -> None:
    a = DemoScene(640, 360, seed=3, orders=2)
    b = DemoScene(640, 360, seed=3, orders=2)
    assert a.script == b.script
    indices = [0, 60, 110, 200, 420, 610, 900]
    frames = [a.render(i) for i in indices]
    for i, frame in zip(reversed(indices), reversed(frames), strict=True):
        assert b.render(i).tobytes() == frame.tobytes()


def test_different_seed_different_script() -> None:
    a = DemoScene(640, 360, seed=1, orders=2)
    b = DemoScene(640, 360, seed=2, orders=2)
    assert [e.text for e in a.script] != [e.text for e in b.script]
    assert a.script[0].start_ms != b.script[0].start_ms or a.script[0].text != b.script[0].text


def test_frame_shape_and_type() -> None:
    scene = DemoScene(640, 480, fps=15, seed=1, orders=1)
    image = scene.render(40)
    assert image.shape == (480, 640, 3)
    assert image.dtype == np.uint8
    assert image.flags.writeable


def test_script_reads_like_a_packing_shift(scene: DemoScene) -> None:
    settings = ScanSettings()
    events = scene.script
    assert [e.start_ms for e in events] == sorted(e.start_ms for e in events)
    orders = scene.orders()
    assert len(orders) == 4
    order_events = [e for e in events if e.kind == "order"]
    assert [e.symbology for e in order_events] == ["Code128", "QRCode", "Code128", "QRCode"]
    for order, event in zip(orders, order_events, strict=True):
        assert re.fullmatch(settings.order_pattern, order.order_id)
        assert any(re.fullmatch(p, order.tracking_id) for p in settings.tracking_patterns)
        assert event.text == order.order_id
        assert event.start_ms == order.start_ms
        assert 3000 <= event.end_ms - event.start_ms <= 4500  # the pick list is held ~3-4 s
        assert order.start_ms < order.waybill_ms < order.end_ms
    for a, b in itertools.pairwise(orders):
        assert 20_000 <= b.start_ms - a.start_ms <= 30_000
        assert b.start_ms - a.end_ms >= 2000  # a few idle seconds between orders
    for e in events:
        if e.kind == "tracking":
            assert e.symbology == "Code128"
            assert 2000 <= e.end_ms - e.start_ms <= 3500
            order = next(o for o in orders if o.tracking_id == e.text)
            assert e.start_ms == order.waybill_ms
            assert e.end_ms <= order.end_ms
        if e.kind == "product":
            assert e.symbology == "EAN-13"
            assert e.symbology in settings.product_symbologies
            digits = [int(c) for c in e.text]
            assert len(digits) == 13
            assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    assert scene.duration_ms is not None
    assert scene.duration_ms > orders[-1].end_ms


def test_some_orders_show_a_product_barcode() -> None:
    scene = DemoScene(640, 360, seed=1, orders=12)
    kinds = [e.kind for e in scene.script]
    assert 0 < kinds.count("product") < 12


def test_a_catalogue_of_its_own_gives_the_same_orders_other_products() -> None:
    ours = (("Glass jar 500 ml", (150, 200, 120)),)
    mine = DemoScene(640, 360, seed=1, orders=6, products=ours)
    default = DemoScene(640, 360, seed=1, orders=6)
    assert [o.order_id for o in mine.orders()] == [o.order_id for o in default.orders()]
    names = {it.name for p in mine._plans for it in p.items}
    assert names == {"Glass jar 500 ml"}
    assert names.isdisjoint(it.name for p in default._plans for it in p.items)
    with pytest.raises(ValueError, match="at least one product"):
        DemoScene(640, 360, seed=1, orders=1, products=())


def windows(scene: DemoScene) -> list[tuple[DemoEvent, int]]:
    """Every event, with frames at the start, middle and end of its window."""
    out = []
    for e in scene.script:
        first, after = frame_at(scene, e.start_ms), frame_at(scene, e.end_ms)
        for n in sorted({first, (first + after) // 2, after - 1}):
            out.append((e, n))
    return out


def test_every_code_decodes_inside_its_window(scene: DemoScene) -> None:
    failures = []
    for event, n in windows(scene):
        if event.text not in decoded(scene.render(n), event.symbology):
            failures.append((event.kind, event.text, n))
    assert failures == []


def test_window_boundaries_are_frame_times(scene: DemoScene) -> None:
    for e in scene.script:
        for t in (e.start_ms, e.end_ms):
            n = frame_at(scene, t)
            assert round(n * 1000 / scene.fps) == t


def test_the_box_is_gone_at_end_ms_and_the_table_is_still(scene: DemoScene) -> None:
    empty = scene.render(0)  # before the first order
    assert scene.render(1).tobytes() == empty.tobytes()
    for order in scene.orders():
        gone = frame_at(scene, order.end_ms)
        assert scene.render(gone).tobytes() == empty.tobytes()
        assert scene.render(gone - 1).tobytes() != empty.tobytes()


def test_hands_move_while_packing(scene: DemoScene) -> None:
    order = scene.orders()[0]
    step = scene.fps // 5  # what a 5 Hz motion detector compares
    moving = 0
    samples = range(frame_at(scene, order.start_ms), frame_at(scene, order.end_ms), step * 5)
    for n in samples:
        a = scene.render(n).astype(np.int16)
        b = scene.render(n + step).astype(np.int16)
        moving += float(np.abs(a - b).mean()) > 0.5
    assert moving >= 0.8 * len(samples)


def test_endless_scene_scripts_two_hours_and_renders_beyond() -> None:
    scene = DemoScene(320, 180, seed=5)
    assert scene.duration_ms is None
    assert scene.script[-1].start_ms > 2 * 3600 * 1000 - 60_000
    assert len(scene.orders()) > 200
    late = scene.render(3 * 3600 * scene.fps)
    assert late.shape == (180, 320, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 10}, {"fps": 0}, {"orders": 0}, {"seed": -1}],
)
def test_bad_arguments(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        DemoScene(**kwargs)  # type: ignore[arg-type]


def test_negative_index(scene: DemoScene) -> None:
    with pytest.raises(ValueError, match="index"):
        scene.render(-1)
