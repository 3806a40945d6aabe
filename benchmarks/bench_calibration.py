"""Calibration of line confidences: expected calibration error (ECE) of the greedy line
confidence, as the runtime reports it (the probability of the decoded text over all its
CTC alignments), beside the best path's probability (one alignment), on fresh CAPTCHAs.

    python benchmarks/bench_calibration.py [--model captcha] [--n 300]

Both use the model's stored temperature; the text is the same greedy output.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from bench_captcha import make_set
from lineocr.decode import expected_calibration_error, greedy_batch, log_softmax
from lineocr.images import load_image
from lineocr.preprocess import collate, to_model_input
from lineocr.runtime import Recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="captcha")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    rec = Recognizer.load(args.model)
    correct, text_prob, best_path = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        make_set(Path(tmp), args.n, seed=2)
        for path in sorted(Path(tmp).glob("*.png")):
            batch, _ = collate([to_model_input(load_image(path), rec.spec)], rec.spec)
            lp = log_softmax(rec.logits(batch).astype(np.float64) / rec.temperature)[0]
            decoded = greedy_batch(lp[None])[0]
            correct.append(rec.prediction(decoded).text == path.stem)
            text_prob.append(decoded.confidence)
            best_path.append(float(np.exp(lp.max(axis=1).sum())))
    report = {
        "model": args.model,
        "lines": args.n,
        "exact_match": float(np.mean(correct)),
        "text_probability": {
            "mean": float(np.mean(text_prob)),
            "ece": expected_calibration_error(text_prob, correct),
        },
        "best_path": {
            "mean": float(np.mean(best_path)),
            "ece": expected_calibration_error(best_path, correct),
        },
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
