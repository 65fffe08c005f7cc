from __future__ import annotations

from pathlib import Path

import pytest

from packseal.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with a config.yaml (defaults, data in ./data), as the cwd."""
    (tmp_path / "config.yaml").write_text("merchant: {name: Test Shop, id: test}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def initialised(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init"]) == 0
    capsys.readouterr()
    return workdir
