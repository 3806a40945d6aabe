"""CAPTCHA target of issue 2: train with defaults on 1,040 images, test on 300 fresh ones.

The Kaggle CAPTCHA v2 layout: 200x50 images named by their 5-character answer over the
19-character alphabet 2345678bcdefgmnpwxy, drawn with the `captcha` PyPI package. Runs the
real commands (`lineocr train`, `lineocr eval --json`) and times the training wall clock.

    python benchmarks/bench_captcha.py [--threads N] [--out runs/captcha] [-- TRAIN OPTIONS]

Options after ``--`` go to `lineocr train` as they are: the bundled model adds synthetic
CAPTCHAs in other fonts (see the Makefile's model-captcha).

The images' noise comes from the captcha package's own unseeded random source, so two runs
differ slightly; the answers (file names) are seeded.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from train_eval import TrainRun, train_and_evaluate

ALPHABET = "2345678bcdefgmnpwxy"


def make_set(folder: Path, n: int, seed: int) -> None:
    from captcha.image import ImageCaptcha

    folder.mkdir(parents=True, exist_ok=True)
    gen = ImageCaptcha(width=200, height=50)
    rng = random.Random(seed)
    made: set[str] = set()
    while len(made) < n:
        text = "".join(rng.choice(ALPHABET) for _ in range(5))
        if text in made:
            continue
        made.add(text)
        gen.generate_image(text).convert("RGB").save(folder / f"{text}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/captcha"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--train", type=int, default=1040)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--report", type=Path, default=Path("benchmarks/out/captcha.json"))
    parser.add_argument("train_options", nargs="*", help="after --: passed to lineocr train")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        train_dir, test_dir = Path(tmp, "train"), Path(tmp, "test")
        make_set(train_dir, args.train, seed=1)
        make_set(test_dir, args.test, seed=2)
        extra = " ".join(args.train_options) or "defaults"
        train_and_evaluate(
            f"captcha ({args.train:,} train / {args.test} fresh test, {extra})",
            TrainRun(["--data", str(train_dir), *args.train_options], args.out, args.threads),
            test_dir,
            args.report,
        )


if __name__ == "__main__":
    main()
