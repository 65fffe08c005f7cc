"""The hub's portal: ``packseal serve`` on a config with ``hub_server:``.

One application on one port: the portal's login, sessions, CSRF, failed-login limits and
user management (accounts in the hub's PostgreSQL), the hub's faces for people and tools
(:mod:`packseal.hub.web`), and the push API stations reach with their enrolment tokens
(:mod:`packseal.hub.api`), which keeps its own body limits.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from packseal.app import App
from packseal.hub.api import PUSH_PREFIX, push_router
from packseal.hub.app import Hub
from packseal.hub.web import hub_router
from packseal.web import create_portal


def create_hub_portal(
    app: App, hub: Hub, *, secure_cookies: bool = False, scratch: Path | None = None
) -> FastAPI:
    return create_portal(
        app,
        secure_cookies=secure_cookies,
        accounts=hub.accounts,
        scratch=scratch,
        hub_faces=[push_router(hub), hub_router(hub)],
        exempt=(PUSH_PREFIX,),
    )


__all__ = ["create_hub_portal"]
