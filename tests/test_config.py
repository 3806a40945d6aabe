from pathlib import Path

import pytest

from lineocr.config import (
    Config,
    ConfigError,
    TrainConfig,
    dump_config,
    from_dict,
    load_config,
    override,
)


def test_yaml_round_trip(tmp_path):
    cfg = override(Config(), model__preset="tiny", train__epochs=3, preprocess__ops=("otsu",))
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_unknown_keys_are_rejected_with_their_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=r"train\.epoch"):
        load_config(path)
    path.write_text("trian: {}\n")
    with pytest.raises(ConfigError, match="trian"):
        load_config(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"epochs": "ten"}, r"epochs: expected an integer"),
        ({"epochs": True}, "epochs: expected an integer"),
        ({"lr": "fast"}, "lr: expected a number"),
        ({"schedule": "linear"}, "schedule"),
        ({"max_minutes": "x"}, "max_minutes"),
    ],
)
def test_wrong_types_are_rejected(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(TrainConfig, data)


def test_ints_are_accepted_for_floats_and_null_for_optional():
    cfg = from_dict(TrainConfig, {"lr": 1, "max_minutes": None})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.max_minutes is None


def test_invalid_values_in_nested_sections_are_config_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preprocess:\n  height: 4\n")
    with pytest.raises(ConfigError, match="height"):
        load_config(path)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_shipped_configs_load_and_name_only_known_keys(path, tmp_path):
    """The configs the Makefile trains the bundled models with load; the same file with a
    misspelt key does not (so a typo there cannot silently fall back to a default)."""
    assert isinstance(load_config(path), Config)
    typo = tmp_path / path.name
    typo.write_text(path.read_text(encoding="utf-8") + "augmnt: {warp: 0.5}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="augmnt"):
        load_config(typo)
