"""The audit page (auditors, admins) and user management (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from packseal.accounts import ROLES, AccountError
from packseal.web._auth import Admin, Auditor
from packseal.web._context import portal
from packseal.web._http import MAX_ROW_ID, WebError
from packseal.web._login import page, record

router = APIRouter(include_in_schema=False)
# Users are managed the same way on a station and on a hub (the hub has no store to audit).
users_router = APIRouter(include_in_schema=False)


# -- audit -----------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    who: Auditor,
    run: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    ctx = portal(request)
    runs = ctx.accounts.audit_runs(limit=10)
    shown = ctx.accounts.audit_run(run) if run is not None else (runs[0] if runs else None)
    if run is not None and shown is None:
        raise WebError(404, f"no audit run {run}", hint="the audit page lists recent runs")
    return page(
        request,
        "audit.html",
        {
            "fig": ctx.app.store.figures(),
            "runs": runs,
            "shown": shown,
            "custody": ctx.accounts.custody(limit=20),
        },
    )


@router.post("/audit/run")
def audit_run(request: Request, who: Auditor) -> Response:
    ctx = portal(request)
    run = ctx.audits.start(who.name)
    record(ctx, request, who, "audit", detail=f"run {run.id}")
    return RedirectResponse(f"/audit?run={run.id}", status_code=303)


# -- users -----------------------------------------------------------------------------


def _users_page(
    request: Request, *, notice: str | None = None, token: str | None = None, status: int = 200
) -> Response:
    ctx = portal(request)
    return page(
        request,
        "users.html",
        {
            "users": ctx.accounts.users(),
            "tokens": [t for t in ctx.accounts.tokens() if t.revoked_ms is None],
            "roles": ROLES,
            "notice": notice,
            "new_token": token,
        },
        status,
    )


@users_router.get("/admin/users")
def users_page(request: Request, who: Admin) -> Response:
    return _users_page(request)


@users_router.post("/admin/users")
def add_user(
    request: Request,
    who: Admin,
    name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "merchant",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    ctx = portal(request)
    try:
        ctx.accounts.add_user(name, role, password, at_ms=ctx.now_ms())
    except AccountError as e:
        return _users_page(request, notice=f"{e.message}. {e.hint or ''}", status=400)
    record(ctx, request, who, "user-add", detail=f"{name} as {role}")
    return RedirectResponse("/admin/users", status_code=303)


Action = Literal["role", "disable", "enable", "password", "token", "revoke"]


@users_router.post("/admin/users/{name}")
def change_user(
    name: str,
    request: Request,
    who: Admin,
    action: Annotated[Action, Form()] = "role",
    role: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    label: Annotated[str, Form(max_length=64)] = "",
    token_id: Annotated[int, Form(ge=0, le=MAX_ROW_ID)] = 0,
) -> Response:
    ctx = portal(request)
    accounts = ctx.accounts
    try:
        user = accounts.get_user(name)
        demotes_admin = user.role == "admin" and (
            action == "disable" or (action == "role" and role != "admin")
        )
        if demotes_admin and _active_admins(request) <= 1:
            raise WebError(
                409,
                f"{name} is the last active admin",
                hint="make another user admin first, so someone can still manage users",
            )
        new_token = None
        if action == "role":
            accounts.set_role(name, role)
        elif action in ("disable", "enable"):
            accounts.set_active(name, action == "enable")
        elif action == "password":
            accounts.set_password(name, password)
        elif action == "token":
            new_token = accounts.issue_token(name, label=label or "web", at_ms=ctx.now_ms())
        else:
            if token_id not in {t.id for t in accounts.tokens(name)}:
                raise WebError(404, f"{name} has no API token {token_id}")
            accounts.revoke_token(token_id, at_ms=ctx.now_ms())
    except AccountError as e:
        return _users_page(request, notice=f"{e.message}. {e.hint or ''}", status=400)
    record(ctx, request, who, f"user-{action}", detail=name)
    if new_token is not None:
        # Shown once, in this response only; the database keeps its hash.
        return _users_page(request, notice=f"new API token for {name}", token=new_token)
    return RedirectResponse("/admin/users", status_code=303)


def _active_admins(request: Request) -> int:
    return sum(1 for u in portal(request).accounts.users() if u.role == "admin" and u.active)
