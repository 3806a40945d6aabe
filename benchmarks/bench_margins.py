"""Lines with wide paper margins: what the `trim` preprocessing op buys each bundled model.

Synthetic lines are cropped close to their text, as line detectors and most datasets crop;
a user's line cut from a page, a screenshot or a form field often has much more paper
around it. This reads the same held-out lines (font families never trained on, seed 4242,
not the other benchmarks') four ways: as rendered; with flat paper added on every side (one
line height; a screenshot or a form field); in a tall canvas of flat paper (two line
heights above and below, half one left and right); and cut loosely from a page (the
synthesizer's ``loose`` option: 0.5-2 line heights of paper above and below, 0.25-1 at the
sides, drawn before the degradations so that grain, shading and specks cover it), each with
the model's shipped preprocessing and with it minus `trim`.

    python benchmarks/bench_margins.py [--lines 300] [--threads 2]

Prints a Markdown table (exact match and CER per model, task, layout and preprocessing),
then the time `trim` takes a line (one thread, the Latin lines as rendered).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from lineocr.data.synth import LineSynthesizer, SynthConfig
from lineocr.metrics import cer
from lineocr.preprocess import trim
from lineocr.runtime import Recognizer

SEED = 4242
TASKS: dict[str, list[tuple[str, str, str]]] = {  # model -> (task, lang, style)
    "printed": [("latin", "latin", "mix"), ("arabic", "arabic", "mix")],
    "printed-fast": [("latin", "latin", "mix"), ("arabic", "arabic", "mix")],
    "arabic-digits": [
        ("digits blurred", "arabic-digits", "blurred"),
        ("digits sharp", "arabic-digits", "sharpened"),
    ],
}


def _paper(img: np.ndarray) -> int:
    return int(np.median(img))


def padded(img: np.ndarray) -> np.ndarray:
    h = img.shape[0]
    return np.pad(img, h, constant_values=_paper(img))


def tall(img: np.ndarray) -> np.ndarray:
    h = img.shape[0]
    return np.pad(img, ((2 * h, 2 * h), (h // 2, h // 2)), constant_values=_paper(img))


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as rendered": lambda img: img,
    "+1 line height of flat paper": padded,
    "tall canvas": tall,
}
LOOSE = "loose crop from a page"  # drawn by the synthesizer: the same texts, fonts and sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print("| model | task | layout | preprocessing | exact match | CER |")
    print("|---|---|---|---|---:|---:|")
    for name, tasks in TASKS.items():
        shipped = Recognizer.load(name, threads=args.threads)
        without = [op for op in shipped.spec.ops if not op.startswith("trim")]
        variants = {
            " + ".join(shipped.spec.ops): shipped,
            " + ".join(without) or "none": shipped.with_spec(shipped.spec.with_ops(without)),
        }
        for task, lang, style in tasks:
            synth = LineSynthesizer(SynthConfig(lang=lang, style=style), seed=SEED, split="val")
            samples = [synth.sample(i) for i in range(args.lines)]
            refs = [shipped.charset.normalize(text) for _, text in samples]
            loose = LineSynthesizer(
                SynthConfig(lang=lang, style=style, loose=1.0), seed=SEED, split="val"
            )
            layouts = {k: [change(img) for img, _ in samples] for k, change in LAYOUTS.items()}
            layouts[LOOSE] = [loose.sample(i)[0] for i in range(args.lines)]
            for layout, images in layouts.items():
                for ops, rec in variants.items():
                    hyps = [p.text for p in rec.read_batch(images)]
                    exact = np.mean([h == r for h, r in zip(hyps, refs, strict=True)])
                    print(
                        f"| {name} | {task} | {layout} | {ops} | {100 * exact:.1f} % "
                        f"| {100 * cer(refs, hyps):.2f} % |",
                        flush=True,
                    )
    synth = LineSynthesizer(SynthConfig(lang="latin", style="mix"), seed=SEED, split="val")
    lines = [synth.sample(i)[0] for i in range(args.lines)]
    start = time.perf_counter()
    for line in lines:
        trim(line)
    print(f"\ntrim: {1e6 * (time.perf_counter() - start) / len(lines):.0f} us a line")


if __name__ == "__main__":
    main()
