"""`lineocr train-detector`: train a text-line detector on pages with line ground truth
(PAGE-XML or ALTO; ``lineocr synth --pages`` writes such pages). Needs PyTorch (the train
extra), imported inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lineocr.cli import app, fail

# typer needs Optional[...] on Python 3.10
# ruff: noqa: UP045


@app.command("train-detector")
def train_detector(  # noqa: PLR0913 - a Typer command: one parameter per option
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Folder (or XML file) of pages with PAGE-XML or ALTO line ground truth, "
            "the images beside them (repeatable).",
        ),
    ],
    val: Annotated[
        Optional[list[Path]],
        typer.Option(help="Validation pages (as --data); best.safetensors is chosen on them."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path(
        "runs/detector"
    ),
    epochs: Annotated[int, typer.Option(help="Epochs (of --steps-per-epoch batches).")] = 20,
    steps_per_epoch: Annotated[int, typer.Option(help="Batches per epoch.")] = 200,
    batch_size: Annotated[int, typer.Option(help="Crops per batch.")] = 8,
    crop: Annotated[int, typer.Option(help="Crop side in pixels (a multiple of 16).")] = 256,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 2e-3,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on from --out's last checkpoint.")
    ] = False,
    init_from: Annotated[
        Optional[str],
        typer.Option(help="Start from a detector's weights (a run directory or .safetensors)."),
    ] = None,
    max_minutes: Annotated[
        Optional[float], typer.Option(help="Stop (saving) after this many minutes.")
    ] = None,
    val_limit: Annotated[
        int,
        typer.Option(
            "--val-pages", help="Validation pages read each epoch (the first N of --val)."
        ),
    ] = 60,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for PyTorch.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a run already in --out.")
    ] = False,
) -> None:
    """Train a text-line detector (docs/pages.md, Learned detection)."""
    try:
        import torch

        from lineocr.detect.data import load_pages
        from lineocr.detect.train import DetectorTrainOptions, fit
        from lineocr.train.checkpoint import CheckpointError
    except ImportError as exc:
        raise fail(f"train-detector needs PyTorch: pip install 'lineocr[train]' ({exc})") from None
    from lineocr.data.page_truth import TruthError

    if crop % 16 or crop < 64:
        raise fail("--crop must be a multiple of 16, at least 64")
    if (out / "last.json").exists() and not (resume or overwrite):
        raise fail(f"{out} holds a run: --resume to go on, --overwrite to start again")
    if resume and not (out / "last.json").exists():
        raise fail(f"--resume: {out} holds no run (no last.json)")
    if threads:
        torch.set_num_threads(threads)
    errors: list[str] = []
    try:
        train_pages = load_pages(data, errors=errors)
        val_pages = load_pages(val or [], errors=errors)
    except TruthError as exc:
        raise fail(str(exc)) from None
    for message in errors:
        typer.echo(f"skipped: {message}", err=True)
    if not train_pages:
        raise fail("no pages with line ground truth in --data")
    lines = sum(len(p.polygons) for p in train_pages)
    typer.echo(f"{len(train_pages)} training pages ({lines} lines), {len(val_pages)} validation")
    options = DetectorTrainOptions(
        out=out,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        crop=crop,
        lr=lr,
        seed=seed,
        max_minutes=max_minutes,
        resume=resume,
        init_from=init_from,
        val_pages=val_limit,
    )
    summary = {
        "train": {"sources": [str(p) for p in data], "pages": len(train_pages), "lines": lines},
        "val": {"sources": [str(p) for p in val or []], "pages": len(val_pages)},
    }
    try:
        result = fit(options, train_pages, val_pages, say=typer.echo, data_summary=summary)
    except (CheckpointError, ValueError) as exc:
        raise fail(str(exc)) from None
    best = result.best
    if best:
        typer.echo(
            f"best: epoch {best.get('epoch')}, recall {best.get('val_recall', 0):.2%}, "
            f"precision {best.get('val_precision', 0):.2%} ({out / 'best.safetensors'})"
        )
    if result.stopped == "interrupted":
        raise typer.Exit(130)
