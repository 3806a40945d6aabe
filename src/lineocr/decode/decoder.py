"""The decoder used by the runtime, the CLI, the server and evaluation: options checked once."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from lineocr.charset import Charset
from lineocr.decode.base import Decoded, DecodeError, log_softmax
from lineocr.decode.beam import DEFAULT_BEAM_WIDTH, beam_search
from lineocr.decode.best_path import _frame_scores, _greedy, greedy
from lineocr.decode.constraints import Constraint, LexiconConstraint, PatternConstraint
from lineocr.keywords import check_keywords
from lineocr.lm import DEFAULT_LENGTH_BONUS, DEFAULT_LM_WEIGHT, CharNgramLM, LMError

if TYPE_CHECKING:
    from typing import Unpack

DECODE_OPTIONS = ("decoder", "beam_width", "lexicon", "pattern", "lm", "lm_weight", "length_bonus")
DECODERS = ("greedy", "beam")


class DecodeOptions(TypedDict, total=False):
    """The decoding options, by keyword (:data:`DECODE_OPTIONS`; see :class:`Decoder`)."""

    decoder: str
    beam_width: int | None
    lexicon: Sequence[str] | str | Path | None
    pattern: str | None
    lm: CharNgramLM | str | Path | None
    lm_weight: float | None
    length_bonus: float | None


@functools.lru_cache(maxsize=32)
def _pattern_constraint(pattern: str, charset: Charset) -> PatternConstraint:
    return PatternConstraint(pattern, charset)


@functools.lru_cache(maxsize=4)
def _load_lm(path: str) -> CharNgramLM:
    try:
        return CharNgramLM.load(path)
    except LMError as exc:
        raise DecodeError(str(exc)) from None


@functools.lru_cache(maxsize=8)
def _lexicon_constraint(words: tuple[str, ...], charset: Charset) -> LexiconConstraint:
    return LexiconConstraint(words, charset)


def load_lexicon(path: str | Path) -> tuple[str, ...]:
    """Words of a word-list file: UTF-8, whitespace-separated (one per line is usual)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DecodeError(f"cannot read lexicon {path}: {exc}") from None
    except UnicodeDecodeError:
        raise DecodeError(f"lexicon {path} is not UTF-8 text") from None
    words = tuple(dict.fromkeys(text.split()))
    if not words:
        raise DecodeError(f"lexicon {path} has no words")
    return words


def _constraint(
    charset: Charset, lexicon: Sequence[str] | str | Path | None, pattern: str | None
) -> Constraint | None:
    """The automaton a ``pattern`` or a ``lexicon`` (words or a word-list file) compiles to."""
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise DecodeError(f"pattern must be a non-empty string, not {pattern!r}")
        return _pattern_constraint(pattern, charset)
    if lexicon is not None:
        if isinstance(lexicon, (str, Path)):
            words = load_lexicon(lexicon)
        else:
            words = tuple(str(w) for w in lexicon)
        return _lexicon_constraint(words, charset)
    return None


def _fusion_weights(
    has_lm: bool, lm_weight: float | None, length_bonus: float | None
) -> tuple[float, float]:
    """The language model's weight and the length bonus, checked (defaults for None)."""
    if not has_lm:  # given without a language model they would be ignored
        for option, given in (("lm_weight", lm_weight), ("length_bonus", length_bonus)):
            if given is not None:
                raise DecodeError(f"{option} goes with a language model (lm); none given")
    weight = DEFAULT_LM_WEIGHT if lm_weight is None else lm_weight
    bonus = DEFAULT_LENGTH_BONUS if length_bonus is None else length_bonus
    for option, value in (("lm_weight", weight), ("length_bonus", bonus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DecodeError(f"{option} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise DecodeError(f"{option} must be a finite number, not {value!r}")
    if weight < 0:
        raise DecodeError(f"lm_weight must be >= 0, not {lm_weight!r}")
    return float(weight), float(bonus)


class Decoder:
    """Decoding options, checked and compiled once; call on one line or a batch.

    ``decoder``: ``"greedy"`` (default) or ``"beam"``; ``beam_width`` (default 10; giving
    it to a decoder that is greedy is an error, as it would be ignored);
    ``lexicon``: words (a sequence) or a word-list file path; ``pattern``: a regex or a name
    from :data:`NAMED_PATTERNS`; ``lm``: a character language model
    (:class:`~lineocr.lm.CharNgramLM` or its JSON file) fused with weight ``lm_weight`` and a
    per-character ``length_bonus``. A lexicon, a pattern or a language model implies the
    beam search.
    """

    def __init__(self, charset: Charset, **options: Unpack[DecodeOptions]) -> None:
        check_keywords("Decoder.__init__", options, DECODE_OPTIONS)
        decoder = options.get("decoder", "greedy")
        beam_width = options.get("beam_width")
        lexicon, pattern = options.get("lexicon"), options.get("pattern")
        if decoder not in DECODERS:
            raise DecodeError(f"decoder must be one of {list(DECODERS)}, not {decoder!r}")
        width = DEFAULT_BEAM_WIDTH if beam_width is None else beam_width
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise DecodeError(f"beam_width must be a positive integer, not {beam_width!r}")
        if lexicon is not None and pattern is not None:
            raise DecodeError("give either a lexicon or a pattern, not both")
        self.charset = charset
        self.beam_width = width
        self.constraint = _constraint(charset, lexicon, pattern)
        lm = options.get("lm")
        self.lm_weight, self.length_bonus = _fusion_weights(
            lm is not None, options.get("lm_weight"), options.get("length_bonus")
        )
        self.lm = _load_lm(str(lm)) if isinstance(lm, (str, Path)) else lm
        uses_beam = self.constraint is not None or self.lm is not None
        self.name = "beam" if uses_beam else decoder
        if beam_width is not None and self.name == "greedy":
            raise DecodeError(
                f"beam_width {beam_width} goes with the beam search (decoder 'beam', a lexicon, "
                "a pattern or a language model); the greedy decoder has no beam"
            )

    @classmethod
    def from_options(cls, charset: Charset, **options: Any) -> Decoder:
        """Like the constructor, with a clear error naming any unknown option."""
        unknown = sorted(set(options) - set(DECODE_OPTIONS))
        if unknown:
            raise DecodeError(
                f"unknown decode option(s) {', '.join(unknown)}; known: {', '.join(DECODE_OPTIONS)}"
            )
        return cls(charset, **options)

    def __call__(self, log_probs: np.ndarray) -> Decoded:
        if self.name == "greedy":
            return greedy(log_probs)
        best: Decoded | None = None
        constraint = self.constraint
        while True:
            decoded = beam_search(
                log_probs,
                self.beam_width,
                constraint=constraint,
                charset=self.charset,
                lm=self.lm,
                lm_weight=self.lm_weight,
                length_bonus=self.length_bonus,
            )
            if best is None or decoded.confidence > best.confidence:
                best = decoded
            if constraint is None or constraint.alternative is None:
                return best
            constraint = constraint.alternative

    def text_bonus(self, labels: Sequence[int]) -> float:
        """What this decoder's beam search adds to the CTC log-likelihood of the finished
        text ``labels``: ``lm_weight * log P_lm`` of the line (end included) plus
        ``length_bonus`` per character; 0 without a language model."""
        if self.lm is None:
            return 0.0
        visual = "".join(self.charset.chars[label - 1] for label in labels)
        return self.lm_weight * self.lm.score_line(visual) + self.length_bonus * len(labels)

    def decode_logits(
        self,
        logits: np.ndarray,
        lengths: Sequence[int] | np.ndarray,
        temperature: float = 1.0,
        *,
        check: Callable[[], None] | None = None,
    ) -> list[Decoded]:
        """(N, T, C) raw logits -> one :class:`Decoded` per line, each cut to its length;
        logits are divided by the calibration ``temperature`` first. ``check`` is called
        before each line a beam decodes (it may raise to stop: a cancelled read)."""
        if self.name == "greedy":
            # float32, as the network's output: faster than float64, and the error (~1e-6
            # per log-probability) is far below the calibration's.
            labels, scores, lse = _frame_scores(np.asarray(logits, dtype=np.float32), temperature)
            return _greedy(labels, scores, lse, np.asarray(lengths))
        log_probs = log_softmax(logits.astype(np.float32) / np.float32(temperature))
        out = []
        for i, n in enumerate(lengths):
            if check is not None:
                check()
            out.append(self(log_probs[i, : int(n)]))
        return out
