"""The character n-gram language model and its fusion into the beam search."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lineocr.charset import Charset, CharsetOptions, to_visual
from lineocr.decode import DecodeError, Decoder, beam_search, greedy
from lineocr.lm import BOUNDARY, CharNgramLM, LMError
from tests.decoding_helpers import ARABIC, LATIN, frames, text

WORDS = ["the cat sat", "a cat ate", "cats and hats", "that cat", "the mat"]


@pytest.fixture(scope="module")
def lm() -> CharNgramLM:
    return CharNgramLM.fit(WORDS * 3, LATIN, order=4)


@pytest.mark.parametrize("context", ["", BOUNDARY, "ca", "the c", "zzz", "t m"])
def test_probabilities_sum_to_one(lm: CharNgramLM, context: str) -> None:
    """Over every seen character, the line end and one unseen character (which stands for
    the unknown bucket), whatever the context: seen, partly seen or never seen."""
    unseen = "q"
    assert unseen not in lm.vocab
    total = sum(math.exp(lm.logprob(context, c)) for c in lm.vocab | {unseen})
    assert total == pytest.approx(1.0, abs=1e-9)


def test_context_matters(lm: CharNgramLM) -> None:
    assert lm.logprob("the c", "a") > lm.logprob("the c", "h")
    assert lm.logprob(BOUNDARY + "tha", "t") > lm.logprob("zzz", "t")
    assert lm.score_line("the cat") > lm.score_line("teh cta")


def test_learns_drawn_order_for_right_to_left_text() -> None:
    """The beam spells a right-to-left word as drawn (reversed), so that is what is learnt."""
    lm = CharNgramLM.fit(["سلام"] * 5, ARABIC, order=3)
    drawn = to_visual("سلام")
    assert drawn == "مالس"
    assert lm.logprob(BOUNDARY + "م", "ا") > lm.logprob(BOUNDARY + "م", "ل")
    assert lm.score_line(drawn) > lm.score_line("سلام")


def test_json_round_trip_and_bad_files(lm: CharNgramLM, tmp_path) -> None:
    path = lm.save(tmp_path / "lm.json")
    again = CharNgramLM.load(path)
    for context, char in [("the c", "a"), ("", "z"), ("ca", BOUNDARY)]:
        assert again.logprob(context, char) == pytest.approx(lm.logprob(context, char))
    (tmp_path / "other.json").write_text(json.dumps({"format": "something"}))
    (tmp_path / "broken.json").write_text("{not json")
    for name in ("other.json", "broken.json", "missing.json"):
        with pytest.raises(LMError, match=name):
            CharNgramLM.load(tmp_path / name)
    with pytest.raises(LMError, match="no text"):
        CharNgramLM.fit(["", "  "], LATIN)


def test_fusion_prefers_the_likely_text() -> None:
    """The model leans to "cst" (s .45 > a .40); a language model of cat-words tips it to
    "cat". The confidence stays the CTC probability of the chosen text."""
    lm = CharNgramLM.fit(WORDS * 3, LATIN, order=4)
    lp = frames(
        LATIN,
        [
            {"": 0.9},
            {"c": 0.9},
            {"": 0.9},
            {"s": 0.45, "a": 0.40},
            {"": 0.9},
            {"t": 0.9},
            {"": 0.9},
        ],
    )
    assert text(LATIN, greedy(lp)) == "cst"
    plain = beam_search(lp, 8, charset=LATIN)
    fused = beam_search(lp, 8, charset=LATIN, lm=lm, lm_weight=1.0)
    assert text(LATIN, plain) == "cst" and text(LATIN, fused) == "cat"
    assert fused.confidence < plain.confidence  # the CTC probability, not the fused score
    assert text(LATIN, beam_search(lp, 8, charset=LATIN, lm=lm, lm_weight=0.0)) == "cst"


def test_length_bonus_counters_deletions() -> None:
    """Two frames that may hold one 'a' or nothing: a strong bonus per character keeps it."""
    lm = CharNgramLM.fit(["a", "b"], LATIN, order=2)
    lp = frames(LATIN, [{"": 0.6, "a": 0.35}, {"": 0.6, "a": 0.35}])
    kept = beam_search(lp, 4, charset=LATIN, lm=lm, lm_weight=0.1, length_bonus=3.0)
    dropped = beam_search(lp, 4, charset=LATIN, lm=lm, lm_weight=0.1, length_bonus=-3.0)
    assert text(LATIN, kept) == "a" and text(LATIN, dropped) == ""


def test_decoder_options(lm: CharNgramLM, tmp_path) -> None:
    dec = Decoder(LATIN, lm=lm)
    assert dec.name == "beam"  # a language model implies the beam search
    path = lm.save(tmp_path / "lm.json")
    assert Decoder.from_options(LATIN, lm=str(path), lm_weight=0.3).lm is not None
    for bad in ({"lm_weight": -1}, {"lm_weight": float("nan")}, {"length_bonus": "x"}):
        with pytest.raises(DecodeError):
            Decoder(LATIN, lm=lm, **bad)
    with pytest.raises(DecodeError, match="missing"):
        Decoder(LATIN, lm=str(tmp_path / "missing.json"))
    for alone in ({"lm_weight": 0.5}, {"length_bonus": 1.0}):  # were ignored without an lm
        with pytest.raises(DecodeError, match="goes with a language model"):
            Decoder(LATIN, **alone)
    with pytest.raises(DecodeError, match="charset"):
        beam_search(np.log(np.full((3, LATIN.num_classes), 1 / LATIN.num_classes)), lm=lm)


def test_normalisation_follows_the_charset() -> None:
    cs = Charset.from_texts(["ABC"], CharsetOptions(case="upper"))
    lm = CharNgramLM.fit(["abc abc"], cs, order=2)
    assert "A" in lm.vocab and "a" not in lm.vocab


def test_a_map_digits_model_learns_western_digits_as_it_draws_them() -> None:
    """A model with map_digits returns ١٩٥٧-٠٩-٠٣ as "1957-09-03" and has classes only for
    the drawn digits: a language model built from the text as returned (Western digits) was
    empty of digits (`lineocr lm -m arabic-digits` skipped every such line). Its counts are
    now those of the drawn text, groups in drawn (visual) order."""
    digits = Charset.from_string("٠١٢٣٤٥٦٧٨٩-/", CharsetOptions(map_digits=True))
    returned = ["1957-09-03", "15/02/1970", "29801011234567"]
    drawn = ["١٩٥٧-٠٩-٠٣", "١٥/٠٢/١٩٧٠", "٢٩٨٠١٠١١٢٣٤٥٦٧"]
    assert [digits.map_digits(to_visual(t)) for t in drawn] != returned  # groups reversed
    assert [digits.as_drawn(t) for t in returned] == drawn
    western = CharNgramLM.fit(returned, digits, order=4)
    assert western.to_dict() == CharNgramLM.fit(drawn, digits, order=4).to_dict()
    assert western.foreign_chars(digits) == ""
    # A charset that has Western digits keeps them; without map_digits nothing changes.
    both = Charset.from_string("0123456789٠١٢٣٤٥٦٧٨٩", CharsetOptions(map_digits=True))
    assert both.as_drawn("12") == "12"
    assert Charset.from_string("٠١٢", CharsetOptions()).as_drawn("12") == "12"
    persian = Charset.from_string("۰۱۲۳۴۵۶۷۸۹", CharsetOptions(map_digits=True))
    assert persian.as_drawn("2024") == "۲۰۲۴"
    # Eastern wins over Persian when both are whole; part of a set, or part Western, is no
    # set to write with: unchanged, never a mix of digit systems.
    assert Charset.from_string("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", digits.options).as_drawn("24") == "٢٤"
    assert Charset.from_string("٠١٢٣۴۵۶۷۸۹", digits.options).as_drawn("24") == "24"
    assert Charset.from_string("01٢٣٤٥٦٧٨٩", digits.options).as_drawn("10-22") == "10-22"
