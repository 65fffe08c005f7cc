"""The seal queue (recorder/sealqueue.py): what a clip plan names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from recorder.sealqueue import SealQueue
from storage.footage import FootageSource

CAM_A = FootageSource("camera", device="/dev/video0", card="Cam A", serial="A")
CAM_B = FootageSource("camera", device="/dev/video0", card="Cam B", serial="B")


def test_a_clip_names_the_camera_of_its_run_not_the_one_plugged_in_since() -> None:
    """The writer thread reopens a lost camera while the main loop closes the clip it
    interrupted: under load the close came second and named the new camera (CI:
    tests/recorder/test_station.py::test_camera_lost_and_back saw B, B, B)."""
    none: Any = None
    queue = SealQueue(none, none, none, pre_roll_ms=0, post_roll_ms=0)
    plugged = [CAM_A]
    queue.source_of = lambda: plugged[-1]
    queue.add_run(cast(Any, SimpleNamespace(id="run-a")))
    plugged.append(CAM_B)  # the camera came back as another one: the writer's next run
    closed = cast(Any, SimpleNamespace(clip=SimpleNamespace(started=1_000), ended=9_000))
    assert queue.plan(closed, "run-a").source == CAM_A
    queue.add_run(cast(Any, SimpleNamespace(id="run-b")))
    assert queue.plan(closed, "run-b").source == CAM_B
    assert queue.plan(closed, None).source == CAM_B  # the current run
    assert queue.plan(closed, "recovered").source == CAM_B  # a crashed station's: now
