"""High-resolution line images: does reading change when a line is scanned large?

The held-out lines of bench_vs_tesseract (font families never trained on; seed 777 here,
not the benchmark's) are scaled up (bicubic) by each factor, as a 300-600 dpi scan or a
close phone photo of a line would be, and read with the bundled model. Before its ops a
line is scaled down to at most 8 times the model's input height (lineocr.preprocess
.ops_input), the resolution training stores images at; ``--old-bound`` reads with the
former inference bound (1,024 px, 4 Mpx) instead, for comparison.

    python benchmarks/bench_resolution.py [--model printed] [--tasks latin arabic]
        [--lines 300] [--scales 1 4 10] [--old-bound]

Prints one line per task and scale: median height, CER, exact match, lines/s.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from bench_vs_tesseract import TASKS, generate_lines, normalizer, score
from lineocr import preprocess
from lineocr.runtime import Recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="printed")
    parser.add_argument("--tasks", nargs="+", default=["latin", "arabic"])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 4.0, 10.0])
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--old-bound", action="store_true")
    args = parser.parse_args()
    if args.old_bound:
        preprocess.ops_input = lambda img, spec: preprocess.bounded(img, 1024, 4_000_000)  # type: ignore[assignment]

    rec = Recognizer.load(args.model, threads=args.threads)
    for key in args.tasks:
        task = next(t for t in TASKS if t.key == key)
        pairs = generate_lines(task, args.lines, seed=args.seed)
        norm = normalizer(rec.charset, task)
        for scale in args.scales:
            images = [
                image
                if scale == 1
                else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
                for image, _ in pairs
            ]
            started = time.perf_counter()
            predictions = rec.read_batch(images)
            elapsed = time.perf_counter() - started
            s = score([text for _, text in pairs], [p.text for p in predictions], norm)
            print(
                f"{args.model} {key} x{scale:g}: median height "
                f"{np.median([i.shape[0] for i in images]):.0f} px  CER {100 * s.cer:.2f} %  "
                f"exact {100 * s.exact_match:.1f} %  {len(images) / elapsed:.0f} lines/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
