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


# Two views (issue 12): each mistake a person makes in station.cameras, and what they read.
VIEW_MISTAKES = [
    (
        {"cameras": [{"view": "top"}, {"view": "Side cam", "device": 1}]},
        "station.cameras.1.view",
        "expected a view name of 1-16 of a-z, 0-9 and '-' starting with a letter or digit",
    ),
    ({"cameras": [{"view": "-top"}]}, "station.cameras.0.view", "expected a view name"),
    ({"cameras": [{"view": "c2pa"}]}, "station.cameras.0.view", "and not c2pa"),
    ({"cameras": [{"device": 1}]}, "station.cameras.0.view", "needs a view name, e.g. top"),
    (
        {"cameras": [{"view": "top"}, {"view": "top", "device": 1}]},
        "station",
        "cameras: view name 'top' is used twice",
    ),
    (
        {"camera": {"fps": 25}, "cameras": [{"view": "top"}]},
        "station",
        "camera and cameras are both set: list every view under cameras",
    ),
    (
        {"cameras": [{"view": "a"}, {"view": "b", "device": 1}, {"view": "c", "device": 2}]},
        "station",
        "cameras: expected 1 to 2 views, found 3",
    ),
    ({"cameras": []}, "station", "cameras: expected 1 to 2 views, found 0"),
    (
        {
            "cameras": [
                {"view": "top", "device": "rtsp://u:Pw-9@cam/1"},
                {"view": "side", "device": "rtsp://u:Pw-9@cam/1"},
            ]
        },
        "station",
        "two views record the same device 'rtsp://u:***@cam/1'; give each view its own camera",
    ),
    (
        {"cameras": [{"view": "top", "scan": False}, {"view": "side", "device": 1, "scan": False}]},
        "station",
        "no view has scan: true and no scanner gun is set",
    ),
    (
        {"cameras": [{"view": "top", "fps": 500}]},
        "station.cameras.0.fps",
        "less than or equal to 60 (found 500)",
    ),
]


@pytest.mark.parametrize(("station", "where", "said"), VIEW_MISTAKES)
def test_view_mistakes_are_explained(
    tmp_path: Path, station: dict[str, object], where: str, said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"station": station}, base=tmp_path)
    problems = dict(caught.value.problems)
    assert said in problems[where], problems
    assert "Pw-9" not in str(caught.value.problems)


def test_one_camera_is_one_unnamed_view_and_cameras_name_theirs(tmp_path: Path) -> None:
    (one,) = Config().station.views
    assert (one.name, one.label, one.scan, one.camera) == (
        None,
        "camera",
        True,
        Config().station.camera,
    )
    cfg = parse_config(
        {
            "station": {
                "cameras": [
                    {"view": "top", "device": "/dev/video0", "width": 1920, "height": 1080},
                    {"view": "label-1", "device": 2, "scan": False, "mode": "encode"},
                ],
                "scan": {"gun": {"input": "stdin"}},
            }
        },
        base=tmp_path,
    )
    top, side = cfg.station.views
    assert (top.name, top.camera.device, top.camera.width, top.scan) == (
        "top",
        "/dev/video0",
        1920,
        True,
    )
    assert (side.name, side.camera.device, side.camera.width, side.scan) == (
        "label-1",
        2,
        1280,
        False,
    )


@pytest.mark.parametrize(
    ("camera", "said"),
    [
        (
            {"scan_url": "rtsp://u:Pw-9@cam/sub"},
            "scan_url (a sub-stream to scan) is for mode: copy",
        ),
        ({"mode": "copy", "scan_url": "http://u:Pw-9@cam/sub"}, "expected the camera's rtsp://"),
    ],
)
def test_a_sub_stream_to_scan_is_an_rtsp_url_in_copy_mode(
    tmp_path: Path, camera: dict[str, object], said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"station": {"camera": camera}}, base=tmp_path)
    assert said in dict(caught.value.problems)["station.camera"]
    assert "Pw-9" not in f"{caught.value} {caught.value.problems}"
    ok = {"mode": "copy", "scan_url": "rtsps://u:Pw-9@cam/sub"}
    assert parse_config({"station": {"camera": ok}}, base=tmp_path).station.camera.scan_url
