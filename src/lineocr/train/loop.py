"""The CTC training loop: epochs, validation, early stopping, checkpoints, resume, Ctrl-C.

:func:`fit` trains a model on prepared examples and writes a run directory::

    run/best.safetensors + best.json     lowest validation CER so far
    run/last.safetensors + last.json     end of the latest epoch (+ last.optim.safetensors)
    run/history.png                      loss and CER curves
    run/tb/                              TensorBoard events
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress
from torch import nn
from torch.utils.data import DataLoader

from lineocr.config import Config
from lineocr.data.augment import Augmenter
from lineocr.data.batching import (
    Batch,
    BatchOrder,
    BucketBatchSampler,
    Example,
    LineDataset,
    Shard,
    SynthLines,
    SynthMix,
    make_collate,
)
from lineocr.decode import greedy_batch, min_frames
from lineocr.metrics import Scores
from lineocr.models.crnn import output_lengths
from lineocr.train import distributed, finetune
from lineocr.train.checkpoint import (
    CheckpointError,
    ModelMeta,
    build_from_meta,
    optim_from_tensors,
    optim_to_tensors,
    remove_temporaries,
    resume_point,
    save_checkpoint,
)
from lineocr.train.options import FitOptions, InitFrom, PreparedData
from lineocr.train.report import EpochBar, TensorBoard, make_progress, plot_history, print_fit
from lineocr.train.schedule import learning_rate

__all__ = [
    "DIVERGED_STEPS",
    "FitOptions",
    "FitResult",
    "InitFrom",
    "PreparedData",
    "Trainer",
    "Validation",
    "configure_threads",
    "ctc_loss",
    "epoch_loader",
    "fit",
    "seed_everything",
    "too_narrow",
]

# Steps in a row whose gradient is NaN or infinite (each skipped) after which a run is taken
# to have diverged and stops: a few such steps are survivable, a run of them is not.
DIVERGED_STEPS = 50


@dataclass
class FitResult:
    run_dir: Path
    best: dict[str, float]
    epochs: int
    step: int
    stopped: str  # completed | early-stop | time-budget | diverged | interrupted
    elapsed_s: float
    samples_per_s: float
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Validation:
    loss: float
    scores: Scores
    refs: list[str]
    hyps: list[str]
    images: list[np.ndarray]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_threads(config: Config, ctx: distributed.DistContext) -> None:
    threads = config.train.threads or max(1, (os.cpu_count() or 1) // ctx.world_size)
    torch.set_num_threads(threads)


def _autocast(device: str, amp: str) -> contextlib.AbstractContextManager[Any]:
    if amp == "off" or (amp == "auto" and not device.startswith("cuda")):
        return contextlib.nullcontext()
    if amp == "fp16":
        dtype = torch.float16
    elif amp == "bf16" or torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    else:
        dtype = torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


def _to_device(batch: Batch, device: str) -> Batch:
    return replace(
        batch,
        images=batch.images.to(device),
        targets=batch.targets.to(device),
        widths=batch.widths.to(device),
        target_lengths=batch.target_lengths.to(device),
    )


def ctc_loss(logits: torch.Tensor, batch: Batch, loss_fn: nn.CTCLoss) -> torch.Tensor:
    return _ctc_from_log_probs(logits.float().log_softmax(2), batch, loss_fn)


def _ctc_from_log_probs(log_probs: torch.Tensor, batch: Batch, loss_fn: nn.CTCLoss) -> torch.Tensor:
    """CTC loss of (N, T, C) log-probabilities; each line counts only its own frames."""
    input_lengths = output_lengths(batch.widths).clamp(max=log_probs.shape[1])
    return loss_fn(log_probs.transpose(0, 1), batch.targets, input_lengths, batch.target_lengths)


def too_narrow(batch: Batch) -> int:
    """Lines of ``batch`` with fewer frames than their label needs (augmentation that shrinks
    a line can make one): CTC has no alignment for them, their loss is infinite and
    ``zero_infinity`` drops it, so they teach nothing. Counted per epoch and reported."""
    frames = output_lengths(batch.widths).tolist()
    labels = torch.split(batch.targets.cpu(), batch.target_lengths.tolist())
    return sum(n < min_frames(t.numpy()) for n, t in zip(frames, labels, strict=True))


def epoch_loader(dataset: Any, sampler: Any, collate: Any, workers: int) -> DataLoader[Any]:
    """The training loader. Its workers are started afresh each epoch (not persistent): a
    persistent worker keeps the copy of the dataset it was forked with, so the epoch set on
    the dataset after that (augmentation seeds, the epoch's synthetic lines) would never
    reach it, and every epoch would repeat the first one's."""
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=False,
    )


class Trainer:
    """State of one training run; :func:`fit` is the entry point."""

    def __init__(
        self, config: Config, data: PreparedData, run_dir: Path, options: FitOptions
    ) -> None:
        if not data.train and not any(m.per_epoch for m in data.synth):
            raise ValueError("no training samples")
        if not data.val:
            raise ValueError("no validation samples")
        self.config = config
        self.charset = data.charset
        self.train_examples = data.train
        self.val_examples = data.val
        self.run_dir = Path(run_dir)
        self.ctx = distributed.setup(options.device)
        self.device = self.ctx.device
        self.console = options.console or Console(stderr=True)
        self.show_progress = options.show_progress and self.ctx.is_main
        self.tensorboard = options.tensorboard and self.ctx.is_main
        self.meta = ModelMeta(
            charset=data.charset, config=config, name=options.name, data=dict(data.info)
        )
        configure_threads(config, self.ctx)
        seed_everything(config.train.seed)
        if config.train.amp in ("fp16", "bf16") and not self.device.startswith("cuda"):
            self.console.print(
                f"[yellow]amp: {config.train.amp} on the CPU: PyTorch's half-precision CPU "
                "kernels are slower than fp32 on most CPUs (19x measured here for fp16); amp is "
                "for GPUs, and 'auto' (the default) uses full precision on a CPU[/yellow]",
                soft_wrap=True,
            )

        self._build_model(options.init_from)
        self._build_loaders(data.train, data.val, data.synth)
        self._reset_progress()
        stale = remove_temporaries(self.run_dir) if self.ctx.is_main else []
        if stale:
            self.console.print(
                f"[yellow]removed {len(stale)} temporary file(s) an interrupted checkpoint "
                f"write left in {self.run_dir}: {', '.join(p.name for p in stale)}[/yellow]",
                soft_wrap=True,
            )

    def _build_model(self, init_from: InitFrom | None) -> None:
        """The network (from ``init_from``'s weights when fine-tuning), its optimiser, loss,
        gradient scaler and, under torchrun, its DistributedDataParallel wrapper."""
        config = self.config
        self.model = build_from_meta(self.meta)
        if init_from is not None:
            finetune.transfer_weights(init_from.model, init_from.charset, self.model, self.charset)
        if config.train.freeze_backbone:
            finetune.freeze_backbone(self.model)
        self.model.to(self.device)
        self.optimizer = torch.optim.AdamW(
            finetune.trainable_parameters(self.model),
            lr=config.train.lr,
            weight_decay=config.train.weight_decay,
        )
        self.loss_fn = nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
        self.scaler = torch.amp.GradScaler(
            enabled=self.device.startswith("cuda") and config.train.amp == "fp16"
        )
        self.net: nn.Module = self.model
        if self.ctx.enabled:
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.ctx.local_rank] if self.device != "cpu" else None
            )

    def _build_loaders(
        self, train: Sequence[Example], val: Sequence[Example], synth: Sequence[SynthMix]
    ) -> None:
        """Training batches (augmented, bucketed by width, synthetic lines mixed in, this
        rank's share) and validation batches (padded as at inference)."""
        config, charset = self.config, self.charset
        spec = config.preprocess
        augmenter = Augmenter(config.augment) if config.augment.enabled else None
        self.train_set = LineDataset(
            train, spec, augmenter, seed=config.train.seed, synth=SynthLines(synth, charset)
        )
        self.sampler = BucketBatchSampler(
            self.train_set.widths(),
            config.train.batch_size,
            BatchOrder(bucket=config.train.bucket, seed=config.train.seed),
            Shard(self.ctx.rank, self.ctx.world_size),
        )
        self.train_loader = epoch_loader(
            self.train_set,
            self.sampler,
            make_collate(spec, bucket_widths=True),
            config.train.workers,
        )
        val_set = LineDataset(val, spec)
        self.val_loader: DataLoader[Any] = DataLoader(
            val_set,
            collate_fn=make_collate(spec),  # as padded at inference (a fixed set of shapes)
            num_workers=0,
            batch_sampler=BucketBatchSampler(
                val_set.widths(), max(32, config.train.batch_size), BatchOrder(shuffle=False)
            ),
        )

    def _reset_progress(self) -> None:
        """Counters and best-so-far values of a fresh run (resume() restores them)."""
        self.epoch = 0
        self.step = 0
        self.elapsed = 0.0  # see _tick
        self._fit_started = time.perf_counter()
        self._elapsed_before = 0.0
        self.best_cer = float("inf")
        self.best_loss = float("inf")
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history: list[dict[str, float]] = []
        self.samples_seen = 0
        self.epoch_too_narrow = 0  # lines of this epoch that could not be learned (too_narrow)
        self.epoch_skipped_steps = 0  # steps of this epoch skipped: non-finite gradients
        self.nonfinite_run = 0  # such steps in a row (DIVERGED_STEPS of them stop the run)
        self.train_time = 0.0

    # -- resume ---------------------------------------------------------------------------
    def resume(self) -> None:
        """Continue the run in ``run_dir`` from its last checkpoint (see
        :func:`checkpoint.resume_point` for one whose files do not belong together)."""
        point = resume_point(self.run_dir, str(self.device), repair=self.ctx.is_main)
        saved, extra = point.meta, point.meta.extra
        if saved.charset != self.charset:
            raise ValueError(f"{self.run_dir}: the saved charset differs from this data's")
        for note in point.repaired if self.ctx.is_main else []:
            self.console.print(f"[yellow]{note}[/yellow]", soft_wrap=True)
        try:
            self.model.load_state_dict(point.weights)
        except Exception as exc:
            raise CheckpointError(
                f"{self.run_dir}: weights do not match the model: {exc}"
            ) from None
        if point.optimizer is not None:
            optim_from_tensors(self.optimizer, point.optimizer, extra["optim_param_groups"])
        self.epoch, self.step = saved.epoch, saved.step
        self.history = saved.history
        self.elapsed = float(extra.get("elapsed_s", 0.0))
        if not point.best_removed:
            self.best_cer = float(extra.get("best_cer", float("inf")))
            self.best_loss = float(extra.get("best_val_loss", float("inf")))
            self.best_epoch = int(extra.get("best_epoch", 0))
        self.bad_epochs = int(extra.get("bad_epochs", 0))

    # -- one epoch --------------------------------------------------------------------------
    def _progress_fraction(self, total_steps: int) -> float:
        frac = self.step / max(1, total_steps)
        budget = self.config.train.max_minutes
        if budget:
            frac = max(frac, self.elapsed / (budget * 60.0))
        return frac

    def _tick(self, *, every_rank: bool = True) -> None:
        """``elapsed``: the run's wall time, validation included, summed over resumes. The
        schedule and ``max_minutes`` both read it, so a resumed run finishes the schedule it
        began and stops when the budget of the whole run is spent. Under DDP every rank
        takes rank 0's clock at each step (``every_rank``), so all ranks use one learning
        rate and run out of time at the same step."""
        self.elapsed = self._elapsed_before + time.perf_counter() - self._fit_started
        if every_rank:
            self.elapsed = distributed.broadcast_value(self.ctx, self.elapsed)

    def _train_epoch(self, progress: Progress | None) -> tuple[float, bool]:
        """One pass over the training batches: (the mean loss over the ranks, whether the
        time budget ran out)."""
        cfg = self.config.train
        self.net.train()
        finetune.keep_frozen_in_eval(self.model)
        self.sampler.set_epoch(self.epoch)
        self.train_set.set_epoch(self.epoch)
        if self.train_set.synth:  # this epoch's synthetic lines differ: re-bucket
            self.sampler.widths = np.asarray(self.train_set.widths())
        steps_per_epoch = len(self.sampler)
        total_steps = steps_per_epoch * cfg.epochs
        bar = EpochBar(progress, self.console, self.epoch + 1, cfg.epochs, steps_per_epoch)
        total, count, out_of_time, narrow, skipped = 0.0, 0, False, 0, 0
        epoch_start = time.perf_counter()
        for cpu_batch in self.train_loader:
            narrow += too_narrow(cpu_batch)
            value, lr, applied = self._step(cpu_batch, total_steps)
            skipped += not applied
            if math.isfinite(value):
                total += value
                count += 1
            self.samples_seen += len(cpu_batch.indices) * self.ctx.world_size
            self._tick()
            # no finite loss yet this epoch: NaN
            bar.advance(total / count if count else math.nan, lr, count, self.elapsed)
            if cfg.max_minutes and self.elapsed > cfg.max_minutes * 60:
                out_of_time = True
                break
            if self.diverged:
                break
        self.train_time += time.perf_counter() - epoch_start
        self.epoch_too_narrow = round(
            distributed.mean_across(self.ctx, narrow) * self.ctx.world_size
        )
        self.epoch_skipped_steps = skipped
        bar.close()
        mean = total / count if count else float("nan")
        return distributed.mean_across(self.ctx, mean), out_of_time

    def _step(self, cpu_batch: Batch, total_steps: int) -> tuple[float, float, bool]:
        """One optimiser step on a batch: (its loss, the learning rate, whether the update
        was applied). A NaN or infinite gradient would spoil every weight: that update is
        skipped (the norm is of the all-reduced gradients, the same on every rank)."""
        cfg = self.config.train
        lr = learning_rate(
            self._progress_fraction(total_steps),
            base_lr=cfg.lr,
            schedule=cfg.schedule,
            warmup=cfg.warmup,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = _to_device(cpu_batch, self.device)
        with _autocast(self.device, cfg.amp):
            logits = self.net(batch.images)
        loss = ctc_loss(logits, batch, self.loss_fn)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        norm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        applied = bool(torch.isfinite(norm))
        if applied:
            self.scaler.step(self.optimizer)
            self.nonfinite_run = 0
        else:
            self.nonfinite_run += 1
        self.scaler.update()
        self.step += 1
        return float(loss.detach()), lr, applied

    @property
    def diverged(self) -> bool:
        return self.nonfinite_run >= DIVERGED_STEPS

    # -- checkpoints ---------------------------------------------------------------------
    def _save(self, tag: str, with_optim: bool) -> None:
        self.meta.epoch, self.meta.step = self.epoch, self.step
        self.meta.history = self.history
        tensors, groups = optim_to_tensors(self.optimizer)
        self.meta.extra.update(
            elapsed_s=self.elapsed,
            best_cer=self.best_cer,
            best_val_loss=self.best_loss,
            best_epoch=self.best_epoch,
            bad_epochs=self.bad_epochs,
            optim_param_groups=groups if with_optim else [],
        )
        save_checkpoint(self.run_dir, tag, self.model, self.meta, tensors if with_optim else None)

    # -- the loop ------------------------------------------------------------------------
    def fit(self) -> FitResult:
        cfg = self.config.train
        main = self.ctx.is_main
        tb = TensorBoard(self.run_dir / "tb", enabled=self.tensorboard)
        stopped = "completed"
        self._fit_started, self._elapsed_before = time.perf_counter(), self.elapsed
        progress = make_progress(self.console) if self.show_progress else None
        try:
            with progress or contextlib.nullcontext():
                while self.epoch < cfg.epochs:
                    train_loss, out_of_time = self._train_epoch(progress)
                    self.epoch += 1
                    stop = self._end_epoch(train_loss, tb) if main else False
                    self._tick()
                    if self.diverged:
                        stop, stopped = True, "diverged"
                        if main:
                            self._say_diverged()
                    elif out_of_time:
                        stop, stopped = True, "time-budget"
                    elif stop:
                        stopped = "early-stop"
                    if distributed.broadcast_flag(self.ctx, stop):
                        break
        except KeyboardInterrupt:
            stopped = "interrupted"
            if main:
                self._save("last", with_optim=True)
                self._say_interrupted()
        finally:
            tb.close()
        result = FitResult(
            run_dir=self.run_dir,
            best=self._best_metrics(),
            epochs=self.epoch,
            step=self.step,
            stopped=stopped,
            elapsed_s=self.elapsed,
            samples_per_s=self.samples_seen / max(1e-9, self.train_time),
            history=self.history,
        )
        if main:
            print_fit(self.console, result)
        # Drop the DDP wrapper (its reducer holds the process group) so the group is freed
        # here, not at interpreter exit where gloo's threads can abort the process; the
        # wrapper sits in reference cycles (its hooks), so only a collection frees it now
        # (docs/changelog.md).
        self.net = self.model
        gc.collect()
        distributed.teardown(self.ctx)
        return result

    def _best_metrics(self) -> dict[str, float]:
        for h in self.history:
            if h["epoch"] == self.best_epoch:
                return {k: v for k, v in h.items() if k.startswith("val_")} | {
                    "epoch": float(self.best_epoch)
                }
        return {}

    def _end_epoch(self, train_loss: float, tb: TensorBoard) -> bool:
        cfg = self.config.train
        val = self._validate()
        self._tick(every_rank=False)  # rank 0 alone validates
        s = val.scores
        record = {
            "epoch": float(self.epoch),
            "step": float(self.step),
            "train_loss": train_loss,
            "val_loss": val.loss,
            "val_cer": s.cer,
            "val_wer": s.wer,
            "val_exact_match": s.exact_match,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "elapsed_s": self.elapsed,
            "train_too_narrow": float(self.epoch_too_narrow),
            "train_skipped_steps": float(self.epoch_skipped_steps),
        }
        self.history.append(record)
        improved = self._keep_best(val, cfg.min_delta)
        self._save("last", with_optim=True)
        self._log_epoch(record, val, tb)
        self._print_epoch(train_loss, val, improved)
        return self.bad_epochs >= cfg.patience

    def _validate(self) -> Validation:
        """Loss and greedy-decoded scores on the validation lines, with the images of the
        first ``train.log_images`` of them (for TensorBoard)."""
        model, charset, examples = self.model, self.charset, self.val_examples
        device, amp = self.device, self.config.train.amp
        keep_images = self.config.train.log_images
        model.eval()
        refs: list[str] = []
        hyps: list[str] = []
        images: list[np.ndarray] = []
        total_loss, batches = 0.0, 0
        with torch.no_grad():
            for batch in self.val_loader:
                batch_dev = _to_device(batch, device)
                with _autocast(device, amp):
                    logits = model(batch_dev.images)
                log_probs = logits.float().log_softmax(2)
                total_loss += float(_ctc_from_log_probs(log_probs, batch_dev, self.loss_fn))
                batches += 1
                lengths = output_lengths(batch.widths).clamp(max=log_probs.shape[1]).numpy()
                decoded = greedy_batch(log_probs.cpu().numpy(), lengths)
                for row, (idx, dec) in enumerate(zip(batch.indices, decoded, strict=True)):
                    refs.append(charset.normalize(examples[idx].text))
                    hyps.append(charset.tidy(charset.decode(dec.indices)))
                    if len(images) < keep_images:
                        images.append(batch.images[row, 0, :, : int(batch.widths[row])].numpy())
        scores = Scores.compute(refs, hyps)
        return Validation(total_loss / max(1, batches), scores, refs, hyps, images)

    def _keep_best(self, val: Validation, min_delta: float) -> bool:
        """Save ``best`` when validation improved (CER down by more than ``min_delta``, or
        equal CER at a lower loss); count the epochs without improvement otherwise."""
        s = val.scores
        improved = s.cer < self.best_cer - min_delta or (
            s.cer <= self.best_cer and val.loss < self.best_loss
        )
        if improved:
            self.best_cer, self.best_loss, self.best_epoch = s.cer, val.loss, self.epoch
            self.bad_epochs = 0
            self.meta.metrics = {
                "val_cer": s.cer,
                "val_wer": s.wer,
                "val_exact_match": s.exact_match,
                "val_loss": val.loss,
                "epoch": float(self.epoch),
            }
            self._save("best", with_optim=False)
        else:
            self.bad_epochs += 1
        return improved

    def _log_epoch(self, record: dict[str, float], val: Validation, tb: TensorBoard) -> None:
        """The epoch's scalars and sample images to TensorBoard; the history plot."""
        s = val.scores
        train_loss = record["train_loss"]
        tb.scalars(
            {
                "train/loss": train_loss,
                "val/loss": val.loss,
                "val/cer": s.cer,
                "val/wer": s.wer,
                "val/exact_match": s.exact_match,
                "train/lr": record["lr"],
                "train/too_narrow_lines": record["train_too_narrow"],
                "train/skipped_steps": record["train_skipped_steps"],
            },
            self.step,
        )
        tb.samples(val.images, val.refs[: len(val.images)], val.hyps[: len(val.images)], self.step)
        plot_history(self.history, self.run_dir / "history.png")

    def _print_epoch(self, train_loss: float, val: Validation, improved: bool) -> None:
        """One console line per epoch (``*``: a new best), and what went unlearned."""
        s = val.scores
        mark = " *" if improved else ""
        self.console.print(
            f"epoch {self.epoch:3d}  loss {train_loss:.4f}  val loss {val.loss:.4f}  "
            f"CER {100 * s.cer:6.2f}%  WER {100 * s.wer:6.2f}%  "
            f"exact {100 * s.exact_match:6.2f}%  [{self.elapsed:5.0f}s]{mark}",
            soft_wrap=True,  # one line per epoch, also in 80-column logs
        )
        if self.epoch_too_narrow:
            self.console.print(
                f"[yellow]  {self.epoch_too_narrow} training lines were too narrow for their "
                "labels after augmentation (CTC cannot align them: not learned); lower "
                "augment.scale, or check the data's widths[/yellow]",
                soft_wrap=True,
            )
        if self.epoch_skipped_steps and not self.diverged:
            self.console.print(
                f"[yellow]  {self.epoch_skipped_steps} steps skipped: their loss or gradient "
                "was not finite (NaN or inf)[/yellow]",
                soft_wrap=True,
            )

    def _say_interrupted(self) -> None:
        """Where the run was saved and how to continue it (its data options are saved with
        it when lineocr.train.run started it)."""
        again = (
            f"lineocr train --resume {self.run_dir}"
            if "options" in self.meta.data
            else f"lineocr train --resume --out {self.run_dir} and the same --data / --synth "
            "options"
        )
        self.console.print(
            f"[yellow]interrupted: saved {self.run_dir / 'last.json'}; continue with "
            f"{again}[/yellow]"
        )

    def _say_diverged(self) -> None:
        cfg = self.config.train
        kept = (
            f"the best checkpoint (epoch {self.best_epoch}) is kept"
            if self.best_epoch
            else "no epoch was good enough to keep"
        )
        self.console.print(
            f"[red]training diverged: {self.nonfinite_run} steps in a row had a NaN or infinite "
            f"loss or gradient, so the run stopped; {kept}. Lower the learning rate (--lr, now "
            f"{cfg.lr:g}) or train.grad_clip (now {cfg.grad_clip:g})"
            + (f", or set train.amp: off (now {cfg.amp})" if cfg.amp != "off" else "")
            + "[/red]",
            soft_wrap=True,
        )


def fit(
    config: Config,
    data: PreparedData,
    run_dir: str | Path,
    options: FitOptions = FitOptions(),  # noqa: B008 - frozen, never changed
) -> FitResult:
    """Train on ``data.train`` (plus fresh ``data.synth`` lines each epoch), validate on
    ``data.val`` every epoch, write checkpoints to ``run_dir``."""
    trainer = Trainer(config, data, Path(run_dir), options)
    if options.resume:
        trainer.resume()
    return trainer.fit()
