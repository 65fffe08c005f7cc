"""The portal: merchants find and export clips, auditors audit, admins manage users.

``create_portal(app)`` builds the FastAPI application; ``packseal serve`` runs it. Routes
are in ``_login`` (sign in/out), ``_pages`` (people), ``_claims`` (claim checks),
``_admin`` (audit and users) and ``_api`` (scripts); every one of them declares who may
use it through the dependencies of ``_auth``. A hub's portal (:mod:`packseal.hub.portal`)
is the same application with the hub's pages in place of one store's: same accounts,
sessions, CSRF and limits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from packseal.accounts import Accounts
from packseal.app import App
from packseal.web import _admin, _api, _claims, _claims_api, _login, _pages, _share_routes
from packseal.web._audit import AuditJobs
from packseal.web._context import PortalContext
from packseal.web._evidence import Evidence
from packseal.web._http import BodyLimit, SecurityHeaders, install_error_handlers
from packseal.web._templates import STATIC, make_templates
from packseal.web.shares import Shares
from packseal.web.verify_page import page_csp, verify_page
from storage.zones import local_zone

API_DESCRIPTION = """\
Search sealed packing clips, read a clip's facts, download evidence bundles, and run
store audits. Authenticate with `Authorization: Bearer <token>`; `packseal users token
NAME` issues a token (shown once). Errors are `{"error": {"status", "message", "hint"}}`.
"""


def zone_of(app: App) -> dt.tzinfo:
    """Times are shown in the station's zone, as burned into the video and the sheets."""
    return local_zone(app.config.station.timezone)


def create_portal(
    app: App,
    *,
    secure_cookies: bool = False,
    accounts: Accounts | None = None,
    evidence: Evidence | None = None,
    scratch: Path | None = None,
    hub_faces: Sequence[APIRouter] | None = None,
    exempt: tuple[str, ...] = (),
) -> FastAPI:
    """The portal over ``app``'s store. ``secure_cookies``: set when served off loopback.

    ``scratch`` is where exports are built (default: the system's temporary directory).
    ``hub_faces``: a hub's routers, served instead of one store's pages (the login and
    user management stay); ``exempt``: path prefixes with their own body limits.
    """
    cfg = app.config
    accounts = accounts or Accounts(app.web_database)
    evidence = evidence or Evidence(app, scratch=scratch)
    zone = zone_of(app)
    templates = make_templates(
        zone,
        home=("/clips", "Back to clips") if hub_faces is None else ("/hub", "Back to the fleet"),
    )
    templates.env.globals["hub"] = hub_faces is not None
    ctx = PortalContext(
        app=app,
        accounts=accounts,
        templates=templates,
        zone=zone,
        secure_cookies=secure_cookies,
        session_ms=round(cfg.web.session_hours * 3_600_000),
        evidence=evidence,
        audits=AuditJobs(accounts, evidence.audit, app.clock.now_ms),
        shares=Shares(accounts.engine),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        accounts.abandon_audit_runs(at_ms=ctx.now_ms())
        accounts.purge_sessions(at_ms=ctx.now_ms())
        _claims.retain_photos(ctx)
        yield
        ctx.audits.join()

    web = FastAPI(
        title="packseal portal",
        version="1",
        description=API_DESCRIPTION,
        # The interactive docs pages load their scripts from a CDN; the portal serves
        # nothing from outside (stations run offline), so only /openapi.json is offered.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    web.state.portal = ctx
    web.state.templates = ctx.templates
    web.state.language = cfg.ui.language
    install_error_handlers(web)
    claim_upload = (
        _claims.UPLOAD_PATH,
        _claims.UPLOAD_BYTES,
        f"a claim check takes at most {_claims.MAX_PHOTOS} photos, "
        f"{_claims.UPLOAD_BYTES >> 20} MiB in all; split them over several checks",
    )
    web.add_middleware(
        BodyLimit,
        max_bytes=cfg.web.max_body_kb * 1024,
        exempt=exempt,
        uploads=(claim_upload,) if hub_faces is None else (),
    )
    web.add_middleware(SecurityHeaders, hsts=secure_cookies)
    web.include_router(_login.router)
    web.include_router(_admin.users_router)
    if hub_faces is not None:
        for face in hub_faces:
            web.include_router(face)
    else:
        web.include_router(_pages.router)
        web.include_router(_admin.router)
        web.include_router(_api.router)
        web.include_router(_share_routes.router)
        web.include_router(_claims.router)
        web.include_router(_claims_api.router)

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if hub_faces is None:
        _add_trust(web, app)

    @web.get("/verify", include_in_schema=False)
    def verify_page_route() -> Response:
        # Public by design: a reviewer checks a bundle here with nothing installed. The
        # page is static and reads files in the browser; it sends nothing back.
        return Response(
            verify_page(),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": page_csp(), "Cache-Control": "no-cache"},
        )

    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    _document_bearer_auth(web)
    return web


def _add_trust(web: FastAPI, app: App) -> None:
    @web.get(
        "/trust.json",
        summary="The merchant's trust file (public by design: reviewers verify with it)",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}},
    )
    def trust() -> Response:
        # Exactly the bytes `packseal keys trust` prints, not a re-serialization.
        return Response(app.trust_file().to_bytes(), media_type="application/json")


def _document_bearer_auth(web: FastAPI) -> None:
    """Say in /openapi.json that the API takes ``Authorization: Bearer`` (the routes
    enforce it through ``_auth.require``, which OpenAPI cannot see by itself)."""
    from fastapi.openapi.utils import get_openapi

    def schema() -> dict[str, Any]:
        if web.openapi_schema is None:
            doc = get_openapi(
                title=web.title,
                version=web.version,
                description=web.description,
                routes=web.routes,
            )
            doc.setdefault("components", {})["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token from `packseal users token NAME`",
                }
            }
            for path, operations in doc.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            web.openapi_schema = doc
        return web.openapi_schema

    web.openapi = schema  # type: ignore[method-assign]
