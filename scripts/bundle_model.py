"""Bundle a trained run as a lineocr model: NAME.onnx (inference, parity-checked export)
plus NAME.safetensors + NAME.json (fp16 weights, for `lineocr train --init-from NAME`).

    python scripts/bundle_model.py RUN_DIR NAME [--quantize int8 [--calibrate SPEC]...]
        [--ops OP...] [--models-dir DIR]

``--quantize int8`` ships the quantised ONNX file (where the benchmark shows it faster and
within 0.3 CER points of fp32: docs/benchmarks.md). ``--calibrate LANG[:STYLE]`` (as for
``lineocr train --synth``; repeatable) calibrates int8 convolutions on 64 synthetic lines
per spec from the training fonts; without it only the LSTM and linear layers are int8.
``--ops OP`` (repeatable) replaces the run's preprocessing ops in the shipped files, e.g.
``--ops auto_invert --ops trim`` for a model trained before ``trim`` existed (the bundled
models' cards give the measured effect: benchmarks/bench_margins.py).

The three files go into ``--models-dir`` (default: the package's bundled models folder,
``lineocr.zoo.MODELS_DIR``) all or nothing: the arguments, the run, the ops and the
calibration specs are checked before anything is written, the files are written to a
hidden folder beside their place and moved into it only once all three are complete, so
a failed bundle leaves the previous one as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.torch import save_file
from torch import nn

from lineocr.data.synth import LineSynthesizer, SynthError, parse_synth_spec
from lineocr.export import ExportError, ExportOptions, export_onnx
from lineocr.preprocess import PreprocessError
from lineocr.train.checkpoint import CheckpointError, ModelMeta, load_checkpoint, new_file_mode
from lineocr.zoo import BUNDLED, MODELS_DIR

SUFFIXES = (".onnx", ".safetensors", ".json")
CALIBRATION_LINES = 64  # per --calibrate spec


def write_bundle(
    model: nn.Module,
    meta: ModelMeta,
    name: str,
    models_dir: Path,
    export: ExportOptions,
) -> list[Path]:
    """Write ``models_dir/NAME.{onnx,safetensors,json}``, all or nothing: the files are
    staged in a hidden folder in ``models_dir`` (same filesystem, so the moves are renames)
    and replace the old ones only once all three are complete; ``export``: how the ONNX file
    is exported (quantisation, calibration lines). Returns their paths."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{name}.bundle-") as tmp:
        staged = [Path(tmp) / f"{name}{suffix}" for suffix in SUFFIXES]
        onnx_file, weights_file, card_file = staged
        # Both files carry the bundled name (the ONNX card had the run's); the data summary
        # keeps the run's.
        # A bundle made again from a bundled file (NAME.safetensors) keeps its data summary.
        if meta.name != name:
            meta = dataclasses.replace(meta, name=name, data={**meta.data, "run": meta.name})
        export_onnx((model, meta), onnx_file, **export)
        state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        save_file(state, weights_file)
        # Optimiser state and early-stopping bookkeeping (extra) are not shipped; the
        # preprocessing is the shipped one, so fine-tuning from it sees what it reads.
        card = dataclasses.replace(meta, name=name, extra={}).to_dict()
        card_file.write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
        mode = new_file_mode()  # safetensors writes 0o600
        for path in staged:
            path.chmod(mode)
        for path in staged:
            path.replace(models_dir / path.name)
    return [models_dir / path.name for path in staged]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("name", choices=sorted(BUNDLED))
    parser.add_argument("--quantize", choices=["int8"], default=None)
    parser.add_argument("--calibrate", action="append", default=[], metavar="SPEC")
    parser.add_argument("--ops", action="append", default=None, metavar="OP")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=MODELS_DIR,
        metavar="DIR",
        help="where NAME.onnx, NAME.safetensors and NAME.json go (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.calibrate and args.quantize is None:
        parser.error("--calibrate goes with --quantize int8 (it calibrates int8 convolutions)")
    run, name, models_dir = args.run, args.name, args.models_dir
    if models_dir.exists() and not models_dir.is_dir():
        parser.error(f"--models-dir {models_dir}: not a folder")
    for suffix in SUFFIXES:
        target = models_dir / f"{name}{suffix}"
        if target.exists() and not target.is_file():
            parser.error(f"{target}: exists and is not a regular file (the bundle replaces it)")
    try:
        model, meta = load_checkpoint(run)
    except CheckpointError as exc:  # its message names the file
        parser.error(str(exc))
    if args.ops is not None and tuple(args.ops) != meta.preprocess.ops:
        try:
            preprocess = meta.preprocess.with_ops(args.ops)
        except PreprocessError as exc:  # names the op
            parser.error(f"--ops: {exc}")
        meta = dataclasses.replace(
            meta,
            config=dataclasses.replace(meta.config, preprocess=preprocess),
            # The card says what the run trained with (scripts/model_card.py).
            data={
                **meta.data,
                "trained_preprocess_ops": meta.data.get(
                    "trained_preprocess_ops", list(meta.preprocess.ops)
                ),
            },
        )
    calibration: list[np.ndarray] = []
    for spec in args.calibrate:
        try:
            config, _ = parse_synth_spec(spec)
        except SynthError as exc:  # names the spec
            parser.error(f"--calibrate: {exc}")
        try:
            synth = LineSynthesizer(config, seed=7, split="train")
            calibration += [synth.sample(i)[0] for i in range(CALIBRATION_LINES)]
        except SynthError as exc:  # no fonts for it, say: does not name the spec
            parser.error(f"--calibrate {spec!r}: {exc}")
    try:
        export = ExportOptions(quantize=args.quantize, calibration=calibration)
        paths = write_bundle(model, meta, name, models_dir, export)
    except (ExportError, OSError) as exc:
        sys.exit(f"{parser.prog}: error: {exc}")
    for path in paths[:2]:
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
