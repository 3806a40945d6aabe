"""Shared by the training benchmarks: run `lineocr train` (timed), then `lineocr eval --json`
on held-out data, and write a JSON report."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LINEOCR = [sys.executable, "-m", "lineocr"]


@dataclass(frozen=True)
class TrainRun:
    """What ``lineocr train`` is given: its options, the run directory and CPU threads."""

    args: list[str]
    out: Path
    threads: int | None = None


def train_and_evaluate(
    task: str, run: TrainRun, test_data: Path, report_path: Path
) -> dict[str, Any]:
    out, threads = run.out, run.threads
    # A benchmark re-run measures afresh: it replaces its own earlier run in ``out``.
    command = [*LINEOCR, "train", *run.args, "--out", str(out), "--overwrite"]
    if threads:
        command += ["--threads", str(threads)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    train_s = time.perf_counter() - started
    evaluation = subprocess.run(
        [*LINEOCR, "eval", "--model", str(out), "--data", str(test_data), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    scores = json.loads(evaluation.stdout)
    report = {
        "task": task,
        "train_wall_s": round(train_s, 1),
        "test_exact_match": scores["exact_match"],
        "test_cer": scores["cer"],
        "test_n": scores["n"],
        "test_ece": scores["ece"],
        "threads": threads or os.cpu_count(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(command[2:]),
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return report
