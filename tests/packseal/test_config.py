from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from packseal.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_documents_every_setting_with_its_default() -> None:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert Config.model_validate(data).model_dump() == Config().model_dump()

    def keys(model: dict[str, object], prefix: str = "") -> set[str]:
        out = set()
        for k, v in model.items():
            out.add(prefix + k)
            if isinstance(v, dict):
                out |= keys(v, f"{prefix}{k}.")
        return out

    assert keys(Config().model_dump(mode="json")) == keys(data)


def test_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("data_dir: d\nkeys: {root: /abs/root.pem}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.data_dir == tmp_path / "d"
    assert cfg.root_key == Path("/abs/root.pem")
    assert cfg.station_key == tmp_path / "d" / "keys" / "station.pem"
    assert cfg.database_url == f"sqlite:///{tmp_path / 'd' / 'packseal.db'}"
    override = load_config(tmp_path / "c.yaml", data_dir=Path("/srv/x"))
    assert override.blob_dir == Path("/srv/x/blobs")


def test_errors_name_the_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {"station": {"camera": {"fps": 500}, "scan": {"order_pattern": "(["}}, "bogus": 1},
            base=tmp_path,
        )
    where = dict(caught.value.problems)
    assert "less than or equal to 60" in where["station.camera.fps"]
    assert "(found 500)" in where["station.camera.fps"]
    assert "not a regular expression" in where["station.scan.order_pattern"]
    assert "unknown key" in where["bogus"]


def test_a_camera_url_in_the_wrong_key_is_shown_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"station": {"camera": {"fps": "rtsp://admin:Pw-77@cam/1"}}}, base=tmp_path)
    assert "(found 'rtsp://admin:***@cam/1')" in dict(caught.value.problems)["station.camera.fps"]
    assert "Pw-77" not in f"{caught.value} {caught.value.problems}"


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("station: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
