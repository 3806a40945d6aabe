"""One script per word: a stray letter of the other script inside a word is decoded again
without that script (lineocr.script_consistency), so the bidi reordering cannot scramble
the line; a line that really mixes scripts word by word is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from lineocr.charset import Charset
from lineocr.decode import Decoder
from lineocr.script_consistency import one_script_per_word, script_classes, stray_script

TA_MARBUTA, ALEF, BEH, MEEM = "\u0629", "\u0627", "\u0628", "\u0645"


@pytest.mark.parametrize(
    ("text", "stray"),
    [
        (f"Gr{TA_MARBUTA}sse und mehr", "rtl"),  # an accented letter read as Arabic
        (f"{MEEM}{ALEF}l{BEH} {BEH}{ALEF}{MEEM}", "ltr"),  # a Latin l inside an Arabic word
        (f"Hello {MEEM}{ALEF}{BEH} world", None),  # an Arabic word in an English line
        (f"Hello {MEEM}{ALEF}{BEH} worl{TA_MARBUTA}", None),  # Arabic stands alone too
        ("ID \u0661\u0662\u0663 2024", None),  # digits are not letters
        ("plain text", None),
        (f"a{BEH} {ALEF}b", None),  # as many of each: no minority to drop
    ],
)
def test_stray_script(text: str, stray: str | None) -> None:
    assert stray_script(text) == stray


CHARSET = Charset.from_string(f"abc {TA_MARBUTA}{BEH}")


def _logits(frames: list[dict[str, float]]) -> np.ndarray:
    """(1, T, C) logits: each frame's listed characters (' ' the space, '' the blank) get
    their value, every other class -10."""
    out = np.full((1, len(frames), CHARSET.num_classes), -10.0, dtype=np.float32)
    for t, frame in enumerate(frames):
        for ch, value in frame.items():
            out[0, t, 0 if ch == "" else CHARSET.chars.index(ch) + 1] = value
    return out


AB = [{"": 5.0}, {"a": 5.0}, {"": 5.0}, {"b": 5.0}]  # the frames of "ab"


def _read(logits: np.ndarray) -> str:
    decoder = Decoder(CHARSET)
    decoded = decoder.decode_logits(logits, [logits.shape[1]])
    fixed = one_script_per_word(decoded, logits, [logits.shape[1]], decoder, 1.0)
    return CHARSET.decode(fixed[0].indices)


def test_a_stray_letter_inside_a_word_is_read_as_the_best_letter_of_the_line_s_script() -> None:
    logits = _logits(
        [{"a": 5}, {"": 5}, {TA_MARBUTA: 5, "b": 4}, {"": 5}, {"c": 5}, {"": 5}, {" ": 5}, *AB]
    )
    assert CHARSET.decode(Decoder(CHARSET).decode_logits(logits, [11])[0].indices) != "abc ab"
    assert _read(logits) == "abc ab"


def test_a_line_with_a_word_of_each_script_is_left_as_read() -> None:
    logits = _logits(
        [*AB, {"": 5}, {" ": 5}, {"": 5}, {BEH: 5, "c": 4}, {"": 5}, {TA_MARBUTA: 5, "a": 4}]
    )
    plain = CHARSET.decode(Decoder(CHARSET).decode_logits(logits, [logits.shape[1]])[0].indices)
    assert sorted(plain.split()) == sorted(["ab", f"{TA_MARBUTA}{BEH}"])  # logical order
    assert _read(logits) == plain


def test_beam_decoding_drops_the_stray_letter_too() -> None:
    logits = _logits([{"a": 5}, {"": 5}, {TA_MARBUTA: 5, "b": 4}, {"": 5}, {"c": 5}])
    decoder = Decoder(CHARSET, decoder="beam", beam_width=4)
    decoded = decoder.decode_logits(logits, [5])
    fixed = one_script_per_word(decoded, logits, [5], decoder, 1.0)
    assert CHARSET.decode(fixed[0].indices) == "abc"


def test_script_classes_are_the_letters_of_each_direction() -> None:
    classes = script_classes(CHARSET)
    letters = {d: {CHARSET.chars[i - 1] for i in c} for d, c in classes.items()}
    assert letters == {"ltr": {"a", "b", "c"}, "rtl": {TA_MARBUTA, BEH}}


def test_the_letter_read_in_place_of_a_stray_one_keeps_the_model_s_doubt() -> None:
    # b has 4 of the frame's logits against the stray letter's 5: about 0.27 of it
    logits = _logits([{"a": 5}, {"": 5}, {TA_MARBUTA: 5, "b": 4}, {"": 5}, {"c": 5}])
    decoder = Decoder(CHARSET)
    decoded = decoder.decode_logits(logits, [5])
    (fixed,) = one_script_per_word(decoded, logits, [5], decoder, 1.0)
    assert CHARSET.decode(fixed.indices) == "abc"
    frame = np.exp(logits[0, 2] - np.log(np.exp(logits[0, 2]).sum()))
    b = CHARSET.chars.index("b") + 1
    assert fixed.char_confidences[1] == pytest.approx(float(frame[b]), rel=1e-5)
    assert fixed.char_confidences[1] < 0.3 < min(fixed.char_confidences[0::2])
    assert fixed.confidence < 0.3  # the line is as doubtful as its least sure letter or more
