"""Synthetic line generation speed: lines per second per style, on N worker processes.

Each style's synthesizer is built once (fonts checked in this process), sent to the worker
processes, warmed up (word lists, font objects), then each worker generates as many lines as
it can for ``--seconds``; the figure is the sum of the workers' rates. Lines are 30
characters (``--chars``). The target from issue 3: at least 1,000 lines/s for ``scan`` on 2
cores. Results go in docs/synth.md.

    python benchmarks/synth_speed.py [--workers 2] [--seconds 4] [--styles scan,photo]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import time
from dataclasses import dataclass

from lineocr.data.synth import LineSynthesizer, SynthConfig

CASES = {
    "clean": ("latin", "clean"),
    "scan": ("latin", "scan"),
    "photo": ("latin", "photo"),
    "blurred": ("latin", "blurred"),
    "sharpened": ("latin", "sharpened"),
    "mix": ("latin", "mix"),
    "captcha": ("captcha", "captcha"),
    "arabic-scan": ("arabic", "scan"),
}


def _run(args: tuple[LineSynthesizer, int, float, int]) -> tuple[int, float, float]:
    """(lines, wall seconds, CPU seconds of this process) for one worker."""
    synth, start, seconds, warmup = args
    for i in range(warmup):
        synth.sample(10_000_000 + start + i)
    count = 0
    began, cpu_began = time.perf_counter(), time.process_time()
    while time.perf_counter() - began < seconds:
        synth.sample(start + count)
        count += 1
    return count, time.perf_counter() - began, time.process_time() - cpu_began


@dataclass(frozen=True)
class Budget:
    """How each style is measured: ``chars``-character lines, made by ``workers`` processes
    for ``seconds`` each."""

    chars: int
    workers: int
    seconds: float


def measure(
    lang: str, style: str, budget: Budget, pool: multiprocessing.pool.Pool
) -> tuple[float, float, float]:
    """Lines/s over all workers by the clock, the same from each worker's CPU time (what
    the workers would reach with a core each to themselves), and mean line width in px."""
    workers, seconds = budget.workers, budget.seconds
    n_chars = 5 if lang == "captcha" else budget.chars
    synth = LineSynthesizer(
        SynthConfig(lang=lang, style=style, min_chars=n_chars, max_chars=n_chars), seed=1
    )
    jobs = [(synth, w * 1_000_000, seconds, 30) for w in range(workers)]
    results = pool.map(_run, jobs, chunksize=1)
    rate = sum(count / elapsed for count, elapsed, _ in results)
    cpu_rate = sum(count / max(cpu, 1e-9) for count, _, cpu in results)
    widths = [synth.sample(i)[0].shape[1] for i in range(20)]
    return rate, cpu_rate, sum(widths) / len(widths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--chars", type=int, default=30)
    parser.add_argument("--styles", default=",".join(CASES))
    args = parser.parse_args()
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    unknown = set(styles) - set(CASES)
    if unknown:
        parser.error(f"unknown styles {sorted(unknown)}; known: {', '.join(CASES)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"load average {load:.2f} at start; {args.workers} worker processes, "
        f"{args.seconds:g} s per style, {args.chars}-character lines"
    )
    print(
        f"{'style':<14} {'lang':<8} {'lines/s (clock)':>16} {'lines/s (CPU time)':>19} "
        f"{'CPU ms/line':>12} {'mean width':>11}"
    )
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        for name in styles:
            lang, style = CASES[name]
            budget = Budget(args.chars, args.workers, args.seconds)
            rate, cpu_rate, width = measure(lang, style, budget, pool)
            print(
                f"{name:<14} {lang:<8} {rate:16.0f} {cpu_rate:19.0f} "
                f"{1000 * args.workers / cpu_rate:12.2f} {width:10.0f}px",
                flush=True,
            )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# load average {load:.2f} at the end")


if __name__ == "__main__":
    main()
