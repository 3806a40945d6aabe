"""Greedy (best-path) decoding of batches: argmax per frame, repeats merged, blanks dropped."""

from __future__ import annotations

import numpy as np

from lineocr.decode.base import BLANK, Decoded, _check_2d
from lineocr.decode.ctc import _best_path_log_likelihoods


def _frame_scores(
    logits: np.ndarray, temperature: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, T, C) logits -> each frame's best label (N, T), its scores ``(x - max) /
    temperature`` (N, T, C; 0 at the best label) and their log-sum-exp (N, T): the
    log-probabilities are ``scores - lse``, never written out (greedy decoding needs only
    the best label, the blank and the path's labels of each frame). float64 input stays
    float64; anything else is computed in float32, as the network's output."""
    x = np.asarray(logits)
    if x.dtype != np.float64:
        x = x.astype(np.float32, copy=False)
    labels = x.argmax(axis=2)
    scores = x - np.take_along_axis(x, labels[:, :, None], axis=2)
    if temperature != 1.0:
        scores *= scores.dtype.type(1.0 / temperature)
    lse: np.ndarray = np.log(np.exp(scores).sum(axis=2))
    return labels, scores, lse


def _best_paths(
    labels: np.ndarray, lse: np.ndarray, lengths: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per line, the best path (frames' best labels, repeats merged, blanks dropped) and
    each character's confidence: the highest probability of its label in its run of
    frames. The whole batch in a few array operations."""
    n, t = labels.shape
    ink = (labels != BLANK) & (np.arange(t)[None, :] < lengths[:, None])
    previous = np.concatenate([np.full((n, 1), BLANK, labels.dtype), labels[:, :-1]], axis=1)
    starts = ink & (labels != previous)  # a character's first frame
    frame_conf = np.exp(-lse[ink])  # the best label's probability, per inked frame
    runs = np.flatnonzero(starts[ink])  # row-major: each line's frames in order
    confs = np.maximum.reduceat(frame_conf, runs) if len(runs) else frame_conf
    bounds = np.cumsum(starts.sum(axis=1))[:-1]
    return np.split(labels[starts], bounds), np.split(confs, bounds)


def greedy(log_probs: np.ndarray) -> Decoded:
    """Best path: argmax per frame, merge repeats, drop blanks.

    A character's confidence is the highest frame probability in its run. The line's is the
    probability of the decoded text, summed over all its CTC alignments (as in
    :func:`beam_search`): the quantity the calibration temperature is fitted for, so a
    threshold on it means what it says. (The best path alone is one alignment among many
    and underestimates it, more so on longer lines.)
    """
    _check_2d(log_probs)
    return greedy_batch(log_probs[None])[0]


def greedy_batch(log_probs: np.ndarray, lengths: np.ndarray | None = None) -> list[Decoded]:
    """Greedy decoding of (N, T, C) log-probabilities, each cut to its valid length; the
    line probabilities of the whole batch come from one batched CTC forward pass."""
    return _greedy(*_frame_scores(log_probs), lengths)


def _greedy(
    labels: np.ndarray, scores: np.ndarray, lse: np.ndarray, lengths: np.ndarray | None
) -> list[Decoded]:
    n, t = labels.shape
    lens = np.full(n, t) if lengths is None else np.minimum(np.asarray(lengths), t)
    paths, confs = _best_paths(labels, lse, lens)
    line = np.exp(_best_path_log_likelihoods(scores, lse, lens, paths))
    return [
        Decoded(tuple(path.tolist()), tuple(conf.tolist()), min(1.0, max(0.0, float(p))))
        for path, conf, p in zip(paths, confs, line, strict=True)
    ]
