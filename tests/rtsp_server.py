"""A real RTSP server for tests: GStreamer's gst-rtsp-server (Debian 12:
gir1.2-gst-rtsp-server-1.0, run by the system python3 with python3-gi), serving H.264
or H.265 MP4 files as an IP camera would, paced in real time, on 127.0.0.1.

    /usr/bin/python3 tests/rtsp_server.py --file F.mp4 [--mount /sub=G.mp4 ...]
        [--port N] [--user U --password P]

Prints the port it listens on (one line) once it serves, then runs until killed.
``--file`` is served at ``/cam`` (a camera's main stream); each ``--mount PATH=FILE``
adds another (e.g. the camera's low-resolution sub-stream at ``/sub``). Each stream is
its file once through; a client that connects later gets it from the start. Run as its
own process so tests can kill (SIGKILL), stall (SIGSTOP) and restart it like a camera
losing power. Not imported by the tests: it needs the system's gi.
"""

from __future__ import annotations

import argparse
import functools
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstPbutils", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstPbutils, GstRtspServer  # noqa: E402


@functools.cache  # one probe per file, however many mounts serve it
def _payloader(path: str) -> str:
    """rtph264pay or rtph265pay, by the file's video codec (probed, not guessed)."""
    info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(Gst.filename_to_uri(path))
    caps = info.get_video_streams()[0].get_caps().get_structure(0).get_name()
    if caps == "video/x-h265":
        # rtph265pay (plugins-good, like rtph264pay) takes qtdemux's hvc1 access units
        return "rtph265pay name=pay0 pt=96 config-interval=-1"
    if caps == "video/x-h264":
        return "rtph264pay name=pay0 pt=96 config-interval=-1"
    raise SystemExit(f"{path}: expected H.264 or H.265 video, found {caps}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--mount", action="append", default=[], metavar="PATH=FILE")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    permissions = None
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.new_from_string(
                "camera-user, media.factory.access=(boolean)true, "
                "media.factory.construct=(boolean)true"
            )
        )
    mounts = [("/cam", args.file)] + [tuple(m.split("=", 1)) for m in args.mount]
    for path, file in mounts:
        factory = GstRtspServer.RTSPMediaFactory()
        # qtdemux hands the payloader AVC/HVC access units; config-interval=-1 repeats
        # the parameter sets at every keyframe, as cameras do, so a client joining
        # mid-stream can decode.
        location = file.replace('"', "")
        factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! {_payloader(file)} )')
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
