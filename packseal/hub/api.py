"""The hub's HTTP API for stations: pushes and blobs, authenticated by enrolment token.

===========================  ========================================================
``POST /hub/v1/push``        a :class:`storage.push.Push`; 200 ``{size, root, appended,
                             cosignature, witness}`` (witness: the hub's cosigning vkey,
                             so the station checks the cosignature before keeping
                             it); 409 ``{size}`` (push again from there) or
                             ``{misbehaviour}`` (refused: the log was rewritten); 403
                             not certified; 422 not consistent or not the entries
``POST /hub/v1/anchors``     a :class:`storage.push.AnchorPush` (checkpoints, stamps,
                             cosignatures, export policy) for sizes the hub holds; 200
                             ``{checkpoints, stamps, cosignatures}`` newly kept; 409
                             ``{misbehaviour}`` a checkpoint of another tree; 422 invalid
``GET /hub/v1/size``         ``{size}``: how much of the station's log the hub holds
``PUT /hub/v1/blobs/<sha>``  the blob's bytes; 200 ``{sha256, size}``; 404 no pushed
                             entry names it; 422 the bytes do not hash to the name
``HEAD /hub/v1/blobs/<sha>`` 200 when the hub holds it (the acknowledgment), else 404
``POST /add-checkpoint``     c2sp.org/tlog-witness (no token: the station's witness
                             client; :mod:`storage.hubwitness` says what it checks)
===========================  ========================================================

Every route but the witness's needs ``Authorization: Bearer <token>`` (401 without,
403 revoked or unknown). A down database or object store is 503 with ``Retry-After``: the station
backs off and retries; nothing it sent is half-kept (the mirror appends in one
transaction, blobs are create-if-absent).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from packseal.hub.app import Hub
from storage import BlobError, FormatError, PacksealError
from storage.hubanchors import add_anchors
from storage.hubwitness import WitnessRefused, add_checkpoint
from storage.mirror import (
    BlobNotNamed,
    MirrorFork,
    PushConflict,
    PushInvalid,
    PushRefused,
)
from storage.push import AnchorPush, Push
from storage.s3blobs import ObjectStoreUnavailable

_SHA256 = re.compile(r"[0-9a-f]{64}")
RETRY_AFTER = "5"
PUSH_PREFIX = "/hub/v1/"  # every push route is under it
MAX_BLOB = 256 << 20


class _TooLarge(PacksealError):
    """A request body over its limit (answered 413)."""


def _error(status: int, message: str, hint: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": {"status": status, "message": message, "hint": hint}}
    body.update(extra)
    headers = {"Retry-After": RETRY_AFTER} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge("the request body is over its limit")
    chunks = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _TooLarge("the request body is over its limit")
        chunks.append(chunk)
    return b"".join(chunks)


def push_router(hub: Hub) -> APIRouter:
    """The routes stations push to (their own tokens; the portal's limits do not apply)."""
    api = APIRouter(include_in_schema=False)
    push_limit = hub.settings.max_push_mb << 20

    def station_of(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PushRefused("401: an enrolment token is required (Authorization: Bearer)")
        station = hub.mirror.authenticate(token.strip())
        backlog = request.headers.get("x-packseal-backlog")
        if backlog is not None:
            hub.mirror.report_backlog(station, backlog, hub.clock.now_ms())
        return station

    async def guarded(request: Request, work: Any) -> Response:
        try:
            return await run_in_threadpool(work)
        except MirrorFork as e:
            return _error(
                409,
                e.message,
                e.hint,
                misbehaviour=e.proof.to_dict(),
            )
        except PushConflict as e:
            return _error(409, e.message, e.hint, size=e.size)
        except PushRefused as e:
            status = 401 if e.message.startswith("401: ") else 403
            return _error(status, e.message.removeprefix("401: "), e.hint)
        except BlobNotNamed as e:
            return _error(404, e.message, e.hint)
        except (PushInvalid, FormatError, BlobError) as e:
            return _error(422, e.message, e.hint)
        except ObjectStoreUnavailable as e:
            return _error(503, e.message, e.hint)
        except OperationalError as e:
            return _error(
                503,
                f"the hub's database is unavailable: {type(e.orig).__name__}",
                "the hub retries; check PostgreSQL",
            )
        except PacksealError as e:
            return _error(500, e.message, e.hint)

    @api.post("/hub/v1/push")
    async def push(request: Request) -> Response:
        try:
            body = await _body(request, push_limit)
        except _TooLarge:
            return _error(413, f"a push is at most {push_limit >> 20} MB", "send fewer entries")

        def work() -> Response:
            station = station_of(request)
            accepted = hub.mirror.push(station, Push.from_bytes(body), hub.clock.now_ms())
            cosignature = hub.cosign(accepted)
            return JSONResponse(
                {
                    "size": accepted.size,
                    "root": base64.b64encode(accepted.root).decode(),
                    "appended": accepted.appended,
                    "cosignature": cosignature.line(),
                    "witness": hub.cosigner.verifier.vkey,
                }
            )

        return await guarded(request, work)

    @api.post("/hub/v1/anchors")
    async def anchors(request: Request) -> Response:
        try:
            body = await _body(request, push_limit)
        except _TooLarge:
            return _error(413, f"anchors are at most {push_limit >> 20} MB", "send fewer")

        def work() -> Response:
            station = station_of(request)
            taken = add_anchors(
                hub.mirror,
                station,
                AnchorPush.from_bytes(body),
                hub.clock.now_ms(),
                hub.cosigner.verifier,
            )
            return JSONResponse(
                {
                    "checkpoints": taken.checkpoints,
                    "stamps": taken.stamps,
                    "cosignatures": taken.cosignatures,
                }
            )

        return await guarded(request, work)

    @api.post("/add-checkpoint")
    async def witness(request: Request) -> Response:
        """c2sp.org/tlog-witness: the hub cosigns a checkpoint of a log it mirrors."""
        body = await request.body()  # the portal's body limit applies: a small request

        def work() -> Response:
            me = hub.cosigner.verifier
            try:
                accepted = add_checkpoint(hub.mirror, body, me.name, me.key_id, hub.clock.now_ms())
            except WitnessRefused as e:
                if e.size is not None:
                    return Response(f"{e.size}\n", status_code=409, media_type="text/x.tlog.size")
                return Response(
                    e.message + "\n",
                    status_code=e.status,
                    media_type="text/plain",
                    headers={"Retry-After": RETRY_AFTER} if e.status == 503 else None,
                )
            return Response(hub.cosign(accepted).line(), media_type="text/plain; charset=utf-8")

        return await guarded(request, work)

    @api.get("/hub/v1/size")
    async def size(request: Request) -> Response:
        def work() -> Response:
            return JSONResponse({"size": hub.mirror.size(station_of(request))})

        return await guarded(request, work)

    @api.put("/hub/v1/blobs/{sha256}")
    async def put_blob(sha256: str, request: Request) -> Response:
        if not _SHA256.fullmatch(sha256):
            return _error(404, "a blob is named by 64 lowercase hex digits (its SHA-256)")
        try:
            body = await _body(request, MAX_BLOB)
        except _TooLarge:
            return _error(413, f"a blob is at most {MAX_BLOB >> 20} MB")

        def work() -> Response:
            station = station_of(request)
            info = hub.mirror.put_blob(station, sha256, body, hub.clock.now_ms())
            return JSONResponse({"sha256": info.sha256, "size": info.size})

        return await guarded(request, work)

    @api.head("/hub/v1/blobs/{sha256}")
    async def head_blob(sha256: str, request: Request) -> Response:
        def work() -> Response:
            station_of(request)
            held = _SHA256.fullmatch(sha256) is not None and hub.mirror.holds(sha256)
            return Response(status_code=200 if held else 404)

        return await guarded(request, work)

    return api


__all__ = ["PUSH_PREFIX", "push_router"]
