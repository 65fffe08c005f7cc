"""Claim check: damage localisation, false alarms and "not found" against sealed footage.

Records demo orders through the real station (``tests.recording.record_demo``, 1280x720
at 15 fps, or 1920x1080 with ``--size 1080p``), then makes buyer's photos of the orders'
products (bench/_claimset.py: perspective, scale, lighting, JPEG 40-90, a resize) -
damaged ones with known masks, honest ones, and unrelated products - and runs the claim
check of each against its order's sealed clip. Prints localisation precision/recall/IoU
(pixels, and per damage region), the false-alarm rate on honest photos, matches on
unrelated products, and seconds per photo; the baseline is the cost of preparing one
clip's candidate frames (re-hash, decode, coarse features), measured in the same run; a
photo's seconds count its reading.

Four splits, so that the figures are not those the thresholds were tuned on:
**calibration** (demo scene seed 1: tea sampler, phone case, notebook, USB-C cable;
photo seed 14) and **development** (scene seed 45: notebook, two tote bags, bamboo
toothbrushes, tea sampler; photo seed 16) are what compare.py's thresholds were set by
looking at; **held-out** (scene seed 4: puzzle, mug, wool socks, two candles - no product
in common with either; photo seed 15) is run only after they are frozen. Its misses were
looked at on 2026-12-06, so **held-out-2** (scene seed 95: puzzle, two candles, mug - the
only other seed whose products are all of held-out's models; photo seed 17: new footage
and photos, seeds 5-399 searched) took its place; it was run blind once (82355a1, 45/60
found) and its misses have been looked at since. **held-out-3** (scene seed 201, photo
seed 18) is of product models the demo's catalogue does not have (``NEW_MODELS``: five of
them in its eight orders, among them a dark grey card), fixed before the split's first run.
It was run blind once (53192ed, 2026-12-06: 54/60 found, 4/60 false alarms) and
its misses and false alarms have been looked at since. **held-out-4** (scene seed 300,
photo seed 19, ``NEWER_MODELS``) was run blind once (751ca46, 2026-12-06: 45/60 found,
8/60 false alarms) and its misses and false alarms have been looked at since.
**held-out-5** (scene seed 510, photo seed 20, ``FRESH_MODELS``) was fixed before
held-out-4's misses were looked at and run blind once (ff283f4, 2026-12-06: 51/60 found,
4/60 false alarms); its false alarms have been looked at since. **held-out-6** (scene
seed 608, photo seed 21, ``SIXTH_MODELS``) was fixed on 2026-12-06 before the change
that followed held-out-5 (the tone curve) and run blind once after it (3e64a58: 51/60
found, 57/57 regions on damage, 0/60 false alarms, 0/24 unrelated matched); a change after
it needs a new blind split.
Unrelated products of a split come from other scene seeds, never of a product model in
the split.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench._claimset import Photo, make_photo, procedural_object
from recorder._demolayout import Catalogue
from recorder.demo import DemoScene
from storage.entries import Clip, parse_as
from tests.recording import make_app, record_demo
from verifier.claim.check import check_photos
from verifier.claim.footage import sealed_frames

OUT = Path(__file__).parent / "out"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}  # the station records 720p by default


def _named(
    seed: int, orders: int, products: Catalogue | None = None
) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(order id, product name, RGB face, mask) of each order's shown product, drawn at
    2560x1440."""
    scene = DemoScene(2560, 1440, 15, seed=seed, orders=orders, products=products)
    scene.orders()
    out = []
    for plan in scene._plans:
        item = scene._shown_item(plan)
        if item is None:
            continue
        face, mask, _ = scene._part(plan, "product")
        out.append((plan.order_id, item.name, np.ascontiguousarray(face[:, :, ::-1]), mask))
    return out


# Product models the demo's own catalogue (recorder/_demolayout.PRODUCTS) does not have,
# for held-out-3: chosen on 2026-12-06 before any run of that split, to span dark, light,
# saturated and grey cards (name, BGR colour).
NEW_MODELS: Catalogue = (
    ("Glass jar 500 ml", (150, 200, 120)),
    ("Yoga mat 6 mm", (140, 60, 120)),
    ("Desk lamp LED", (45, 45, 50)),
    ("Water bottle 750 ml", (200, 120, 40)),
    ("Silk scarf 90 cm", (60, 60, 200)),
    ("Coffee beans 250 g", (50, 80, 110)),
    ("Crayons x24", (40, 200, 230)),
    ("Phone stand, alu", (185, 185, 180)),
)
# For held-out-4: eight more models neither catalogue has, chosen on 2026-12-06 before any
# run of that split, among them two near-white cards and a near-black one. Its scene seed
# is the first from 300 whose 8 orders show 5 or more models (300: board game, face cream,
# rain jacket, wall clock, dog leash); its photo seed is the next unused one.
NEWER_MODELS: Catalogue = (
    ("Rain jacket, navy", (90, 45, 25)),
    ("Face cream 50 ml", (215, 210, 235)),
    ("Board game, family", (30, 140, 225)),
    ("Kids' sneakers 28", (190, 190, 50)),
    ("Olive oil 1 l", (40, 125, 125)),
    ("Headphones, wired", (32, 32, 34)),
    ("Wall clock 30 cm", (228, 228, 225)),
    ("Dog leash 2 m", (50, 50, 150)),
)
# For held-out-5: eight more models none of the catalogues has, chosen on 2026-12-06 (the
# second session) before held-out-4's misses were looked at and before any run of this
# split; a near-white, a near-black and a light grey card among them. Its scene seed is the
# first from 500 whose 8 orders show 5 or more models (510: baby bottle, bike light, hair
# dryer, lunch box, pillowcase); its photo seed is the next unused one.
FRESH_MODELS: Catalogue = (
    ("Baby bottle 260 ml", (235, 230, 220)),
    ("Garden gloves, L", (60, 150, 60)),
    ("Bike light, rear", (20, 20, 24)),
    ("Lunch box 1.2 l", (200, 160, 120)),
    ("Hair dryer 1800 W", (120, 40, 160)),
    ("Spice set x6", (30, 90, 180)),
    ("Pillowcase, linen", (205, 215, 215)),
    ("Screwdriver set", (0, 110, 200)),
)
# For held-out-6: eight more models none of the catalogues has, chosen on 2026-12-06 (the
# third session) before anything of this session was run or changed; an orange, a rose
# and a yellow card (bright channels a phone clips), a near-white and a near-black among
# them. Its scene seed is the first from 600 whose 8 orders show 5 or more models (608:
# bath towel, camping stove, pencil case, running shorts, umbrella); its photo seed is the
# next unused one.
SIXTH_MODELS: Catalogue = (
    ("Electric kettle 1.7 l", (30, 120, 240)),
    ("Bath towel, rose", (170, 100, 230)),
    ("Travel adapter", (242, 242, 240)),
    ("Camping stove", (30, 60, 25)),
    ("Ceramic bowls x4", (175, 205, 225)),
    ("Running shorts, teal", (140, 130, 20)),
    ("Umbrella, compact", (28, 26, 30)),
    ("Pencil case, yellow", (40, 215, 250)),
)
# split -> (scene seed, photo seed, scene seeds of the unrelated products, catalogue)
SPLITS: dict[str, tuple[int, int, tuple[int, ...], Catalogue | None]] = {
    "calibration": (1, 14, (2, 3), None),
    "development": (45, 16, (2, 3), None),
    "held-out": (4, 15, (1, 7), None),
    "held-out-2": (95, 17, (1, 7), None),
    "held-out-3": (201, 18, (1, 7), NEW_MODELS),
    "held-out-4": (300, 19, (1, 7), NEWER_MODELS),
    "held-out-5": (510, 20, (1, 7), FRESH_MODELS),
    "held-out-6": (608, 21, (1, 7), SIXTH_MODELS),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench claim", description=__doc__)
    parser.add_argument("--orders", type=int, default=8)
    parser.add_argument("--damaged", type=int, default=60)
    parser.add_argument("--honest", type=int, default=60)
    parser.add_argument("--unrelated", type=int, default=24)
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default="all",
        help="which set of products and photos (see above)",
    )
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="720p",
        help="the footage's size (the station's default is 720p; 1080p costs ~2x CPU, ~1.7x MB)",
    )
    parser.add_argument("--save", type=int, default=6, help="annotated examples to keep")
    parser.add_argument(
        "--reuse", action="store_true", help="record once into bench/out and reuse it (tuning)"
    )
    args = parser.parse_args(argv)
    splits = list(SPLITS) if args.split == "all" else [args.split]
    print("load:", os.getloadavg())
    for split in splits:
        print(f"--- {split} ---")
        results, prep = _run(split, args)
        _score(split, results, prep, args)
    print("load:", os.getloadavg())
    return 0


def _run(split: str, args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    scene_seed, photo_seed, stranger_seeds, catalogue = SPLITS[split]
    rng = np.random.default_rng(photo_seed)
    width, height = SIZES[args.size]
    camera = {"width": width, "height": height, "fps": 15}
    with tempfile.TemporaryDirectory(prefix="bench-claim-") as tmp:
        data = Path(tmp) / "data"
        size = "" if args.size == "720p" else f"-{args.size}"
        cached = OUT / f"claim-footage-{args.orders}-seed{scene_seed}{size}"
        if args.reuse and cached.exists():
            shutil.copytree(cached, data)
            app = make_app(data, camera=camera)
            print(f"reusing the footage recorded in {cached}")
        else:
            t = time.perf_counter()
            app = record_demo(
                data, orders=args.orders, seed=scene_seed, camera=camera, products=catalogue
            ).app
            took = time.perf_counter() - t
            print(f"recorded {args.orders} orders (scene seed {scene_seed}) in {took:.1f} s")
            if args.reuse:
                shutil.copytree(data, cached, dirs_exist_ok=True)
        store = app.store
        clips = {}
        for row in store.clips():
            clip = parse_as(Clip, store.entry(row.idx))
            clips[clip.order_id] = clip
        named = [p for p in _named(scene_seed, args.orders, catalogue) if p[0] in clips]
        products = [(order, face, mask) for order, _, face, mask in named]
        faces = [f for _, f, _ in products]
        print(f"{len(products)} orders show a product: {[(p[0], p[1]) for p in named]}")
        # Other seeds' products, except those of a product model of this split (same
        # name and card, another EAN): a photo of the same model is not unrelated.
        ours = {name for _, name, _, _ in named}
        strangers = [s for seed in stranger_seeds for s in _named(seed, 6) if s[1] not in ours]
        photos: dict[str, list[Photo]] = {o: [] for o, _, _ in products}
        for kind, count in (("damaged", args.damaged), ("honest", args.honest)):
            for i in range(count):
                order, face, mask = products[i % len(products)]
                photos[order].append(
                    make_photo(rng, face, mask, kind=kind, product=order, others=faces)
                )
        for i in range(args.unrelated):
            order = products[i % len(products)][0]
            if i % 2 == 0:
                _, name, face, mask = strangers[(i // 2) % len(strangers)]
                what = f"seed-{stranger_seeds} product {name}"
            else:
                face, mask = procedural_object(rng)
                what = "procedural object"
            photos[order].append(
                make_photo(rng, face, mask, kind="unrelated", product=what, others=faces)
            )

        results = []
        prep = []
        for order, batch in photos.items():
            # Wall time says what a user waits on this shared machine; CPU time (this
            # process, all threads) what the check costs, whatever the others run.
            cpu: list[float] = []

            def clock(cpu: list[float] = cpu) -> float:
                cpu.append(time.process_time())
                return time.perf_counter()

            t, c0 = time.perf_counter(), time.process_time()
            footage = sealed_frames(store, clips[order])
            report = check_photos(
                [(f"{p.kind}-{k}.jpg", p.jpeg) for k, p in enumerate(batch)],
                footage,
                at_ms=0,
                clock=clock,
            )
            took, cpu_took = time.perf_counter() - t, time.process_time() - c0
            # Two clock pairs a photo: its reading (all photos first), then its matching.
            pairs = [b - a for a, b in zip(cpu[::2], cpu[1::2], strict=True)]
            per_photo = [
                r + m for r, m in zip(pairs[: len(batch)], pairs[len(batch) :], strict=True)
            ]
            spent = sum(r.seconds for r in report.photos)
            prep.append((took - spent, len(footage.frames), cpu_took - sum(per_photo)))
            results.extend(
                (photo, r, c) for photo, r, c in zip(batch, report.photos, per_photo, strict=True)
            )
        app.close()
    return results, prep


def _score(split: str, results: list[Any], prep: list[Any], args: argparse.Namespace) -> None:
    name = split if args.size == "720p" else f"{split}-{args.size}"
    tp = fp = fn = 0
    ious = []
    region_hits = region_total = pred_hits = pred_total = 0
    outcomes: dict[str, Counter[str]] = {
        "damaged": Counter(),
        "honest": Counter(),
        "unrelated": Counter(),
    }
    seconds = []
    unseen: dict[str, list[float]] = {"damaged": [], "honest": []}
    invisible = hidden = hidden_found = 0
    saved = 0
    OUT.mkdir(exist_ok=True)
    cpu = []
    for photo, result, cpu_s in results:
        cpu.append(cpu_s)
        against = result.footage
        outcomes[photo.kind][against.outcome] += 1
        seconds.append(result.seconds)
        c = against.comparison
        if c is not None and c.aligned is not None and photo.kind in unseen:
            unseen[photo.kind].append(c.unseen_fraction)
        if photo.kind != "damaged":
            if against.outcome == "differs" and c is not None and c.aligned is not None:
                _dump(f"claim-{name}-{photo.kind}-{len(seconds)}", result.image, c)
            continue
        truth = photo.truth > 0
        pred = (c.mask > 0) if c is not None and c.mask is not None else np.zeros_like(truth)
        a, b, d = int((pred & truth).sum()), int((pred & ~truth).sum()), int((~pred & truth).sum())
        tp, fp, fn = tp + a, fp + b, fn + d
        ious.append(a / max(1, a + b + d))
        region_total += 1
        region_hits += a > 0
        # Damage the photo does not show (a thin crack lost in the resize), and damage
        # mostly where the check says it compared nothing (under the packer's hand in
        # the frame): counted in damage_found, and told apart here.
        invisible += not photo.seen.any()
        under = c.unseen[truth] if c is not None and c.unseen is not None else np.zeros(0)
        if under.size and (under > 0).mean() >= 0.5:
            hidden += 1
            hidden_found += a > 0
        if a == 0 and c is not None and c.aligned is not None:
            _dump(f"claim-{name}-missed-{len(seconds)}", result.image, c, photo.truth)
        n, labels = cv2.connectedComponents(pred.astype(np.uint8))
        for i in range(1, n):
            pred_total += 1
            pred_hits += bool((truth & (labels == i)).any())
        if saved < args.save and c is not None and c.aligned is not None:
            _dump(f"claim-{name}-example-{saved}", result.image, c, photo.truth)
            saved += 1
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    figures = {
        "damaged": dict(outcomes["damaged"]),
        "honest": dict(outcomes["honest"]),
        "unrelated": dict(outcomes["unrelated"]),
        "pixel_precision": round(precision, 3),
        "pixel_recall": round(recall, 3),
        "mean_iou": round(float(np.mean(ious)) if ious else 0.0, 3),
        "damage_found": f"{region_hits}/{region_total}",
        "damage_not_in_photo": invisible,
        "damage_in_unseen": f"{hidden} (found {hidden_found})",
        "unseen_median": {k: round(float(np.median(v or [0])), 3) for k, v in unseen.items()},
        "regions_on_damage": f"{pred_hits}/{pred_total}",
        "false_alarms": f"{outcomes['honest']['differs']}/{sum(outcomes['honest'].values())}",
        "unrelated_matched": sum(v for k, v in outcomes["unrelated"].items() if k != "not-found"),
        "s_per_photo_match": round(float(np.mean(seconds)), 3),
        "s_per_photo_p95": round(float(np.quantile(seconds, 0.95)), 3),
        "cpu_s_per_photo": round(float(np.mean(cpu)), 3),
        "cpu_s_per_photo_p95": round(float(np.quantile(cpu, 0.95)), 3),
        "s_clip_prep": round(float(np.mean([p[0] for p in prep])), 3),
        "cpu_s_clip_prep": round(float(np.mean([p[2] for p in prep])), 3),
        "candidate_frames": [p[1] for p in prep],
    }
    for k, v in figures.items():
        print(f"{k:20} {v}")
    prep_s = figures["s_clip_prep"]
    print(
        f"one photo per claim: {prep_s + figures['s_per_photo_match']:.2f} s "
        f"({(prep_s + figures['s_per_photo_match']) / max(prep_s, 1e-9):.1f}x the clip's "
        "frame preparation alone); CPU "
        f"{figures['cpu_s_clip_prep'] + figures['cpu_s_per_photo']:.2f} s"
    )
    (OUT / f"claim-{name}.json").write_text(json.dumps(figures, indent=2))


def _dump(name: str, image: np.ndarray, c: object, truth: np.ndarray | None = None) -> None:
    """The photo with the marks (red), the compared region (blue) and, for a damaged
    photo, the painted damage (green), beside the aligned frame."""
    aligned = c.aligned  # type: ignore[attr-defined]
    mask = c.mask  # type: ignore[attr-defined]
    product = c.product  # type: ignore[attr-defined]
    over = image.copy()
    if truth is not None:
        cont, _ = cv2.findContours(truth, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(over, cont, -1, (0, 200, 0), 2)
    cont, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(over, cont, -1, (230, 0, 0), 2)
    cont, _ = cv2.findContours(product, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(over, cont, -1, (0, 0, 230), 1)
    cv2.imwrite(str(OUT / f"{name}.png"), np.hstack([over, aligned])[:, :, ::-1])
