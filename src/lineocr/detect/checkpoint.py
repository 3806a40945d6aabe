"""Detector checkpoints: weights in safetensors, the description (spec, epoch, metrics,
history, data) in JSON with the weights' sha256, each file written atomically (the
recognisers' :mod:`lineocr.train.checkpoint` helpers). ``last`` also keeps the optimiser
for ``--resume``. No pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lineocr import __version__
from lineocr.detect.model import LineDetectorNet
from lineocr.detect.spec import FORMAT, DetectorSpec
from lineocr.train.checkpoint import (
    CheckpointError,
    load_tensors,
    optim_from_tensors,
    optim_to_tensors,
    write_checkpoint,
)

KIND = "detector"


@dataclass
class DetectorMeta:
    spec: DetectorSpec
    name: str = "detector"
    epoch: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": KIND,
            "lineocr_version": __version__,
            "name": self.name,
            "arch": "unet-lite",
            "detector": self.spec.to_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "metrics": self.metrics,
            "history": self.history,
            "data": self.data,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorMeta:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise CheckpointError("not a lineocr detector checkpoint (no kind: detector)")
        return cls(
            DetectorSpec.from_dict(data["detector"]),
            str(data.get("name", "detector")),
            int(data.get("epoch", 0)),
            int(data.get("step", 0)),
            dict(data.get("metrics") or {}),
            list(data.get("history") or []),
            dict(data.get("data") or {}),
            dict(data.get("extra") or {}),
        )


def is_detector_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` (a run directory, .safetensors or .json) describes a detector."""
    try:
        meta_path = _weights(Path(path)).with_suffix(".json")
        return json.loads(meta_path.read_text(encoding="utf-8")).get("kind") == KIND
    except (CheckpointError, OSError, ValueError, AttributeError):
        return False


def _weights(path: Path) -> Path:
    if path.is_dir():
        for tag in ("best", "last"):
            if (path / f"{tag}.safetensors").is_file():
                return path / f"{tag}.safetensors"
        raise CheckpointError(f"{path}: no best.safetensors or last.safetensors in this directory")
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    if path.suffix != ".safetensors" or not path.is_file():
        raise CheckpointError(f"{path}: no such detector checkpoint")
    return path


def save(
    run_dir: Path,
    tag: str,
    model: nn.Module,
    meta: DetectorMeta,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:
    """``{tag}.safetensors`` (and ``{tag}.optim.safetensors``), then ``{tag}.json``, as a
    recogniser's checkpoint is written (:func:`write_checkpoint`); the optimiser's
    parameter groups go into the JSON."""
    description = meta.to_dict()
    tensors = None
    if optimizer is not None:
        tensors, groups = optim_to_tensors(optimizer)
        description["optimizer_groups"] = groups
    path = run_dir / f"{tag}.safetensors"
    return write_checkpoint(path, model.state_dict(), description, tensors, file_format=FORMAT)


def load(
    path: str | Path, *, optimizer: torch.optim.Optimizer | None = None
) -> tuple[LineDetectorNet, DetectorMeta]:
    """A detector checkpoint (run directory, .safetensors or .json) -> model and meta;
    with ``optimizer``, its saved state restored into it."""
    weights = _weights(Path(path))
    meta_path = weights.with_suffix(".json")
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
        meta = DetectorMeta.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{meta_path}: {exc}") from None
    hashes = data.get("sha256") or {}
    model = LineDetectorNet(meta.spec)
    tensors = load_tensors(weights, sha256=hashes.get("weights"), description=meta_path)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights}: weights do not match the detector: {exc}") from None
    if optimizer is not None:
        optim_path = weights.with_name(weights.stem + ".optim.safetensors")
        state = load_tensors(optim_path, sha256=hashes.get("optimizer"), description=meta_path)
        optim_from_tensors(optimizer, state, data.get("optimizer_groups") or [])
    return model, meta


def save_weights_fp16(model: nn.Module, meta: DetectorMeta, out: Path) -> Path:
    """``out`` (.safetensors, fp16) and its .json: a stage or bundled detector's weights,
    small enough to commit, that ``--init-from`` and ``lineocr export`` take."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    description = meta.to_dict() | {"history": []}  # the history stays in the run's checkpoint
    write_checkpoint(out, state, description, file_format=FORMAT)
    return out
