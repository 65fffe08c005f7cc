"""The hub: many stations replicate to one verified mirror (issue 9).

``Hub`` (:mod:`packseal.hub.app`) opens what a hub needs from config: the mirror in
PostgreSQL (:mod:`storage.mirror`), blobs on S3-compatible storage
(:mod:`storage.s3blobs`), the merchant roots it trusts, and its cosigning key.
:func:`make_hub_api` serves the push API; :class:`Pusher` is the station's side, a
background outbox that never blocks recording.
"""

from packseal.hub.api import make_hub_api
from packseal.hub.app import Hub, HubCheck
from packseal.hub.pusher import Pusher, PushReport

__all__ = ["Hub", "HubCheck", "PushReport", "Pusher", "make_hub_api"]
