"""`lineocr train` and `lineocr eval`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lineocr.cli import app, fail
from lineocr.commands.lm import LengthBonusOpt, LmOpt, LmWeightOpt, lm_decode_options
from lineocr.commands.read import (
    BeamWidthOpt,
    DecoderName,
    DecoderOpt,
    LexiconOpt,
    PatternOpt,
    decode_options,
    load_recognizer,
)

# typer needs typing.Optional on Python 3.10.
# ruff: noqa: UP045

FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", help="sidecar|filename|tsv|csv|pixel-csv|idx (detected if omitted)."),
]
StripOpt = Annotated[
    bool,
    typer.Option(
        "--strip-suffix", help="filename labels: drop a trailing _N (3bnyf_2.png -> 3bnyf)."
    ),
]
RegexOpt = Annotated[
    Optional[str],
    typer.Option(
        "--label-regex",
        help="filename labels: regex searched in the file name (without extension); the "
        "label is its group named 'label', else its first group, else the whole match.",
    ),
]
LabelMapOpt = Annotated[
    Optional[str],
    typer.Option(
        "--label-map",
        help="pixel-csv / idx class numbers to text: digits, az (0-25 -> A-Z), letters "
        "(1-26 -> A-Z), emnist-balanced, emnist-bymerge, emnist-byclass, ranges "
        "('0-25:A-Z'), single labels ('0=zero,1=one') or an EMNIST mapping file "
        "(docs/formats.md).",
    ),
]
TransposeOpt = Annotated[
    bool, typer.Option("--transpose", help="idx: transpose images (EMNIST stores them transposed).")
]


def _reader(
    fmt: str | None,
    strip_suffix: bool,
    label_regex: str | None,
    label_map: str | None,
    transpose: bool,
) -> Any:
    from lineocr.train.options import ReaderOptions

    return ReaderOptions(fmt, strip_suffix, label_regex, label_map, transpose)


DEFAULT_OUT = Path("runs/model")


@app.command()
def train(  # noqa: PLR0913 - a Typer command: one parameter per option
    run: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="RUN",
            help="With --resume: the run directory to continue (as --out).",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        Optional[list[Path]],
        typer.Option("--data", help="Training data (dir or manifest); repeatable."),
    ] = None,
    synth: Annotated[
        Optional[list[str]],
        typer.Option(
            "--synth",
            help="Mix in synthetic lines: LANG[:RATIO][:STYLE][:KEY=VALUE...], e.g. arabic:0.5 or "
            "latin:0.4:mix:loose=0.2 (repeatable; RATIO: with --data the spec's share of each "
            "epoch, without a weight; see docs/synth.md).",
        ),
    ] = None,
    synth_per_epoch: Annotated[
        Optional[int],
        typer.Option(
            help="Synthetic lines per epoch when there is no --data (default 20000; with "
            "--data the --synth ratios are shares of the epoch and this is not used).",
            min=1,
        ),
    ] = None,
    synth_val: Annotated[
        Optional[int],
        typer.Option(
            help="Validation lines per --synth spec (held-out fonts) when there is neither "
            "--data nor --val (default 500).",
            min=1,
        ),
    ] = None,
    val: Annotated[
        Optional[list[Path]],
        typer.Option("--val", help="Validation data; default: a --val-split of --data."),
    ] = None,
    val_split: Annotated[Optional[float], typer.Option(help="Fraction held out.")] = None,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="YAML config (see docs/training.md).")
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(
            help="Model size: tiny|small|base|fast|fast1 (fast: small with about half the "
            "convolution work; fast1: fast with one LSTM layer; docs/training.md). With "
            "--init-from: another preset than the weights' (matching layers are copied)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = DEFAULT_OUT,
    epochs: Annotated[Optional[int], typer.Option(help="Maximum epochs.", min=1)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size.", min=1)] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate.")] = None,
    height: Annotated[Optional[int], typer.Option(help="Input height (multiple of 16).")] = None,
    max_minutes: Annotated[
        Optional[float],
        typer.Option(help="Time budget; the schedule completes within it.", min=0.01),
    ] = None,
    alphabet: Annotated[
        Optional[str], typer.Option(help="Fixed character set (default: from the training labels).")
    ] = None,
    init_from: Annotated[
        Optional[str],
        typer.Option(
            "--init-from", help="Fine-tune from a run directory, checkpoint or bundled model."
        ),
    ] = None,
    freeze_backbone: Annotated[
        bool,
        typer.Option(
            "--freeze-backbone", help="Fine-tuning: train only the LSTM and output layers."
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a run (lineocr train --resume RUN, or --resume --out RUN) as it was "
            "planned: its own data options and epochs unless given again.",
        ),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace the run already in --out (default: refuse)."),
    ] = False,
    skip_unknown: Annotated[
        bool,
        typer.Option("--skip-unknown", help="Skip lines with characters outside a fixed charset."),
    ] = False,
    no_augment: Annotated[
        bool, typer.Option("--no-augment", help="Turn augmentation off.")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or mps.")] = "cpu",
    seed: Annotated[Optional[int], typer.Option(help="Random seed.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="DataLoader worker processes.")] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(help="CPU threads for training (default: all cores).", min=1),
    ] = None,
    fmt: FormatOpt = None,
    strip_suffix: StripOpt = False,
    label_regex: RegexOpt = None,
    label_map: LabelMapOpt = None,
    transpose: TransposeOpt = False,
) -> None:
    """Train a CRNN+CTC recogniser on labelled line images."""
    from lineocr.config import Config, load_config_and_keys, override
    from lineocr.models.spec import PRESETS
    from lineocr.train.options import DataOptions, SynthOptions, TrainOptions
    from lineocr.train.run import train as run_training

    out = _run_dir(run, out, resume)
    _check_device(device)
    _warn_unused_synth_options(bool(data), bool(val), synth_per_epoch, synth_val)
    with _errors_as_one_line():
        cfg, file_keys = load_config_and_keys(config) if config else (Config(), [])
        changes: dict[str, Any] = {
            "model__preset": preset,
            "train__epochs": epochs,
            "train__batch_size": batch_size,
            "train__lr": lr,
            "train__max_minutes": max_minutes,
            "train__seed": seed,
            "train__workers": workers,
            "train__threads": threads,
            "train__val_split": val_split,
            "preprocess__height": height,
        }
        if freeze_backbone:
            changes["train__freeze_backbone"] = True
        if no_augment:
            changes["augment__enabled"] = False
        cfg = override(cfg, **{k: v for k, v in changes.items() if v is not None})
        if cfg.model.preset not in PRESETS:
            raise fail(f"unknown preset {cfg.model.preset!r}; choose {', '.join(PRESETS)}")
        if resume and not (out / "last.json").is_file():
            raise fail(f"{out}: nothing to resume (no last.json)")
        if not resume:
            _prepare_out(out, overwrite, init_from)
        data_options = DataOptions(
            data=tuple(data or ()),
            val=tuple(val or ()),
            reader=_reader(fmt, strip_suffix, label_regex, label_map, transpose),
            synth=SynthOptions(
                tuple(synth or ()),
                synth_per_epoch or SynthOptions.per_epoch,
                synth_val or SynthOptions.val,
            ),
            skip_unknown=skip_unknown,
        )
        options = TrainOptions(
            data=data_options,
            alphabet=alphabet,
            init_from=init_from,
            preset=cfg.model.preset if preset is not None else None,
            resume=resume,
            overwrite=overwrite,
            asked=(
                *file_keys,
                *(k.replace("__", ".") for k, v in changes.items() if v is not None),
            ),
            device=device,
            name=out.name,
        )
        result = run_training(cfg, out, options)
    if result.stopped == "interrupted":
        raise typer.Exit(130)
    if result.stopped == "diverged":  # said by the training loop
        raise typer.Exit(1)


def _run_dir(run: Path | None, out: Path, resume: bool) -> Path:
    """The run directory: ``--out``, or the one ``--resume`` names (not another --out)."""
    if run is None:
        return out
    if not resume:
        raise fail(
            f"unexpected argument {run}: only --resume takes a run directory "
            "(lineocr train --resume RUN); training data is given with --data"
        )
    if out not in (DEFAULT_OUT, run):
        raise fail(f"--resume {run} and --out {out} name two run directories: give one")
    return run


@contextmanager
def _errors_as_one_line() -> Iterator[None]:
    """The errors a training meets in its data, config, checkpoints or synthesis, as one
    line and exit status 2."""
    from lineocr.charset import CharsetError
    from lineocr.config import ConfigError
    from lineocr.data.sources import DatasetError
    from lineocr.data.synth import SynthError
    from lineocr.images import ImageError
    from lineocr.preprocess import PreprocessError
    from lineocr.train.checkpoint import CheckpointError
    from lineocr.zoo import ModelNotFoundError

    try:
        yield
    except (
        SynthError,
        ConfigError,
        DatasetError,
        CharsetError,
        ImageError,
        PreprocessError,
        CheckpointError,
        ModelNotFoundError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from None


def _warn_unused_synth_options(
    data: bool, val: bool, synth_per_epoch: int | None, synth_val: int | None
) -> None:
    """A warning on stderr for each option given that the run will not use (rather than
    ignore it silently): with --data an epoch's size is set by the real lines, the --synth
    ratios being shares of it; validation lines are synthetic only without --data and --val.
    Said once, by the first process of a torchrun launch."""
    from lineocr.train.distributed import is_main_process

    if not is_main_process():
        return
    if synth_per_epoch is not None and data:
        typer.echo(
            "warning: --synth-per-epoch is not used with --data: the real lines set the size "
            "of an epoch and each --synth RATIO is its synthetic share (docs/synth.md)",
            err=True,
        )
    if synth_val is not None and (data or val):
        typer.echo(
            f"warning: --synth-val is not used with {'--data' if data else '--val'}: "
            "validation is " + ("--val or a --val-split of --data" if data else "the --val lines"),
            err=True,
        )


def _prepare_out(out: Path, overwrite: bool, init_from: str | None) -> None:
    """The run directory, checked before any data is read: a run already there is not
    replaced unless ``--overwrite`` (its files and TensorBoard events are removed once the
    new run's data is ready, just before it trains: a run that fails to start loses
    nothing); a path that cannot be a directory is an error naming it."""
    from lineocr.train.checkpoint import RUN_FILES

    existing = [name for name in RUN_FILES if (out / name).is_file()]
    if existing and init_from is not None:
        source = Path(init_from).resolve()
        if out.resolve() in (source, source.parent):
            raise fail(
                f"--init-from {init_from} is the run in --out {out}: fine-tuning would "
                "replace the weights it starts from; give a new --out"
            )
    if existing and not overwrite:
        raise fail(
            f"{out} holds a training run ({', '.join(existing)}): continue it with --resume, "
            "give a new --out, or pass --overwrite to replace it"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(
            f"--out {out}: cannot use it as the run directory: {exc.strerror or exc}"
        ) from None


def _check_device(device: str) -> None:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and one this machine has."""
    import re

    import torch

    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", device):
        raise fail(f"--device {device!r}: expected cpu, cuda, cuda:N or mps")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise fail(
                f"--device {device}: CUDA is not available here (a CPU build of PyTorch, or no "
                "GPU visible); train with --device cpu"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise fail(f"--device {device}: only {torch.cuda.device_count()} GPU(s) here")
    if device == "mps" and not torch.backends.mps.is_available():
        raise fail("--device mps: MPS is not available here; train with --device cpu")


@app.command("eval")
def evaluate_command(  # noqa: PLR0913 - a Typer command: one parameter per option
    model: Annotated[
        str, typer.Option("--model", "-m", help="Bundled name, .onnx file or run directory.")
    ],
    data: Annotated[list[Path], typer.Option("--data", help="Labelled data; repeatable.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    worst: Annotated[int, typer.Option(help="Show the N worst lines.", min=0)] = 10,
    batch_size: Annotated[int, typer.Option(help="Lines per batch.", min=1)] = 64,
    threads: Annotated[
        Optional[int],
        typer.Option(help="CPU threads to read with (default: all cores).", min=1),
    ] = None,
    decoder: DecoderOpt = DecoderName.greedy,
    beam_width: BeamWidthOpt = None,
    lexicon: LexiconOpt = None,
    pattern: PatternOpt = None,
    lm: LmOpt = None,
    lm_weight: LmWeightOpt = None,
    length_bonus: LengthBonusOpt = None,
    tta: Annotated[
        bool,
        typer.Option("--tta", help="Read with test-time augmentation, as read --tta."),
    ] = False,
    fmt: FormatOpt = None,
    strip_suffix: StripOpt = False,
    label_regex: RegexOpt = None,
    label_map: LabelMapOpt = None,
    transpose: TransposeOpt = False,
) -> None:
    """Measure CER, WER, exact match and calibration on labelled data."""
    from rich.console import Console

    from lineocr.data.sources import DatasetError
    from lineocr.evaluate import evaluate

    reader = _reader(fmt, strip_suffix, label_regex, label_map, transpose)
    lm_options = lm_decode_options(lm, lm_weight, length_bonus)
    options = decode_options(decoder, beam_width, lexicon, pattern, lm_options)
    unusable: list[tuple[str, str]] = []  # sources with no usable line: reported, not fatal
    rec = load_recognizer(model, 1, threads, options, lm)  # bad options fail before reading
    try:
        datasets = reader.read(data, unusable)
    except (DatasetError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    samples = [s for dataset in datasets for s in dataset.samples]
    unwritable = _unwritable_characters(samples, rec.charset)

    def predict(images: list[Any]) -> list[tuple[str, float]]:
        preds = rec.read_batch(images, batch_size=batch_size, tta=tta, **options)
        return [(p.text, p.confidence) for p in preds]

    report = evaluate(samples, predict, rec.charset.normalize, batch_size=batch_size, worst=worst)
    # Missing labels, rows naming no image...: found by the reader, reported with the images
    # that would not decode.
    report.skipped[:0] = unusable + [
        (s.source, s.reason) for dataset in datasets for s in dataset.skipped
    ]
    if report.scores.n == 0:
        reasons = "; ".join(f"{src}: {why}" for src, why in report.skipped[:3])
        raise fail(f"nothing to score: no readable labelled line ({reasons or 'no samples'})")
    if as_json:
        typer.echo(
            json.dumps(report.to_dict() | {"unwritable_characters": unwritable}, ensure_ascii=False)
        )
    else:
        _print_report(report, model, Console())
        if unwritable:
            shown = ", ".join(f"{c!r} ({n})" for c, n in list(unwritable.items())[:10])
            typer.echo(
                f"warning: {sum(unwritable.values())} label character(s) this model cannot "
                f"write, counted as errors: {shown}",
                err=True,
            )
    if report.skipped:  # as `lineocr read`: the report stands, but not every line was read
        raise typer.Exit(1)


def _unwritable_characters(samples: list[Any], charset: Any) -> dict[str, int]:
    """Characters of the (normalised) labels outside the model's charset, most common
    first: the model can never read them, so each is an error in the scores."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for sample in samples:
        counts.update(c for c in charset.normalize_label(sample.text) if c not in charset)
    counts.pop(" ", None)
    return dict(counts.most_common())


def _print_report(report: Any, model: str, console: Any) -> None:
    from rich.table import Table

    s = report.scores
    console.print(
        f"[bold]{model}[/bold] on {s.n} lines"
        + (f" ({len(report.skipped)} skipped: listed below)" if report.skipped else "")
    )
    table = Table(show_header=True)
    for col in ("CER", "WER", "exact match", "ECE", "lines/s"):
        table.add_column(col, justify="right")
    lps = s.n / report.elapsed_s if report.elapsed_s else 0.0
    table.add_row(
        f"{100 * s.cer:.2f} %",
        f"{100 * s.wer:.2f} %",
        f"{100 * s.exact_match:.2f} %",
        f"{report.ece:.3f}",
        f"{lps:.0f}",
    )
    console.print(table)
    if report.worst:
        worst = Table(title="worst lines", title_justify="left")
        for col in ("source", "label", "prediction", "CER"):
            worst.add_column(col)
        for r in report.worst:
            worst.add_row(r.source, r.reference, r.prediction, f"{100 * r.cer:.0f} %")
        console.print(worst)
    if report.confusions:
        conf = Table(title="most confused (label -> prediction)", title_justify="left")
        for col in ("label", "prediction", "count"):
            conf.add_column(col)
        for ref, hyp, count in report.confusions:
            conf.add_row(repr(ref), repr(hyp), str(count))
        console.print(conf)
    for source, reason in report.skipped[:10]:
        console.print(f"[yellow]skipped {source}: {reason}[/yellow]")
    if len(report.skipped) > 10:
        console.print(f"[yellow]... and {len(report.skipped) - 10} more[/yellow]")
