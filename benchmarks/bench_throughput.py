"""Training throughput (samples/s) of each CRNN preset on this machine's CPU.

Forward + backward + AdamW step on batches of 32 synthetic-size lines (height 32, width
128 — a 5-character CAPTCHA — and width 400 — a ~25-character printed line), after one
warm-up batch.

    python benchmarks/bench_throughput.py [--threads N] [--batches 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from lineocr.models.crnn import CRNN, PRESETS, output_lengths


def measure(preset: str, width: int, batches: int, classes: int = 100) -> float:
    model = CRNN(classes, 32, preset)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    x = torch.rand(32, 1, 32, width)
    targets = torch.randint(1, classes, (32 * 5,))
    lengths = output_lengths(torch.full((32,), width))

    def step() -> None:
        log_probs = model(x).log_softmax(2).transpose(0, 1)
        loss = ctc(log_probs, targets, lengths, torch.full((32,), 5))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    started = time.perf_counter()
    for _ in range(batches):
        step()
    return 32 * batches / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {
        preset: {w: round(measure(preset, w, args.batches), 1) for w in (128, 400)}
        for preset in PRESETS
    }
    print(json.dumps({"threads": args.threads, "samples_per_s": rows}, indent=1))


if __name__ == "__main__":
    main()
