"""Does a line read the same in a batch as on its own? (docs/runtime.md, "Padding and batches")

For each model, held-out synthetic lines (``val`` fonts, seed 20240919) are read twice: in
batches of 16 (``Recognizer.read_batch``) and one at a time (``Recognizer.read``). Two
cases: lines of their natural widths (a batch pads to its widest line, and a BiLSTM reads
the padding), and the same lines resized to one width (no padding at all). Prints, per
model and case, how many texts differ and the largest confidence difference.

    python benchmarks/batch_consistency.py printed printed-fast
    python benchmarks/batch_consistency.py --lang arabic-digits arabic-digits
    python benchmarks/batch_consistency.py /tmp/printed-fp32.onnx   # an fp32 export

With an fp32 export the one-width case agrees exactly; with the int8 files it need not:
ONNX Runtime's dynamically quantised LSTM (DynamicQuantizeLSTM) takes the activation scale
of each matrix product from the whole batch's range.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from lineocr.data.synth import LineSynthesizer, SynthConfig
from lineocr.runtime import Recognizer

SEED = 20240919


def lines_for(lang: str, n: int) -> list[np.ndarray]:
    synth = LineSynthesizer(SynthConfig(lang=lang, style="scan"), seed=SEED, split="val")
    return [synth.sample(i)[0] for i in range(n)]


def compare(rec: Recognizer, images: list[np.ndarray]) -> tuple[int, float]:
    batched = rec.read_batch(images, batch_size=16)
    alone = [rec.read(img) for img in images]
    differ = sum(a.text != b.text for a, b in zip(alone, batched, strict=True))
    gap = max(abs(a.confidence - b.confidence) for a, b in zip(alone, batched, strict=True))
    return differ, gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="bundled names or .onnx files")
    parser.add_argument("--lang", default="latin", help="synthetic lines of this kind")
    parser.add_argument("--lines", type=int, default=256)
    args = parser.parse_args()
    images = lines_for(args.lang, args.lines)
    print(f"{'model':<28} {'case':<16} {'texts differ':>14} {'max conf diff':>14}")
    for name in args.models:
        rec = Recognizer.load(name, threads=1)
        height = rec.spec.height
        width = int(np.median([img.shape[1] * height / img.shape[0] for img in images]))
        same = [cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA) for img in images]
        for case, batch in (("natural widths", images), (f"one width ({width})", same)):
            differ, gap = compare(rec, batch)
            print(f"{name:<28} {case:<16} {f'{differ}/{len(batch)}':>14} {gap:>14.2e}")


if __name__ == "__main__":
    main()
