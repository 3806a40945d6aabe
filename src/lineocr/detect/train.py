"""Training a line detector: random crops of ground-truth pages, binary cross-entropy plus
dice on the core map, AdamW with a warm-up and a cosine decay, validation on whole pages
by recall and precision at IoU 0.5 after the runtime's own post-processing, checkpoints
(best by F1, last with the optimiser) each epoch; resumable, time-boxed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lineocr.detect import checkpoint
from lineocr.detect.data import TruthPage, training_crop, validation_page
from lineocr.detect.evaluate import Counts, match
from lineocr.detect.model import LineDetectorNet
from lineocr.detect.postprocess import lines_from_map
from lineocr.detect.spec import DetectorSpec

WARMUP_STEPS = 100


@dataclass(frozen=True)
class DetectorTrainOptions:
    out: Path
    epochs: int = 20
    steps_per_epoch: int = 200
    batch_size: int = 8
    crop: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    max_minutes: float | None = None
    resume: bool = False
    init_from: str | None = None
    spec: DetectorSpec = field(default_factory=DetectorSpec)
    val_pages: int = 60  # at most this many validation pages each epoch


@dataclass
class DetectorFitResult:
    epochs_run: int
    best: dict[str, float]
    stopped: str  # "done", "time", "interrupted"


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + soft dice. The BCE is not weighted towards the rarer core pixels: weighted,
    the probabilities answer a balanced question, and at the 0.5 threshold cores come out
    fat enough to join lines (a first run needed a threshold of 0.98)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    dice = 1 - (2 * inter + 1) / (prob.sum() + target.sum() + 1)
    return bce + dice


def make_batch(
    pages: Sequence[TruthPage], spec: DetectorSpec, crop: int, n: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(n):
        x, y = training_crop(pages[int(rng.integers(len(pages)))], spec, crop, rng)
        xs.append(x)
        ys.append(y)
    return (
        torch.from_numpy(np.stack(xs)[:, None]),
        torch.from_numpy(np.stack(ys)[:, None].astype(np.float32)),
    )


def train_step(
    model: LineDetectorNet,
    optimizer: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, torch.Tensor],
) -> float:
    model.train()
    x, y = batch
    loss = loss_fn(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return float(loss.detach())


def validate(model: LineDetectorNet, pages: Sequence[TruthPage], spec: DetectorSpec) -> Counts:
    """Recall and precision at IoU 0.5 on whole pages, post-processed as at run time."""
    model.eval()
    total = Counts()
    with torch.no_grad():
        for page in pages:
            x, scale, truth = validation_page(page, spec)
            logits = model(torch.from_numpy(x)[None, None])[0, 0].numpy()
            prob = 1.0 / (1.0 + np.exp(-logits))
            found = lines_from_map(prob, spec, spec.stride / scale)
            total.add(match(truth, [ln.quad for ln in found]))
    return total


def _lr_at(step: int, total: int, peak: float) -> float:
    if step < WARMUP_STEPS:
        return peak * (step + 1) / WARMUP_STEPS
    progress = min(1.0, (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS))
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _start(
    options: DetectorTrainOptions, data_summary: dict[str, Any], say: Callable[[str], None]
) -> tuple[LineDetectorNet, torch.optim.Optimizer, checkpoint.DetectorMeta]:
    """The model, optimiser and description a run starts from: new, resumed from its last
    checkpoint (with the optimiser's state), or initialised from another detector."""
    spec = options.spec
    if options.resume:
        model, meta = checkpoint.load(options.out / "last.safetensors")
        optimizer = _optimizer(model, options)
        checkpoint.load(options.out / "last.safetensors", optimizer=optimizer)
        say(f"resumed at epoch {meta.epoch} (step {meta.step})")
        return model, optimizer, meta
    if options.init_from:
        start, start_meta = checkpoint.load(options.init_from)
        spec = replace(spec, channels=start_meta.spec.channels, decoder=start_meta.spec.decoder)
        model = LineDetectorNet(spec)
        model.load_state_dict(start.state_dict())
        meta = checkpoint.DetectorMeta(spec, data=data_summary)
        meta.extra["init_from"] = str(options.init_from)
        return model, _optimizer(model, options), meta
    model = LineDetectorNet(spec)
    return model, _optimizer(model, options), checkpoint.DetectorMeta(spec, data=data_summary)


def _optimizer(model: LineDetectorNet, options: DetectorTrainOptions) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)


def fit(
    options: DetectorTrainOptions,
    train_pages: Sequence[TruthPage],
    val_pages: Sequence[TruthPage],
    *,
    say: Callable[[str], None] = print,
    data_summary: dict[str, Any] | None = None,
) -> DetectorFitResult:
    """Train (or go on training) a detector in ``options.out``."""
    if not train_pages:
        raise ValueError("no training pages")
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(options.seed)
    model, optimizer, meta = _start(options, data_summary or {}, say)
    spec = meta.spec
    total_steps = options.epochs * options.steps_per_epoch
    rng = np.random.default_rng([options.seed, meta.step])
    start_time = time.monotonic()
    best_f1 = max((h.get("val_f1", 0.0) for h in meta.history), default=-1.0)
    stopped = "done"
    epochs_run = 0
    try:
        while meta.epoch < options.epochs:
            losses = []
            for _ in range(options.steps_per_epoch):
                for group in optimizer.param_groups:
                    group["lr"] = _lr_at(meta.step, total_steps, options.lr)
                batch = make_batch(train_pages, spec, options.crop, options.batch_size, rng)
                losses.append(train_step(model, optimizer, batch))
                meta.step += 1
                if options.max_minutes and time.monotonic() - start_time > options.max_minutes * 60:
                    stopped = "time"
                    break
            meta.epoch += 1
            epochs_run += 1
            record: dict[str, float] = {
                "epoch": meta.epoch,
                "step": meta.step,
                "train_loss": float(np.mean(losses)),
                "minutes": (time.monotonic() - start_time) / 60,
            }
            line = f"epoch {meta.epoch}: loss {record['train_loss']:.4f}"
            if val_pages:  # the best epoch by F1; without validation pages, the latest
                counts = validate(model, list(val_pages)[: options.val_pages], spec)
                record |= {
                    "val_recall": counts.recall,
                    "val_precision": counts.precision,
                    "val_f1": counts.f1,
                }
                line += (
                    f"  recall {counts.recall:.2%}  precision {counts.precision:.2%}"
                    f"  ({counts.true} lines)"
                )
            meta.history.append(record)
            meta.metrics = {k: v for k, v in record.items() if k.startswith("val_")}
            say(line)
            if not val_pages or record["val_f1"] > best_f1:
                best_f1 = record.get("val_f1", best_f1)
                checkpoint.save(out, "best", model, meta)
            checkpoint.save(out, "last", model, meta, optimizer)
            if stopped == "time":
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
        say("interrupted: the last finished epoch is saved; --resume goes on from it")
    best = max(meta.history, key=lambda h: h.get("val_f1", 0.0), default={})
    return DetectorFitResult(epochs_run, best, stopped)
