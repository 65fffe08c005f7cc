"""The API against its own /openapi.json, checked by schemathesis over a real server.

Every status and body the API returns must be documented (401, 403, 404, 409, 410, 422,
429 with the error body), schema-valid requests must not be refused nor schema-violating
ones accepted, and nothing may be a 500. Bounded: a fixed seed and a few dozen examples
per operation (about 10 s per run on the development machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from packseal.web import ServerThread
from tests.packseal.web.conftest import Portal, make_portal, token_for
from tests.recording import Recording

ROOT = Path(__file__).resolve().parents[3]
ST = Path(sys.executable).with_name("st")


def _schemathesis(url: str, token: str, cwd: Path, *extra: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.packseal.web._st_hooks",
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--seed",
            "20261203",
            "--generation-database",
            "none",
            # Data generation slows with the machine's load; speed is measured in bench/,
            # and the suite's own hypothesis profile suppresses the same check.
            "--suppress-health-check",
            "too_slow",
            *extra,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # (no --max-time: it makes schemathesis fuzz until it is spent)
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "passed" in done.stdout


@pytest.fixture
def served(recording: Recording) -> Iterator[tuple[str, Portal]]:
    portal = make_portal(recording.app)  # its own audit ration: schemathesis starts audits
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        yield server.url, portal


def test_the_api_keeps_to_its_openapi_document(served: tuple[str, Portal], tmp_path: Path) -> None:
    url, portal = served
    admin = token_for(portal, "admin")
    _schemathesis(url, admin, tmp_path)


def test_a_merchant_gets_the_documented_403s(served: tuple[str, Portal], tmp_path: Path) -> None:
    url, portal = served
    merchant = token_for(portal, "merchant")
    assert (
        httpx.get(
            f"{url}/api/v1/audit", headers={"Authorization": f"Bearer {merchant}"}
        ).status_code
        == 403
    )
    _schemathesis(url, merchant, tmp_path, "--include-path-regex", "^/api/v1/audit")


def test_errors_are_documented_with_their_body(served: tuple[str, Portal]) -> None:
    url, _ = served
    doc = httpx.get(f"{url}/openapi.json").json()
    runs = doc["paths"]["/api/v1/audit/runs"]["post"]["responses"]
    assert {"202", "401", "403", "409", "429"} <= set(runs)
    body = runs["429"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/ErrorBody"
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            if path.startswith("/api/"):
                assert "401" in operation["responses"], path
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (path, status)
