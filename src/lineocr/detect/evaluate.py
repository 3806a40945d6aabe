"""Detection figures: predicted lines matched one-to-one to the true lines at an IoU of at
least :data:`IOU` (quadrilaterals, greedily by IoU), recall and precision. Torch-free."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

IOU = 0.5

Polygon = Sequence[Sequence[float]] | np.ndarray


def _convex(polygon: Polygon) -> np.ndarray:
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    return cv2.convexHull(pts).reshape(-1, 2)


def iou(a: Polygon, b: Polygon) -> float:
    """Intersection over union of two polygons' convex hulls."""
    pa, pb = _convex(a), _convex(b)
    area_a, area_b = float(cv2.contourArea(pa)), float(cv2.contourArea(pb))
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    return float(inter) / (area_a + area_b - float(inter))


@dataclass
class Counts:
    true: int = 0
    found: int = 0
    matched: int = 0

    def add(self, other: Counts) -> None:
        self.true += other.true
        self.found += other.found
        self.matched += other.matched

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def f1(self) -> float:
        r, p = self.recall, self.precision
        return 2 * r * p / (r + p) if r + p else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "true": self.true,
            "found": self.found,
            "matched": self.matched,
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
        }


def match(truth: Sequence[Polygon], found: Sequence[Polygon], threshold: float = IOU) -> Counts:
    """One page's counts: each true line matched to at most one found line."""
    pairs = []
    for i, t in enumerate(truth):
        tb = np.asarray(t, np.float32).reshape(-1, 2)
        for j, f in enumerate(found):
            fb = np.asarray(f, np.float32).reshape(-1, 2)
            # cheap box test before the polygon intersection
            if (
                fb[:, 0].min() > tb[:, 0].max()
                or tb[:, 0].min() > fb[:, 0].max()
                or fb[:, 1].min() > tb[:, 1].max()
                or tb[:, 1].min() > fb[:, 1].max()
            ):
                continue
            v = iou(t, f)
            if v >= threshold:
                pairs.append((v, i, j))
    used_t: set[int] = set()
    used_f: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    return Counts(len(truth), len(found), len(used_t))
