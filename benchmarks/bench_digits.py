"""Real handwriting (issue 2): scikit-learn's load_digits as images, 1,200 for training
(10 % of them for validation), the other 597 held out; accuracy on the held-out digits.

    python benchmarks/bench_digits.py [--threads N] [--out runs/handwritten-digits]

scikit-learn's own SVC example reaches 97 % on a 50 % split.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from train_eval import TrainRun, train_and_evaluate


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
    with tempfile.TemporaryDirectory() as tmp:
        train = export(digits.images[train_idx], digits.target[train_idx], Path(tmp, "train"))
        test = export(digits.images[test_idx], digits.target[test_idx], Path(tmp, "test"))
        train_and_evaluate(
            "scikit-learn load_digits: 1,200 train / 597 held out (accuracy = exact match)",
            TrainRun(["--data", str(train), "--config", str(args.config)], args.out, args.threads),
            test,
            args.report,
        )


if __name__ == "__main__":
    main()
