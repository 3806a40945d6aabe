"""Test-time augmentation (``read --tta``) against the plain reading, per bundled line model.

On the lines of ``bench_vs_tesseract.py`` (its tasks, seed and held-out ``val`` fonts and
texts: the published benchmark's lines, never used to choose the views, which were chosen on
seed 777), each model reads every line plainly and with ``tta=True``, in one process with
``--threads`` threads. Reported per task: CER, exact match, expected calibration error of
the line confidence (10 bins) and lines per second, plain and with augmentation.

    python benchmarks/bench_tta.py                 # 300 lines per task (minutes)
    python benchmarks/bench_tta.py --lines 40      # a smoke run

Writes a JSON file (default benchmarks/out/tta.json) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_vs_tesseract import SEED, TASKS, generate_lines, normalizer
from lineocr.decode import expected_calibration_error
from lineocr.metrics import Scores
from lineocr.runtime import Recognizer

ROOT = Path(__file__).resolve().parents[1]


def measure(recognizer: Recognizer, images: list, refs: list[str], normalize, tta: bool) -> dict:
    start = time.perf_counter()
    predictions = recognizer.read_batch(images, tta=tta)
    seconds = time.perf_counter() - start
    hyps = [normalize(p.text) for p in predictions]  # as the references: NFKC, digit mapping
    scores = Scores.compute(refs, hyps)
    correct = [h == r for h, r in zip(hyps, refs, strict=True)]
    return {
        "cer": scores.cer,
        "exact_match": scores.exact_match,
        "ece": expected_calibration_error([p.confidence for p in predictions], correct),
        "lines_per_s": len(images) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "tta.json")
    args = parser.parse_args()
    rows = []
    for task in TASKS:
        for model in (task.model, *task.alternatives):
            recognizer = Recognizer.load(model, threads=args.threads)
            normalize = normalizer(recognizer.charset, task)
            lines = generate_lines(task, args.lines, args.seed)
            images = [image for image, _ in lines]
            refs = [normalize(text) for _, text in lines]
            recognizer.read_batch(images[:8])  # warm-up: the session's first runs are slow
            row = {"task": task.key, "model": model, "lines": len(lines)}
            for tta in (False, True):
                row["tta" if tta else "plain"] = measure(recognizer, images, refs, normalize, tta)
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "rows": rows}, indent=2))
    print()
    print("| task | model | CER | exact match | ECE | lines/s |  (each: plain -> tta)")
    print("|---|---|---|---|---|---|")
    for row in rows:
        p, t = row["plain"], row["tta"]
        print(
            f"| {row['task']} | {row['model']} | {100 * p['cer']:.2f} -> {100 * t['cer']:.2f} % "
            f"| {100 * p['exact_match']:.1f} -> {100 * t['exact_match']:.1f} % "
            f"| {p['ece']:.3f} -> {t['ece']:.3f} "
            f"| {p['lines_per_s']:.0f} -> {t['lines_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
