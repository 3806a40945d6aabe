"""Recognition metrics: CER, WER and exact match, on rapidfuzz's edit distance.

Rates are totals over a dataset (sum of edits / sum of reference lengths), as in the
OCR literature, not means of per-line rates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein


def char_errors(reference: str, hypothesis: str) -> int:
    return int(Levenshtein.distance(reference, hypothesis))


def word_errors(reference: str, hypothesis: str) -> int:
    return int(Levenshtein.distance(reference.split(), hypothesis.split()))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    return Scores.compute(references, hypotheses).cer


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    return Scores.compute(references, hypotheses).wer


@dataclass(frozen=True)
class Scores:
    n: int
    cer: float
    wer: float
    exact_match: float
    char_errors: int
    chars: int
    word_errors: int
    words: int

    @classmethod
    def compute(cls, references: Sequence[str], hypotheses: Sequence[str]) -> Scores:
        if len(references) != len(hypotheses):
            raise ValueError("references and hypotheses differ in length")
        ce = sum(char_errors(r, h) for r, h in zip(references, hypotheses, strict=True))
        we = sum(word_errors(r, h) for r, h in zip(references, hypotheses, strict=True))
        chars = sum(len(r) for r in references)
        words = sum(len(r.split()) for r in references)
        exact = sum(r == h for r, h in zip(references, hypotheses, strict=True))
        n = len(references)
        return cls(
            n=n,
            cer=ce / max(1, chars),
            wer=we / max(1, words),
            exact_match=exact / n if n else 0.0,
            char_errors=ce,
            chars=chars,
            word_errors=we,
            words=words,
        )


@dataclass
class Confusions:
    """Counts of character substitutions, insertions and deletions (reference -> hypothesis)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, reference: str, hypothesis: str) -> None:
        for op in Levenshtein.opcodes(reference, hypothesis):
            if op.tag == "equal":
                continue
            ref = reference[op.src_start : op.src_end]
            hyp = hypothesis[op.dest_start : op.dest_end]
            if op.tag == "replace" and len(ref) == len(hyp):
                self.counts.update(zip(ref, hyp, strict=True))
            else:
                self.counts[(ref, hyp)] += 1

    def most_common(self, n: int = 10) -> list[tuple[str, str, int]]:
        return [(r, h, c) for (r, h), c in self.counts.most_common(n)]
