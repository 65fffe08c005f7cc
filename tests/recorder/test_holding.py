"""The orders-only hold policy, as data: which closed segment is sealed, dropped or held."""

from __future__ import annotations

import pytest

from recorder.controller import ClipClosed, OpenClip
from recorder.holding import HoldPolicy, Span, Verdict
from recorder.sealer import ClipPlan

POLICY = HoldPolicy(orders_only=True, pre_roll_ms=2_000, hold_ms=7_000)
PLAN = ClipPlan(
    ClipClosed(OpenClip("c1", "SO-1", 20_000, ()), 30_000, "stop", "sealed"),
    run="r",
    start_at=18_000,
    end_at=32_000,
    pre_roll=2_000,
    post_roll=2_000,
)

# (held spans oldest first, footage ms, open clip started at, pending plans, final) -> verdict
CASES: list[tuple[str, list[Span], int, int | None, list[ClipPlan], bool, Verdict]] = [
    ("no clip, recent: a late scan may claim it", [(0, 2_000)], 8_000, None, [], False, "hold"),
    ("no clip, past the hold window", [(0, 2_000)], 9_001, None, [], False, "drop"),
    ("no clip, final: nobody will claim it", [(0, 2_000)], 2_000, None, [], True, "drop"),
    ("inside an open clip's pre-roll", [(16_000, 18_001)], 18_001, 20_000, [], False, "seal"),
    ("before the open clip's pre-roll", [(14_000, 16_000)], 21_000, 20_000, [], False, "hold"),
    (
        "a later one is wanted: drop",
        [(14_000, 16_000), (18_000, 20_000)],
        20_000,
        20_000,
        [],
        False,
        "drop",
    ),
    ("covered by a pending plan", [(30_000, 32_000)], 34_000, None, [PLAN], False, "seal"),
    ("after a pending plan's post-roll", [(32_000, 34_000)], 36_000, None, [PLAN], False, "hold"),
]


@pytest.mark.parametrize(
    ("held", "footage", "open_started", "pending", "final", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_verdicts(
    held: list[Span],
    footage: int,
    open_started: int | None,
    pending: list[ClipPlan],
    final: bool,
    expected: Verdict,
) -> None:
    got = POLICY.verdict(
        held, footage_ms=footage, open_started=open_started, pending=pending, final=final
    )
    assert got == expected


def test_continuous_recording_seals_everything() -> None:
    policy = HoldPolicy(orders_only=False, pre_roll_ms=2_000, hold_ms=7_000)
    verdict = policy.verdict(
        [(0, 2_000)], footage_ms=99_000, open_started=None, pending=[], final=True
    )
    assert verdict == "seal"
