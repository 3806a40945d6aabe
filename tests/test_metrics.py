"""Recognition metrics: totals over a dataset, counted by hand on small cases."""

from __future__ import annotations

import pytest

from lineocr.metrics import Confusions, Scores, cer, wer


def test_rates_are_totals_over_the_dataset_not_means_of_lines() -> None:
    refs = ["abcd", "ef"]
    hyps = ["abxd", "ef"]  # one substitution in 6 reference characters
    assert cer(refs, hyps) == pytest.approx(1 / 6)  # a mean of line rates would be 1/8
    assert wer(["the cat sat", "on"], ["the bat sat", "on"]) == pytest.approx(1 / 4)


def test_scores_count_insertions_deletions_and_exact_lines() -> None:
    s = Scores.compute(["hello world", "abc", "x"], ["helo world", "abcd", "x"])
    assert (s.char_errors, s.chars) == (2, 15)
    assert (s.word_errors, s.words) == (2, 4)  # "helo" and "abcd"
    assert s.exact_match == pytest.approx(1 / 3)
    assert s.n == 3


def test_empty_inputs_score_zero_and_unequal_lengths_are_refused() -> None:
    empty = Scores.compute([], [])
    assert (empty.n, empty.cer, empty.exact_match) == (0, 0.0, 0.0)
    with pytest.raises(ValueError, match="differ in length"):
        Scores.compute(["a"], [])


def test_confusions_pair_substituted_characters_and_keep_other_edits_whole() -> None:
    c = Confusions()
    c.add("1234", "1734")  # substitution 2 -> 7
    c.add("1234", "1774")  # again, and 3 -> 7
    c.add("55", "5")  # a deletion: kept as a (reference, hypothesis) span
    assert c.most_common(1) == [("2", "7", 2)]
    assert ("3", "7", 1) in c.most_common()
    assert ("5", "", 1) in c.most_common()
