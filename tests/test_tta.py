"""Test-time augmentation: the views of a line, the vote between their readings, and reading
with ``tta=True`` through the runtime."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lineocr.charset import Charset
from lineocr.decode import Decoded, Decoder, ctc_log_likelihoods, greedy
from lineocr.decode.beam import _Fusion
from lineocr.lm import CharNgramLM
from lineocr.runtime import Recognizer
from lineocr.tta import NARROWEST, VIEWS, WORK_HEIGHT_FACTOR, views, vote
from tests.decoding_helpers import frames
from tests.render import render

DIGITS = Charset.from_string("0123456789")


def text(decoded: Decoded) -> str:
    return DIGITS.decode(decoded.indices)


# -- views ---------------------------------------------------------------------------------


def test_views_are_the_line_itself_then_the_others_at_the_working_height() -> None:
    line = render("12345", size=40)
    out = views(line, height=32, max_width=2048)
    assert len(out) == len(VIEWS) == 12
    assert out[0] is line  # the identity: exactly what a read without tta sees
    work_h = round(WORK_HEIGHT_FACTOR * 32)
    work_w = round(line.shape[1] * work_h / line.shape[0])
    widths = {name: view.shape[1] for name, view in zip(VIEWS, out, strict=True)}
    assert all(view.shape[0] == work_h and view.dtype == np.uint8 for view in out[1:])
    assert widths["width:0.7"] == round(0.7 * work_w)
    assert widths["width:1.25"] == round(1.25 * work_w)
    assert widths["rotate:3"] == widths["blur"] == widths["bolder"] == work_w


def test_views_of_a_very_wide_strip_are_bounded_by_what_the_model_reads() -> None:
    """A 1x20,000 strip stretched to 48 rows unbounded took 490 MB of views; the model
    reads at most max_width columns, which even the narrowest view still reaches."""
    strip = np.full((1, 20_000), 255, np.uint8)
    strip[0, ::7] = 0
    out = views(strip, height=32, max_width=2048)
    widest = math.ceil(2048 * WORK_HEIGHT_FACTOR / NARROWEST)
    named = dict(zip(VIEWS, out, strict=True))
    assert max(v.shape[1] for v in out[1:]) <= round(1.25 * widest)
    assert named["width:0.7"].shape[1] * 32 / named["width:0.7"].shape[0] >= 2048 - 1
    assert sum(v.nbytes for v in out[1:]) < 40_000_000


@pytest.mark.parametrize("light_text", [False, True])
def test_bolder_and_thinner_follow_the_ink_whatever_its_polarity(light_text: bool) -> None:
    line = render("8080", size=40)
    if light_text:
        line = 255 - line
    named = dict(zip(VIEWS, views(line, height=32, max_width=2048), strict=True))

    def ink(img: np.ndarray) -> int:
        return int(np.sum(img > 127) if light_text else np.sum(img < 128))

    assert ink(named["bolder"]) > ink(named["blur"]) > ink(named["thinner"])


# -- vote ------------------------------------------------------------------------------------


def view(spec: list[dict[str, float]]) -> tuple[Decoded, np.ndarray]:
    """A view's greedy reading and its logits (log-probabilities are logits too)."""
    logits = frames(DIGITS, spec)
    return greedy(logits), logits


def vote_one(*views_: tuple[Decoded, np.ndarray]) -> Decoded:
    return vote([[d for d, _ in views_]], [[lg for _, lg in views_]], temperature=1.0)[0]


def test_the_text_every_view_finds_likely_beats_one_view_sure_of_another() -> None:
    """A product of experts, not the most confident view: two views find '17' likely and
    '11' unlikely; the identity is surer of '11' than they are of '17'."""
    sure_11 = view([{"": 0.9}, {"1": 0.9}, {"": 0.9}, {"1": 0.6, "7": 0.39}, {"": 0.9}])
    likely_17 = view([{"": 0.9}, {"1": 0.9}, {"": 0.9}, {"7": 0.55, "1": 0.44}, {"": 0.9}])
    assert text(sure_11[0]) == "11" and text(likely_17[0]) == "17"
    assert sure_11[0].confidence > likely_17[0].confidence
    assert text(vote_one(sure_11, likely_17, likely_17)) == "17"
    # ... and the other way round when the others barely believe it
    weak_17 = view([{"": 0.9}, {"1": 0.9}, {"": 0.9}, {"7": 0.45, "1": 0.44}, {"": 0.9}])
    assert text(vote_one(sure_11, sure_11, weak_17)) == "11"


def test_a_language_model_judges_with_every_view_as_in_its_beam_search() -> None:
    """The pixels favour '17' (the test above); a language model that has seen '11' far more
    often turns the vote, its score added once per judging view as each view's beam search
    adds it; without it, the vote is the pixels' alone."""
    sure_11 = view([{"": 0.9}, {"1": 0.9}, {"": 0.9}, {"1": 0.6, "7": 0.39}, {"": 0.9}])
    likely_17 = view([{"": 0.9}, {"1": 0.9}, {"": 0.9}, {"7": 0.55, "1": 0.44}, {"": 0.9}])
    views_ = (sure_11, likely_17, likely_17)
    lm = CharNgramLM.fit(["11"] * 50 + ["17"], DIGITS, order=3)
    decoder = Decoder(DIGITS, lm=lm, lm_weight=1.0, length_bonus=0.5)
    voted = vote([[d for d, _ in views_]], [[lg for _, lg in views_]], 1.0, decoder.text_bonus)
    assert text(voted[0]) == "11"
    assert text(vote_one(*views_)) == "17"
    # and the score it adds is the beam search's: fusion over the characters, then the end
    labels = tuple(DIGITS.encode("17"))
    fusion = _Fusion(lm, DIGITS, 1.0, 0.5)
    expected = sum(fusion.extend(labels[:i], labels[i]) for i in range(2)) + fusion.finish(labels)
    assert decoder.text_bonus(labels) == pytest.approx(expected)
    assert Decoder(DIGITS).text_bonus(labels) == 0.0


def test_the_winner_comes_with_its_most_confident_reading() -> None:
    views_ = [
        view([{"": 0.9}, {"4": 0.6}, {"": 0.9}]),
        view([{"": 0.9}, {"4": 0.95}, {"": 0.9}]),
        view([{"": 0.9}, {"9": 0.5, "4": 0.45}, {"": 0.9}]),
    ]
    voted = vote_one(*views_)
    assert voted is views_[1][0] and text(voted) == "4"


def test_a_view_too_narrow_for_a_candidate_judges_none() -> None:
    """'121' needs 3 frames: a 2-frame view would give it probability 0 and hand the vote to
    its own short reading; left out, it cannot."""
    long_ = view([{"": 0.9}, {"1": 0.9}, {"2": 0.6, "": 0.3}, {"1": 0.9}, {"": 0.9}])
    narrow = view([{"1": 0.99}, {"": 0.99}])
    assert text(long_[0]) == "121" and text(narrow[0]) == "1"
    assert text(vote_one(long_, long_, narrow)) == "121"
    # With the narrow view judging, '121' would have had no chance:
    target = np.array(DIGITS.encode("121"))
    assert ctc_log_likelihoods([narrow[1]], [target])[0] == -np.inf


def test_lines_without_frames_have_no_alignment() -> None:
    target = np.array(DIGITS.encode("1"))
    empty = np.zeros((0, DIGITS.num_classes))
    assert list(ctc_log_likelihoods([empty], [target])) == [-np.inf]
    one = frames(DIGITS, [{"1": 0.5}])
    got = ctc_log_likelihoods([empty, one], [target, target])
    assert got[0] == -np.inf and got[1] == pytest.approx(np.log(0.5))


def test_when_the_identity_view_cannot_judge_its_reading_is_kept() -> None:
    narrow = view([{"5": 0.99}])
    wide = view([{"": 0.9}, {"5": 0.9}, {"": 0.9}, {"6": 0.9}, {"": 0.9}])
    assert vote_one(narrow, wide, wide) is narrow[0]


def test_lines_voted_together_are_voted_as_alone() -> None:
    rng = np.random.default_rng(5)
    lines = []
    for _ in range(6):
        n_frames = int(rng.integers(3, 12))
        lines.append(
            [(greedy(lg), lg) for lg in (rng.normal(0, 2, (n_frames, 11)) for _ in range(4))]
        )
    together = vote([[d for d, _ in v] for v in lines], [[lg for _, lg in v] for v in lines], 1.3)
    alone = [vote([[d for d, _ in v]], [[lg for _, lg in v]], 1.3)[0] for v in lines]
    assert together == alone


def test_vote_needs_one_reading_per_view() -> None:
    d, lg = view([{"1": 0.9}])
    with pytest.raises(ValueError, match="one reading per view"):
        vote([[d, d]], [[lg]], temperature=1.0)
    with pytest.raises(ValueError, match="one reading per view"):
        vote([[]], [[]], temperature=1.0)
    with pytest.raises(ValueError, match="the logits of every line"):
        vote([[d]], [], temperature=1.0)


# -- through the runtime -----------------------------------------------------------------------


def test_read_batch_with_tta_reads_each_line_with_its_own_views(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines of different sizes in one call, more than one group of TTA_LINES: each line's
    result is its own (the bundled model reads these words right), in input order."""
    from lineocr import runtime

    words = ["harbour", "7 lanes", "Quiet", "zebra 42", "the end", "Mix"]
    lines = [render(w, size=22 + 4 * i) for i, w in enumerate(words)]
    recognizer = Recognizer.load("printed", threads=2)
    monkeypatch.setattr(runtime, "TTA_LINES", 4)  # two groups
    together = recognizer.read_batch(lines, tta=True)
    assert [p.text for p in together] == words
    for p in together:
        assert 0.0 <= p.confidence <= 1.0
        assert all(0.0 <= c.confidence <= 1.0 for c in p.chars)
    assert recognizer.read_batch([], tta=True) == []


def test_read_view_logits_gives_each_lines_views_in_the_order_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each line's logits in the views asked for, in that order, more than one group of
    TTA_LINES; the identity view is the line as ``read_logits`` reads it (the ops, then
    the scaling), and the other views are those ``read_batch(..., tta=True)`` votes on."""
    from lineocr import runtime

    lines = [render(w, size=22 + 4 * i) for i, w in enumerate(["harbour", "7 lanes", "Quiet"])]
    recognizer = Recognizer.load("printed", threads=1)
    monkeypatch.setattr(runtime, "TTA_LINES", 2)  # two groups
    every = recognizer.read_view_logits(lines)
    assert [len(v) for v in every] == [len(VIEWS)] * 3
    plain = recognizer.read_logits(lines)
    for line_views, logits in zip(every, plain, strict=True):
        np.testing.assert_allclose(line_views[0], logits, atol=1e-4)  # the identity
    picked = recognizer.read_view_logits(lines, names=["blur", "bolder"])
    order = list(VIEWS)
    for line_views, chosen in zip(every, picked, strict=True):
        np.testing.assert_allclose(chosen[0], line_views[order.index("blur")], atol=1e-4)
        np.testing.assert_allclose(chosen[1], line_views[order.index("bolder")], atol=1e-4)
    with pytest.raises(ValueError, match="views must be names"):
        recognizer.read_view_logits(lines, names=["sideways"])


def test_read_batch_with_tta_and_a_language_model_votes_with_it(
    tiny_onnx_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineocr import runtime

    recognizer = Recognizer.load(tiny_onnx_model, threads=1)
    lm = CharNgramLM.fit(["abc", "cab"], recognizer.charset, order=2)
    bonuses: list[object] = []

    def spy(readings, logits, temperature, bonus=None):  # type: ignore[no-untyped-def]
        bonuses.append(bonus)
        return vote(readings, logits, temperature, bonus)

    monkeypatch.setattr(runtime, "vote", spy)
    line = render("abc")
    recognizer.read_batch([line], tta=True, lm=lm, lm_weight=0.7, length_bonus=0.25)
    recognizer.read_batch([line], tta=True, decoder="beam")
    with_lm, without = bonuses
    assert without is None and callable(with_lm)
    labels = tuple(recognizer.charset.encode("ab"))
    assert with_lm(labels) == pytest.approx(0.7 * lm.score_line("ab") + 2 * 0.25)


def test_tta_must_be_a_boolean(tiny_onnx_model: Path) -> None:
    recognizer = Recognizer.load(tiny_onnx_model, threads=1)
    with pytest.raises(ValueError, match="tta must be true or false"):
        recognizer.read_batch([render("a")], tta="yes")  # type: ignore[arg-type]


def test_tta_reads_held_out_digit_strings_at_least_as_well() -> None:
    """The bundled arabic-digits model on 100 fresh lines in held-out fonts: augmentation is
    at least as good as the plain reading and reads most of them. Measured with seeds 32-34:
    plain 90-92, tta 93-94 lines, the same on CPUs with and without VNNI (7-bit int8
    weights); the threshold leaves a margin below that (the measured gain is in
    docs/runtime.md, benchmarks/bench_tta.py)."""
    from lineocr.data.synth import LineSynthesizer, SynthConfig

    synth = LineSynthesizer(
        SynthConfig(lang="arabic-digits", style="sharpened"), seed=32, split="val"
    )
    samples = [synth.sample(i) for i in range(100)]
    recognizer = Recognizer.load("arabic-digits", threads=2)
    truth = [recognizer.charset.normalize(t) for _, t in samples]
    plain = recognizer.read_batch([image for image, _ in samples])
    tta = recognizer.read_batch([image for image, _ in samples], tta=True)
    right_plain = sum(p.text == t for p, t in zip(plain, truth, strict=True))
    right_tta = sum(p.text == t for p, t in zip(tta, truth, strict=True))
    assert right_tta >= right_plain
    assert right_tta >= 0.85 * len(samples)
