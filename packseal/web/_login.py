"""Signing in and out, and the helpers every page shares (render, custody record).

A station's portal and a hub's portal both include this router: the same accounts,
sessions, CSRF tokens and failed-login limits, whatever pages come after the login.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from packseal.accounts import AccountError, same_secret
from packseal.web._auth import LOGIN_COOKIE, SESSION_COOKIE, Principal, Reader
from packseal.web._context import PortalContext, portal
from packseal.web._http import WebError, client_ip, safe_next
from storage import ClipRow

router = APIRouter(include_in_schema=False)


def home_of(request: Request) -> str:
    """Where a signed-in person starts: the clips of a station, the fleet of a hub."""
    home: str = portal(request).templates.env.globals["home_url"]  # type: ignore[assignment]
    return home


def record(
    ctx: PortalContext,
    request: Request,
    who: Principal,
    action: str,
    row: ClipRow | None = None,
    detail: str = "",
) -> None:
    ctx.accounts.record(
        at_ms=ctx.now_ms(),
        user=who.name,
        role=who.role,
        action=action,
        client_ip=client_ip(request),
        clip_id=row.clip_id if row else None,
        order_id=row.order_id if row else None,
        # scripts (API tokens) and people (sessions) both leave a trace; say which
        detail=" ".join(x for x in (detail, "via token" if who.via == "token" else "") if x),
    )


def page(request: Request, name: str, context: dict[str, object], status: int = 200) -> Response:
    ctx = portal(request)
    return ctx.templates.TemplateResponse(
        request,
        name,
        {"principal": getattr(request.state, "principal", None), **context},
        status_code=status,
    )


# -- login ---------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> RedirectResponse:
    return RedirectResponse(home_of(request), status_code=303)


def _login_page(
    request: Request, next_path: str, error: str | None = None, status: int = 200
) -> Response:
    ctx = portal(request)
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        {"csrf": token, "next": next_path, "error": error, "name": ""},
        status,
    )
    # Double-submit token for the login form only: there is no session to keep a
    # synchronizer token in yet, and SameSite=Strict keeps other sites from sending it.
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=ctx.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return _login_page(request, safe_next(next, home_of(request)))


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ctx = portal(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        raise WebError(
            403,
            "the login form has expired or came from another site",
            hint="reload the login page and sign in again",
        )
    ip = client_ip(request)
    ctx.limiter.check(ip, name)
    try:
        user = ctx.accounts.authenticate(name, password)
    except AccountError as e:
        ctx.limiter.failed(ip, name)
        return _login_page(request, safe_next(next, home_of(request)), e.message, 401)
    ctx.limiter.succeeded(name)
    token, _session = ctx.accounts.create_session(
        user, at_ms=ctx.now_ms(), ttl_ms=ctx.session_ms, client_ip=ip
    )
    ctx.accounts.record(
        at_ms=ctx.now_ms(), user=user.name, role=user.role, action="login", client_ip=ip
    )
    response = RedirectResponse(safe_next(next, home_of(request)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.session_ms // 1000,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, who: Reader) -> Response:
    ctx = portal(request)
    if who.session_token is not None:
        ctx.accounts.end_session(who.session_token)
    record(ctx, request, who, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
