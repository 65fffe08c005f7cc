"""The caption's shared layout (storage/caption.py): pure strings and numbers."""

from __future__ import annotations

from pathlib import Path

from storage.caption import (
    CaptionMetrics,
    caption_metrics,
    drawtext,
    drawtext_y,
    option_value,
)


def test_metrics_follow_the_measure_and_the_frame_size() -> None:
    m = caption_metrics(1920, 1080, lambda scale, thickness: (round(27 * scale), 7 * thickness))
    assert m == CaptionMetrics(scale=1.08, thickness=2, line_h=29 + 14 + 9, band_h=113, margin=12)


def test_one_line_of_drawtext_as_the_station_and_the_sheet_draw_it() -> None:
    m = CaptionMetrics(scale=1.08, thickness=2, line_h=45, band_h=99, margin=12)
    assert drawtext_y(m, 0) == 6
    assert drawtext_y(m, 1) == 51
    font = Path("/f/a:b.ttc")
    assert drawtext(m, font, "0xE62828", 1, "text=x") == (
        "drawtext=fontfile=/f/a\\\\:b.ttc:text=x:fontcolor=0xE62828:fontsize=34:x=12:y=51"
    )
    assert drawtext(m, None, "0xFFFFFF", 0, "text=x").startswith("drawtext=font=Sans:text=x:")
    assert option_value("a:b\\c'd") == "a\\:b\\\\c\\'d"
