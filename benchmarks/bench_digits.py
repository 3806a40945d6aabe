"""Real handwriting (issue 2): scikit-learn's load_digits as images, 1,200 for training
(10 % of them for validation), the other 597 held out; accuracy on the held-out digits.

    python benchmarks/bench_digits.py [--threads N] [--out runs/handwritten-digits]

scikit-learn's own SVC example reaches 97 % on a 50 % split.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def export(images: np.ndarray, labels: np.ndarray, folder: Path) -> Path:
    """8x8 scans (0..16, ink high) -> PNGs (ink dark on white) + a TSV manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        pixels = (255 - np.round(img * (255 / 16))).astype(np.uint8)
        name = f"{i:04d}.png"
        Image.fromarray(np.pad(pixels, 1, constant_values=255)).save(folder / name)
        rows.append(f"{name}\t{label}")
    manifest = folder / "labels.tsv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def main() -> None:
    from sklearn.datasets import load_digits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/handwritten-digits"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--config", type=Path, default=Path("configs/handwritten-digits.yaml"))
    parser.add_argument("--report", type=Path, default=Path("benchmarks/out/digits.json"))
    args = parser.parse_args()

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.images))
    train_idx, test_idx = order[:1200], order[1200:]
    lineocr = [sys.executable, "-m", "lineocr"]
    with tempfile.TemporaryDirectory() as tmp:
        train = export(digits.images[train_idx], digits.target[train_idx], Path(tmp, "train"))
        test = export(digits.images[test_idx], digits.target[test_idx], Path(tmp, "test"))
        command = [
            *lineocr,
            "train",
            "--data",
            str(train),
            "--config",
            str(args.config),
            "--out",
            str(args.out),
        ]
        if args.threads:
            command += ["--threads", str(args.threads)]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        train_s = time.perf_counter() - started
        evaluation = subprocess.run(
            [*lineocr, "eval", "--model", str(args.out), "--data", str(test), "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
    scores = json.loads(evaluation.stdout)
    report = {
        "task": "scikit-learn load_digits: 1,200 train / 597 held out",
        "train_wall_s": round(train_s, 1),
        "test_accuracy": scores["exact_match"],
        "test_n": scores["n"],
        "threads": args.threads or os.cpu_count(),
        "command": " ".join(command[2:]),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
