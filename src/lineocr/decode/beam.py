"""CTC prefix beam search, optionally constrained and fused with a character language model."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from lineocr.charset import Charset
from lineocr.decode.base import BLANK, EMPTY, NEG_INF, Decoded, DecodeError, _check_2d
from lineocr.decode.constraints import Constraint
from lineocr.keywords import check_keywords
from lineocr.lm import BOUNDARY, DEFAULT_LENGTH_BONUS, DEFAULT_LM_WEIGHT, CharNgramLM

if TYPE_CHECKING:
    from typing import Unpack

DEFAULT_BEAM_WIDTH = 10


class LMFusion(TypedDict, total=False):
    """A character language model fused into the beam search (shallow fusion), given by
    keyword: the model ``lm``, its weight ``lm_weight`` and a per-character
    ``length_bonus`` (defaults :data:`~lineocr.lm.DEFAULT_LM_WEIGHT`,
    :data:`~lineocr.lm.DEFAULT_LENGTH_BONUS`)."""

    lm: CharNgramLM | None
    lm_weight: float
    length_bonus: float


def _lse(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


# A label is tried at a frame only if its probability there is at least this (the greedy
# path's labels always are: a non-blank argmax has probability >= 1/C). Under a constraint
# the two most probable allowed labels are always tried too, so that a match can be found
# where the model disagrees with the pattern.
MIN_LABEL_LOGP = math.log(1e-3)
_MIN_KEEP_CONSTRAINED = 2


# The beams: prefix -> [log P(prefix, ends in blank), log P(prefix, ends in its last label),
#                       automaton state, language-model bonus of the prefix].
_Beams = dict[tuple[int, ...], list[Any]]
# Per automaton state, the (label, next state) pairs tried in a frame.
_Options = dict[int, list[tuple[int, int]]]


def beam_search(
    log_probs: np.ndarray,
    beam_width: int = DEFAULT_BEAM_WIDTH,
    *,
    constraint: Constraint | None = None,
    charset: Charset | None = None,
    **fusion: Unpack[LMFusion],
) -> Decoded:
    """CTC prefix beam search (Hannun et al. 2014) on one line's (T, C) log-probabilities.

    Keeps the ``beam_width`` most probable label prefixes, summing over all alignments of
    each. With a ``constraint`` only prefixes the automaton allows are extended and the
    result is the most probable accepted sequence in the beam (its logical text, via
    ``charset``, must pass ``constraint.accepts_text``); if none is, the result is empty with
    confidence 0. The line confidence is the sequence's probability (all its alignments);
    character confidences come from its best alignment (as in :func:`greedy`).

    With a character language model ``lm`` (shallow fusion, :class:`LMFusion`), prefixes are
    ranked by ``log P_ctc + lm_weight * log P_lm + length_bonus * length`` (the language
    model also scores the end of the line); the confidence stays the CTC probability of the
    text.
    """
    check_keywords("beam_search", fusion, LMFusion.__optional_keys__)
    lm = fusion.get("lm")
    _check_2d(log_probs)
    if beam_width < 1:
        raise DecodeError(f"beam_width must be >= 1, got {beam_width}")
    if (constraint is not None or lm is not None) and charset is None:
        raise DecodeError("a constrained or language-model beam search needs the charset")
    lp = np.asarray(log_probs, dtype=np.float64)
    initial = constraint.initial if constraint is not None else 0
    all_labels = np.arange(1, lp.shape[1])
    weights = (
        fusion.get("lm_weight", DEFAULT_LM_WEIGHT),
        fusion.get("length_bonus", DEFAULT_LENGTH_BONUS),
    )
    fused = _Fusion(lm, charset, *weights) if lm is not None else None
    beams: _Beams = {(): [0.0, NEG_INF, initial, 0.0]}
    for row in lp:
        options: _Options
        if constraint is None:
            options = {0: [(int(c), 0) for c in _top_labels(row, all_labels, beam_width, 0)]}
        else:
            states = {entry[2] for entry in beams.values()}
            options = _constrained_options(constraint, states, row, beam_width)
        beams = _advance(beams, row, options, fused, beam_width)
    if fused is not None:
        for prefix, entry in beams.items():
            entry[3] += fused.finish(prefix)
    return _best_accepted(beams, lp, constraint, charset)


def _constrained_options(
    constraint: Constraint, states: Iterable[int], row: np.ndarray, beam_width: int
) -> _Options:
    """For each state, the labels the automaton allows there that are tried in this frame
    (``row``: its log-probabilities), each with the state it leads to."""
    options: _Options = {}
    for state in states:
        labels, nexts = constraint.step(state)
        keep = _top_labels(row, labels, beam_width, _MIN_KEEP_CONSTRAINED)
        where = {int(lab): k for k, lab in enumerate(labels)}
        options[state] = [(int(c), nexts[where[int(c)]]) for c in keep]
    return options


def _advance(
    beams: _Beams, row: np.ndarray, options: _Options, fusion: _Fusion | None, beam_width: int
) -> _Beams:
    """The beams one frame (``row``) on: each prefix kept (a blank, or its last label
    repeated) and extended by the labels ``options`` tries from its state, the
    probabilities of each new prefix summed over the ways to reach it; the ``beam_width``
    best remain."""
    row_list = row.tolist()
    blank = row_list[BLANK]
    nxt: _Beams = {}
    for prefix, (p_b, p_nb, state, _) in beams.items():
        total = _lse(p_b, p_nb)
        entry = nxt.get(prefix)
        if entry is None:
            entry = nxt[prefix] = [NEG_INF, NEG_INF, state, beams[prefix][3]]
        entry[0] = _lse(entry[0], total + blank)
        last = prefix[-1] if prefix else -1
        if last > 0:  # the last label repeated without a blank: same prefix
            entry[1] = _lse(entry[1], p_nb + row_list[last])
        for label, new_state in options[state]:
            # A repeated label needs a blank in between to count twice.
            add = (p_b if label == last else total) + row_list[label]
            extended = (*prefix, label)
            target = nxt.get(extended)
            if target is None:
                bonus = fusion.extend(prefix, label) if fusion is not None else 0.0
                nxt[extended] = [NEG_INF, add, new_state, beams[prefix][3] + bonus]
            else:
                target[1] = _lse(target[1], add)
    if len(nxt) > beam_width:
        nxt = dict(heapq.nlargest(beam_width, nxt.items(), key=_rank))
    return nxt


def _best_accepted(
    beams: _Beams, log_probs: np.ndarray, constraint: Constraint | None, charset: Charset | None
) -> Decoded:
    """The most probable prefix of the final beams that the constraint (if any) accepts,
    with its confidences; :data:`EMPTY` if none is."""
    ranked = sorted(beams.items(), key=_rank, reverse=True)
    for prefix, (p_b, p_nb, state, _) in ranked:
        if constraint is not None:
            assert charset is not None
            # Checked as returned: the runtime leaves out edge and doubled spaces.
            if not constraint.is_final(state) or not constraint.accepts_text(
                charset.tidy(charset.decode(prefix))
            ):
                continue
        confidence = min(1.0, max(0.0, math.exp(_lse(p_b, p_nb))))
        return Decoded(prefix, _char_confidences(log_probs, prefix), confidence)
    return EMPTY


def _rank(item: tuple[tuple[int, ...], list[Any]]) -> float:
    p_b, p_nb, _, bonus = item[1]
    return _lse(p_b, p_nb) + bonus


class _Fusion:
    """Language-model bonus of extending a prefix by one label (shallow fusion)."""

    def __init__(
        self, lm: CharNgramLM, charset: Charset | None, weight: float, length_bonus: float
    ) -> None:
        assert charset is not None
        self.lm, self.chars = lm, charset.chars
        self.weight, self.length_bonus = float(weight), float(length_bonus)
        self.span = max(lm.order - 1, 1)

    def _context(self, prefix: tuple[int, ...]) -> str:
        tail = "".join(self.chars[label - 1] for label in prefix[-self.span :])
        return tail if len(prefix) >= self.span else BOUNDARY + tail

    def extend(self, prefix: tuple[int, ...], label: int) -> float:
        char = self.chars[label - 1]
        return self.weight * self.lm.logprob(self._context(prefix), char) + self.length_bonus

    def finish(self, prefix: tuple[int, ...]) -> float:
        return self.weight * self.lm.logprob(self._context(prefix), BOUNDARY)


def _top_labels(row: np.ndarray, labels: np.ndarray, k: int, min_keep: int) -> np.ndarray:
    """Of ``labels``, the at most ``k`` most probable in this frame that reach
    :data:`MIN_LABEL_LOGP`, plus the ``min_keep`` most probable whatever their probability."""
    if len(labels) == 0:
        return labels
    values = row[labels]
    order = np.argsort(-values, kind="stable")[:k]
    good = values[order] >= MIN_LABEL_LOGP
    good[:min_keep] = True
    return labels[order[good]]


def _char_confidences(log_probs: np.ndarray, labels: Sequence[int]) -> tuple[float, ...]:
    """Per label, the highest frame probability within its span in the best (Viterbi)
    alignment of ``labels`` — for the greedy labelling this equals :func:`greedy`'s."""
    if not labels:
        return ()
    n_frames = log_probs.shape[0]
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    n_states = len(ext)
    # A skip over a blank is allowed into a label that differs from the label two back.
    skip = np.zeros(n_states, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    delta = np.full(n_states, NEG_INF)
    delta[0] = log_probs[0, BLANK]
    delta[1] = log_probs[0, ext[1]]
    back = np.zeros((n_frames, n_states), dtype=np.int8)
    for t in range(1, n_frames):
        stay = delta
        step = np.concatenate(([NEG_INF], delta[:-1]))
        jump = np.where(skip, np.concatenate(([NEG_INF, NEG_INF], delta[:-2])), NEG_INF)
        stacked = np.stack([stay, step, jump])
        choice = stacked.argmax(axis=0)
        back[t] = choice
        delta = stacked[choice, np.arange(n_states)] + log_probs[t, ext]
    end = n_states - 1 if n_states == 1 or delta[-1] >= delta[-2] else n_states - 2
    best = [0.0] * len(labels)
    state = end
    for t in range(n_frames - 1, -1, -1):
        if state % 2 == 1:
            k = state // 2
            best[k] = max(best[k], float(np.exp(log_probs[t, ext[state]])))
        state -= int(back[t, state])
    return tuple(best)
