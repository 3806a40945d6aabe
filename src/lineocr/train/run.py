"""From dataset paths to a trained run directory: what ``lineocr train`` does.

Reads the datasets, prints their summary, builds (or extends) the charset, decodes and
encodes every sample (skipping bad ones with reasons), splits off validation data, trains,
and fits the confidence temperature on the validation set.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from lineocr.charset import Charset
from lineocr.config import Config, TrainConfig, flatten, to_dict
from lineocr.data.batching import Example, LoadReport, SynthMix, load_examples
from lineocr.data.sources import Dataset, print_summary, summarize
from lineocr.models.spec import Preset
from lineocr.train.checkpoint import (
    ModelMeta,
    clear_run,
    load_checkpoint,
    load_meta,
    resolve,
    write_json,
)
from lineocr.train.distributed import is_main_process
from lineocr.train.loop import FitResult, fit
from lineocr.train.options import (
    DataOptions,
    FitOptions,
    InitFrom,
    PreparedData,
    ReaderOptions,
    SynthOptions,
    TrainOptions,
    outside_charset,
)

__all__ = [
    "DataOptions",
    "PreparedData",
    "ReaderOptions",
    "SynthOptions",
    "TrainOptions",
    "calibrate",
    "fine_tune_config",
    "load_init",
    "outside_charset",
    "prepare_data",
    "resume_conflicts",
    "resumed_config",
    "resumed_data",
    "split",
    "train",
]


def _synth_val_examples(
    synths: list[tuple[str, Any, float]], charset: Charset, n: int
) -> list[Example]:
    examples = []
    for name, synth, _ in synths:
        for i in range(n):
            image, text = synth.sample(i)
            examples.append(Example(image, text, tuple(charset.encode(text)), f"{name}:val:{i}"))
    return examples


def _font_families(source: Any) -> list[str]:
    """The font families a synthetic source draws with (recorded in the checkpoint, so a
    model card can say which fonts a model saw and which it was validated on)."""
    return sorted({face.family for face in getattr(source, "faces", ())})


def _merged(datasets: Sequence[Dataset], console: Console) -> Dataset:
    """The datasets as one, its summary printed on ``console``."""
    merged = Dataset(
        samples=[s for d in datasets for s in d.samples],
        skipped=[s for d in datasets for s in d.skipped],
        format="+".join(sorted({d.format for d in datasets})),
        root=datasets[0].root,
    )
    summary = summarize(merged)
    # summarize counts the images it found unreadable both as samples and as skipped;
    # shown here, samples and skipped add up to what was read
    readable = summary.n_samples - summary.n_unreadable
    print_summary(replace(summary, n_samples=readable), console)
    return merged


def _charset_of(
    train_set: Dataset | None,
    synths: list[tuple[str, Any, float]],
    config: Config,
    base: Charset | None,
) -> Charset:
    """The characters of the training labels and of the synthesizers' alphabets (added to
    ``base``'s when fine-tuning, with its options)."""
    options = base.options if base is not None else config.charset
    found = Charset.from_texts([s.text for s in train_set.samples] if train_set else [], options)
    for _, gen, _ in synths:  # an alphabet, not a label: keep its space
        found = found.union(Charset.from_string(gen.alphabet, options).chars)
    return base.union(found.chars) if base is not None else found


def _say_counts(console: Console, what: str, used: dict[str, int], skipped: int) -> None:
    """One line whose counts add up: ``training data: 100 samples: 83 train, 9 validation,
    8 skipped``."""
    parts = [f"{n:,} {name}" for name, n in used.items()] + [f"{skipped:,} skipped"]
    console.print(f"{what}: {sum(used.values()) + skipped:,} samples: {', '.join(parts)}")


def _report_skips(report: LoadReport, console: Console, what: str) -> None:
    if not report.skipped:
        return
    console.print(f"[yellow]{what}: skipped {len(report.skipped)} sample(s):[/yellow]")
    for source, reason in report.skipped[:10]:
        console.print(f"  {source}: {reason}")
    if len(report.skipped) > 10:
        console.print(f"  ... and {len(report.skipped) - 10} more")


def prepare_data(
    config: Config,
    options: DataOptions,
    *,
    charset: Charset | None = None,
    base_charset: Charset | None = None,
    console: Console | None = None,
) -> PreparedData:
    """Read, summarise, encode and split. The charset is ``charset`` if given, else built
    from the training labels (extending ``base_charset`` when fine-tuning)."""
    console = console or Console(stderr=True)
    data, val, synth = options.data, options.val, options.synth
    if not data and not synth.specs:
        raise ValueError("no training data: give --data, --synth or both")
    datasets = options.reader.read([*data, *val])  # options apply where a format uses them
    train_set = _merged(datasets[: len(data)], console) if data else None
    val_set = _merged(datasets[len(data) :], console) if val else None
    if train_set is not None and val_set is not None:
        _warn_overlap(train_set, val_set, console)
    seed = config.train.seed
    synths = synth.synthesizers(seed, "train", charset, console)

    if charset is None:
        charset = _charset_of(train_set, synths, config, base_charset)

    spec = config.preprocess
    train_report = load_examples(
        train_set.samples if train_set else [], charset, spec, skip_unknown=options.skip_unknown
    )
    _report_skips(train_report, console, "training data")
    examples = train_report.examples
    if train_set is not None and not examples:  # not silently a synthetic-only run
        raise ValueError("no usable training line in --data (see the skipped files above)")
    val_fonts: list[str] = []  # held-out font families, when validation lines are synthetic
    train_skipped = len(train_report.skipped) + (len(train_set.skipped) if train_set else 0)
    if val_set is not None:
        val_report = load_examples(val_set.samples, charset, spec, skip_unknown=True)
        _report_skips(val_report, console, "validation data")
        train_examples, val_examples = examples, val_report.examples
        val_skipped = len(val_report.skipped) + len(val_set.skipped)
        if train_set is not None:
            _say_counts(console, "training data", {"train": len(examples)}, train_skipped)
        _say_counts(console, "validation data", {"validation": len(val_examples)}, val_skipped)
    elif examples:
        train_examples, val_examples = split(examples, config.train.val_split, seed)
        used = {"train": len(train_examples), "validation": len(val_examples)}
        _say_counts(console, "training data", used, train_skipped)
    else:  # synthetic lines only: validate on lines drawn in held-out fonts
        train_examples = []
        val_synths = synth.synthesizers(seed + 1, "val", charset)
        val_examples = _synth_val_examples(val_synths, charset, synth.val)
        val_fonts = sorted({f for _, gen, _ in val_synths for f in _font_families(gen)})
    mixes = _mixes(synths, len(train_examples), synth.per_epoch)
    if not train_examples and not mixes:
        raise ValueError("no usable training samples (see the skipped files above)")
    if not val_examples:
        raise ValueError("no usable validation samples: pass --val or a larger --val-split")
    info = {
        "train_sources": [str(p) for p in data],
        "val_sources": [str(p) for p in val],
        "format": train_set.format if train_set else "synthetic",
        "synth": [
            {"spec": m.name, "per_epoch": m.per_epoch, "fonts": _font_families(m.source)}
            for m in mixes
        ],
        "train_samples": len(train_examples),
        "val_samples": len(val_examples),
        "skipped": train_skipped,
        "charset_size": len(charset),
    }
    if val_fonts:
        info["synth_val_fonts"] = val_fonts
    return PreparedData(charset, train_examples, val_examples, info, mixes)


def _warn_overlap(train: Dataset, val: Dataset, console: Console) -> None:
    """Validation images that are also training images measure memory, not reading."""

    def key(sample: Any) -> tuple[Any, str]:
        where = sample.path.resolve() if sample.path is not None else sample.source
        return where, sample.text

    seen = {key(s) for s in train.samples}
    shared = sum(key(s) in seen for s in val.samples)
    if shared:
        console.print(
            f"[yellow]{shared} of the {len(val.samples)} validation lines are also training "
            "lines (--val and --data overlap): validation scores will flatter the model[/yellow]",
            soft_wrap=True,
        )


def _mixes(synths: list[tuple[str, Any, float]], n_real: int, per_epoch: int) -> list[SynthMix]:
    if not synths:
        return []
    total = sum(ratio for _, _, ratio in synths)
    if n_real:
        if total >= 1.0:
            raise ValueError(
                f"with real data the synthetic ratios must sum below 1 (got {total:g}): "
                "they are the synthetic share of each epoch"
            )
        scale = n_real / (1.0 - total)
        mixes = [SynthMix(gen, round(scale * r), name) for name, gen, r in synths]
    else:
        mixes = [SynthMix(gen, round(per_epoch * r / total), name) for name, gen, r in synths]
    for mix in mixes:
        if not mix.per_epoch:
            raise ValueError(
                f"--synth {mix.name} gives no line per epoch (its share of "
                f"{n_real or per_epoch:,} lines rounds to 0): give it a larger ratio"
            )
    return mixes


def split(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """A seeded random split; at least one validation sample when there are two or more."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_split must be between 0 and 1, got {fraction}")
    order = np.random.default_rng(seed).permutation(len(examples))
    n_val = max(1, round(len(examples) * fraction)) if len(examples) > 1 else 0
    val_idx = set(order[:n_val].tolist())
    train = [e for i, e in enumerate(examples) if i not in val_idx]
    val = [e for i, e in enumerate(examples) if i in val_idx]
    return train, val


def load_init(model: str | Path) -> tuple[InitFrom, ModelMeta]:
    """A checkpoint (run directory or weights file), or a bundled model's weights."""
    path = Path(model)
    if not path.exists():
        from lineocr import zoo

        path = zoo.weights_path(str(model))
    torch_model, meta = load_checkpoint(resolve(path))
    return InitFrom(torch_model, meta.charset), meta


def fine_tune_config(
    config: Config,
    trained: Config,
    source: str,
    preset: Preset | None = None,
    console: Console | None = None,
) -> Config:
    """The configuration a fine-tune from weights trained with ``trained`` runs with.

    The weights fix the architecture (another ``preset`` of it may be asked for: matching
    layers are copied, see finetune.transfer_weights), the input height (the CNN's output
    size depends on it) and the charset options (what the output rows mean). What ``config``
    asks for beyond the defaults is used for what can change: the dropout and the
    preprocessing ops (adding ``trim`` to a model, say) and every training and augmentation
    setting. Asking for another height or other charset options is an error, not silently
    ignored; a change of ops is reported on ``console``.
    """
    defaults = Config()
    height, trained_height = config.preprocess.height, trained.preprocess.height
    if height not in (defaults.preprocess.height, trained_height):
        raise ValueError(
            f"preprocess.height {height}: the weights of {source} read lines of height "
            f"{trained_height}, and a fine-tune keeps it (train from scratch for another height)"
        )
    changed = [
        f"{name} {value!r} (the weights': {getattr(trained.charset, name)!r})"
        for name, value in _asked(config.charset, defaults.charset).items()
        if value != getattr(trained.charset, name)
    ]
    if changed:
        raise ValueError(
            f"charset options {', '.join(changed)}: a fine-tune of {source} keeps the charset "
            "options its output rows were trained with (train from scratch to change them)"
        )
    model = trained.model
    if preset is not None:
        model = replace(model, preset=preset)
    if config.model.dropout != defaults.model.dropout:
        model = replace(model, dropout=config.model.dropout)
    asked = _asked(config.preprocess, defaults.preprocess)
    asked.pop("height", None)  # checked above
    preprocess = replace(trained.preprocess, **asked)
    if preprocess.ops != trained.preprocess.ops and console is not None:
        console.print(
            f"preprocessing ops: {list(preprocess.ops)} "
            f"(the weights of {source} were trained with {list(trained.preprocess.ops)})"
        )
    return replace(config, model=model, preprocess=preprocess, charset=trained.charset)


def _asked(section: Any, default: Any) -> dict[str, Any]:
    """The fields of a config section set to something other than their default."""
    return {
        f.name: getattr(section, f.name)
        for f in dataclasses.fields(section)
        if getattr(section, f.name) != getattr(default, f.name)
    }


def calibrate(run_dir: Path, prepared: PreparedData, device: str = "cpu") -> float:
    """Fit the softmax temperature on validation data; store it in best.json."""
    import torch

    from lineocr import decode
    from lineocr.data.batching import LineDataset, make_collate
    from lineocr.models.crnn import output_lengths

    model, meta = load_checkpoint(run_dir, device=device)
    spec = meta.preprocess
    dataset = LineDataset(prepared.val, spec)
    collate_fn = make_collate(spec)
    logits_list: list[np.ndarray] = []
    targets: list[list[int]] = []
    with torch.no_grad():
        for start in range(0, len(dataset), 64):
            batch = collate_fn([dataset[i] for i in range(start, min(len(dataset), start + 64))])
            logits = model(batch.images.to(device)).float().cpu()
            lengths = output_lengths(batch.widths).clamp(max=logits.shape[1])
            for row, idx in enumerate(batch.indices):
                logits_list.append(logits[row, : int(lengths[row])].numpy())
                targets.append(list(prepared.val[idx].target))
    temperature = float(decode.fit_temperature(logits_list, targets))
    best = run_dir / "best.json"
    data = json.loads(best.read_text(encoding="utf-8"))
    data["calibration"] = {"temperature": temperature}
    write_json(best, data)
    return temperature


# What may change when a run is resumed: how it runs, not what it trains.
RESUME_MAY_CHANGE = ("epochs", "threads", "workers", "max_minutes")


def resume_conflicts(saved: Config, given: Config, keys: Sequence[str]) -> list[str]:
    """The settings ``keys`` (``section.key``) of ``given`` that differ from the resumed
    run's ``saved`` config, other than :data:`RESUME_MAY_CHANGE`: each as
    ``"train.lr 0.001 (the run's 0.0005)"``; and fewer epochs than the run's (more may be
    given). A resumed run keeps its own, so a caller that gave other values should say so
    rather than drop them."""
    saved_flat, given_flat = flatten(to_dict(saved)), flatten(to_dict(given))
    may_change = {f"train.{name}" for name in RESUME_MAY_CHANGE}
    conflicts = [
        f"{key} {given_flat[key]!r} (the run's {saved_flat[key]!r})"
        for key in keys
        if key not in may_change and given_flat[key] != saved_flat[key]
    ]
    if "train.epochs" in keys and given.train.epochs < saved.train.epochs:
        conflicts.append(
            f"train.epochs {given.train.epochs} (the run's {saved.train.epochs}: --resume may "
            "add epochs, not remove them; --max-minutes stops a run sooner)"
        )
    return conflicts


def resumed_config(saved: Config, given: Config, asked: Sequence[str], out: Path) -> Config:
    """The config a resumed run goes on with: the saved run's (it defines the model and the
    data, and how many epochs it plans), with how it runs now as ``given`` where asked
    for: more epochs, other threads or workers, a new time budget. A setting of ``asked``
    that differs otherwise is a ValueError naming it. (Without ``asked``, a given value
    other than the default counts as asked for.)"""
    conflicts = resume_conflicts(saved, given, asked)
    if conflicts:
        raise ValueError(
            f"{out}: --resume continues the run with its own settings, and these differ: "
            + "; ".join(conflicts)
            + ". Leave them out (more --epochs, --threads, --workers and --max-minutes "
            "may be given), or start a new run from it with --init-from"
        )
    defaults = TrainConfig()
    runtime = {
        key: getattr(given.train, key)
        for key in RESUME_MAY_CHANGE
        if f"train.{key}" in asked or getattr(given.train, key) != getattr(defaults, key)
    }
    runtime["epochs"] = max(runtime.get("epochs", 0), saved.train.epochs)
    return replace(saved, train=replace(saved.train, **runtime))


def resumed_data(given: DataOptions, saved: ModelMeta, out: Path, console: Console) -> DataOptions:
    """The data options a resumed run goes on with: each one left out takes the value the
    run saved (said on ``console``); a run saved before they were has only ``given``."""
    if "options" not in saved.data:
        return given
    own = DataOptions.from_dict(saved.data["options"], out)
    options = given.resumed(own)
    taken = [flag for flag in options.flags() if flag not in given.flags()]
    if taken:
        console.print(f"--resume: the run's own {', '.join(taken)}", soft_wrap=True)
    return options


def train(config: Config, out: str | Path, options: TrainOptions) -> FitResult:
    """Train (or with ``options.resume``, continue) a run in ``out``."""
    console = options.console or Console(stderr=True)
    out = Path(out)
    if config.train.freeze_backbone and options.init_from is None and not options.resume:
        raise ValueError(
            "--freeze-backbone keeps a trained CNN fixed while fine-tuning: it needs "
            "--init-from (without it the CNN would be frozen at its random start)"
        )
    init: InitFrom | None = None
    base_charset: Charset | None = None
    charset = (
        Charset.from_string(options.alphabet, config.charset)
        if options.alphabet is not None
        else None
    )
    started_from = str(options.init_from) if options.init_from else None
    data_options = options.data
    if options.resume:
        saved = load_meta(out / "last.json")
        config = resumed_config(saved.config, config, options.asked, out)
        charset = saved.charset
        config = replace(config, charset=saved.charset.options)
        started_from = saved.data.get("init_from")  # where the run began, not this resumption
        data_options = resumed_data(data_options, saved, out, console)
    elif options.init_from is not None:
        init, init_meta = load_init(options.init_from)
        base_charset = init_meta.charset
        config = fine_tune_config(
            config, init_meta.config, str(options.init_from), options.preset, console
        )
    prepared = prepare_data(
        config, data_options, charset=charset, base_charset=base_charset, console=console
    )
    prepared.info["init_from"] = started_from
    prepared.info["options"] = data_options.to_dict(out)  # what --resume reads again
    if options.overwrite and not options.resume:
        clear_run(out)  # only now: a run that fails to start replaces nothing
    fit_options = FitOptions(
        device=options.device,
        resume=options.resume,
        init_from=init,
        name=options.name,
        console=console,
        show_progress=options.show_progress,
    )
    result = fit(config, prepared, out, fit_options)
    # Once, by rank 0 (every rank of a torchrun launch gets here after fit).
    if is_main_process() and result.stopped != "interrupted" and (out / "best.json").is_file():
        temperature = calibrate(out, prepared, device="cpu")
        console.print(f"calibration: softmax temperature {temperature:.3f}")
    return result
