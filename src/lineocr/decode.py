"""CTC decoding on numpy log-probabilities: the one decoder used everywhere.

Inputs are log-softmax outputs of shape (T, C) for one line, blank at index 0. Outputs
are label indices in visual order with per-character confidences; the charset turns
them into logical-order text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLANK = 0


@dataclass(frozen=True)
class Decoded:
    indices: tuple[int, ...]        # collapsed labels, visual order, no blanks
    char_confidences: tuple[float, ...]
    confidence: float               # probability-like line confidence in [0, 1]


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def greedy(log_probs: np.ndarray) -> Decoded:
    """Best path: argmax per frame, merge repeats, drop blanks.

    A character's confidence is the highest frame probability in its run; the line's is
    the product of the best-path frame probabilities (the best path's probability).
    """
    if log_probs.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {log_probs.shape}")
    best = log_probs.argmax(axis=1)
    best_lp = log_probs[np.arange(len(best)), best]
    indices: list[int] = []
    confs: list[float] = []
    prev = BLANK
    for label, lp in zip(best.tolist(), best_lp.tolist(), strict=True):
        if label != BLANK:
            if label != prev:
                indices.append(label)
                confs.append(float(np.exp(lp)))
            else:
                confs[-1] = max(confs[-1], float(np.exp(lp)))
        prev = label
    line = float(np.exp(best_lp.sum())) if len(best_lp) else 0.0
    return Decoded(tuple(indices), tuple(confs), min(1.0, max(0.0, line)))


def greedy_batch(log_probs: np.ndarray, lengths: np.ndarray | None = None) -> list[Decoded]:
    """Greedy decoding of (N, T, C) log-probabilities, each cut to its valid length."""
    n, t, _ = log_probs.shape
    lens = lengths if lengths is not None else np.full(n, t)
    return [greedy(log_probs[i, : int(lens[i])]) for i in range(n)]
