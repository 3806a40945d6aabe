"""Learning-rate schedules as a function of training progress in [0, 1].

Progress is the larger of the step fraction and, under a time budget, the elapsed-time
fraction, so a run with ``max_minutes`` still completes its whole schedule.
"""

from __future__ import annotations

import math


def learning_rate(progress: float, *, base_lr: float, schedule: str, warmup: float) -> float:
    p = min(1.0, max(0.0, progress))
    if schedule == "constant":
        return base_lr
    if schedule == "onecycle":
        # Linear warm-up from lr/25, then cosine annealing to lr/1e4 (as torch's OneCycleLR).
        start, end = base_lr / 25.0, base_lr / 1e4
        if warmup > 0 and p < warmup:
            return start + (base_lr - start) * p / warmup
        q = (p - warmup) / max(1e-9, 1.0 - warmup)
        return end + (base_lr - end) * 0.5 * (1.0 + math.cos(math.pi * q))
    if schedule == "cosine":
        if warmup > 0 and p < warmup:
            return base_lr * p / warmup
        q = (p - warmup) / max(1e-9, 1.0 - warmup)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * q))
    raise ValueError(f"unknown schedule {schedule!r}")
