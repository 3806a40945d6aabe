"""Crafted CTC log-probabilities and charsets shared by the decoding tests (``test_decode``,
``test_lm``, ``test_tta``): a plain module, so that no test module imports another."""

from __future__ import annotations

import numpy as np

from lineocr.charset import Charset

LATIN = Charset.from_string("0123456789abcdefghijklmnopqrstuvwxyzO -/.,:")
ARABIC = Charset.from_string("0123456789 سلامعيكمرحباق")


def frames(charset: Charset, spec: list[dict[str, float]]) -> np.ndarray:
    """Log-probabilities from per-frame {char: probability} ('' is the blank); the rest of
    each frame's mass is spread evenly over the other classes."""
    c = charset.num_classes
    out = np.zeros((len(spec), c))
    for t, probs in enumerate(spec):
        rest = (1.0 - sum(probs.values())) / (c - len(probs))
        out[t] = rest
        for ch, p in probs.items():
            out[t, 0 if ch == "" else charset.chars.index(ch) + 1] = p
    return np.log(out)


def text(charset: Charset, decoded) -> str:
    return charset.decode(decoded.indices)
