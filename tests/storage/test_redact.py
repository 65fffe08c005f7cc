"""storage.redact: camera credentials never leave the station's memory."""

from __future__ import annotations

import pytest

from storage.redact import redact

CASES = [
    (
        "rtsp://admin:pw@10.0.0.5:554/Streaming/Channels/101",
        "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101",
    ),
    ("RTSP://Admin:Pw@cam/x", "RTSP://Admin:***@cam/x"),
    ("rtsps://u:p@h", "rtsps://u:***@h"),
    # an unencoded @ in the password: ffmpeg takes the userinfo to the last @
    ("rtsp://admin:p@ss@w0rd@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live"),
    ("rtsp://admin:p%40ss@cam:554/", "rtsp://admin:***@cam:554/"),
    ("rtsp://admin:@cam/", "rtsp://admin:***@cam/"),
    ("http://tok3n@cam/video.mjpg", "http://***@cam/video.mjpg"),
    ("http://cam/video.mjpg?user=admin&pwd=s3cret", "http://cam/video.mjpg?user=admin&pwd=***"),
    ("http://cam/v?Password=a&b=c", "http://cam/v?Password=***&b=c"),
    ("https://cam/snap?token=abc#k", "https://cam/snap?token=***#k"),
    ("http://cam/cgi?channel=1&auth=YWRtaW46cHc=", "http://cam/cgi?channel=1&auth=***"),
    # in running text, several URLs, each line kept
    (
        "[rtsp @ 0x1] rtsp://a:b@h:1/x: Connection refused\nthen http://c:d@e/f failed",
        "[rtsp @ 0x1] rtsp://a:***@h:1/x: Connection refused\nthen http://c:***@e/f failed",
    ),
    # nothing to hide: unchanged
    ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
    ("camera:/dev/video0", "camera:/dev/video0"),
    ("mail admin@example.com about it", "mail admin@example.com about it"),
    ("http://cam/path/with@sign", "http://cam/path/with@sign"),
]


@pytest.mark.parametrize(("text", "shown"), CASES)
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert redact(shown) == shown  # idempotent: redacting twice shows the same
