"""Bundle a trained run as a lineocr model: NAME.onnx (inference, parity-checked export)
plus NAME.safetensors + NAME.json (fp16 weights, for `lineocr train --init-from NAME`).

    python scripts/bundle_model.py RUN_DIR NAME [--quantize int8 [--calibrate SPEC]...]
        [--ops OP...]

``--quantize int8`` ships the quantised ONNX file (where the benchmark shows it faster and
within 0.3 CER points of fp32: docs/benchmarks.md). ``--calibrate LANG[:STYLE]`` (as for
``lineocr train --synth``; repeatable) calibrates int8 convolutions on 64 synthetic lines
per spec from the training fonts; without it only the LSTM and linear layers are int8.
``--ops OP`` (repeatable) replaces the run's preprocessing ops in the shipped files, e.g.
``--ops auto_invert --ops trim`` for a model trained before ``trim`` existed (the bundled
models' cards give the measured effect: benchmarks/bench_margins.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from safetensors.torch import save_file

from lineocr.data.synth import LineSynthesizer, parse_synth_spec
from lineocr.export import export_onnx
from lineocr.train.checkpoint import load_checkpoint
from lineocr.zoo import BUNDLED, MODELS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("name", choices=sorted(BUNDLED))
    parser.add_argument("--quantize", choices=["int8"], default=None)
    parser.add_argument("--calibrate", action="append", default=[], metavar="SPEC")
    parser.add_argument("--ops", action="append", default=None, metavar="OP")
    args = parser.parse_args()
    if args.calibrate and args.quantize is None:
        parser.error("--calibrate goes with --quantize int8 (it calibrates int8 convolutions)")
    run, name = args.run, args.name
    model, meta = load_checkpoint(run)
    if args.ops is not None and tuple(args.ops) != meta.preprocess.ops:
        preprocess = meta.preprocess.with_ops(args.ops)
        meta = dataclasses.replace(
            meta,
            config=dataclasses.replace(meta.config, preprocess=preprocess),
            # The card says what the run trained with (scripts/model_card.py).
            data={**meta.data, "trained_preprocess_ops": list(meta.preprocess.ops)},
        )
    calibration = []
    for spec in args.calibrate:
        config, _ = parse_synth_spec(spec)
        synth = LineSynthesizer(config, seed=7, split="train")
        calibration += [synth.sample(i)[0] for i in range(64)]
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(
        (model, meta), MODELS_DIR / f"{name}.onnx", quantize=args.quantize, calibration=calibration
    )
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_file(state, MODELS_DIR / f"{name}.safetensors")
    # Optimiser state and early-stopping bookkeeping (extra) are not shipped; the
    # preprocessing is the shipped one, so fine-tuning from it sees what it reads.
    card = dataclasses.replace(meta, name=name, extra={}).to_dict()
    (MODELS_DIR / f"{name}.json").write_text(json.dumps(card, ensure_ascii=False, indent=1))
    for path in (onnx_path, MODELS_DIR / f"{name}.safetensors"):
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
