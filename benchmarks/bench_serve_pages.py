"""Whole pages on `lineocr serve`: pages/s one request at a time and from concurrent
clients, against the same pages read here (``PageReader``, as ``lineocr read --layout
page``), whether each page's text on the server is the text read here, and how long a
one-line request waits while pages are being read.

Pages are bench_pages.py's (Pango and groff prose at 300 dpi, turned, skewed, unevenly
lit); the server runs in this process (Uvicorn on 127.0.0.1, in a thread) with its
default settings unless told otherwise.

    python benchmarks/bench_serve_pages.py                   # 1 page of each kind
    python benchmarks/bench_serve_pages.py --pages 2 --clients 3
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench_pages import KINDS, ROOT, SEED, compose
from independent.texts import fetch_botchan
from independent.typeset import missing_tools
from lineocr.page import PageReader
from lineocr.runtime import Recognizer
from lineocr.serve import Settings, create_app
from lineocr.serve.client import OcrClient

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _line_png() -> bytes:
    img = Image.new("L", (520, 40), 255)
    ImageDraw.Draw(img).text(
        (8, 6), "A line read between pages", font=ImageFont.truetype(str(FONT), 24), fill=0
    )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class _Server:
    """Uvicorn serving the app in a thread on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> _Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


def _pages(kinds_each: int, cache: Path, workdir: Path) -> list[Path]:
    text = fetch_botchan(cache)
    rng = np.random.default_rng(SEED)
    paths = []
    for kind in KINDS:
        for i in range(kinds_each):
            path = workdir / f"{kind}-{i}.png"
            Image.fromarray(compose(kind, text, rng, workdir).image).save(path)
            paths.append(path)
    return paths


Texts = list[str | None]


def _on_server(
    url: str, paths: list[Path], clients: int
) -> tuple[Texts, float, Texts, float, list[float], list[float]]:
    """Page texts and seconds one page a request, then from ``clients`` clients at once;
    the latencies of one-line requests alone, and sent while the clients' pages are read."""
    client = OcrClient(url, timeout=300)
    client.read([paths[0]], layout="page")  # warm: the first request's set-up
    line = _line_png()
    quiet = []
    for _ in range(20):
        t0 = time.perf_counter()
        client.read_bytes([("line.png", line)], layout="line")
        quiet.append(time.perf_counter() - t0)
    alone = OcrClient(url, timeout=300, batch=1)  # one page a request
    start = time.perf_counter()
    one = [r.get("text") for r in alone.read(paths, layout="page")]
    one_s = time.perf_counter() - start
    latencies: list[float] = []
    stop = threading.Event()

    def lines() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            client.read_bytes([("line.png", line)], layout="line")
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)

    liner = threading.Thread(target=lines)
    start = time.perf_counter()
    liner.start()
    with ThreadPoolExecutor(clients) as pool:
        many = list(pool.map(lambda path: client.read([path], layout="page")[0].get("text"), paths))
    many_s = time.perf_counter() - start
    stop.set()
    liner.join()
    return one, one_s, many, many_s, quiet, latencies


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=1, help="pages of each kind")
    p.add_argument("--model", default="printed")
    p.add_argument("--clients", type=int, default=3, help="concurrent clients, one page each")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    p.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "cache")
    opts = p.parse_args(argv)
    missing = missing_tools(["groff", "gs", "pango-view"])
    if missing:
        print(f"needs: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        paths = _pages(opts.pages, opts.cache, Path(tmp))
        images = [np.asarray(Image.open(path).convert("L")) for path in paths]
        reader = PageReader(Recognizer.load(opts.model, threads=opts.threads))
        start = time.perf_counter()
        here = [reader.read(image).text for image in images]
        local_s = time.perf_counter() - start
        settings = Settings(models=(opts.model,), threads=opts.threads, request_timeout_s=120)
        with _Server(settings) as server:
            one, one_s, many, many_s, quiet, busy = _on_server(server.url, paths, opts.clients)
    n = len(paths)
    same = sum(a == b for a, b in zip(here, one, strict=True))
    same_many = sum(a == b for a, b in zip(here, many, strict=True))
    print(f"{n} pages at 300 dpi ({', '.join(KINDS)}), model {opts.model}")
    print("| how | pages/s | pages reading as here |")
    print("|---|---|---|")
    print(f"| here, PageReader, one process | {n / local_s:.2f} | — |")
    print(f"| server, one page a request, one client | {n / one_s:.2f} | {same} of {n} |")
    print(f"| server, {opts.clients} clients at once | {n / many_s:.2f} | {same_many} of {n} |")
    for when, latencies in (("alone", quiet), ("while the pages were read", busy)):
        if len(latencies) > 1:
            q = statistics.quantiles(latencies, n=100)
            print(
                f"one-line requests {when}: {len(latencies)}, p50 {1000 * q[49]:.0f} ms, "
                f"p99 {1000 * q[98]:.0f} ms, max {1000 * max(latencies):.0f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
