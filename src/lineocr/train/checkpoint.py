"""Checkpoints: weights in safetensors, everything else in JSON; written as one unit.

A training run directory holds ``best.safetensors`` / ``last.safetensors`` (weights),
``best.json`` / ``last.json`` (the model description: charset, preprocessing spec, config,
metrics, history, data summary, optimiser step) and ``last.optim.safetensors`` (optimiser
and schedule state, for ``--resume``). No pickle anywhere.

Each file is replaced atomically (a temporary file renamed), and a checkpoint's JSON is
written last with the sha256 of the files that belong to it: a write stopped between the
files (``kill -9``) leaves a pair that loading refuses by name (or ``--resume`` repairs),
never weights of one epoch described as another's. Temporary files such a stop leaves
behind are removed when a run next starts in that directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
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
    """Remove a training run's files (:data:`RUN_FILES`, their stale temporaries) and
    TensorBoard events from ``run_dir``, so that a new run there does not mix with it;
    other files stay."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    remove_temporaries(run_dir)
    if (run_dir / "tb").is_dir():
        shutil.rmtree(run_dir / "tb")


def remove_temporaries(run_dir: str | Path) -> list[Path]:
    """Remove the temporary files of run files (:func:`atomic_write`'s
    ``.NAME.XXXX.tmp``) left in ``run_dir`` by a write that was stopped; the removed."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    stale = sorted(
        path
        for path in run_dir.glob(".*.tmp")
        if any(path.name.startswith(f".{name}.") for name in RUN_FILES)
    )
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


class CheckpointError(ValueError):
    """A missing or unusable checkpoint; the message names the file."""


class TornCheckpointError(CheckpointError):
    """A checkpoint's files come from different writes: the sha256 its JSON records for a
    file is not the file's (a write stopped between the files, or a file replaced)."""

    def __init__(self, path: Path, description: Path, hint: str = "") -> None:
        super().__init__(
            f"{path} does not belong to {description}: its sha256 is not the one "
            f"{description.name} records (a checkpoint write was interrupted, or the file "
            "was replaced)" + (f"; {hint}" if hint else "")
        )
        self.path, self.description = path, description


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
    # The sha256 of the files its JSON was written with ("weights", "optimizer"), as read
    # from the JSON (save_checkpoint writes them; to_dict leaves them out: a copy of the
    # description, e.g. a model card, describes no file).
    sha256: dict[str, str] = field(default_factory=dict)

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
            sha256=_hashes(data),
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


def _hashes(data: dict[str, Any]) -> dict[str, str]:
    hashes = _mapping(data, "sha256", {})
    for role, value in hashes.items():
        if not isinstance(value, str):
            raise CheckpointError(f"sha256.{role}: expected a hex digest, got {value!r}")
    return hashes


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
    """``write(temporary path)``, then the temporary file renamed to ``path``: ``path`` is
    the old file or the new one, never part of one. A process killed meanwhile leaves the
    temporary ``.NAME.XXXX.tmp`` (see :func:`remove_temporaries`)."""
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
    """Write ``{tag}.safetensors`` (and ``{tag}.optim.safetensors``), then ``{tag}.json``
    with their sha256: the JSON, written last, says which files belong to it."""
    path = Path(run_dir) / f"{tag}.safetensors"
    return write_checkpoint(path, model.state_dict(), meta.to_dict(), optim_state)


def write_checkpoint(
    path: Path,
    weights: dict[str, torch.Tensor],
    description: dict[str, Any],
    optim_state: dict[str, torch.Tensor] | None = None,
    *,
    file_format: str = FORMAT,
) -> Path:
    """The one way a checkpoint (a recogniser's or a detector's) is written: ``weights`` (a
    state dict) as ``path`` (``TAG.safetensors``; metadata ``format``: ``file_format``) and
    ``optim_state`` as ``TAG.optim.safetensors``, each atomically, then ``TAG.json``,
    ``description`` with the files' sha256, written last so that it says which files
    belong to it (:func:`load_tensors` checks them)."""
    state = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
    files = {"weights": safetensors.torch.save(state, metadata={"format": file_format})}
    if optim_state is not None:
        files["optimizer"] = safetensors.torch.save(optim_state)
    tag = path.name.removesuffix(".safetensors")
    for role, data in files.items():
        target = path.with_name(tag + _SUFFIXES[role])
        atomic_write(target, lambda p, d=data: Path(p).write_bytes(d))
    hashes = {role: hashlib.sha256(data).hexdigest() for role, data in files.items()}
    write_json(path.with_name(tag + ".json"), description | {"sha256": hashes})
    return path


_SUFFIXES = {"weights": ".safetensors", "optimizer": ".optim.safetensors"}


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


def load_tensors(
    path: str | Path,
    device: str = "cpu",
    *,
    sha256: str | None = None,
    description: Path | None = None,
) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a truncated or foreign file is an error naming it.
    ``sha256``: the digest the checkpoint's JSON (``description``) records for the file; a
    file with another is a :class:`TornCheckpointError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
        tensors = safetensors.torch.load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError, OSError, ...
        raise CheckpointError(
            f"{path}: cannot read it as a safetensors file (truncated, or another format?): {exc}"
        ) from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise TornCheckpointError(path, description or path.with_suffix(".json"))
    return {k: v.to(device) for k, v in tensors.items()} if device != "cpu" else tensors


def build_from_meta(meta: ModelMeta) -> nn.Module:
    return build_model(
        meta.config.model.arch,
        num_classes=meta.charset.num_classes,
        height=meta.config.preprocess.height,
        preset=meta.config.model.preset,
        dropout=meta.config.model.dropout,
    )


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, ModelMeta]:
    """Rebuild the model from a run directory or weights file; returns it in eval mode.
    Weights that are not the ones their JSON records are refused (:class:`TornCheckpointError`,
    naming the run's other checkpoint when that one is whole)."""
    weights = resolve(path)
    meta = load_meta(weights)
    try:
        model = build_from_meta(meta)
    except ValueError as exc:  # an architecture this version does not have
        raise CheckpointError(f"{weights.with_suffix('.json')}: {exc}") from None
    try:
        load_weights(model, weights, device, sha256=meta.sha256.get("weights"))
    except TornCheckpointError as exc:
        other = _whole_other(weights)
        hint = (
            f"{other} (epoch {load_meta(other).epoch}) is whole: give it instead" if other else ""
        )
        raise TornCheckpointError(exc.path, exc.description, hint) from None
    return model.to(device).eval(), meta


def is_whole(weights: Path) -> bool:
    """Whether ``weights`` and its JSON are there and belong together (a JSON without
    digests, written before they were recorded, is taken on trust)."""
    try:
        meta = load_meta(weights)
        load_tensors(weights, sha256=meta.sha256.get("weights"))
    except CheckpointError:
        return False
    return True


def _is_torn(weights: Path) -> bool:
    """Whether ``weights`` and its JSON are both there and readable but do not belong
    together (:class:`TornCheckpointError`)."""
    try:
        load_tensors(weights, sha256=load_meta(weights).sha256.get("weights"))
    except TornCheckpointError:
        return True
    except CheckpointError:
        return False
    return False


def _whole_other(weights: Path) -> Path | None:
    """The run's other checkpoint (``last`` for ``best`` and back), if it is whole."""
    others = {"best.safetensors": "last.safetensors", "last.safetensors": "best.safetensors"}
    other = weights.parent / others.get(weights.name, "")
    return other if weights.name in others and is_whole(other) else None


@dataclass
class ResumePoint:
    """What a resumed run starts from: a checkpoint's description, weights and optimiser
    state (None: none saved), and what was repaired to get them (to be said)."""

    meta: ModelMeta
    path: Path  # the weights file
    weights: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor] | None
    repaired: list[str] = field(default_factory=list)
    best_removed: bool = False  # best.* did not belong together and were removed


def resume_point(run_dir: Path, device: str = "cpu", *, repair: bool = True) -> ResumePoint:
    """The run's ``last`` checkpoint; when its files do not belong together, its ``best``
    (if whole), without optimiser state. With ``repair`` (the process that writes the run),
    a ``best`` pair that does not belong together is removed: the next epoch writes one."""
    last = run_dir / "last.json"
    if not last.is_file():
        raise FileNotFoundError(f"{run_dir}: nothing to resume (no last.json)")
    try:
        point = _load_point(run_dir / "last.safetensors", device)
    except TornCheckpointError as torn:
        best = run_dir / "best.safetensors"
        if not is_whole(best):
            raise CheckpointError(
                f"{torn}, and there is no whole {best} to resume from instead"
            ) from None
        point = _load_point(best, device, with_optimizer=False)
        point.repaired.append(
            f"{torn}: resuming from {best.with_suffix('.json')} (epoch {point.meta.epoch}), "
            "without the optimiser state"
        )
        return point
    best = run_dir / "best.safetensors"
    if repair and _is_torn(best):
        for name in ("best.safetensors", "best.json"):
            (run_dir / name).unlink(missing_ok=True)
        point.best_removed = True
        point.repaired.append(
            f"{best} and {best.with_suffix('.json')} did not belong together (a checkpoint "
            "write was interrupted): removed; the next epoch writes the best checkpoint again"
        )
    return point


def _load_point(weights: Path, device: str, *, with_optimizer: bool = True) -> ResumePoint:
    meta = load_meta(weights)
    description = weights.with_suffix(".json")
    tensors = load_tensors(
        weights, device, sha256=meta.sha256.get("weights"), description=description
    )
    optim_path = weights.with_name(weights.name.replace(".safetensors", ".optim.safetensors"))
    optimizer = None
    if with_optimizer and optim_path.is_file() and meta.extra.get("optim_param_groups"):
        optimizer = load_tensors(
            optim_path, sha256=meta.sha256.get("optimizer"), description=description
        )
    return ResumePoint(meta, weights, tensors, optimizer)


def load_weights(
    model: nn.Module, weights: str | Path, device: str = "cpu", *, sha256: str | None = None
) -> None:
    """Load a safetensors file into ``model``; a file that cannot be read, is not the one
    ``sha256`` says, or does not fit the model (other names or shapes) is a
    :class:`CheckpointError` naming it."""
    tensors = load_tensors(weights, device, sha256=sha256)
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
