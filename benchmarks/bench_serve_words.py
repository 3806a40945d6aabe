"""What placing a page's words costs the server's batches: the CPU time of the batcher's
runner (``LoadedModel.runner``, one ONNX batch) on 32 plain line images, on the same 32
as a page's lines (``PlacedLine``: each character aligned, for the words' boxes), and on a
batch of half of each (what a page's lines share with line requests); then a composed page
of 9 lines answered by ``POST /v1/ocr`` (in process, through the ASGI app).

    python benchmarks/bench_serve_words.py                 # 25 batches, 8 pages
    python benchmarks/bench_serve_words.py --repeat 50 --pages 16

CPU seconds (``time.process_time``, all threads), min and median of ``--repeat`` runs, on
ONNX Runtime with one thread: the machine's load changes wall time more than this does.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.pages_helpers composes the page, tests.serve_helpers serves

from bench_serve import line_png  # noqa: E402
from lineocr.runtime import Recognizer  # noqa: E402
from lineocr.serve import Settings  # noqa: E402
from lineocr.serve.models import LoadedModel, PlacedLine, ReadOptions, Resources  # noqa: E402


def cpu_ms(work: Callable[[], object], repeat: int) -> list[float]:
    """[min, median] CPU milliseconds of ``work`` over ``repeat`` runs (after one warm-up)."""
    work()
    spent = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        spent.append((time.process_time() - start) * 1000.0)
    return [round(min(spent), 1), round(statistics.median(spent), 1)]


async def page_ms(rec: Recognizer, png: bytes, pages: int) -> list[float]:
    from tests.serve_helpers import serving

    settings = Settings(models=("printed",), batch_timeout_ms=2)
    async with serving(settings, lambda name, threads=None: rec) as client:
        spent = []
        for k in range(pages + 1):
            start = time.process_time()
            response = await client.post("/v1/ocr", files={"files": ("p.png", png, "image/png")})
            assert response.status_code == 200, response.text
            if k:  # the first is a warm-up
                spent.append((time.process_time() - start) * 1000.0)
        words = sum(len(line.get("words", [])) for line in response.json()["results"][0]["lines"])
    return [round(min(spent), 1), round(statistics.median(spent), 1), words]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=25, help="runner batches timed per case")
    p.add_argument("--pages", type=int, default=8, help="page requests timed")
    args = p.parse_args()
    from tests.pages_helpers import LATIN, compose

    rec = Recognizer.load("printed", threads=1)
    run = LoadedModel("printed", rec).runner(ReadOptions("printed"), Resources())
    lines = [
        np.asarray(Image.open(io.BytesIO(line_png(f"lineocr serves {k} lines"))).convert("L"))
        for k in range(32)
    ]
    placed = [PlacedLine(line) for line in lines]
    mixed = [PlacedLine(line) if k % 2 else line for k, line in enumerate(lines)]
    page = compose([LATIN[:4], LATIN[4:8]], heading="A Quiet Town")
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, "PNG")
    result = {
        "plain_32_cpu_ms": cpu_ms(lambda: run(lines), args.repeat),
        "placed_32_cpu_ms": cpu_ms(lambda: run(placed), args.repeat),
        "half_placed_32_cpu_ms": cpu_ms(lambda: run(mixed), args.repeat),
        "page_request_cpu_ms_and_words": asyncio.run(page_ms(rec, buf.getvalue(), args.pages)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
