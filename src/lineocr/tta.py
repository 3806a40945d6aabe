"""Test-time augmentation: read a line as several views and keep the text they agree on.

A model trained on synthetic lines misreads some faces it never saw (display fonts with
unusual digit or letter shapes), and its mistakes change with small changes of the image:
the same line drawn a little bolder, narrower or turned by a few degrees is often read
right. :func:`views` makes :data:`VIEWS` of a line after the model's ops
(:func:`~lineocr.preprocess.ops_output`); the decoder reads each; :func:`vote` keeps,
among the distinct texts read, the one with the highest CTC log-likelihood summed over all
views.

It costs one model run per view (:data:`VIEWS`: 12) and is off by default; what it gains
and costs, and how the views and the vote were chosen: docs/runtime.md (``--tta``).

Imports no torch (the inference path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from lineocr.decode import Decoded, ctc_log_likelihoods, min_frames
from lineocr.preprocess import light_text

WORK_HEIGHT_FACTOR = 1.5  # views are drawn 1.5x the model's input height (48 rows for 32)
STROKE_KERNEL = np.ones((2, 2), np.uint8)  # one step bolder or thinner at that height
NARROWEST = 0.7  # the narrowest view's width factor


def _bolder(img: np.ndarray) -> np.ndarray:
    return cv2.dilate(img, STROKE_KERNEL) if light_text(img) else cv2.erode(img, STROKE_KERNEL)


def _thinner(img: np.ndarray) -> np.ndarray:
    return cv2.erode(img, STROKE_KERNEL) if light_text(img) else cv2.dilate(img, STROKE_KERNEL)


def _width(scale: float) -> Callable[[np.ndarray], np.ndarray]:
    def view(img: np.ndarray) -> np.ndarray:
        h, w = img.shape
        return cv2.resize(img, (max(1, round(w * scale)), h), interpolation=cv2.INTER_AREA)

    return view


def _rotate(degrees: float) -> Callable[[np.ndarray], np.ndarray]:
    def view(img: np.ndarray) -> np.ndarray:
        h, w = img.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(img, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)

    return view


def _blur(img: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(img, (3, 3), 0)


def _bolder_narrower(img: np.ndarray) -> np.ndarray:
    return _width(0.85)(_bolder(img))


# name -> transform of a line WORK_HEIGHT_FACTOR x the model's height; "identity" is the
# line exactly as a read without augmentation sees it.
VIEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda img: img,
    "bolder": _bolder,
    "thinner": _thinner,
    "width:0.7": _width(NARROWEST),
    "width:0.8": _width(0.8),
    "width:0.9": _width(0.9),
    "width:1.1": _width(1.1),
    "width:1.25": _width(1.25),
    "rotate:-3": _rotate(-3.0),
    "rotate:3": _rotate(3.0),
    "blur": _blur,
    "bolder,width:0.85": _bolder_narrower,
}


def views(img: np.ndarray, height: int, max_width: int) -> list[np.ndarray]:
    """The :data:`VIEWS` of a uint8 line after the model's ops, in order, for a model
    ``height`` rows high that reads lines at most ``max_width`` wide. The first is ``img``
    itself; the others are drawn at :data:`WORK_HEIGHT_FACTOR` x ``height`` (their stroke
    and blur sizes are in pixels), no wider than gives the narrowest view ``max_width``
    columns at the model's height: the model sees no more, and a long thin strip stretched
    without bound would take hundreds of megabytes of views."""
    h, w = img.shape
    work_h = round(WORK_HEIGHT_FACTOR * height)
    widest = math.ceil(max_width * WORK_HEIGHT_FACTOR / NARROWEST)
    work_w = max(1, min(widest, round(w * work_h / h)))
    interpolation = cv2.INTER_AREA if h > work_h else cv2.INTER_LINEAR
    work = cv2.resize(img, (work_w, work_h), interpolation=interpolation)
    return [img] + [transform(work) for name, transform in VIEWS.items() if name != "identity"]


def vote(
    readings: Sequence[Sequence[Decoded]],
    logits: Sequence[Sequence[np.ndarray]],
    temperature: float,
    bonus: Callable[[tuple[int, ...]], float] | None = None,
) -> list[Decoded]:
    """The reading of each line among its views' (``readings[k][i]`` decoded from
    ``logits[k][i]``, the raw (T, C) logits of line ``k``'s view ``i`` cut to its frames;
    view 0 is the identity).

    Every distinct text read of a line is scored by its CTC log-likelihood under each view's
    ``softmax(logits / temperature)``, summed over the views that have frames enough for
    every candidate (a view squeezed too narrow for one candidate cannot judge it fairly, so
    it judges none); the best-scored text wins: a product of experts, in which a text one
    view is sure of but the others find implausible loses to one every view finds likely.
    ``bonus``: what the decoder adds to a text's CTC log-likelihood (a language model's
    weighted log-probability and the length bonus, :meth:`lineocr.decode.Decoder.text_bonus`),
    added once per judging view, so each view's expert scores a text as its own beam search
    did; without it, the readings of a language-model decode would be voted on by the
    pixels alone.
    The winner comes as the view most confident of it decoded it: its per-character
    confidences and its line confidence (that view's calibrated probability of the text,
    so higher than a plain read's when the views agree; the alternatives calibrated worse,
    docs/runtime.md). Lines whose views all read one text need no scoring; the others are
    scored together, in batches of similar lengths, one CTC forward pass each.
    """
    if len(readings) != len(logits):
        raise ValueError("vote needs the logits of every line")
    chosen: list[Decoded | None] = [None] * len(readings)
    pairs: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # line, candidate, logits, target
    candidates: list[list[tuple[int, ...]]] = []
    priors: dict[int, np.ndarray] = {}  # line -> bonus of each candidate, once per judge
    for k, (line_readings, line_logits) in enumerate(zip(readings, logits, strict=True)):
        if len(line_readings) != len(line_logits) or not line_readings:
            raise ValueError("vote needs one reading per view, and at least one view")
        texts = list(dict.fromkeys(r.indices for r in line_readings))
        candidates.append(texts)
        targets = [np.asarray(text, dtype=np.int64) for text in texts]
        needed = max(max(1, min_frames(t)) for t in targets)
        if len(texts) == 1:
            chosen[k] = max(line_readings, key=lambda r: r.confidence)
        elif len(line_logits[0]) < needed:  # the identity view cannot judge: its own reading
            chosen[k] = line_readings[0]
        else:
            judges = [lg for lg in line_logits if len(lg) >= needed]
            pairs += [(k, c, lg, target) for lg in judges for c, target in enumerate(targets)]
            if bonus is not None:
                priors[k] = len(judges) * np.array([bonus(text) for text in texts])
    scores = [priors.get(k, np.zeros(len(texts))) for k, texts in enumerate(candidates)]
    if pairs:  # one call: lines of similar lengths are scored together
        ll = ctc_log_likelihoods([p[2] for p in pairs], [p[3] for p in pairs], temperature)
        for (k, c, _, _), value in zip(pairs, ll, strict=True):
            scores[k][c] += value
    out = []
    for k, line_readings in enumerate(readings):
        found = chosen[k]
        if found is None:
            best = candidates[k][int(np.argmax(scores[k]))]
            found = max((r for r in line_readings if r.indices == best), key=lambda r: r.confidence)
        out.append(found)
    return out
