"""A character n-gram language model for the beam search (shallow fusion).

The model reads a line in visual order (left to right, as drawn), so the language model is
trained and queried in that order too: each training line goes through the model's own
normalisation and :func:`~lineocr.charset.to_visual` first, and the beam search asks it for
``P(next drawn character | previous drawn characters)``. A right-to-left word is thus
learnt reversed, which is exactly how the beam spells it.

Smoothing is interpolated absolute discounting (Ney, Essen and Kneser 1994) down to an
add-one unigram over the characters seen plus one unknown, so every character has a
non-zero probability and the distribution over the vocabulary sums to one. Lines begin
and end with a boundary symbol, so "how lines end" is learnt too.

The file is JSON (no pickle): order, discount and, per context, the counts of the
characters that followed it.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineocr.charset import Charset, to_visual

BOUNDARY = "\n"  # start and end of a line; never a character of a line (spaces collapse)
# Shallow fusion defaults (decoders and command-line options alike).
DEFAULT_LM_WEIGHT = 0.5
DEFAULT_LENGTH_BONUS = 0.0
FORMAT = "lineocr-char-ngram-1"


class LMError(ValueError):
    """A language model that cannot be built or read; the message says why."""


@dataclass
class CharNgramLM:
    """Counts of ``order``-grams of drawn characters, with their lower orders."""

    order: int
    counts: dict[str, dict[str, int]]  # context (0..order-1 chars) -> next char -> count
    discount: float = 0.75
    _totals: dict[str, int] = field(default_factory=dict, repr=False)
    _cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.order <= 12:
            raise LMError(f"order must be between 1 and 12, not {self.order}")
        if not 0.0 < self.discount < 1.0:
            raise LMError(f"discount must lie in (0, 1), not {self.discount}")
        if "" not in self.counts or not self.counts[""]:
            raise LMError("the language model has no unigram counts (empty training text?)")
        bad = next(
            ((ctx, c, k) for ctx, nxt in self.counts.items() for c, k in nxt.items() if k < 1),
            None,
        )
        if bad is not None:
            raise LMError(f"counts must be positive: {bad[2]} for {bad[1]!r} after {bad[0]!r}")
        self._totals = {ctx: sum(nxt.values()) for ctx, nxt in self.counts.items()}
        self.vocab = frozenset(self.counts[""]) | {BOUNDARY}

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        charset: Charset | None = None,
        *,
        order: int = 5,
        discount: float = 0.75,
        min_count: int = 1,
    ) -> CharNgramLM:
        """Count the n-grams of ``texts`` (logical order, as typed), each normalised with
        ``charset``'s options (if given; digits as the model draws them:
        :meth:`Charset.as_drawn`) and put in visual order. Contexts seen fewer than
        ``min_count`` times are dropped above the bigrams (a smaller file, little loss)."""
        if min_count < 1:
            raise LMError(f"min_count must be >= 1, not {min_count}")
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        lines = 0
        for text in texts:
            line = charset.as_drawn(text) if charset is not None else " ".join(text.split())
            if not line:
                continue
            lines += 1
            drawn = BOUNDARY + to_visual(line) + BOUNDARY
            for i in range(1, len(drawn)):
                for n in range(order):  # context lengths 0 .. order-1
                    if i - n < 0:
                        break
                    counts[drawn[i - n : i]][drawn[i]] += 1
        if not lines:
            raise LMError("no text to build a language model from")
        if min_count > 1:
            totals = {ctx: sum(nxt.values()) for ctx, nxt in counts.items()}
            counts = {
                ctx: nxt for ctx, nxt in counts.items() if len(ctx) < 2 or totals[ctx] >= min_count
            }
        return cls(order, {ctx: dict(nxt) for ctx, nxt in counts.items()}, discount)

    # -- scoring ----------------------------------------------------------------------------
    def logprob(self, context: str, char: str) -> float:
        """log P(char | the last order-1 characters of context), natural log. The context
        of a line's first character is ``BOUNDARY``; ask for ``BOUNDARY`` to end a line."""
        context = context[-(self.order - 1) :] if self.order > 1 else ""
        key = (context, char)
        value = self._cache.get(key)
        if value is None:
            value = math.log(self._prob(context, char))
            if len(self._cache) < 1_000_000:
                self._cache[key] = value
        return value

    def _prob(self, context: str, char: str) -> float:
        unigrams = self.counts[""]
        total = self._totals[""]
        # Add-one over the vocabulary plus one bucket for characters never seen.
        p = (unigrams.get(char, 0) + 1) / (total + len(self.vocab) + 1)
        for n in range(1, len(context) + 1):
            ctx = context[-n:]
            followers = self.counts.get(ctx)
            if not followers:
                break  # a longer context containing this one was not seen either
            seen = self._totals[ctx]
            p = (
                max(followers.get(char, 0) - self.discount, 0.0) / seen
                + self.discount * len(followers) / seen * p
            )
        return p

    def foreign_chars(self, charset: Charset) -> str:
        """The characters this model has counts for that ``charset`` cannot write: a model
        built for another recogniser's characters (``lineocr lm`` keeps only lines the
        recogniser can write, so one built for it has none)."""
        return "".join(sorted(c for c in self.vocab if c != BOUNDARY and c not in charset))

    def score_line(self, visual: str) -> float:
        """log P of a whole drawn line, boundaries included."""
        drawn = BOUNDARY + visual + BOUNDARY
        return sum(self.logprob(drawn[:i], drawn[i]) for i in range(1, len(drawn)))

    # -- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "order": self.order,
            "discount": self.discount,
            "counts": self.counts,
        }

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> CharNgramLM:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise LMError(f"{path}: cannot read the language model: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LMError(f"{path}: not a lineocr language model (not JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LMError(f"{path}: not a lineocr language model (format {FORMAT!r} expected)")
        try:
            counts = {
                str(ctx): {str(c): int(k) for c, k in nxt.items()}
                for ctx, nxt in data["counts"].items()
            }
            return cls(int(data["order"]), counts, float(data.get("discount", 0.75)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LMError(f"{path}: malformed language model: {exc}") from None
