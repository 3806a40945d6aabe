"""Evaluate a recogniser on labelled data: CER, WER, exact match, calibration, worst lines,
confused characters. Torch-free: it runs any model through :class:`lineocr.runtime.Recognizer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from lineocr.images import ImageError
from lineocr.metrics import Confusions, Scores, char_errors
from lineocr.runtime import run_isolated

PredictBatch = Callable[[list[np.ndarray]], list[tuple[str, float]]]


class Labelled(Protocol):
    """What evaluation needs of a sample (lineocr.data.sources.Sample satisfies it)."""

    @property
    def text(self) -> str: ...

    @property
    def source(self) -> str: ...

    def load(self) -> np.ndarray: ...


@dataclass(frozen=True)
class LineResult:
    source: str
    reference: str
    prediction: str
    confidence: float
    errors: int

    @property
    def cer(self) -> float:
        return self.errors / max(1, len(self.reference))


@dataclass
class EvalReport:
    scores: Scores
    ece: float
    worst: list[LineResult]
    confusions: list[tuple[str, str, int]]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        s = self.scores
        return {
            "n": s.n,
            "cer": s.cer,
            "wer": s.wer,
            "exact_match": s.exact_match,
            "ece": self.ece,
            "char_errors": s.char_errors,
            "chars": s.chars,
            "word_errors": s.word_errors,
            "words": s.words,
            "lines_per_s": s.n / self.elapsed_s if self.elapsed_s else None,
            "n_skipped": len(self.skipped),
            "skipped": [{"source": src, "reason": why} for src, why in self.skipped],
            "worst": [asdict(r) | {"cer": r.cer} for r in self.worst],
            "confusions": [
                {"reference": r, "prediction": h, "count": c} for r, h, c in self.confusions
            ],
        }


def evaluate(
    samples: Sequence[Labelled],
    predict: PredictBatch,
    normalize: Callable[[str], str],
    *,
    batch_size: int = 64,
    worst: int = 10,
) -> EvalReport:
    """Read every sample, compare with its (normalised) label. Unreadable images, images the
    model cannot read (``predict`` raises for them: they are retried one by one, so one bad
    line costs only its own result) and labels that normalise to nothing are reported in
    ``skipped`` and do not count."""
    from lineocr.decode import expected_calibration_error

    results: list[LineResult] = []
    skipped: list[tuple[str, str]] = []
    started = time.perf_counter()
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        images, kept, labels = [], [], []
        for sample in chunk:
            ref = normalize(sample.text)
            if not ref.strip():  # a label of tatweel or marks only, stripped by the options
                skipped.append((sample.source, f"label {sample.text!r} is empty once normalised"))
                continue
            try:
                images.append(sample.load())
                kept.append(sample)
                labels.append(ref)
            except ImageError as exc:
                skipped.append((sample.source, exc.reason))
        outcomes = run_isolated(predict, images) if images else []
        for sample, ref, outcome in zip(kept, labels, outcomes, strict=True):
            if isinstance(outcome, Exception):
                reason = f"cannot recognise: {type(outcome).__name__}: {outcome}"
                skipped.append((sample.source, reason[:300]))
                continue
            text, conf = outcome
            results.append(LineResult(sample.source, ref, text, conf, char_errors(ref, text)))
    elapsed = time.perf_counter() - started
    refs = [r.reference for r in results]
    hyps = [r.prediction for r in results]
    confusions = Confusions()
    for r in results:
        confusions.add(r.reference, r.prediction)
    ece = expected_calibration_error(
        [r.confidence for r in results], [r.reference == r.prediction for r in results]
    )
    ranked = sorted(results, key=lambda r: (-r.cer, -r.errors))
    return EvalReport(
        scores=Scores.compute(refs, hyps),
        ece=float(ece),
        worst=[r for r in ranked[:worst] if r.errors > 0],
        confusions=confusions.most_common(10),
        skipped=skipped,
        elapsed_s=elapsed,
    )
