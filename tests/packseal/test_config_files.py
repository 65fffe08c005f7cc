"""Which settings a command uses without --config, `config init`, and the installed
command run from a directory outside the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from packseal._config_files import locate_config, template, write_template
from packseal.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_template_is_the_repository_config_and_shows_the_defaults(
    tmp_path: Path,
) -> None:
    assert template() == (ROOT / "config.yaml").read_text(encoding="utf-8")
    # One file, not two kept equal by hand (two landings that changed one turned main red):
    # the package's template is a link to the repository's config.yaml, which the wheel
    # carries as a file (tests/packseal/test_light_install.py).
    shipped = ROOT / "packseal" / "default_config.yaml"
    assert shipped.is_symlink()
    assert shipped.readlink() == Path("../config.yaml")
    shown = parse_config(yaml.safe_load(template()), base=tmp_path)
    assert shown == parse_config({}, base=tmp_path)


def test_where_settings_come_from(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    env: dict[str, str] = {}
    found = locate_config(None, cwd=cwd, env=env, home=home)
    assert (found.path, found.found) == (None, "defaults")
    assert found.data_dir == home / ".local/share/packseal"
    assert found.load().data_dir == home / ".local/share/packseal"
    assert found.demo_dir == home / ".local/share/packseal/demo-data"

    env = {"XDG_CONFIG_HOME": str(tmp_path / "xc"), "XDG_DATA_HOME": str(tmp_path / "xd")}
    assert locate_config(None, cwd=cwd, env=env, home=home).data_dir == tmp_path / "xd/packseal"
    user = tmp_path / "xc/packseal/config.yaml"
    write_template(user, data_dir=tmp_path / "xd/packseal")
    found = locate_config(None, cwd=cwd, env=env, home=home)
    assert (found.path, found.found) == (user, "per-user")
    assert found.load().data_dir == tmp_path / "xd/packseal"
    assert found.demo_dir == tmp_path / "xd/packseal/demo-data"

    (cwd / "config.yaml").write_text("data_dir: here\n")
    found = locate_config(None, cwd=cwd, env=env, home=home)
    assert (found.path, found.found) == (cwd / "config.yaml", "./config.yaml")
    assert found.load().data_dir == cwd / "here"
    assert found.demo_dir == cwd / "demo-data"

    named = tmp_path / "named.yaml"
    named.write_text("data_dir: there\n")
    env["PACKSEAL_CONFIG"] = str(named)
    assert locate_config(None, cwd=cwd, env=env, home=home).path == named
    explicit = tmp_path / "explicit.yaml"
    assert locate_config(explicit, cwd=cwd, env=env, home=home).path == explicit

    env["PACKSEAL_CONFIG"] = str(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"PACKSEAL_CONFIG names .*missing\.yaml, which is not"):
        locate_config(None, cwd=cwd, env=env, home=home)


def test_write_template_refuses_to_replace_and_quotes_the_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "c" / "config.yaml"
    odd = tmp_path / "my data: 2"
    write_template(path, data_dir=odd)
    assert parse_config(yaml.safe_load(path.read_text()), base=tmp_path).data_dir == odd
    with pytest.raises(ConfigError, match="already exists") as caught:
        write_template(path)
    assert "--force" in (caught.value.hint or "")
    write_template(path, force=True)
    assert path.read_text() == template()


def _installed(tmp_path: Path) -> tuple[list[str], dict[str, str], Path]:
    """The venv's `packseal` script, an empty home and a working directory outside the
    repository, with no PYTHONPATH: what a user who pip-installed packseal has."""
    script = shutil.which("packseal", path=str(Path(sys.executable).parent))
    assert script is not None, "packseal is not installed in this venv"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PACKSEAL_"))}
    env.pop("PYTHONPATH", None)
    env["HOME"] = str(home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return [script], env, elsewhere


@pytest.mark.slow
def test_the_installed_command_works_outside_the_repository(tmp_path: Path) -> None:
    cmd, env, cwd = _installed(tmp_path)
    home = Path(env["HOME"])

    def run(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cmd, *args],
            cwd=cwd,
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert run("demo", "--help").returncode == 0
    data = home / ".local/share/packseal"
    listed = run("clips")
    assert listed.returncode == 2
    assert f"error: no packseal store in {data} (no packseal.db there)" in listed.stderr
    assert not data.exists()

    made = run("init")
    assert made.returncode == 0, made.stderr
    assert (data / "packseal.db").is_file()
    recorded = run("record", "--source", "demo", "--fast", "--for", "4")
    assert recorded.returncode == 0, recorded.stderr
    assert "stopped:" in recorded.stdout
    listed = run("clips", "--json")
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)

    checked = run("config", "check")
    assert checked.returncode == 0, checked.stderr
    assert "built-in defaults" in checked.stdout

    wrote = run("config", "init")
    assert wrote.returncode == 0, wrote.stderr
    user = home / ".config/packseal/config.yaml"
    assert f"wrote {user}" in wrote.stdout
    assert "# packseal configuration." in user.read_text()
    again = run("config", "init")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    checked = run("config", "check")
    assert f"{user} (per-user): OK" in checked.stdout
    assert f"data      {data}" in checked.stdout  # same store as before the file existed

    other = tmp_path / "other.yaml"
    assert run("config", "init", str(other)).returncode == 0
    checked = run("config", "check", extra={"PACKSEAL_CONFIG": str(other)})
    assert f"{other} (PACKSEAL_CONFIG): OK" in checked.stdout
    assert f"data      {tmp_path / 'data'}" in checked.stdout
