"""Checkpoints: weights in safetensors, everything else in JSON; written atomically.

A training run directory holds ``best.safetensors`` / ``last.safetensors`` (weights),
``best.json`` / ``last.json`` (the model description: charset, preprocessing spec, config,
metrics, history, data summary, optimiser step) and ``last.optim.safetensors`` (optimiser
and schedule state, for ``--resume``). No pickle anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lineocr import __version__
from lineocr.charset import Charset
from lineocr.config import Config, from_dict, to_dict
from lineocr.models.registry import build_model
from lineocr.preprocess import PreprocessSpec

FORMAT = "lineocr-checkpoint/1"
# What a training run writes in its directory, besides TensorBoard's tb/ (the loop adds the
# plot): what `lineocr train` will not replace without --overwrite.
RUN_FILES = (
    "best.safetensors",
    "best.json",
    "last.safetensors",
    "last.json",
    "last.optim.safetensors",
    "history.png",
)


def clear_run(run_dir: str | Path) -> None:
    """Remove a training run's files (:data:`RUN_FILES`) and TensorBoard events from
    ``run_dir``, so that a new run there does not mix with it; other files stay."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    if (run_dir / "tb").is_dir():
        shutil.rmtree(run_dir / "tb")


class CheckpointError(ValueError):
    """A missing or unusable checkpoint; the message names the file."""


@dataclass
class ModelMeta:
    """Everything needed to rebuild and run a model, besides its weights."""

    charset: Charset
    config: Config
    name: str = "model"
    epoch: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=lambda: {"temperature": 1.0})
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def preprocess(self) -> PreprocessSpec:
        return self.config.preprocess

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "lineocr_version": __version__,
            "name": self.name,
            "arch": self.config.model.arch,
            "preset": self.config.model.preset,
            "num_classes": self.charset.num_classes,
            "charset": self.charset.to_dict(),
            "preprocess": self.config.preprocess.to_dict(),
            "config": to_dict(self.config),
            "epoch": self.epoch,
            "step": self.step,
            "metrics": self.metrics,
            "history": self.history,
            "data": self.data,
            "calibration": self.calibration,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        if not isinstance(data, dict):
            raise CheckpointError("not a lineocr checkpoint (not a JSON object)")
        if data.get("format") != FORMAT:
            raise CheckpointError(f"not a lineocr checkpoint (format {data.get('format')!r})")
        return cls(
            charset=Charset.from_dict(data["charset"]),
            config=from_dict(Config, data["config"]),
            name=data.get("name", "model"),
            epoch=_count(data, "epoch"),
            step=_count(data, "step"),
            metrics=_mapping(data, "metrics", {}),
            history=_history(data),
            data=_mapping(data, "data", {}),
            calibration=_mapping(data, "calibration", {"temperature": 1.0}),
            extra=_mapping(data, "extra", {}),
        )


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{key}: expected a whole number, got {value!r}")
    return value


def _history(data: dict[str, Any]) -> list[dict[str, float]]:
    value = data.get("history", [])
    if not isinstance(value, list):
        raise CheckpointError(f"history: expected a JSON array, got {type(value).__name__}")
    return list(value)


def _mapping(data: dict[str, Any], key: str, default: dict[str, Any]) -> dict[str, Any]:
    value = data.get(key, default)
    if not isinstance(value, dict):
        raise CheckpointError(f"{key}: expected a JSON object, got {type(value).__name__}")
    return dict(value)


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file (0o666 less the umask); temporary files (and
    safetensors' own writes) are 0o600, which other users of a shared run could not read."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        Path(tmp).chmod(new_file_mode())
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def save_checkpoint(
    run_dir: Path,
    tag: str,
    model: nn.Module,
    meta: ModelMeta,
    optim_state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``{tag}.safetensors`` and ``{tag}.json`` (and optimiser state) atomically."""
    run_dir = Path(run_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = run_dir / f"{tag}.safetensors"
    atomic_write(weights, lambda p: save_file(state, p, metadata={"format": FORMAT}))
    if optim_state is not None:
        atomic_write(run_dir / f"{tag}.optim.safetensors", lambda p: save_file(optim_state, p))
    write_json(run_dir / f"{tag}.json", meta.to_dict())
    return weights


def write_json(path: Path, data: dict[str, Any]) -> None:
    """A checkpoint's JSON description (UTF-8, indented), atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def resolve(path: str | Path) -> Path:
    """A run directory (its best checkpoint) or a ``.safetensors`` / ``.json`` path ->
    the weights file."""
    p = Path(path)
    if p.is_dir():
        for tag in ("best", "last"):
            if (p / f"{tag}.safetensors").is_file():
                return p / f"{tag}.safetensors"
        raise CheckpointError(f"{p}: no best.safetensors or last.safetensors in this directory")
    if p.suffix not in {".json", ".safetensors"} and p.exists():
        raise CheckpointError(
            f"{p}: not a checkpoint: give a training run directory, or its .safetensors "
            "or .json file"
        )
    if p.suffix == ".json":
        p = p.with_suffix(".safetensors")
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint")
    return p


def load_meta(path: str | Path) -> ModelMeta:
    weights = resolve(path)
    meta_path = weights.with_suffix(".json")
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta_path}: {exc}") from None
    except RecursionError:
        raise CheckpointError(f"{meta_path}: not a lineocr checkpoint (nested too deep)") from None
    try:
        return ModelMeta.from_dict(data)
    except KeyError as exc:
        raise CheckpointError(f"{meta_path}: not a lineocr checkpoint (no {exc})") from None
    except (ValueError, TypeError, AttributeError) as exc:  # CheckpointError, ConfigError too
        raise CheckpointError(f"{meta_path}: {exc}") from None


def load_tensors(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a truncated or foreign file is an error naming it."""
    try:
        return load_file(str(path), device=device)
    except Exception as exc:  # safetensors raises its own SafetensorError, OSError, ...
        raise CheckpointError(
            f"{path}: cannot read it as a safetensors file (truncated, or another format?): {exc}"
        ) from None


def build_from_meta(meta: ModelMeta) -> nn.Module:
    return build_model(
        meta.config.model.arch,
        num_classes=meta.charset.num_classes,
        height=meta.config.preprocess.height,
        preset=meta.config.model.preset,
        dropout=meta.config.model.dropout,
    )


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, ModelMeta]:
    """Rebuild the model from a run directory or weights file; returns it in eval mode."""
    weights = resolve(path)
    meta = load_meta(weights)
    try:
        model = build_from_meta(meta)
    except ValueError as exc:  # an architecture this version does not have
        raise CheckpointError(f"{weights.with_suffix('.json')}: {exc}") from None
    load_weights(model, weights, device)
    return model.to(device).eval(), meta


def load_weights(model: nn.Module, weights: str | Path, device: str = "cpu") -> None:
    """Load a safetensors file into ``model``; a file that cannot be read or does not fit
    the model (other names or shapes) is a :class:`CheckpointError` naming it."""
    tensors = load_tensors(weights, device)
    try:
        model.load_state_dict(tensors)
    except Exception as exc:
        raise CheckpointError(f"{weights}: weights do not match the model: {exc}") from None


def optim_to_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """An optimiser's state as safetensors-ready tensors (``"{param}.{name}"``) and its
    parameter groups (JSON)."""
    state = optimizer.state_dict()
    tensors = {
        f"{idx}.{name}": value.detach().cpu().contiguous()
        for idx, entry in state["state"].items()
        for name, value in entry.items()
        if isinstance(value, torch.Tensor)
    }
    return tensors, state["param_groups"]


def optim_from_tensors(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]
) -> None:
    """Restore what :func:`optim_to_tensors` saved."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})
