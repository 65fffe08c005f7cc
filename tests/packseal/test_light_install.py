"""`pip install packseal` is a reviewer's install: in a fresh venv with the base
dependencies only (no OpenCV, numpy, FastAPI or ffmpeg), `packseal verify`, `audit
--no-hash` and `log verify` work, and a station command says which package it needs."""

# The verifier's session fixtures are imported below, and pytest passes them in by name,
# which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.recording import SIZE, Recording
from tests.verifier.conftest import (  # noqa: F401
    bundles,
    clips,
    honest_bundle,
    merchant_trust,
    recording,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ABSENT = ("cv2", "numpy", "fastapi", "imageio_ffmpeg", "PIL", "zxingcpp")


@pytest.fixture(scope="module")
def light(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with `pip install <this source>` and nothing else: its bin directory."""
    base = tmp_path_factory.mktemp("light")
    source = base / "src"  # a copy: building in the repository would leave build/ there
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "config.yaml"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("storage", "recorder", "verifier", "packseal"):
        shutil.copytree(  # links kept, as in a checkout (packseal/default_config.yaml)
            ROOT / package,
            source / package,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(source)]
    done = subprocess.run(pip, capture_output=True, text=True, env=_clean_env())
    assert done.returncode == 0, done.stderr[-2000:]
    return venv / "bin"


def source_of(light: Path) -> Path:
    """The source tree the light venv was installed from (beside the venv)."""
    return light.parents[1] / "src"


def _clean_env() -> dict[str, str]:
    # Nothing of this checkout may leak in: the light venv imports only what it installed.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(light: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(light / "packseal"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )


def test_the_base_install_verifies_audits_and_checks_the_log(
    light: Path,
    recording: Recording,
    honest_bundle: Path,
    tmp_path: Path,
) -> None:
    probe = f"import importlib.util as u; print([m for m in {ABSENT!r} if u.find_spec(m)])"
    absent = subprocess.run(
        [str(light / "python"), "-c", probe],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
    )
    assert absent.stdout.strip() == "[]", absent  # the media and web stacks are not there

    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"merchant": {"name": "Test Shop", "id": "test"}, "station": {"camera": dict(SIZE)}}
        )
    )
    cli = ["--config", str(config), "--data-dir", str(recording.data_dir)]
    trust = _run(light, tmp_path, *cli, "keys", "trust")
    assert trust.returncode == 0, trust.stderr
    (tmp_path / "trust.json").write_text(trust.stdout)

    verified = _run(light, tmp_path, "verify", str(honest_bundle), "--trust", "trust.json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("VERIFIED")

    audited = _run(light, tmp_path, *cli, "audit", "--no-hash")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    logged = _run(light, tmp_path, *cli, "log", "verify")
    assert logged.returncode == 0, logged.stdout + logged.stderr

    # The installed package carries the repository's config.yaml (a link in the checkout,
    # the file itself in the wheel): `config init` writes it, run outside the repository.
    shutil.rmtree(source_of(light))  # the installed copy must not lean on the source tree
    made = _run(light, tmp_path, "config", "init", "fresh/config.yaml")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "fresh/config.yaml").read_text() == (ROOT / "config.yaml").read_text()

    # A station command names what is missing instead of a traceback.
    record = _run(light, tmp_path, *cli, "record", "--source", "demo")
    assert record.returncode == 2
    assert "packseal[all]" in record.stderr
    assert "Traceback" not in record.stderr
