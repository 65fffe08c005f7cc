"""The web faces over real recordings: the demo source through the real station once per
session, a portal over its store, users of every role, and helpers to call as each."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from packseal.accounts import Accounts
from packseal.app import App
from packseal.web import create_portal
from packseal.web._evidence import Evidence
from storage import ClipQuery, ClipRow
from tests.packseal.web._client import TestClient
from tests.recording import Recording, record_demo
from verifier.sheet import Sheet

PASSWORD = "correct horse battery staple"
ROLES = ("merchant", "auditor", "admin")
# Argon2 at its lowest cost: the tests check the flow, not the hash's strength.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def fake_sheet(facts: object, clip: object, clip_path: Path) -> Sheet:
    """A stand-in sheet (the real one costs ~2 s of rendering per bundle)."""
    return Sheet(png=b"\x89PNG test sheet", pdf=b"%PDF-1.4 test sheet", keyframes=[])


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """Two demo orders recorded once; tests that change the store use ``private_copy``."""
    rec = record_demo(tmp_path_factory.mktemp("web") / "data", orders=2)
    yield rec
    rec.app.close()


@pytest.fixture
def private_copy(recording: Recording, tmp_path: Path) -> Iterator[App]:
    """A copy of the recorded data directory for a test that tampers with it."""
    from tests.recording import make_app

    shutil.copytree(recording.data_dir, tmp_path / "data")
    app = make_app(tmp_path / "data")
    yield app
    app.close()


@dataclass
class Portal:
    app: App
    web: FastAPI
    accounts: Accounts
    rows: list[ClipRow]  # newest first

    @property
    def clip(self) -> ClipRow:
        return self.rows[-1]  # the first order: opened and closed by scans


def make_portal(app: App, *, real_sheet: bool = False) -> Portal:
    accounts = Accounts(app.web_database, hasher=FAST_HASHER)
    for role in ROLES:
        if accounts.user(role) is None:
            accounts.add_user(role, role, PASSWORD, at_ms=app.clock.now_ms())
    evidence = Evidence(
        app, scratch=app.config.data_dir / "tmp", make_sheet=None if real_sheet else fake_sheet
    )
    web = create_portal(app, accounts=accounts, evidence=evidence)
    rows = app.store.clips(ClipQuery(limit=100))
    return Portal(app, web, accounts, rows)


@pytest.fixture(scope="session")
def portal(recording: Recording) -> Portal:
    return make_portal(recording.app)


@pytest.fixture
def client(portal: Portal) -> Iterator[TestClient]:
    with TestClient(portal.web, follow_redirects=False) as c:
        yield c


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"}
    )
    assert done.status_code == 303, done.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    page = client.get("/clips")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def session_for(portal: Portal, name: str) -> tuple[str, str]:
    """A fresh session (cookie value, CSRF token) without the login form."""
    user = portal.accounts.get_user(name)
    cookie, session = portal.accounts.create_session(
        user, at_ms=portal.app.clock.now_ms(), ttl_ms=3_600_000, client_ip="testclient"
    )
    return cookie, session.csrf


def token_for(portal: Portal, name: str) -> str:
    return portal.accounts.issue_token(name, label="test", at_ms=portal.app.clock.now_ms())


def honest_photo() -> bytes:
    """A buyer's photo of portal.clip's product, intact (the claim tests' scene)."""
    from tests.verifier.claim import scene

    face, mask = scene.product("SO-2026-815961")
    data, _ = scene.photo(face, mask, crack=False)
    return data


@pytest.fixture(scope="session")
def claimed(portal: Portal) -> str:
    """One claim check of portal.clip run through the upload form over a real server (a
    check costs seconds: the matrix and the claim tests share it). Its claim id."""
    import httpx

    from packseal.web import ServerThread

    assert portal.clip.order_id == "SO-2026-815961"
    cookie, csrf = session_for(portal, "merchant")
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        got = httpx.post(
            f"{server.url}/clips/{portal.clip.clip_id}/claim",
            data={"csrf_token": csrf},
            files=[("photos", ("buyer-1.jpg", honest_photo(), "image/jpeg"))],
            cookies={"packseal_session": cookie},
            timeout=120,
        )
    assert got.status_code == 303, got.text[:500]
    location = got.headers["location"]
    prefix = f"/clips/{portal.clip.clip_id}/claims/"
    assert location.startswith(prefix)
    return location.removeprefix(prefix)
