"""The commands: users add/list/token, station (with its screen), serve (a real process)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from packseal.cli import main

CONFIG = """\
merchant: {name: Test Shop, id: test}
station:
  camera: {width: 640, height: 360, fps: 15}
"""


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    (tmp_path / "config.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()
    return tmp_path


def add(monkeypatch: pytest.MonkeyPatch, name: str, role: str, password: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--role", role, "--password-stdin"])


def test_users_add_list_token(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(monkeypatch, "ada", "admin", "a long password") == 0
    assert add(monkeypatch, "mia", "merchant", "another long one") == 0
    assert capsys.readouterr().out == "added ada (admin)\nadded mia (merchant)\n"
    assert main(["users", "token", "mia", "--label", "shop-sync"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("pst_")
    assert "not shown again" in captured.err
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ada" in listing
    assert "admin" in listing
    assert "mia" in listing
    assert "1 API token(s)" in listing
    assert token not in listing


def test_users_errors(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(monkeypatch, "ada", "admin", "a long password") == 0
    assert add(monkeypatch, "ada", "admin", "a long password") == 2
    assert "already exists" in capsys.readouterr().err
    assert add(monkeypatch, "bob", "merchant", "short") == 2
    assert "at least 10" in capsys.readouterr().err
    assert add(monkeypatch, "bob", "root", "a long password") == 2
    assert main(["users", "token", "nobody"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert main(["users", "list"]) == 0


def test_users_list_when_empty(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "list"]) == 0
    assert "packseal users add" in capsys.readouterr().out


@pytest.mark.slow
def test_station_command_records_with_its_screen(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = workdir / "stats.json"
    args = ["station", "--source", "demo", "--fast", "--for", "4", "--port", "0"]
    code = main([*args, "--stats-json", str(stats)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "station screen: http://127.0.0.1:" in captured.err
    assert "segments and" in captured.out
    assert json.loads(stats.read_text())["frames_captured"] >= 4 * 15


def test_station_command_off_loopback_prints_a_token(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anywhere = "0.0.0.0"  # noqa: S104 (the case under test: off loopback, a token is required)
    code = main(
        ["station", "--source", "demo", "--fast", "--for", "1", "--host", anywhere, "--port", "0"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    line = next(x for x in captured.err.splitlines() if x.startswith("station screen:"))
    assert "/?token=" in line
    assert len(line.split("token=")[1]) >= 24
    assert "set web.station_token" in captured.err


def test_a_busy_port_is_a_clean_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["station", "--source", "demo", "--fast", "--for", "1", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "hint:" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_the_portal_until_interrupted(workdir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "packseal", "serve", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"portal: http://127.0.0.1:{port}/" in err
    assert "no users yet" in err
