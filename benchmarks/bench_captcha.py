"""CAPTCHA target of issue 2: train with defaults on 1,040 images, test on 300 fresh ones.

The Kaggle CAPTCHA v2 layout: 200x50 images named by their 5-character answer over the
19-character alphabet 2345678bcdefgmnpwxy, drawn with the `captcha` PyPI package. Runs the
real commands (`lineocr train`, `lineocr eval --json`) and times the training wall clock.

    python benchmarks/bench_captcha.py [--threads N] [--out runs/captcha]

The images' noise comes from the captcha package's own unseeded random source, so two runs
differ slightly; the answers (file names) are seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    args = parser.parse_args()

    lineocr = [sys.executable, "-m", "lineocr"]
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, test_dir = Path(tmp, "train"), Path(tmp, "test")
        make_set(train_dir, args.train, seed=1)
        make_set(test_dir, args.test, seed=2)
        command = [*lineocr, "train", "--data", str(train_dir), "--out", str(args.out)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        train_s = time.perf_counter() - started
        evaluation = subprocess.run(
            [*lineocr, "eval", "--model", str(args.out), "--data", str(test_dir), "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
    scores = json.loads(evaluation.stdout)
    report = {
        "task": "captcha (1,040 train / 300 fresh test, defaults)",
        "train_wall_s": round(train_s, 1),
        "test_exact_match": scores["exact_match"],
        "test_cer": scores["cer"],
        "test_n": scores["n"],
        "threads": args.threads or os.cpu_count(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(command[2:]),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
