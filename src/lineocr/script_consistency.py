"""One script per word: a letter of the other script inside a word is a misreading.

A model that reads Latin and Arabic (the bundled ``printed``) sometimes reads a letter it
knows poorly as a letter of the other script: an accented ``ö`` as ``ة``, a smudged Arabic
letter as ``l``. The stray letter costs more than itself: the line's text is put into
logical order by the Unicode bidirectional algorithm, so one right-to-left letter inside a
left-to-right line moves the runs of Latin text around it and scrambles the whole line
(measured on the independent European sets, docs/benchmarks.md: 6-8 % of the lines).

In real text, scripts change between words, not inside them. So where a line's reading
has a word mixing Latin and Arabic letters and the line's minority script has no word of
its own, the line is decoded again, with the same decoder, without that script's letters
(:func:`stray_script`, :func:`one_script_per_word`). A genuinely mixed line (an English
sentence naming an Arabic word, an Arabic one with ``PDF`` in it) has whole words of both
scripts and is left as it is. The decision depends on the line's own logits only, so a
line still reads the same in any batch. Scripts are told apart by their direction (the
letters' bidi class), which is what scrambles a line: a Latin letter inside a Cyrillic
word is not caught (no bundled model reads two left-to-right scripts).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import numpy as np

from lineocr.charset import Charset
from lineocr.decode import Decoded, Decoder, ctc_log_likelihoods, log_softmax
from lineocr.decode.align import align

LTR, RTL = "ltr", "rtl"
MASKED = -1e4  # a logit no class wins against (the network's are within about +-50)


def letter_direction(ch: str) -> str | None:
    """``rtl`` for a letter of a right-to-left script (Arabic, Hebrew), ``ltr`` for one of
    a left-to-right script (Latin), None for anything that is not a letter (digits, marks,
    punctuation, spaces)."""
    if not ch.isalpha():
        return None
    kind = unicodedata.bidirectional(ch)
    if kind in ("R", "AL"):
        return RTL
    return LTR if kind == "L" else None


def stray_script(text: str) -> str | None:
    """The direction (``ltr`` / ``rtl``) whose letters in ``text`` are strays inside words
    of the other: some word mixes both, the direction has fewer letters in the line, and
    no word is written in it alone. None when the line has no mixed word or the minority
    is a script of its own (a word of it stands alone)."""
    if text.isascii():  # the common case: every letter is Latin, nothing to mix
        return None
    mixed = False
    counts = {LTR: 0, RTL: 0}
    alone: set[str] = set()
    for word in text.split():
        directions = [d for ch in word if (d := letter_direction(ch)) is not None]
        for d in directions:
            counts[d] += 1
        found = set(directions)
        if len(found) == 2:
            mixed = True
        elif len(found) == 1:
            alone |= found
    if not mixed or counts[LTR] == counts[RTL]:
        return None
    minority = LTR if counts[LTR] < counts[RTL] else RTL
    return None if minority in alone else minority


def script_classes(charset: Charset) -> dict[str, np.ndarray]:
    """The output classes (blank is 0) of each direction's letters in ``charset``."""
    classes: dict[str, list[int]] = {LTR: [], RTL: []}
    for i, ch in enumerate(charset.chars):
        d = letter_direction(ch)
        if d is not None:
            classes[d].append(i + 1)
    return {d: np.asarray(c, dtype=np.int64) for d, c in classes.items()}


def one_script_per_word(  # noqa: PLR0913 - one batch's decoding context
    decoded: Sequence[Decoded],
    logits: np.ndarray,
    frames: Sequence[int] | np.ndarray,
    decoder: Decoder,
    temperature: float,
    check: Callable[[], None] | None = None,
) -> list[Decoded]:
    """``decoded`` (``decoder``'s readings of a batch's raw ``logits`` (N, T, C), each line
    ``frames`` long) with each line that has stray letters (:func:`stray_script`) decoded
    again by ``decoder`` without the stray script's letters. The masked decoding only
    chooses the labels; their confidences are the model's own probabilities of them
    (:func:`rescored`): a letter read in place of the stray one is as doubtful as the
    model made it. ``check`` is called before each line decoded again (it may raise to
    stop a cancelled read)."""
    charset = decoder.charset
    out = list(decoded)
    classes: dict[str, np.ndarray] | None = None
    for j, reading in enumerate(decoded):
        script = stray_script(charset.decode(reading.indices))
        if script is None:
            continue
        if classes is None:
            classes = script_classes(charset)
        if check is not None:
            check()
        n = int(frames[j])
        masked = np.array(logits[j : j + 1, :n], dtype=np.float32)
        masked[..., classes[script]] = MASKED
        labels = decoder.decode_logits(masked, [n], temperature)[0].indices
        out[j] = rescored(labels, logits[j, :n], temperature)
    return out


def rescored(labels: tuple[int, ...], logits: np.ndarray, temperature: float) -> Decoded:
    """``labels`` with the confidences the model gives them on a line's raw ``logits``
    (T, C), as the greedy decoder reports its own: each character's, the highest
    probability of its label in the frames the CTC alignment gives it; the line's, the
    probability of the labels summed over all their alignments."""
    log_probs = log_softmax(logits.astype(np.float32) / np.float32(temperature))
    spans = align(log_probs, labels)
    if spans is None:  # more labels than frames: the masked decoding cannot give that
        return Decoded(labels, tuple(0.0 for _ in labels), 0.0)
    chars = tuple(
        float(np.exp(log_probs[a:b, k].max())) for (a, b), k in zip(spans, labels, strict=True)
    )
    line = float(np.exp(ctc_log_likelihoods([logits], [np.asarray(labels)], temperature)[0]))
    return Decoded(labels, chars, min(1.0, max(0.0, line)))
