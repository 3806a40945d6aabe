"""Score map -> text lines: threshold, connected components, each core's direction and
extent, grown back into its line (:func:`lineocr.detect.geometry.line_of`). Torch-free.

A core's direction is its own principal axis when it is long enough to have one, else the
page's median direction (a short word's few pixels say little about the page's skew).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lineocr.detect.geometry import Rect, line_of
from lineocr.detect.spec import DetectorSpec

ELONGATED = 3.0  # a core this many times longer than high has a direction of its own


@dataclass(frozen=True)
class DetectedLine:
    rect: Rect  # in the page's pixels
    score: float  # mean core probability

    @property
    def quad(self) -> tuple[tuple[float, float], ...]:
        return tuple((float(x), float(y)) for x, y in self.rect.corners())


def _axis(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """The principal axis angle (nearer horizontal, pointing right) and elongation."""
    cov = np.cov(np.stack([xs, ys]))
    vals, vecs = np.linalg.eigh(cov)
    d = vecs[:, 1]
    ratio = float(np.sqrt(max(vals[1], 1e-9) / max(vals[0], 1e-3)))
    if abs(d[0]) < abs(d[1]):  # the major axis is the more vertical one: not a line's length
        return 0.0, 0.0
    if d[0] < 0:
        d = -d
    return float(np.arctan2(d[1], d[0])), ratio


def find_cores(prob: np.ndarray, spec: DetectorSpec) -> list[tuple[Rect, float]]:
    """Cores in output pixels: (rectangle, mean probability) for each component above the
    threshold."""
    mask = (prob > spec.threshold).astype(np.uint8)
    n, labels = cv2.connectedComponents(mask, connectivity=4)
    if n <= 1:
        return []
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    order = np.argsort(lab, kind="stable")
    ys, xs, lab = ys[order], xs[order], lab[order]
    bounds = np.searchsorted(lab, np.arange(1, n + 1))
    pieces = []
    angles = []
    for i in range(n - 1):
        s, e = bounds[i], bounds[i + 1]
        if e - s < spec.min_area:
            continue
        px, py = xs[s:e] + 0.5, ys[s:e] + 0.5
        angle, ratio = _axis(px, py) if e - s >= 6 else (0.0, 0.0)
        own = ratio >= ELONGATED
        if own:
            angles.append(angle)
        pieces.append((px, py, angle, own, float(prob[ys[s:e], xs[s:e]].mean())))
    page_angle = float(np.median(angles)) if angles else 0.0
    cores = []
    for px, py, angle, own, score in pieces:
        a = angle if own else page_angle
        d = np.array([np.cos(a), np.sin(a)])
        along = px * d[0] + py * d[1]
        across = -px * d[1] + py * d[0]
        a0, a1 = along.min() - 0.5, along.max() + 0.5
        c0, c1 = across.min() - 0.5, across.max() + 0.5
        mid_a, mid_c = (a0 + a1) / 2, (c0 + c1) / 2
        cx = mid_a * d[0] - mid_c * d[1]
        cy = mid_a * d[1] + mid_c * d[0]
        cores.append((Rect(float(cx), float(cy), a, float(a1 - a0), float(c1 - c0)), score))
    return cores


def lines_from_map(prob: np.ndarray, spec: DetectorSpec, scale: float) -> list[DetectedLine]:
    """Lines in page pixels from a core probability map (H, W) at output resolution;
    ``scale``: page pixels per output pixel."""
    out = []
    for core, score in find_cores(prob, spec):
        if score < spec.min_score:
            continue
        out.append(DetectedLine(line_of(core, spec).scaled(scale), score))
    return out
