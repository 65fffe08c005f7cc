"""Who is asking, and may they: FastAPI dependencies every portal route declares.

A route is reachable only through :func:`require` (or is listed public in the portal
factory), so the authorization matrix holds by construction; the tests enumerate every
route to prove it.

- ``Authorization: Bearer <token>`` (scripts): an API token. A header that is present but
  not a valid token is 401 everywhere, never silently ignored.
- The session cookie (browsers): HttpOnly, SameSite=Lax, Secure off loopback. Every
  state-changing request of a session carries the session's synchronizer CSRF token,
  as the form field ``csrf_token`` or the header ``X-CSRF-Token``. Token requests need
  none: a bearer token is not sent by a browser on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, Request

from packseal.accounts import Role, User, same_secret
from packseal.web._context import portal
from packseal.web._http import Redirect, WebError

SESSION_COOKIE = "packseal_session"
LOGIN_COOKIE = "packseal_login"  # the login form's CSRF token, before any session exists

READERS: frozenset[Role] = frozenset({"merchant", "auditor", "admin"})
AUDITORS: frozenset[Role] = frozenset({"auditor", "admin"})
ADMINS: frozenset[Role] = frozenset({"admin"})

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    via: Literal["session", "token"]
    csrf: str | None = None  # sessions only
    session_token: str | None = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role


def is_api(request: Request) -> bool:
    """Scripts and tools (the JSON API, a hub's tlog-tiles): 401, never the login form."""
    return request.url.path.startswith(("/api/", "/tiles/"))


def principal_of(request: Request) -> Principal | None:
    """The caller, from a bearer token or a session cookie; ``None`` when anonymous."""
    ctx = portal(request)
    now = ctx.now_ms()
    header = request.headers.get("authorization")
    principal: Principal | None = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        user = (
            ctx.accounts.token_user(value.strip(), at_ms=now)
            if scheme.lower() == "bearer"
            else None
        )
        if user is None:
            raise WebError(
                401,
                "the Authorization header does not hold a valid API token",
                hint="send 'Authorization: Bearer <token>' with a token from "
                "`packseal users token NAME`; revoked tokens and disabled users stop working",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        principal = Principal(user, "token")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        session = ctx.accounts.session(cookie, at_ms=now) if cookie else None
        if session is not None and cookie is not None:
            principal = Principal(session.user, "session", session.csrf, cookie)
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "session" or request.method in _SAFE:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or principal.csrf is None or not same_secret(sent, principal.csrf):
        raise WebError(
            403,
            "the form's CSRF token is missing or does not belong to this session",
            hint="reload the page and submit the form again (a form from another site "
            "or an old tab cannot act for you)",
        )


_WHAT = {
    ADMINS: "manage users",
    AUDITORS: "audit the store",
    READERS: "see clips",
}


def require(roles: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if logged in with one of ``roles`` (CSRF checked)."""

    async def dependency(
        request: Request, principal: Annotated[Principal | None, Depends(principal_of)]
    ) -> Principal:
        if principal is None:
            if is_api(request):
                raise WebError(
                    401,
                    "this needs an API token",
                    hint="send 'Authorization: Bearer <token>'; `packseal users token NAME` "
                    "issues one",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Redirect("/login?next=" + quote(target, safe=""))
        if principal.role not in roles:
            allowed = " or ".join(sorted(roles))
            raise WebError(
                403,
                f"{principal.name} is a {principal.role}; only {allowed} accounts may "
                f"{_WHAT.get(roles, 'do this')}",
                hint=f"ask an administrator for the {allowed} role",
            )
        await check_csrf(request, principal)
        return principal

    return dependency


# Route parameters: ``who: Reader`` admits merchants, auditors and admins, and so on.
Reader = Annotated[Principal, Depends(require(READERS))]
Auditor = Annotated[Principal, Depends(require(AUDITORS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]
