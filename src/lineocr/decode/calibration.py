"""Confidence calibration: the temperature that fits held-out lines, and the calibration error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lineocr.decode.base import DecodeError
from lineocr.decode.ctc import ctc_log_likelihoods, min_frames


def _check_targets(targets: Sequence[Sequence[int]]) -> list[np.ndarray]:
    out = []
    for target in targets:
        if isinstance(target, str):
            raise DecodeError("targets must be label indices (charset.encode(text)), not text")
        out.append(np.asarray(target, dtype=np.int64))
    return out


def ctc_nll(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[Sequence[int]],
    temperature: float = 1.0,
    *,
    max_elements: int = 4_000_000,
) -> float:
    """Mean negative log-likelihood of the reference labels (CTC, summed over alignments)
    under ``softmax(logits / temperature)``. Lines too short for their target are skipped.
    Lines are processed in chunks of at most ``max_elements`` (lines x frames x states)."""
    ys = _check_targets(targets)
    if len(ys) != len(logits_list):
        raise DecodeError("logits_list and targets differ in length")
    pairs = [
        (x, y) for x, y in zip(logits_list, ys, strict=True) if len(x) >= max(1, min_frames(y))
    ]
    if not pairs:
        raise DecodeError("no line has enough frames for its target")
    ll = ctc_log_likelihoods(
        [x for x, _ in pairs], [y for _, y in pairs], temperature, max_elements=max_elements
    )
    return -float(ll.sum()) / len(pairs)


def check_temperature(value: Any) -> float:
    """A calibration temperature as a model card stores it: a positive finite number (not a
    bool), else :class:`DecodeError`. One rule for the export, which refuses to write such a
    file, and the runtime, which refuses to load one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise DecodeError(f"calibration temperature {value!r}: must be a positive finite number")
    return float(value)


def fit_temperature(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[Sequence[int]],
    *,
    bounds: tuple[float, float] = (0.5, 20.0),
) -> float:
    """The temperature T that minimises :func:`ctc_nll` on held-out lines.

    T is searched in ``bounds``. The lower bound matters: on a validation set the model
    reads without error, the likelihood keeps rising as T falls, so an unbounded fit drives
    T toward 0 and every later prediction looks certain. Such a set carries no evidence of
    underconfidence beyond that, so sharpening is capped at 2x.

    ``logits_list``: one raw (T_i, C) logits array per line, cut to its valid frames;
    ``targets``: each line's label indices (``charset.encode(text)``, visual order).
    Temperature scaling (Guo et al. 2017) with the sequence-level likelihood CTC defines: a
    proper scoring rule that uses every line, correct or not, and leaves the greedy text
    unchanged. A coarse log-spaced grid finds the basin, golden-section search refines it.
    The runtime divides logits by T before decoding.
    """
    lo, hi = math.log(bounds[0]), math.log(bounds[1])

    def nll(log_t: float) -> float:
        return ctc_nll(logits_list, targets, math.exp(log_t))

    grid = np.linspace(lo, hi, 17)
    scores = [nll(float(g)) for g in grid]
    best = int(np.argmin(scores))
    a = float(grid[max(0, best - 1)])
    b = float(grid[min(len(grid) - 1, best + 1)])
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    while b - a > 1e-3:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    candidates = [(scores[best], float(grid[best])), (min(fc, fd), (a + b) / 2)]
    return float(math.exp(min(candidates)[1]))


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    bins: int = 10,
) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by
    the share of lines in each bin (bin i holds confidences in (i/bins, (i+1)/bins], the
    first also 0). In [0, 1]; 0 for an empty input."""
    conf = np.asarray(confidences, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    if conf.shape != corr.shape or conf.ndim != 1:
        raise DecodeError("confidences and correct must be 1-D and of the same length")
    if bins < 1:
        raise DecodeError("bins must be >= 1")
    if conf.size == 0:
        return 0.0
    if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
        raise DecodeError("confidences must lie in [0, 1]")
    inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    which = np.digitize(conf, inner, right=True)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(corr[mask].mean() - conf[mask].mean())
    return float(ece)
