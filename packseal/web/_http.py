"""HTTP plumbing shared by both faces: errors as clean pages or JSON, security headers,
and a cap on request bodies.

Every error a user can meet leaves as ``{"error": {"status", "message", "hint"}}`` for
API clients, or as a small HTML page with the same words for browsers. Messages never
echo request input unescaped: HTML goes through Jinja's autoescape, and validation errors
name the parameter, never its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from packseal.accounts import AccountError
from storage import (
    BlobMissingError,
    DiskFullError,
    FormatError,
    LogStateError,
    PacksealError,
    VerificationError,
)

# Everything is served from this origin; no CDN (the stations have no internet), no
# inline script or style, so an injected tag could not run even if escaping failed.
# Database row ids are signed 64-bit (SQLite INTEGER, PostgreSQL BIGINT): a larger number
# from a path or query must be a 422, not an OverflowError (a 500) inside the query.
MAX_ROW_ID = 2**63 - 1

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_TITLES = {
    400: "Bad request",
    401: "Login required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Server error",
    503: "Not available",
    507: "Disk full",
}


class ErrorDetail(BaseModel):
    status: int
    message: str
    hint: str | None


class ErrorBody(BaseModel):
    """What every error of the API looks like (``error_response``)."""

    error: ErrorDetail


_MEANING = {
    401: "no valid API token (or session)",
    403: "the token's role may not do this, or a session's POST lacks X-CSRF-Token",
    404: "no such thing in this store",
    409: "conflicts with the store's state (e.g. an audit is still running)",
    410: "the media is gone from the blob store (its hash is still in the log)",
    413: "the request body is larger than web.max_body_kb (a claim upload: 120 MiB in all, "
    "40 MB a file)",
    415: "an upload is not a JPEG, PNG or WebP image (by its first bytes)",
    416: "no requested range lies within the file",
    422: "a parameter is malformed or out of range; the message names it",
    429: "rationed; Retry-After says when to try again",
    507: "the disk is full",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the :class:`ErrorBody`."""
    return {
        status: {"model": ErrorBody, "description": f"{_TITLES[status]}: {_MEANING[status]}"}
        for status in statuses
    }


class WebError(PacksealError):
    """An error with its HTTP status, what went wrong, and how to fix it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.headers = dict(headers or {})


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/tiles/")) or request.url.path == "/openapi.json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request,
    status: int,
    message: str,
    hint: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_json(request) or request.method == "HEAD":
        return JSONResponse(
            {"error": {"status": status, "message": message, "hint": hint}},
            status_code=status,
            headers=dict(headers or {}),
        )
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": _TITLES.get(status, "Error"),
            "message": message,
            "hint": hint,
            "principal": getattr(request.state, "principal", None),
        },
        status_code=status,
        headers=dict(headers or {}),
    )


def _status_of(e: PacksealError) -> int:
    if isinstance(e, AccountError):
        return 400
    if isinstance(e, LogStateError):
        return 404
    if isinstance(e, BlobMissingError):
        return 410
    if isinstance(e, DiskFullError):
        return 507
    if isinstance(e, FormatError | VerificationError):
        return 409
    return 500


def _allow(request: Request) -> dict[str, str]:
    """``Allow`` with the methods of every route at this path: Starlette names only the
    first route's (a path with a GET route and a POST route said ``Allow: POST``)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods:
            regex, _, _ = compile_path(route.path)
            if regex.match(request.url.path):
                methods |= set(route.methods)
    return {"Allow": ", ".join(sorted(methods))} if methods else {}


def _validation_message(e: RequestValidationError) -> str:
    parts = []
    for item in e.errors()[:5]:
        loc = [str(p) for p in item.get("loc", ())]
        where = f"{loc[0]} parameter {'.'.join(loc[1:])!r}" if len(loc) > 1 else ".".join(loc)
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    async def web_error(request: Request, e: Exception) -> Response:
        assert isinstance(e, WebError)
        return error_response(request, e.status, e.message, e.hint, e.headers)

    async def http_error(request: Request, e: Exception) -> Response:
        assert isinstance(e, StarletteHTTPException)
        if e.status_code == 404:
            return error_response(
                request,
                404,
                f"nothing is served at {request.url.path[:200]}",
                "check the address; the clips list links to every clip",
            )
        if e.status_code == 405:
            return error_response(
                request,
                405,
                f"{request.method} is not accepted here",
                "use the page's buttons and forms",
                {**(e.headers or {}), **_allow(request)},
            )
        return error_response(request, e.status_code, str(e.detail), None, e.headers)

    async def invalid(request: Request, e: Exception) -> Response:
        assert isinstance(e, RequestValidationError)
        return error_response(
            request,
            422,
            _validation_message(e),
            "correct the named field and try again",
        )

    async def packseal_error(request: Request, e: Exception) -> Response:
        assert isinstance(e, PacksealError)
        return error_response(request, _status_of(e), e.message, e.hint)

    async def redirect(request: Request, e: Exception) -> Response:
        assert isinstance(e, Redirect)
        return RedirectResponse(e.location, status_code=303)

    app.add_exception_handler(Redirect, redirect)
    app.add_exception_handler(WebError, web_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(PacksealError, packseal_error)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413, declared or streamed.

    Nothing in either face takes more than a login form or a scanned code, so a large
    body is a mistake or an attack; refusing it before parsing keeps memory flat. Paths
    under ``exempt`` (a hub's push API: entries and segments) keep their own limits.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        exempt: tuple[str, ...] = (),
        uploads: tuple[tuple[re.Pattern[str], int, str], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt
        # (path pattern, limit, hint): upload forms (claim photos) with a larger limit
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt and str(scope.get("path", "")).startswith(self.exempt)
        ):
            await self.app(scope, receive, send)
            return
        limit, hint = self.max_bytes, self._hint()
        path = str(scope.get("path", ""))
        for pattern, larger, why in self.uploads:
            if pattern.fullmatch(path):
                limit, hint = larger, why
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send, limit, hint)
                return
        seen = 0
        overflow = False
        started = False

        async def counted() -> Message:
            nonlocal seen, overflow
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Tell the app the client went away: it stops reading, and whatever it
                    # answers is replaced by the 413 below.
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if overflow and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not overflow or started:
                raise
        if overflow and not started:
            await self._refuse(send, limit, hint)

    @staticmethod
    def _hint() -> str:
        return "forms here are small; raise web.max_body_kb if a client needs more"

    @staticmethod
    async def _refuse(send: Send, limit: int, hint: str) -> None:
        message = f"the request body is larger than {limit // 1024} KiB"
        body = json.dumps({"error": {"status": 413, "message": message, "hint": hint}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def client_ip(request: Request) -> str:
    # The connecting address, or the one a proxy named in web.trusted_proxies forwarded
    # (server.py: uvicorn believes no X-Forwarded-For from anyone else).
    return request.client.host if request.client else "unknown"


class Redirect(WebError):
    """Answered with 303 See Other to ``location`` (a same-site path): not a failure, but
    raised from deep in a handler like one, so it sits in the tree as a 303."""

    def __init__(self, location: str) -> None:
        super().__init__(303, f"see {location}")
        self.location = location


def safe_next(path: str | None, default: str = "/clips") -> str:
    """A local path to go back to after login; anything else (an open redirect) -> default."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path[:2000]
