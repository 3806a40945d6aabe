"""What a character language model buys: greedy vs beam vs beam + character n-gram LM on
the held-out lines of bench_vs_tesseract (fonts never trained on, a separate text stream).

    python benchmarks/bench_lm.py [--model printed] [--tasks latin arabic] [--n 300] [--tta]

For each task the LM is built from the line generator's *training* text stream (what
`lineocr lm --synth LANG` does: the same word lists as the test lines, other lines), so it
is an in-domain model; its weight and length bonus are tuned on a separate tuning set (val
fonts, another seed) and only then scored on the benchmark lines; ``--tta`` adds reads with
test-time augmentation, without and with the LM (each view's decoder and the vote use it). Writes
benchmarks/out/lm.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

from bench_vs_tesseract import TASKS, generate_lines, normalizer, score
from lineocr.data.synth import LineSynthesizer, SynthConfig
from lineocr.lm import CharNgramLM
from lineocr.runtime import Recognizer

TUNE_SEED = 7
WEIGHTS = (0.2, 0.35, 0.5, 0.75)
BONUSES = (0.0, 0.5, 1.0)


def run(rec: Recognizer, pairs: list[Any], norm: Any, **options: Any) -> dict[str, float]:
    started = time.perf_counter()
    preds = rec.read_batch([image for image, _ in pairs], **options)
    elapsed = time.perf_counter() - started
    s = score([text for _, text in pairs], [p.text for p in preds], norm)
    return {"cer": s.cer, "exact_match": s.exact_match, "lines_per_s": len(pairs) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="printed")
    parser.add_argument("--tasks", nargs="+", default=["latin", "arabic"])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--tune-n", type=int, default=150)
    parser.add_argument("--lm-lines", type=int, default=50_000)
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--tta", action="store_true", help="also read with test-time augmentation (12x the work)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/lm.json"))
    args = parser.parse_args()

    rec = Recognizer.load(args.model, threads=args.threads)
    results = []
    for key in args.tasks:
        task = next(t for t in TASKS if t.key == key)
        gen = LineSynthesizer(SynthConfig(**task.synth), seed=1, split="train")
        lm = CharNgramLM.fit(
            [gen.text(i) for i in range(args.lm_lines)], rec.charset, order=args.order
        )
        norm = normalizer(rec.charset, task)
        tune = generate_lines(task, args.tune_n, seed=TUNE_SEED)
        grid = {
            (w, b): run(rec, tune, norm, lm=lm, lm_weight=w, length_bonus=b)["cer"]
            for w, b in itertools.product(WEIGHTS, BONUSES)
        }
        weight, bonus = min(grid, key=lambda k: grid[k])
        test = generate_lines(task, args.n)
        row = {
            "task": key,
            "model": args.model,
            "lm": {"lines": args.lm_lines, "order": args.order, "contexts": len(lm.counts)},
            "tuned": {
                "lm_weight": weight,
                "length_bonus": bonus,
                "tune_cer": grid[(weight, bonus)],
            },
            "greedy": run(rec, test, norm),
            "beam": run(rec, test, norm, decoder="beam"),
            "beam+lm": run(rec, test, norm, lm=lm, lm_weight=weight, length_bonus=bonus),
        }
        if args.tta:
            row["tta"] = run(rec, test, norm, tta=True)
            row["tta+beam+lm"] = run(
                rec, test, norm, tta=True, lm=lm, lm_weight=weight, length_bonus=bonus
            )
        results.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print("\n| task | decoder | CER | exact match | lines/s |\n|---|---|---:|---:|---:|")
    for row in results:
        for name in ("greedy", "beam", "beam+lm", "tta", "tta+beam+lm"):
            if name not in row:
                continue
            r = row[name]
            label = name
            if name.endswith("beam+lm"):
                label += (
                    f" (weight {row['tuned']['lm_weight']}, bonus {row['tuned']['length_bonus']})"
                )
            print(
                f"| {row['task']} | {label} | {100 * r['cer']:.2f} % | "
                f"{100 * r['exact_match']:.2f} % | {r['lines_per_s']:.0f} |"
            )


if __name__ == "__main__":
    main()
