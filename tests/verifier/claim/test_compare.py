"""Which marked regions a comparison reports (verifier/claim/compare.py): size against
strength."""

from __future__ import annotations

import numpy as np

from verifier.claim.compare import MIN_REGION, MIN_STRENGTH, STRONG, _regions


def test_a_small_region_is_kept_only_if_it_differs_strongly() -> None:
    product = np.full((200, 200), 255, np.uint8)
    least = MIN_REGION * product.size  # 160 px
    mask = np.zeros_like(product)
    dist = np.zeros(product.shape, np.float32)
    # Three regions of 100 px (between half and all of the least area) and one of 200 px.
    spots = {
        "small, strong": ((10, 10), STRONG + 5),
        "small, as strong as a large one must be": ((10, 60), MIN_STRENGTH + 1),
        "small, just short of strong": ((10, 110), STRONG - 1),
    }
    for (y, x), strength in spots.values():
        mask[y : y + 10, x : x + 10] = 255
        dist[y : y + 10, x : x + 10] = strength
    mask[100:110, 10:30] = 255
    dist[100:110, 10:30] = MIN_STRENGTH + 1
    assert least / 2 <= 100 < least <= 200
    regions = _regions(mask, dist, product, 1.0)
    assert sorted((r.x, r.y, r.area) for r in regions) == [(10, 10, 100), (10, 100, 200)]
    # What is not reported is not marked either.
    assert mask[10:20, 60:70].max() == 0
    assert mask[10:20, 110:120].max() == 0


def test_a_faint_region_is_not_reported_however_large() -> None:
    product = np.full((200, 200), 255, np.uint8)
    mask = np.zeros_like(product)
    mask[20:180, 20:180] = 255
    dist = np.full(product.shape, MIN_STRENGTH - 1, np.float32)
    assert _regions(mask, dist, product, 1.0) == ()
    assert not mask.any()
