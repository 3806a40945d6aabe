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
    ("yaml_text", "message"),
    [
        ("train: {batch_size: -4}", r"train\.batch_size: -4 is out of range \(1 to 65536\)"),
        ("train: {batch_size: 0}", r"train\.batch_size: 0 is out of range"),
        ("train: {epochs: 0}", r"train\.epochs: 0 is out of range \(at least 1\)"),
        ("train: {lr: 0}", r"train\.lr: 0\.0 is out of range"),
        ("train: {lr: .inf}", r"train\.lr: inf is out of range"),
        ("train: {lr: .nan}", r"train\.lr: nan is out of range"),
        ("train: {grad_clip: -1}", r"train\.grad_clip: -1\.0 is out of range"),
        ("train: {patience: 0}", r"train\.patience"),
        ("train: {max_minutes: -1}", r"train\.max_minutes"),
        ("train: {max_minutes: 0}", r"train\.max_minutes"),
        ("train: {warmup: -1}", r"train\.warmup"),
        ("train: {seed: -1}", r"train\.seed"),
        ("train: {workers: -1}", r"train\.workers"),
        ("train: {weight_decay: -5}", r"train\.weight_decay"),
        ("model: {dropout: 2}", r"model\.dropout: 2\.0 is out of range \(0\.0 to 0\.95\)"),
        ("augment: {probability: 5}", r"augment\.probability"),
        ("augment: {rotate: 1000}", r"augment\.rotate"),
        ("preprocess: {height: 100000}", r"height must be 8 to 256"),
        # Refused by the network only after the data had been read:
        ("preprocess: {height: 40}", r"preprocess\.height: the crnn .* multiple of 16"),
    ],
)
def test_values_out_of_range_are_refused_naming_the_key(tmp_path, yaml_text, message):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_override_checks_ranges_and_yaml_1e_3_is_a_number(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.lr"):
        override(Config(), train__lr=-0.01)
    with pytest.raises(ConfigError, match="multiple of 16"):  # as `train --height 40`
        override(Config(), preprocess__height=40)
    path = tmp_path / "c.yaml"
    path.write_text("train: {lr: 1e-3}\n")  # YAML 1.1 reads this as the string '1e-3'
    assert load_config(path).train.lr == 1e-3
    path.write_bytes(b"train: {lr: 0.001} # caf\xe9\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: not UTF-8"):
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
