"""The hub: many stations replicate to one verified mirror (issue 9).

``Hub`` (:mod:`packseal.hub.app`) opens what a hub needs from config: the mirror in
PostgreSQL (:mod:`storage.mirror`), blobs on S3-compatible storage
(:mod:`storage.s3blobs`), the merchant roots it trusts, and its cosigning key.
:func:`packseal.hub.portal.create_hub_portal` is what ``packseal serve`` runs on a hub
(the portal's login and accounts, the fleet, search, play, export, tlog-tiles, and the
push API stations reach with their enrolment tokens; not imported here, so a station
that only pushes loads no web code); :class:`Pusher` is the station's side, a background
outbox that never blocks recording.
"""

from packseal.hub.app import Hub, HubCheck
from packseal.hub.pusher import Pusher, PushReport

__all__ = ["Hub", "HubCheck", "PushReport", "Pusher"]
