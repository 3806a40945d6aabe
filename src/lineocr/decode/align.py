"""CTC forced alignment: where in a line's frames each decoded character was read.

Whatever decoder chose the labels (greedy, beam, lexicon, pattern, language model), the
most probable CTC path that spells them (Viterbi over the blank-extended labels, as in
:mod:`lineocr.decode.ctc`) gives each label the frames it is emitted at; a character's
span runs from its first such frame to its last. For greedy labels this is the best path
itself. Batched over lines, vectorised over the lattice's states; one Python step per
frame forward and one back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lineocr.decode.base import NEG_INF
from lineocr.decode.ctc import _extended, _n_states


def align_batch(
    log_probs: np.ndarray, lengths: Sequence[int] | np.ndarray, targets: Sequence[Sequence[int]]
) -> list[np.ndarray | None]:
    """Each line's labels placed in its frames: per line an ``(L, 2)`` int array of each
    label's first frame and one past its last (frame edges), or None when the labels cannot
    be aligned in the line's frames (more labels than frames). ``log_probs``: (N, T, C)
    log-probabilities, line ``i`` valid for its first ``lengths[i]`` frames; ``targets``:
    each line's labels (visual order, no blanks)."""
    n, t_max, _ = log_probs.shape
    lens = np.minimum(np.asarray(lengths, dtype=np.int64), t_max)
    ys = [np.asarray(y, dtype=np.int64) for y in targets]
    n_states = _n_states(ys)
    ext = np.zeros((n, n_states), dtype=np.int64)  # padding states read the blank ...
    valid = np.zeros((n, n_states), dtype=bool)  # ... but are never entered
    skip = np.zeros((n, n_states), dtype=bool)
    for i, y in enumerate(ys):
        e, s = _extended(y)
        ext[i, : len(e)], valid[i, : len(e)], skip[i, : len(e)] = e, True, s
    rows = np.arange(n)
    # Every frame's log-probability of every state, at once; a state past a line's labels
    # never entered (-inf); a frame past a line's end keeps its path where it was (0 for
    # staying, -inf for moving: the padding frames change nothing).
    emit = np.take_along_axis(log_probs.astype(np.float32, copy=False), ext[:, None, :], axis=2)
    emit[~np.broadcast_to(valid[:, None, :], emit.shape)] = NEG_INF
    past = np.arange(t_max)[None, :] >= lens[:, None]  # (N, T)
    emit[past] = 0.0
    step_mask = np.where(past, NEG_INF, 0.0).astype(np.float32)  # moving on, past the end
    skip_mask = np.where(skip[:, 2:], 0.0, NEG_INF).astype(np.float32)
    delta = np.full((n, n_states), NEG_INF, dtype=np.float32)
    if t_max:
        delta[:, :2] = emit[:, 0, :2]
    # back[t, i, s]: how many states back the best path into state s at frame t came from.
    back = np.zeros((max(t_max, 1), n, n_states), dtype=np.int8)
    one = np.full((n, n_states), NEG_INF, dtype=np.float32)  # from the state before
    two = np.full((n, n_states), NEG_INF, dtype=np.float32)  # from two before (a skip)
    for t in range(1, t_max):
        one[:, 1:] = delta[:, :-1] + step_mask[:, t, None]
        two[:, 2:] = delta[:, :-2] + skip_mask + step_mask[:, t, None]
        # The first best on ties (staying, then one back), as an argmax would choose.
        came = (one > delta).astype(np.int8)
        best = np.maximum(delta, one)
        np.copyto(came, 2, where=two > best)
        back[t] = came
        delta = np.maximum(best, two) + emit[:, t]
    label_counts = np.array([len(y) for y in ys], dtype=np.int64)
    last, before = 2 * label_counts, np.maximum(2 * label_counts - 1, 0)
    state = np.where(delta[rows, before] > delta[rows, last], before, last)
    possible = np.isfinite(delta[rows, state]) & (lens > 0)
    path = np.zeros((n, max(t_max, 1)), dtype=np.int64)
    for t in range(t_max - 1, -1, -1):
        path[:, t] = state
        state = state - back[t, rows, state]
    out: list[np.ndarray | None] = []
    for i, y in enumerate(ys):
        if not possible[i]:
            out.append(None)
            continue
        states = path[i, : lens[i]]  # non-decreasing along the frames
        labels = 2 * np.arange(len(y)) + 1
        starts = np.searchsorted(states, labels, side="left")
        ends = np.searchsorted(states, labels, side="right")
        out.append(np.stack([starts, ends], axis=1))
    return out


def align(log_probs: np.ndarray, labels: Sequence[int]) -> np.ndarray | None:
    """One line's (T, C) log-probabilities and labels: :func:`align_batch` of one."""
    return align_batch(log_probs[None], [len(log_probs)], [labels])[0]


def widened(spans: np.ndarray) -> np.ndarray:
    """Each label's frames (``(L, 2)`` from :func:`align_batch`) grown into the blank
    frames around it, to the middle of each run of blanks between two labels, as float
    frame edges. A network trained with CTC emits a character at one frame or two, often
    mid-glyph, and the blanks between two characters' peaks cover the ends of both glyphs:
    halving them gives each its share. The first label grows back, and the last forward,
    by as much as it grows on its other side (the blanks before the first label and after
    the last are the line's margins, not a glyph's). One label alone stays as it is."""
    out = spans.astype(np.float64)
    if len(spans) < 2:
        return out
    middles = (spans[:-1, 1] + spans[1:, 0]) / 2.0  # in the blanks between neighbours
    out[1:, 0] = middles
    out[:-1, 1] = middles
    out[0, 0] = max(0.0, spans[0, 0] - (out[0, 1] - spans[0, 1]))
    out[-1, 1] = spans[-1, 1] + (spans[-1, 0] - out[-1, 0])
    return out
