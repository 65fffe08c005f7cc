from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage import KeyFileError, generate_key_file, load_private_key, load_signer


def test_generate_and_load(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "station.pem"
    key = generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_private_key(path)
    assert loaded.public_key() == key.public_key()
    assert load_signer(path, "example.com/log").verifier.public_key


def test_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "root.pem"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_key_file(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_readable_by_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "root.pem"
    generate_key_file(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="refusing to use it") as caught:
        load_private_key(path)
    assert f"chmod 600 {path}" in str(caught.value.hint)


def test_missing_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_private_key(tmp_path / "nope.pem")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    bad.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        load_private_key(bad)
