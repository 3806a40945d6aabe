"""Training telemetry: TensorBoard events, the history plot, console tables."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from lineocr.train.loop import FitResult


class TensorBoard:
    """A thin wrapper so a missing tensorboard package degrades to no logging, not a crash."""

    def __init__(self, log_dir: Path, enabled: bool = True) -> None:
        self.writer: Any = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def samples(
        self, images: Sequence[np.ndarray], refs: Sequence[str], hyps: Sequence[str], step: int
    ) -> None:
        """Validation lines with their label and prediction."""
        if self.writer is None:
            return
        rows = ["| # | label | prediction |", "|---|---|---|"]
        for i, (image, ref, hyp) in enumerate(zip(images, refs, hyps, strict=True)):
            self.writer.add_image(f"val/sample_{i}", image[None, :, :], step, dataformats="CHW")
            mark = "" if ref == hyp else " ✗"
            rows.append(f"| {i} | {ref} | {hyp}{mark} |")
        self.writer.add_text("val/predictions", "\n".join(rows), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def plot_history(history: Sequence[dict[str, float]], path: Path) -> None:
    """history.png: training and validation loss, validation CER and exact match."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_cer) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    if "val_loss" in history[0]:
        ax_loss.plot(epochs, [h["val_loss"] for h in history], label="validation")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("CTC loss")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_cer.plot(epochs, [100 * h["val_cer"] for h in history], label="CER %")
    ax_cer.plot(epochs, [100 * h["val_exact_match"] for h in history], label="exact match %")
    ax_cer.set_xlabel("epoch")
    ax_cer.set_ylim(0, 100)
    ax_cer.legend()
    ax_cer.grid(alpha=0.3)
    fig.suptitle("lineocr training history")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary_table(rows: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


def print_table(console: Console, rows: dict[str, Any], title: str) -> None:
    console.print(summary_table(rows, title))


def make_progress(console: Console) -> Progress:
    """The live progress display of a run: one bar per epoch, with its loss and rate."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[loss]}"),
        console=console,
        transient=True,
    )


class EpochBar:
    """One epoch's bar on ``progress`` (none: nothing is shown). Without a live terminal
    (a log file) a plain line a minute is printed instead of the bar's updates."""

    def __init__(
        self, progress: Progress | None, console: Console, epoch: int, epochs: int, steps: int
    ) -> None:
        self.progress, self.console = progress, console
        self.epoch, self.steps = epoch, steps
        self.task = (
            progress.add_task(f"epoch {epoch}/{epochs}", total=steps, loss="")
            if progress is not None
            else None
        )
        self.last_line = time.perf_counter()

    def advance(self, mean: float, lr: float, count: int, elapsed: float) -> None:
        """One step done: ``mean`` loss so far (``count`` finite losses), learning rate
        ``lr``, ``elapsed`` seconds of the run."""
        if self.progress is None or self.task is None:
            return
        self.progress.update(self.task, advance=1, loss=f"loss {mean:.3f} lr {lr:.1e}")
        if not self.console.is_terminal and time.perf_counter() - self.last_line > 60:
            self.last_line = time.perf_counter()
            self.console.print(
                f"  epoch {self.epoch} step {count}/{self.steps}  "
                f"loss {mean:.4f}  lr {lr:.2e}  [{elapsed:5.0f}s]",
                soft_wrap=True,
            )

    def close(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.remove_task(self.task)


def print_fit(console: Console, result: FitResult) -> None:
    """The table that ends a run: why it stopped, its best epoch's scores, its speed."""
    best = result.best
    print_table(
        console,
        {
            "stopped": result.stopped,
            "epochs": result.epochs,
            "steps": result.step,
            "best epoch": int(best.get("epoch", 0)),
            "val CER": f"{100 * best.get('val_cer', float('nan')):.2f} %",
            "val WER": f"{100 * best.get('val_wer', float('nan')):.2f} %",
            "val exact match": f"{100 * best.get('val_exact_match', float('nan')):.2f} %",
            "train time": f"{result.elapsed_s:.0f} s",
            "throughput": f"{result.samples_per_s:.0f} samples/s",
            "run directory": str(result.run_dir),
        },
        title="training summary",
    )
