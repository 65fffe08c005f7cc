"""The uvicorn layer over a real socket: which client address the app sees.

Forwarded headers (X-Forwarded-For / -Proto) are believed only from proxies named in
``web.trusted_proxies``; uvicorn's own default believes them from 127.0.0.1, so any local
process could forge its address past the failed-login limit and into sessions and the
chain of custody.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from packseal.config import ConfigError, parse_config
from packseal.web import ServerThread
from tests.packseal.web.conftest import PASSWORD, Portal, make_portal
from tests.recording import Recording

FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def _echo() -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict[str, str]:
        assert request.client is not None
        return {"client": request.client.host, "scheme": request.url.scheme}

    return app


@pytest.mark.parametrize("env", [None, "*"])
def test_forwarded_headers_are_ignored_by_default(
    monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    # uvicorn also reads $FORWARDED_ALLOW_IPS: an environment must not widen the trust
    if env is not None:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", env)
    with ServerThread(_echo(), "127.0.0.1", 0) as server:
        seen = httpx.get(server.url + "/who", headers=FORGED).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


@pytest.mark.parametrize("trusted", [["127.0.0.1"], ["127.0.0.0/8"], ["127.0.0.5/8"]])
def test_a_named_proxy_forwards_the_client_address(trusted: list[str]) -> None:
    with ServerThread(_echo(), "127.0.0.1", 0, trusted_proxies=trusted) as server:
        seen = httpx.get(server.url + "/who", headers=FORGED).json()
    assert seen == {"client": "203.0.113.9", "scheme": "https"}


def test_a_proxy_not_named_is_not_believed() -> None:
    with ServerThread(_echo(), "127.0.0.1", 0, trusted_proxies=["10.0.0.0/8"]) as server:
        seen = httpx.get(server.url + "/who", headers=FORGED).json()
    assert seen["client"] == "127.0.0.1"


def _login_form(client: httpx.Client) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_forged_addresses_neither_dodge_the_login_limit_nor_reach_custody(
    recording: Recording,
) -> None:
    portal: Portal = make_portal(recording.app)  # its own limiter: other tests log in
    limit = 3
    portal.web.state.portal.limiter.limit = limit
    with (
        ServerThread(portal.web, "127.0.0.1", 0) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        statuses = []
        for i in range(limit + 1):
            csrf = _login_form(client)
            # a spray of user names from one address, each claiming another address
            answer = client.post(
                "/login",
                data={"name": f"nobody{i}", "password": "x", "csrf_token": csrf},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            )
            statuses.append(answer.status_code)
        assert statuses == [401] * limit + [429]
        csrf = _login_form(client)
        portal.web.state.portal.limiter.limit = 100
        done = client.post(
            "/login",
            data={"name": "merchant", "password": PASSWORD, "csrf_token": csrf},
            headers=FORGED,
        )
        assert done.status_code == 303, done.text
    login = next(e for e in portal.accounts.custody() if e.action == "login")
    assert login.user == "merchant"
    assert login.client_ip == "127.0.0.1"


@pytest.mark.parametrize("bad", ["proxy.example", "10.0.0.300", "*"])
def test_trusted_proxies_must_be_addresses(bad: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"web": {"trusted_proxies": [bad]}}, base=Path("."))
    assert "trusted_proxies" in str(e.value.problems)
