"""Word boxes on pages: how well the boxes lineocr writes (hOCR ``ocrx_word``, ALTO
``String``, PAGE ``Word``, jsonl ``words``) cover the words' ink, and what placing them costs.

Pages are composed as the page tests compose them (``tests/pages_helpers.compose``:
Pillow with Raqm shaping), in several system fonts, two columns under a heading with a
picture (Latin) or one right-to-left column (Arabic), then skewed or turned. Each word's
true box is where Pillow drew it (the word alone, placed where the text before it ends),
turned with the page. A read word is matched to a true word of the line whose box it
overlaps most, by text (``difflib`` over the line's words), and counts as placed when its
box's centre lies inside the true word's quadrilateral; IoU is the read box's with the true
quadrilateral's bounding box. The share is over the true words whose text was read right.

Cost: each page read with positions (what ``PageReader`` asks for) and without, best of
``--repeat``, wall time and this process's CPU time; and the CPU time of the alignment
itself (:func:`lineocr.decode.align_batch`, per thread). ``--raw``: also measure characters
kept to their aligned frames (not grown into the blanks, :func:`lineocr.decode.widened`).

    python benchmarks/bench_word_boxes.py
    python benchmarks/bench_word_boxes.py --raw --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import pages_helpers as ph  # noqa: E402

from lineocr import runtime as runtime_module  # noqa: E402
from lineocr.page import Page, PageReader  # noqa: E402
from lineocr.runtime import Recognizer  # noqa: E402

LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf",
)
ARABIC_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "/usr/share/fonts/truetype/fonts-arabeyes/ae_AlArabiya.ttf",
)
# (name, rtl, degrees turned): upright, skewed both ways, a quarter and a half turn.
KINDS = (
    ("upright", False, 0.0),
    ("skewed +3", False, 3.0),
    ("skewed -4", False, -4.0),
    ("turned 90", False, 90.0),
    ("turned 180", False, 180.0),
    ("arabic", True, 0.0),
    ("arabic skewed +2", True, 2.0),
)


def page(font: str, rtl: bool, degrees: float) -> tuple[np.ndarray, list[list[Any]]]:
    """A composed page and its lines' true words (text, quadrilateral on the page)."""
    if rtl:
        ph.ARABIC_FONT = Path(font)
        composed = ph.compose([ph.ARABIC], rtl=True, heading="قصة المدينة")
    else:
        ph.LATIN_FONT = Path(font)
        composed = ph.compose([ph.LATIN[:5], ph.LATIN[5:]], heading="A Quiet Town", picture=True)
    image = composed.image if degrees == 0 else ph.turned(composed.image, degrees)
    return image, ph.true_words(composed, degrees)


def score(read: Page, truth: list[list[Any]]) -> tuple[int, int, int, list[float]]:
    """(true words, words read right, of them placed, their IoUs)."""
    matches = ph.match_words(read, truth)
    placed = [m for m in matches if m.box is not None]
    total = sum(len(t) for t in truth)
    return total, len(matches), sum(m.centre_inside for m in placed), [m.iou for m in placed]


class _NoPositions:
    """The recogniser, asked for no places (the cost of reading a page without words)."""

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer

    def read_batch(self, images: Any, **options: Any) -> Any:
        options.pop("positions", None)
        return self.recognizer.read_batch(images, **options)


def timed(read: Callable[[], Page], repeat: int) -> tuple[float, float, Page]:
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = read()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert result is not None
    return best_wall, best_cpu, result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="printed")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--raw", action="store_true", help="also characters not widened")
    opts = parser.parse_args(argv)
    recognizer = Recognizer.load(opts.model)
    reader = PageReader(recognizer)
    reads = [0]

    class Counted:
        @staticmethod
        def read(image: np.ndarray) -> Page:
            reads[0] += 1
            return reader.read(image)

    with_words = Counted()
    without = PageReader(_NoPositions(recognizer))  # type: ignore[arg-type]
    align_cpu = [0.0]
    align = runtime_module.align_batch

    def counted(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return align(*args, **kwargs)
        finally:
            align_cpu[0] += time.thread_time() - start

    runtime_module.align_batch = counted  # type: ignore[assignment]
    variants = {"widened": runtime_module.widened}
    if opts.raw:
        variants["raw frames"] = lambda spans: spans.astype(np.float64)
    totals = {name: [0, 0, 0, []] for name in variants}
    costs = {"on": [0.0, 0.0], "off": [0.0, 0.0]}
    print("| page | font | words | read right | centre inside (widened) | median IoU |")
    print("|---|---|---|---|---|---|")
    for name, rtl, degrees in KINDS:
        for font in ARABIC_FONTS if rtl else LATIN_FONTS:
            image, truth = page(font, rtl, degrees)
            for variant, widen in variants.items():
                runtime_module.widened = widen  # type: ignore[assignment]
                if variant == "widened":
                    wall, cpu, read = timed(lambda image=image: with_words.read(image), opts.repeat)
                    costs["on"][0] += wall
                    costs["on"][1] += cpu
                else:
                    read = with_words.read(image)
                total, matched, placed, ious = score(read, truth)
                acc = totals[variant]
                acc[0] += total
                acc[1] += matched
                acc[2] += placed
                acc[3] += ious
                if variant == "widened":
                    print(
                        f"| {name} | {Path(font).stem} | {total} | {matched} | "
                        f"{placed / max(1, matched):.1%} | {np.median(ious or [0]):.2f} |"
                    )
            runtime_module.widened = variants["widened"]  # type: ignore[assignment]
            wall, cpu, _ = timed(lambda image=image: without.read(image), opts.repeat)
            costs["off"][0] += wall
            costs["off"][1] += cpu
    print()
    for variant, (total, matched, placed, ious) in totals.items():
        print(
            f"{variant}: {total} words, {matched} read right, centre inside the true word "
            f"{placed}/{matched} = {placed / max(1, matched):.1%}, IoU median "
            f"{np.median(ious):.2f}, 10th percentile {np.percentile(ious, 10):.2f}"
        )
    print(
        f"page reading, best of {opts.repeat}, summed over the pages: positions on "
        f"{costs['on'][0]:.2f} s wall / {costs['on'][1]:.2f} s CPU, off {costs['off'][0]:.2f} s "
        f"wall / {costs['off'][1]:.2f} s CPU; alignment itself {align_cpu[0]:.3f} s CPU over "
        f"{reads[0]} page reads with positions"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
