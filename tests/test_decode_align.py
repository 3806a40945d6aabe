"""CTC forced alignment (decode.align): decoded labels placed in the frames they were read
at, on log-probabilities built with known peaks, whatever decoder chose the labels."""

from __future__ import annotations

import numpy as np
import pytest

from lineocr.decode import align, align_batch, greedy, log_softmax, widened


def _peaks(frames: int, classes: int, peaks: dict[int, int], sure: float = 8.0) -> np.ndarray:
    """(T, C) log-probabilities: the blank everywhere but at ``peaks`` (frame -> label)."""
    logits = np.zeros((frames, classes))
    logits[:, 0] = sure
    for frame, label in peaks.items():
        logits[frame, label] = 2 * sure
    return log_softmax(logits)


def test_each_label_lands_on_its_peak() -> None:
    lp = _peaks(20, 5, {3: 1, 4: 1, 9: 2, 14: 2, 15: 3})
    spans = align(lp, [1, 2, 2, 3])
    assert spans is not None
    assert spans.tolist() == [[3, 5], [9, 10], [14, 15], [15, 16]]


def test_labels_another_decoder_chose_are_placed_where_they_fit_best() -> None:
    """A lexicon or pattern may pick a label the frame ranks second: it is placed on the
    frame where it is likeliest, not where greedy's label was."""
    lp = _peaks(12, 5, {2: 1, 7: 2})
    lp[7, 3] = lp[7, 2] - 0.5  # label 3 a close second at frame 7
    assert greedy(lp).indices == (1, 2)
    spans = align(lp, [1, 3])
    assert spans is not None and spans.tolist() == [[2, 3], [7, 8]]


def test_greedy_labels_align_to_the_best_path() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        frames = int(rng.integers(1, 30))
        lp = log_softmax(rng.normal(size=(frames, 6)) * 3)
        best = lp.argmax(axis=1).tolist()
        runs = []  # the best path's runs of each non-blank label: [first, last + 1)
        for t, label in enumerate(best):
            if label and (t == 0 or best[t - 1] != label):
                runs.append((t, t + 1))
            elif label:
                runs[-1] = (runs[-1][0], t + 1)
        spans = align(lp, list(greedy(lp).indices))
        assert spans is not None
        assert [tuple(s) for s in spans.tolist()] == runs


def test_a_batch_aligns_each_line_as_alone() -> None:
    rng = np.random.default_rng(3)
    lines = [log_softmax(rng.normal(size=(int(t), 5)) * 3) for t in (5, 17, 11, 1)]
    labels = [list(greedy(lp).indices) for lp in lines]
    batch = np.full((4, 17, 5), -30.0)
    for i, lp in enumerate(lines):
        batch[i, : len(lp)] = lp
    together = align_batch(batch, [len(lp) for lp in lines], labels)
    for lp, y, spans in zip(lines, labels, together, strict=True):
        alone = align(lp, y)
        assert alone is not None and spans is not None
        assert np.array_equal(alone, spans)


def test_labels_that_do_not_fit_have_no_place() -> None:
    lp = _peaks(2, 4, {0: 1})
    assert align(lp, [1, 1]) is None  # a repeat needs a blank between: three frames
    assert align(lp, []).shape == (0, 2)


def test_widened_spans_meet_in_the_middle_of_the_blanks() -> None:
    spans = np.array([[3, 4], [9, 10], [14, 15]])
    grown = widened(spans)
    assert grown.tolist() == [[0.5, 6.5], [6.5, 12.0], [12.0, 17.0]]  # ends: as far out as in
    assert widened(np.array([[2, 3]])).tolist() == [[2.0, 3.0]]
    assert widened(np.array([[0, 1], [5, 6]]))[0, 0] == pytest.approx(0.0)  # not before 0
