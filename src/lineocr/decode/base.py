"""What every decoder shares: the blank label, the result type, the options error, log-softmax."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLANK = 0
NEG_INF = -math.inf


class DecodeError(ValueError):
    """Unusable decoding options: an unknown option, a bad regex, an impossible constraint."""


@dataclass(frozen=True)
class Decoded:
    """One line decoded: its labels in visual order and their confidences."""

    indices: tuple[int, ...]  # collapsed labels, visual order, no blanks
    char_confidences: tuple[float, ...]
    confidence: float  # probability-like line confidence in [0, 1]


EMPTY = Decoded((), (), 0.0)


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_2d(log_probs: np.ndarray) -> None:
    if log_probs.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {log_probs.shape}")
