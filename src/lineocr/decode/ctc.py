"""CTC likelihoods: log P(labels | frames) summed over alignments, for confidence and calibration.

The forward algorithm on the blank-extended target, batched over lines: exact in log space
for any target, and a faster scaled version for a line's own best path (greedy's line
confidence).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lineocr.decode.base import NEG_INF, DecodeError, log_softmax

RESCALE_EVERY = 16  # frames between rescalings of the greedy line probability's forward pass


def min_frames(target: Sequence[int] | np.ndarray) -> int:
    """Frames a CTC alignment of ``target`` needs: one per label, one blank per repeat. A
    line with fewer frames has no alignment: its CTC loss is infinite."""
    labels = np.asarray(target)
    return len(labels) + int(np.sum(labels[1:] == labels[:-1])) if len(labels) else 0


def _n_states(targets: Sequence[np.ndarray]) -> int:
    """Lattice width of a batch: the longest blank-extended target (at least one label)."""
    return 2 * max([1, *(len(y) for y in targets)]) + 1


def _extended(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The blank-extended target (blank, y1, blank, y2, ..., blank) and, per state, whether
    it may skip the blank before it (a label unlike the label two states back)."""
    ext = np.zeros(2 * len(target) + 1, dtype=np.int64)
    ext[1::2] = target
    skip = np.zeros(len(ext), dtype=bool)
    skip[3::2] = target[1:] != target[:-1]
    return ext, skip


def _ctc_lattice(
    logits: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batched CTC lattice: per line and frame, the log-probability of each state of
    the blank-extended target (N, T, 2L+1; -inf beyond a line's frames or states), which
    states may skip the blank before them, and the frame and label counts."""
    n = len(logits)
    t_max = max(len(x) for x in logits)
    n_states = _n_states(targets)
    skip = np.zeros((n, n_states), dtype=bool)
    emit = np.full((n, t_max, n_states), NEG_INF)
    for i, (x, y) in enumerate(zip(logits, targets, strict=True)):
        ext, can_skip = _extended(y)
        skip[i, : len(ext)] = can_skip
        lp = log_softmax(np.asarray(x, dtype=np.float64) / temperature)
        emit[i, : len(x), : len(ext)] = lp[:, ext]
    lengths = np.array([len(x) for x in logits])
    label_lengths = np.array([len(y) for y in targets])
    return emit, skip, lengths, label_lengths


def _final_states(alpha: np.ndarray, label_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each line's last two lattice states (the last label, the blank after it)."""
    rows = np.arange(len(alpha))
    last = alpha[rows, 2 * label_lengths]
    before = alpha[rows, np.maximum(2 * label_lengths - 1, 0)]
    return last, before


def _ctc_log_likelihoods(
    logits: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
) -> np.ndarray:
    """log P(target | logits / temperature) per line (CTC forward algorithm in log space,
    batched): exact for any target, however improbable."""
    if max(len(x) for x in logits) == 0:  # no frame at all: no alignment of any target
        return np.full(len(logits), NEG_INF)
    emit, skip, lengths, label_lengths = _ctc_lattice(logits, targets, temperature)
    n, t_max, _ = emit.shape
    alpha = np.full(emit.shape[::2], NEG_INF)
    alpha[:, 0] = emit[:, 0, 0]
    alpha[:, 1] = np.where(label_lengths > 0, emit[:, 0, 1], NEG_INF)
    pad = np.full((n, 1), NEG_INF)
    for t in range(1, t_max):
        shifted1 = np.concatenate([pad, alpha[:, :-1]], axis=1)
        shifted2 = np.where(skip, np.concatenate([pad, pad, alpha[:, :-2]], axis=1), NEG_INF)
        with np.errstate(invalid="ignore"):
            new = np.logaddexp(np.logaddexp(alpha, shifted1), shifted2) + emit[:, t]
        active = (t < lengths)[:, None]
        alpha = np.where(active, new, alpha)
    last, before = _final_states(alpha, label_lengths)
    result: np.ndarray = np.logaddexp(last, np.where(label_lengths > 0, before, NEG_INF))
    return result


def _best_path_log_likelihoods(
    scores: np.ndarray, lse: np.ndarray, lengths: np.ndarray, paths: Sequence[np.ndarray]
) -> np.ndarray:
    """:func:`_ctc_log_likelihoods` of each line's own best path (greedy output), from
    :func:`_frame_scores`' output, several times faster: the recursion runs on
    probabilities, each frame divided by its largest (``exp(scores)``), with alpha
    renormalised every :data:`RESCALE_EVERY` frames and at each line's last frame
    (Rabiner's scaling) instead of on logs. Exact here because every frame's most probable
    class lies on the lattice (it is the blank or a label of the path): the best
    alignment's state is multiplied by 1 at every frame, so the total stays at least that
    alignment's share and does not underflow, and it grows at most 3x a frame, so it does
    not overflow between rescalings. Other targets use the log-space version."""
    n, t_max, _ = scores.shape
    result = np.full(n, NEG_INF)  # a line without frames: probability 0
    if t_max == 0:
        return result
    # (T, N, S); frames beyond a line's end emit 1 (their alpha is never read).
    prob = np.ones((t_max, n, _n_states(paths)))
    skipping = np.zeros(prob.shape[1:])
    for i, (path, frames) in enumerate(zip(paths, lengths.tolist(), strict=True)):
        ext, can_skip = _extended(path)
        skipping[i, : len(ext)] = can_skip
        prob[:frames, i, : len(ext)] = np.exp(scores[i, :frames][:, ext])
        prob[:frames, i, len(ext) :] = 0.0
    skipping = skipping[:, 2:]
    label_lengths = np.array([len(p) for p in paths])
    alpha = prob[0].copy()
    alpha[:, 2:] = 0.0
    log_scale = np.zeros(n)
    ends: dict[int, list[int]] = {}
    for i, frames in enumerate(lengths.tolist()):
        ends.setdefault(frames - 1, []).append(i)
    for t in range(t_max):
        if t:
            skipped = alpha[:, :-2] * skipping
            alpha[:, 1:] += alpha[:, :-1]  # numpy buffers the overlap: the old values add
            alpha[:, 2:] += skipped
            alpha *= prob[t]
        rows = ends.get(t)
        if rows is not None or t % RESCALE_EVERY == RESCALE_EVERY - 1:
            total = alpha.sum(axis=1)
            alpha /= total[:, None]
            log_scale += np.log(total)
        if rows is not None:  # each line's final states (last label, blank after it)
            last, before = _final_states(alpha[rows], label_lengths[rows])
            final = last + np.where(label_lengths[rows] > 0, before, 0.0)
            with np.errstate(divide="ignore"):
                result[rows] = log_scale[rows] + np.log(final)
    # log P = the scaling (of probabilities divided by each frame's largest) less the
    # frames' log-sum-exp, which turns that largest into its probability.
    frames_used = np.arange(t_max)[None, :] < lengths[:, None]
    out: np.ndarray = result - np.where(frames_used, lse, 0.0).sum(axis=1)
    return out


def ctc_log_likelihoods(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
    *,
    max_elements: int = 4_000_000,
) -> np.ndarray:
    """log P(targets[i] | softmax(logits_list[i] / temperature)) for each pair, in order
    (-inf where the line has too few frames for its target). Pairs of similar lengths are
    processed together, in chunks of at most ``max_elements`` (lines x frames x states)."""
    n = len(logits_list)
    if len(targets) != n:
        raise DecodeError("logits_list and targets differ in length")
    order = sorted(range(n), key=lambda i: (len(logits_list[i]), len(targets[i])))
    out = np.empty(n)
    start = 0
    while start < n:
        stop = start + 1
        while (
            stop < n
            and (stop + 1 - start)
            * len(logits_list[order[stop]])
            * (2 * len(targets[order[stop]]) + 1)
            <= max_elements
        ):
            stop += 1
        part = order[start:stop]
        out[part] = _ctc_log_likelihoods(
            [logits_list[i] for i in part], [targets[i] for i in part], temperature
        )
        start = stop
    return out
