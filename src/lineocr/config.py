"""Typed, frozen configuration for models, augmentation and training; YAML in and out.

Every section is a frozen dataclass. Loading rejects unknown keys (a misspelt option is an
error, not a silent default) and wrong types.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from lineocr.charset import CharsetOptions
from lineocr.models.spec import HEIGHT_MULTIPLE, Preset
from lineocr.preprocess import PreprocessSpec


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


_PROBABILITY = (0.0, 1.0)
# The values each numeric key may take (inclusive, as preprocess.PARAM_RANGES). The types
# are checked on loading; these catch what a type cannot: a negative batch size, a NaN or
# infinite learning rate, a negative clip norm (gradient ascent), a probability of 5. A bound
# is the edge of what makes sense, not of what is wise: lr 0.5 is allowed, lr 0 or inf is not.
RANGES: dict[str, tuple[float, float]] = {
    "model.dropout": (0.0, 0.95),
    **{
        f"augment.{name}": _PROBABILITY
        for name in ("blur", "noise", "elastic", "warp", "morph", "contrast", "probability")
    },
    "augment.rotate": (0.0, 45.0),
    "augment.shear": (0.0, 1.0),
    "augment.perspective": (0.0, 0.3),
    "augment.scale": (0.0, 0.5),
    "augment.stretch": (0.0, 1.0),
    "augment.warp_amount": (0.0, 0.3),
    "train.epochs": (1, math.inf),
    "train.batch_size": (1, 65536),
    "train.lr": (1e-15, 10.0),  # above 0 (a test freezes learning with 1e-12)
    "train.weight_decay": (0.0, 10.0),
    "train.warmup": (0.0, 0.99),
    "train.patience": (1, math.inf),
    "train.min_delta": (0.0, 1.0),
    "train.grad_clip": (1e-15, math.inf),
    "train.seed": (0, 2**32 - 1),
    "train.workers": (0, 256),
    "train.val_split": (0.0, 0.99),
    "train.max_minutes": (1e-6, math.inf),  # above 0: 0 would mean no budget at all
    "train.threads": (1, 1024),
    "train.log_images": (0, 1000),
}


def _check_ranges(section: str, obj: Any) -> None:
    """Raise :class:`ConfigError` naming the key when a value is outside :data:`RANGES`."""
    for f in dataclasses.fields(obj):
        key = f"{section}.{f.name}"
        value = getattr(obj, f.name)
        if key not in RANGES or value is None:
            continue
        low, high = RANGES[key]
        if not low <= value <= high:  # NaN fails too
            allowed = f"{low} to {high}" if high != math.inf else f"at least {low}"
            raise ConfigError(f"{key}: {value!r} is out of range ({allowed})")


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "crnn"
    preset: Preset = "small"
    dropout: float = 0.2

    def __post_init__(self) -> None:
        _check_ranges("model", self)


@dataclass(frozen=True)
class AugmentConfig:
    """On-the-fly augmentation of training images; each value is a probability or a range.

    Off at evaluation time. ``elastic`` is meant for handwriting, ``warp`` for printed
    glyphs in designs the training fonts lack.
    """

    enabled: bool = True
    blur: float = 0.2  # probability of Gaussian or motion blur
    noise: float = 0.2  # probability of Gaussian noise
    rotate: float = 2.0  # max degrees
    shear: float = 0.15  # max horizontal shear factor
    perspective: float = 0.02  # corners move up to 4x this (line heights); half the augmented
    scale: float = 0.1  # max relative change in size
    # max relative change of the width alone (log-uniform: 0.25 draws x0.8 to x1.25): faces
    # narrower or wider than the training fonts' (off by default: bundled configs set it)
    stretch: float = 0.0
    elastic: float = 0.0  # probability of elastic distortion
    warp: float = 0.0  # probability of grid warping (glyph shapes unlike the training fonts)
    warp_amount: float = 0.06  # its largest displacement, fraction of the line height
    morph: float = 0.15  # probability of erosion or dilation
    contrast: float = 0.3  # probability of a contrast / brightness change
    probability: float = 0.8  # probability that a sample is augmented at all

    def __post_init__(self) -> None:
        _check_ranges("augment", self)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    warmup: float = 0.1  # fraction of steps (one-cycle)
    patience: int = 15  # epochs without a better validation CER before stopping
    min_delta: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    workers: int = 0
    val_split: float = 0.1
    max_minutes: float | None = None  # stop (and keep the best checkpoint) after this long
    freeze_backbone: bool = False
    bucket: bool = True  # width bucketing: batches of similar widths
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    threads: int | None = None
    log_images: int = 8  # sample predictions written to TensorBoard per validation

    def __post_init__(self) -> None:
        _check_ranges("train", self)


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)
    charset: CharsetOptions = field(default_factory=CharsetOptions)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        # Checked here, not first when the network is built after the data has been read.
        height = self.preprocess.height
        if self.model.arch == "crnn" and height % HEIGHT_MULTIPLE:
            raise ConfigError(
                f"preprocess.height: the crnn architecture needs a multiple of "
                f"{HEIGHT_MULTIPLE} (its CNN halves the height four times), got {height}"
            )


T = TypeVar("T")


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError("; ".join(errors))
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list")
        return tuple(_convert(args[0], v, key) for v in value)
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"known: {', '.join(sorted(names))}"
        )
    kwargs = {k: _convert(hints[k], v, prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise  # names its key already
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from None


def to_dict(obj: Any) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in dataclasses.asdict(obj).items()}


def override(config: T, **changes: Any) -> T:
    """A copy of a (nested) config with ``section__key=value`` changes applied."""
    nested: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    for key, value in changes.items():
        section, sep, name = key.partition("__")
        if sep:
            nested.setdefault(section, {})[name] = value
        else:
            flat[key] = value
    for section, values in nested.items():
        flat[section] = dataclasses.replace(getattr(config, section), **values)
    return dataclasses.replace(config, **flat)  # type: ignore[type-var]


def load_config(path: str | Path) -> Config:
    return load_config_and_keys(path)[0]


def load_config_and_keys(path: str | Path) -> tuple[Config, list[str]]:
    """The config a YAML file describes, and the settings it sets itself, as
    ``section.key`` (``train.lr``): the others are the defaults."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a YAML config is UTF-8)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return from_dict(Config, data), list(flatten(data))


def flatten(sections: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train": {"lr": 0.001}}`` (a config file's mapping, or :func:`to_dict` of a
    config) as ``{"train.lr": 0.001}``."""
    return {
        f"{section}.{key}": value
        for section, values in sections.items()
        if isinstance(values, Mapping)
        for key, value in values.items()
    }


def dump_config(config: Config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)
