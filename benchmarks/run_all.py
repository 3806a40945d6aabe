"""Every figure-producing benchmark, one after the other (slow: run by hand, `make bench`).

Training targets (issue 2) retrain their models into runs/; the comparisons with Tesseract
(on the generator's lines and on independently typeset ones, the latter with RapidOCR from
`make bench-peers`), the synthetic-data speed and the server load tests use the bundled
models.
"""

from __future__ import annotations

import subprocess
import sys

STEPS = [
    ["benchmarks/synth_speed.py"],
    ["benchmarks/bench_captcha.py", "--out", "runs/bench-captcha"],
    ["benchmarks/bench_digits.py", "--out", "runs/bench-digits"],
    ["benchmarks/bench_throughput.py"],
    ["benchmarks/bench_vs_tesseract.py"],
    ["benchmarks/bench_independent.py", "--docs", "docs/benchmarks.md"],
    ["benchmarks/bench_serve.py", "--json", "benchmarks/out/serve.json"],
    ["benchmarks/hostile_inputs.py", "--json", "benchmarks/out/hostile.json"],
]


def main() -> None:
    failed = []
    for step in STEPS:
        print(f"== {' '.join(step)}", flush=True)
        if subprocess.run([sys.executable, *step], check=False).returncode != 0:
            failed.append(step[0])
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
