"""CTC decoders on crafted and random log-probabilities: greedy, beam, lexicon, pattern,
calibration (temperature fitting, ECE)."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from lineocr.charset import Charset, CharsetOptions, to_visual
from lineocr.decode import (
    EMPTY,
    NAMED_PATTERNS,
    DecodeError,
    Decoder,
    LexiconConstraint,
    PatternConstraint,
    beam_search,
    ctc_nll,
    expected_calibration_error,
    fit_temperature,
    greedy,
    greedy_batch,
    log_softmax,
)
from lineocr.decode.best_path import _best_paths, _frame_scores
from lineocr.decode.ctc import _best_path_log_likelihoods
from tests.decoding_helpers import ARABIC, LATIN, frames, text


def peaked(charset: Charset, visual: str, p: float = 0.95) -> np.ndarray:
    """Each character on one frame, separated by blank frames."""
    spec: list[dict[str, float]] = [{"": p}]
    for ch in visual:
        spec += [{ch: p}, {"": p}]
    return frames(charset, spec)


def random_log_probs(rng: np.random.Generator, t: int, c: int, sharpness: float) -> np.ndarray:
    return log_softmax(rng.normal(0, 1, (t, c)) * sharpness)


# -- greedy and beam --------------------------------------------------------------------


def test_beam_agrees_with_greedy_on_peaked_inputs() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        line = "".join(rng.choice(list("abc0123 "), size=rng.integers(1, 12)))
        line = " ".join(line.split()) or "a"
        lp = peaked(LATIN, line)
        g, b = greedy(lp), beam_search(lp, beam_width=8)
        assert text(LATIN, g) == text(LATIN, b) == line
        # The same labelling: character confidences come from the same best alignment.
        assert b.char_confidences == pytest.approx(g.char_confidences)
        # Both are the probability of the same text over its alignments; the beam prunes
        # unlikely labels per frame, so it sums a subset of what greedy's exact sum has.
        assert g.confidence >= b.confidence - 1e-12
        assert g.confidence == pytest.approx(b.confidence, rel=0.02)


def test_greedy_line_confidence_is_the_text_probability() -> None:
    """Not the best path's probability: every alignment of the decoded text counts, which
    is what the temperature is fitted for (exp(-ctc_nll) of the decoded labels)."""
    rng = np.random.default_rng(3)
    for _ in range(10):
        lp = random_log_probs(rng, 30, LATIN.num_classes, 3.0)
        g = greedy(lp)
        best_path = float(np.exp(lp.max(axis=1).sum()))
        exact = float(np.exp(-ctc_nll([lp], [list(g.indices)])))
        assert g.confidence == pytest.approx(exact, rel=1e-9)
        assert g.confidence >= best_path - 1e-15
    two = frames(LATIN, [{"a": 0.55, "": 0.4}, {"a": 0.55, "": 0.4}])
    assert greedy(two).confidence == pytest.approx(0.55 * 0.55 + 2 * 0.55 * 0.4)


def test_batched_line_probabilities_match_the_log_space_forward() -> None:
    """greedy_batch computes them in scaled probability space; lines of different lengths
    in one batch, and logits sharp enough that unscaled products would underflow."""
    rng = np.random.default_rng(8)
    for sharpness in (0.5, 3.0, 40.0, 200.0):
        lengths = rng.integers(1, 90, size=7)
        batch = np.stack([random_log_probs(rng, 90, LATIN.num_classes, sharpness) for _ in lengths])
        decoded = greedy_batch(batch, lengths)
        for row, n, d in zip(batch, lengths, decoded, strict=True):
            exact = -ctc_nll([row[:n]], [list(d.indices)])
            assert math.log(d.confidence) == pytest.approx(exact, rel=1e-9, abs=1e-9)


def test_line_probabilities_of_long_lines_survive_the_rescaling() -> None:
    """Lines of a thousand frames (many rescalings of the forward pass), peaked and flat
    frames mixed. Compared in log space: these probabilities are far below float range."""
    rng = np.random.default_rng(21)
    batch = np.stack([random_log_probs(rng, 1200, LATIN.num_classes, 40.0) for _ in range(3)])
    flat = rng.random(batch.shape[:2]) < 0.5
    batch[flat] = log_softmax(rng.normal(0, 0.3, (int(flat.sum()), LATIN.num_classes)))
    lengths = np.array([1200, 1200, 16])
    labels, scores, lse = _frame_scores(batch)
    paths, _ = _best_paths(labels, lse, lengths)
    fast = _best_path_log_likelihoods(scores, lse, lengths, paths)
    for row, n, path, ll in zip(batch, lengths, paths, fast, strict=True):
        assert ll == pytest.approx(-ctc_nll([row[:n]], [path.tolist()]), rel=1e-9)


def test_decoder_on_float32_logits_matches_the_float64_decoding() -> None:
    """Decoder.decode_logits works in float32 from raw logits and a temperature."""
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 4, (6, 120, LATIN.num_classes)).astype(np.float32)
    lengths = np.array([120, 119, 64, 30, 2, 0])
    fast = Decoder(LATIN).decode_logits(logits, lengths, temperature=1.3)
    reference = greedy_batch(log_softmax(logits.astype(np.float64) / 1.3), lengths)
    for f, r in zip(fast, reference, strict=True):
        assert f.indices == r.indices
        assert f.char_confidences == pytest.approx(r.char_confidences, rel=1e-5)
        assert f.confidence == pytest.approx(r.confidence, rel=1e-4, abs=1e-12)
    assert fast[-1] == EMPTY


def test_beam_beats_greedy_on_a_crafted_example() -> None:
    # Two frames of P(blank)=.4, P(a)=.35: greedy says "" (p=.16), but "a" has three
    # alignments (a a, a -, - a) worth .35*.35 + 2*.35*.4 = .4025.
    lp = frames(LATIN, [{"": 0.4, "a": 0.35}, {"": 0.4, "a": 0.35}])
    g, b = greedy(lp), beam_search(lp, beam_width=4)
    assert text(LATIN, g) == "" and g.confidence == pytest.approx(0.16)
    assert text(LATIN, b) == "a"
    assert b.confidence == pytest.approx(0.35 * 0.35 + 2 * 0.35 * 0.4)


def test_beam_keeps_repeated_characters_apart() -> None:
    lp = peaked(LATIN, "aa0011")
    assert text(LATIN, beam_search(lp, 5)) == "aa0011"


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_confidences_are_probabilities(decoder: str) -> None:
    rng = np.random.default_rng(1)
    dec = Decoder(LATIN, decoder=decoder)
    for sharpness in (0.1, 1.0, 5.0, 30.0):
        d = dec(random_log_probs(rng, 40, LATIN.num_classes, sharpness))
        assert 0.0 <= d.confidence <= 1.0
        assert all(0.0 <= c <= 1.0 for c in d.char_confidences)
        assert len(d.char_confidences) == len(d.indices)


def test_empty_and_all_blank_lines() -> None:
    lp = frames(LATIN, [{"": 0.99}] * 5)
    g, b = greedy(lp), beam_search(lp, 3)
    for d in (g, b):
        assert d.indices == () and d.char_confidences == ()
    assert g.confidence == pytest.approx(0.99**5)
    assert b.confidence == pytest.approx(0.99**5)  # the only alignment of "" is all blanks
    with pytest.raises(ValueError):
        greedy(np.zeros((3, 4, 5)))
    with pytest.raises(DecodeError):
        beam_search(lp, beam_width=0)


# -- lexicon -----------------------------------------------------------------------------


def test_lexicon_corrects_a_misread_word() -> None:
    # The model prefers "helo" but "hello" is in the lexicon: the second 'l' is weak.
    spec: list[dict[str, float]] = [{"h": 0.9}, {"e": 0.9}, {"l": 0.9}]
    spec += [{"l": 0.6, "": 0.35}, {"l": 0.6, "": 0.35}, {"o": 0.9}, {"": 0.9}]
    lp = frames(LATIN, spec)
    assert text(LATIN, greedy(lp)) == "helo"
    d = Decoder(LATIN, lexicon=["hello", "world"])(lp)
    assert text(LATIN, d) == "hello"
    assert 0.0 < d.confidence <= 1.0


def test_lexicon_constraint_holds_on_random_inputs() -> None:
    rng = np.random.default_rng(2)
    words = ["cab", "bad", "dab", "a"]
    dec = Decoder(LATIN, lexicon=words, beam_width=16)
    for _ in range(15):
        d = dec(random_log_probs(rng, 30, LATIN.num_classes, 2.0))
        result = text(LATIN, d)
        assert all(w in words for w in re.findall(r"[a-zO]+", result)), result


def test_lexicon_right_to_left_words() -> None:
    # "سلام" logical; the model sees it reversed. Misread: the 'ل' is weak.
    visual = to_visual("سلام")
    spec: list[dict[str, float]] = []
    for ch in visual:
        spec += [{ch: 0.9} if ch != "ل" else {"": 0.55, "ل": 0.4}, {"": 0.9}]
    lp = frames(ARABIC, spec)
    assert ARABIC.decode(greedy(lp).indices) == "سام"
    d = Decoder(ARABIC, lexicon=["سلام", "مرحبا"])(lp)
    assert ARABIC.decode(d.indices) == "سلام"


def test_a_pattern_too_large_for_the_regex_engine_is_a_decode_error() -> None:
    """re.compile raises OverflowError (not re.error) on a repetition count over its limit:
    a client's pattern must still be a refused option, not a server error."""
    with pytest.raises(DecodeError, match="too large"):
        Decoder(LATIN, pattern="a{4294967296}")


def test_lexicon_errors(tmp_path) -> None:
    with pytest.raises(DecodeError, match="none of the lexicon"):
        LexiconConstraint(["ωμέγα"], LATIN)
    with pytest.raises(DecodeError, match="cannot read lexicon"):
        Decoder(LATIN, lexicon=str(tmp_path / "missing.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DecodeError, match="no words"):
        Decoder(LATIN, lexicon=str(empty))
    binary = tmp_path / "words.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DecodeError, match="is not UTF-8 text"):
        Decoder(LATIN, lexicon=str(binary))
    words = tmp_path / "words.txt"
    words.write_text("hello\nworld\n", encoding="utf-8")
    assert Decoder(LATIN, lexicon=str(words)).constraint is not None


# -- patterns ----------------------------------------------------------------------------


def test_pattern_prefers_digits_over_a_more_probable_letter() -> None:
    # "12O45": the model reads a letter O where the pattern wants a digit; '0' is second.
    spec: list[dict[str, float]] = []
    for ch in "12O45":
        spec += [{ch: 0.9} if ch != "O" else {"O": 0.6, "0": 0.3}, {"": 0.9}]
    lp = frames(LATIN, spec)
    assert text(LATIN, greedy(lp)) == "12O45"
    for pattern in (r"\d{5}", "digits"):
        d = Decoder(LATIN, pattern=pattern)(lp)
        assert text(LATIN, d) == "12045"
        assert 0.0 < d.confidence < 0.5


@pytest.mark.parametrize("pattern", [*NAMED_PATTERNS, r"[a-c]{2}\d+", r"^\d{3}-\d{2}$", "x|yz"])
def test_pattern_constraint_holds_on_random_inputs(pattern: str) -> None:
    rng = np.random.default_rng(3)
    dec = Decoder(LATIN, pattern=pattern, beam_width=12)
    regex = re.compile(NAMED_PATTERNS.get(pattern, pattern))
    for _ in range(8):
        d = dec(random_log_probs(rng, 40, LATIN.num_classes, 1.5))
        result = text(LATIN, d)
        if d.indices:
            assert regex.fullmatch(result), (pattern, result)
        else:  # nothing matching in the beam: empty with confidence 0
            assert d.confidence == 0.0 or regex.fullmatch("")


def test_pattern_matches_unicode_digits_like_python_re() -> None:
    arabic_digits = Charset.from_string("٠١٢٣٤٥٦٧٨٩")
    lp = peaked(arabic_digits, "٢٩٠١")
    assert arabic_digits.decode(Decoder(arabic_digits, pattern=r"\d{4}")(lp).indices) == "٢٩٠١"


def test_right_to_left_pattern_is_matched_in_logical_order() -> None:
    constraint = PatternConstraint("سل[ا-ي]+", ARABIC)
    assert constraint.direction == "rtl"
    lp = peaked(ARABIC, to_visual("سلام"))
    assert ARABIC.decode(Decoder(ARABIC, pattern="سل[ا-ي]+")(lp).indices) == "سلام"
    # A pattern written in visual order ("مالس") is not what the line says: the best match
    # is some other, improbable string.
    plain = Decoder(ARABIC)(lp)
    forced = Decoder(ARABIC, pattern="مال[ا-ي]")(lp)
    assert re.fullmatch("مال[ا-ي]", ARABIC.decode(forced.indices))
    assert forced.confidence < 1e-3 * plain.confidence


def test_mixed_direction_pattern_checks_logical_text() -> None:
    assert PatternConstraint(r"رقم \d+", ARABIC).direction == "mixed"
    line = "رقم 123"
    d = Decoder(ARABIC, pattern=r"رقم \d+", beam_width=16)(peaked(ARABIC, to_visual(line)))
    assert ARABIC.decode(d.indices) == line


DIGITS_MAPPED = Charset.from_string("٠١٢٣٤٥٦٧٨٩-/ ", CharsetOptions(map_digits=True))


@pytest.mark.parametrize(
    ("line", "pattern"),
    [("٣-٩-١٩٥٧", "date"), ("٠٣/٠٩/١٩٥٧", "date"), ("١٢ ٣٤٥", r"\d{2} \d{3}")],
)
def test_pattern_over_arabic_indic_numbers_follows_their_drawn_order(line, pattern) -> None:
    """A separator or space between Arabic-Indic numbers is drawn right to left even in a
    left-to-right line (the groups of ``٣-٩-١٩٥٧`` are drawn ``١٩٥٧-٩-٣``): the pattern
    is checked on the logical text, and a model with map_digits is matched as it returns
    digits (0-9)."""
    constraint = PatternConstraint(pattern, DIGITS_MAPPED)
    assert constraint.direction == "numbers"
    lp = peaked(DIGITS_MAPPED, to_visual(line))
    d = Decoder(DIGITS_MAPPED, pattern=pattern, beam_width=16)(lp)
    assert DIGITS_MAPPED.decode(d.indices) == DIGITS_MAPPED.normalize(line)
    unconstrained = Decoder(DIGITS_MAPPED, decoder="beam")(lp)
    assert d.confidence == pytest.approx(unconstrained.confidence, rel=1e-3)


def test_pattern_over_arabic_indic_numbers_also_filters_the_beam() -> None:
    """``١٢-٣٤`` is drawn ``٣٤-١٢``: neither that nor its reverse matches ``1\\d-\\d{2}``
    (the automaton's best is an improbable ``١٤-١٢``, "12-14"); filtering the unconstrained
    beam on the logical text finds the line as read, which is more probable."""
    constraint = PatternConstraint(r"1\d-\d{2}", DIGITS_MAPPED)
    assert constraint.direction == "numbers" and constraint.alternative is not None
    lp = peaked(DIGITS_MAPPED, to_visual("١٢-٣٤"))
    d = Decoder(DIGITS_MAPPED, pattern=r"1\d-\d{2}", beam_width=16)(lp)
    assert DIGITS_MAPPED.decode(d.indices) == "12-34"


def test_pattern_on_digits_alone_keeps_its_automaton_and_sees_mapped_digits() -> None:
    for pattern in (r"\d{4}", "[0-9]{4}"):
        constraint = PatternConstraint(pattern, DIGITS_MAPPED)
        assert constraint.direction == "ltr"
        d = Decoder(DIGITS_MAPPED, pattern=pattern)(peaked(DIGITS_MAPPED, "٢٩٠١"))
        assert DIGITS_MAPPED.decode(d.indices) == "2901"
    with pytest.raises(DecodeError, match="cannot match any text"):
        PatternConstraint("[٠-٩]+", DIGITS_MAPPED)  # the model returns 0-9, never these


def test_pattern_is_checked_on_the_text_as_returned() -> None:
    """With collapse_spaces the runtime drops an edge space, so "abc " (raw) would come back
    as "abc", which a pattern of four characters does not match: a hypothesis whose returned
    text matches is chosen instead."""
    charset = Charset.from_string("abc ", CharsetOptions(collapse_spaces=True))
    spec = [{"a": 0.9}, {"b": 0.9}, {"c": 0.9}, {"": 0.5, " ": 0.3, "a": 0.1}]
    d = Decoder(charset, pattern="[a-c ]{4}", beam_width=16)(frames(charset, spec))
    returned = charset.tidy(charset.decode(d.indices))
    assert re.fullmatch("[a-c ]{4}", returned), returned
    assert returned == "abca"


def test_right_to_left_pattern_needing_a_missing_mirror_is_a_decode_error() -> None:
    # Drawn right to left, "(" is the glyph ")", which this charset lacks.
    with pytest.raises(DecodeError, match="cannot match any text"):
        PatternConstraint(r"ب\(", Charset.from_string("ابت( "))


ARABIC_DIGITS = Charset.from_string("٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    "pattern",
    [
        r"\u0661+",
        r"\U00000661+",
        r"\N{ARABIC-INDIC DIGIT ONE}+",
        r"[\u0661]+",
        r"(?#ones only)\u0661+",
    ],
)
def test_pattern_escapes_and_comments_python_takes(pattern: str) -> None:
    """\\u, \\U and \\N{...} escapes were refused ("unicode properties are not supported"),
    a (?#...) comment failed inside the automaton library; they mean what re says."""
    spec: list[dict[str, float]] = []
    for ch in "١٢١":  # the model reads ٢ where the pattern wants ١, its second choice
        spec += [{"٢": 0.6, "١": 0.3} if ch == "٢" else {ch: 0.9}, {"": 0.9}]
    d = Decoder(ARABIC_DIGITS, pattern=pattern)(frames(ARABIC_DIGITS, spec))
    assert ARABIC_DIGITS.decode(d.indices) == "١١١"


@pytest.mark.parametrize(
    ("pattern", "line"),
    [(r"\\u0661", "\\u0661"), ("a{3", "a{3"), ("a{}", "a{}"), ("a{,2}3", "aa3"), (r"\0a", "\0a")],
)
def test_pattern_characters_read_as_python_reads_them(pattern: str, line: str) -> None:
    """An escaped backslash before u is a backslash; a brace that starts no repetition is a
    literal (``a{3`` was refused with an empty reason); ``\\0`` is NUL."""
    assert re.fullmatch(pattern, line)
    charset = Charset.from_string("\\u0123456a{}\0")
    d = Decoder(charset, pattern=pattern)(peaked(charset, line))
    assert charset.decode(d.indices) == line


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[[:digit:]]+", r"\[:digit:\] is a POSIX class, not Python regex: use \\d"),
        ("[^[:alpha:]]", "POSIX class"),
        ("[[a]", r"ambiguous \(future Python reads a nested set\); escape it: \\\["),
        ("[0--9]", r"'--' inside \[...\] is ambiguous"),
        ("[a&&b]", r"'&&' inside \[...\] is ambiguous"),
    ],
)
def test_pattern_re_warns_about_is_refused_without_the_warning(pattern: str, message: str):
    """re printed a FutureWarning with a source line and the pattern was used as re read it
    ([[:digit:]]+: one of "[:digt" then "]"s); now it is a clear refusal."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from re fails the test
        with pytest.raises(DecodeError, match=message):
            PatternConstraint(pattern, LATIN)


def test_a_pattern_the_automaton_builder_cannot_parse_has_a_reason() -> None:
    # interegular's own error for this one has no message: it showed as "()"
    with pytest.raises(DecodeError, match=r"\(syntax the automaton builder does not parse\)"):
        PatternConstraint("(?P<é>a)", LATIN)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pattern": "(ab"}, "bad pattern"),
        ({"pattern": r"(a)\1"}, "cannot constrain"),
        ({"pattern": "[α-ω]+"}, "cannot match any text"),
        ({"pattern": ""}, "non-empty"),
        ({"decoder": "viterbi"}, "decoder must be"),
        ({"beam_width": 0}, "beam_width"),
        ({"beam_width": "10"}, "beam_width"),
        ({"beam_width": 4}, "greedy decoder has no beam"),  # was ignored
        ({"decoder": "greedy", "beam_width": 4}, "greedy decoder has no beam"),
        ({"lexicon": ["a"], "pattern": "a"}, "either"),
        ({"unknown": 1}, "unknown decode option"),
    ],
)
def test_bad_options_raise_decode_error(options: dict, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Decoder.from_options(LATIN, **options)
    assert issubclass(DecodeError, ValueError)


# -- calibration ---------------------------------------------------------------------------


def _sample_lines(rng: np.random.Generator, n: int, c: int) -> tuple[list, list]:
    """Lines drawn from a known CTC model: logits z, alignments sampled from softmax(z)."""
    logits, targets = [], []
    for _ in range(n):
        t = int(rng.integers(8, 20))
        z = rng.normal(0, 1, (t, c)) * 2.0
        z[:, 0] += 1.0  # blank-heavy, like a real model
        probs = np.exp(log_softmax(z))
        path = [int(rng.choice(c, p=p)) for p in probs]
        collapsed = [a for i, a in enumerate(path) if a != 0 and (i == 0 or a != path[i - 1])]
        logits.append(z)
        targets.append(collapsed)
    return logits, targets


def test_fit_temperature_recovers_overconfidence() -> None:
    rng = np.random.default_rng(4)
    logits, targets = _sample_lines(rng, 150, 6)
    overconfident = [z * 3.0 for z in logits]  # the true temperature is 3
    fitted = fit_temperature(overconfident, targets)
    assert 2.4 < fitted < 3.6
    before = ctc_nll(overconfident, targets, 1.0)
    after = ctc_nll(overconfident, targets, fitted)
    assert after < before - 0.1
    # Well calibrated already: stays near 1.
    assert 0.75 < fit_temperature(logits, targets) < 1.3


def test_fit_temperature_does_not_collapse_on_error_free_validation() -> None:
    """Lines read perfectly (peaked, correct logits): the likelihood rises as T falls, so
    an unbounded fit would return ~0 and make every later prediction look certain."""
    rng = np.random.default_rng(6)
    logits, targets = [], []
    for _ in range(40):
        labels = [int(x) for x in rng.integers(1, 6, size=4)]
        z = np.full((9, 6), -2.0)
        for frame in range(9):
            z[frame, labels[frame // 2] if frame % 2 == 0 and frame < 8 else 0] = 3.0
        logits.append(z)
        targets.append(labels)
    fitted = fit_temperature(logits, targets)
    assert ctc_nll(logits, targets, 0.1) < ctc_nll(logits, targets, 1.0)  # it would collapse
    assert fitted >= 0.5


def test_ctc_nll_matches_a_brute_force_sum() -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(0, 1, (4, 3))
    lp = log_softmax(z)
    total = 0.0
    for path in np.ndindex(3, 3, 3, 3):
        collapsed = [a for i, a in enumerate(path) if a != 0 and (i == 0 or a != path[i - 1])]
        if collapsed == [1, 1]:
            total += math.exp(sum(lp[t, a] for t, a in enumerate(path)))
    assert ctc_nll([z], [[1, 1]]) == pytest.approx(-math.log(total))
    with pytest.raises(DecodeError, match="label indices"):
        ctc_nll([z], ["ab"])


def test_expected_calibration_error_known_values() -> None:
    assert expected_calibration_error([0.9, 0.9, 0.9, 0.9], [1, 1, 1, 0]) == pytest.approx(0.15)
    # Two bins: (0.15 vs 0) with weight 1/2, (0.95 vs 1) with weight 1/2.
    ece = expected_calibration_error([0.1, 0.2, 0.9, 1.0], [0, 0, 1, 1], bins=10)
    assert ece == pytest.approx(0.25 * 0.1 + 0.25 * 0.2 + 0.25 * 0.1 + 0.25 * 0.0)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == 0.0
    assert expected_calibration_error([], []) == 0.0
    with pytest.raises(DecodeError):
        expected_calibration_error([0.5], [1, 0])
    with pytest.raises(DecodeError):
        expected_calibration_error([1.5], [1])


def test_decode_logits_applies_temperature_without_changing_greedy_text() -> None:
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 3, (2, 30, LATIN.num_classes))
    dec = Decoder(LATIN)
    cold = dec.decode_logits(logits, [30, 20], temperature=1.0)
    warm = dec.decode_logits(logits, [30, 20], temperature=2.0)
    for a, b in zip(cold, warm, strict=True):
        assert a.indices == b.indices
    assert warm[0].confidence != cold[0].confidence
    assert len(dec.decode_logits(logits, [0, 1])[0].indices) == 0
