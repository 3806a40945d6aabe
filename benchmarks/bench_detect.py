"""Text-line detection: line recall and precision at IoU 0.5, the classical layout
analysis against learned detectors, on held-out synthetic pages (``PageComposer("val")``:
font families, a background pattern and a layout the training split never draws) or on
folders of pages with PAGE-XML / ALTO ground truth.

A line found counts when it overlaps a true line by IoU >= 0.5 (quadrilaterals; one-to-one,
greedily by IoU). The classical analysis is scored on the lines it finds before they are
read (its line polygons); a learned detector on its post-processed quadrilaterals.

    python benchmarks/bench_detect.py --pages 120 --detector runs/detector/detector.onnx
    python benchmarks/bench_detect.py --truth my-pages/ --detector classical
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lineocr.data.page_truth import read_truth, truth_files
from lineocr.detect.evaluate import Counts, match
from lineocr.images import load_image

Polygon = Sequence[Sequence[float]]


@dataclass
class TruthPage:
    name: str
    gray: np.ndarray
    polygons: list[Polygon]
    kinds: list[str]


def synthetic_pages(n: int, seed: int) -> Iterator[TruthPage]:
    from lineocr.data.pages import PageComposer

    composer = PageComposer("val", seed)
    for i in range(n):
        page = composer.page(i)
        gray = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
        kinds = [page.layout, "arabic" if page.rtl else "latin"]
        kinds.append("photo" if "photo" in page.notes else "scan")
        yield TruthPage(f"val-{i}", gray, [ln.quad for ln in page.lines], kinds)


def folder_pages(folder: Path) -> Iterator[TruthPage]:
    for path in truth_files(folder):
        truth = read_truth(path)
        yield TruthPage(
            path.stem, load_image(str(truth.image)), [ln.polygon for ln in truth.lines], ["all"]
        )


def detector_fn(name: str) -> Callable[[np.ndarray], list[Polygon]]:
    if name == "classical":
        from lineocr.layout import find_lines

        return lambda gray: [ln.polygon for ln in find_lines(gray).lines]
    from lineocr.detect.runtime import LineDetector

    detector = LineDetector.load(name)
    return lambda gray: [ln.quad for ln in detector.detect(gray)]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=60, help="held-out synthetic pages")
    p.add_argument("--seed", type=int, default=33)
    p.add_argument("--truth", type=Path, help="a folder of PAGE-XML/ALTO pages instead")
    p.add_argument(
        "--detector",
        action="append",
        default=None,
        help="classical, or a detector .onnx / bundled name (repeatable; default classical)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    opts = p.parse_args(argv)
    names = opts.detector or ["classical"]
    detectors = {name: detector_fn(name) for name in names}
    pages = folder_pages(opts.truth) if opts.truth else synthetic_pages(opts.pages, opts.seed)
    counts: dict[str, dict[str, Counts]] = {name: {} for name in names}
    seconds = dict.fromkeys(names, 0.0)
    n = 0
    for page in pages:
        n += 1
        for name, detect in detectors.items():
            start = time.perf_counter()
            found = detect(page.gray)
            seconds[name] += time.perf_counter() - start
            c = match(page.polygons, found)
            for kind in ["all", *page.kinds]:
                counts[name].setdefault(kind, Counts()).add(c)
    print(f"{n} pages; line recall / precision at IoU 0.5")
    kinds = list(counts[names[0]])
    print("| pages | lines | " + " | ".join(f"{name} R / P" for name in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for kind in kinds:
        cells = [
            f"{100 * counts[name][kind].recall:.1f} / {100 * counts[name][kind].precision:.1f}"
            for name in names
        ]
        print(f"| {kind} | {counts[names[0]][kind].true} | " + " | ".join(cells) + " |")
    print("| s/page | | " + " | ".join(f"{seconds[nm] / max(1, n):.2f}" for nm in names) + " |")
    if opts.json:
        data = {nm: {k: c.to_dict() for k, c in counts[nm].items()} for nm in names}
        opts.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
