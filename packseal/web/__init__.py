"""The web faces: the station screen for packers and the portal for merchants and auditors.

One stack for both: FastAPI, server-rendered Jinja2 templates, a little plain JavaScript,
one hand-written stylesheet each, everything served from the app itself (no CDN, no build
step: stations and portals may run without internet).
"""

from packseal.web.portal import create_portal
from packseal.web.server import PortInUse, ServerThread, is_loopback, serve_forever
from packseal.web.station import create_station_screen

__all__ = [
    "PortInUse",
    "ServerThread",
    "create_portal",
    "create_station_screen",
    "is_loopback",
    "serve_forever",
]
