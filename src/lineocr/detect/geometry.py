"""Line rectangles and cores: a line's quadrilateral -> its core (the training target)
and a core -> the line's quadrilateral again (post-processing), by the one rule of
:class:`~lineocr.detect.spec.DetectorSpec`. Torch-free (numpy, OpenCV).

A line is a rotated rectangle: centre, direction (the axis nearer horizontal, pointing
right), length along it and height across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lineocr.detect.spec import DetectorSpec

Quad = tuple[tuple[float, float], ...]
# a polygon as points: nested sequences, or an (n, 2) array
PolygonLike = Sequence[Sequence[float]] | np.ndarray
SUPERSAMPLE = 4  # core maps are drawn this much finer, then averaged
MAX_INSET_SHARE = 0.25  # a core keeps at least half its line's length


@dataclass(frozen=True)
class Rect:
    cx: float
    cy: float
    angle: float  # radians, the direction's angle (image y down: positive turns clockwise)
    length: float
    height: float

    @property
    def direction(self) -> np.ndarray:
        return np.array([np.cos(self.angle), np.sin(self.angle)])

    def corners(self) -> np.ndarray:
        """(4, 2) float: top-left, top-right, bottom-right, bottom-left."""
        d = self.direction
        n = np.array([-d[1], d[0]])
        c = np.array([self.cx, self.cy])
        hl, hh = self.length / 2, self.height / 2
        return np.stack(
            [c - hl * d - hh * n, c + hl * d - hh * n, c + hl * d + hh * n, c - hl * d + hh * n]
        )

    def scaled(self, s: float) -> Rect:
        return Rect(self.cx * s, self.cy * s, self.angle, self.length * s, self.height * s)


def rect_of(polygon: PolygonLike) -> Rect:
    """The smallest rotated rectangle around a polygon, its direction the axis nearer
    horizontal."""
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    (cx, cy), (w, h), deg = cv2.minAreaRect(pts)
    a = np.deg2rad(deg)
    # cv2's angle is of the side of length w; the other side is a quarter turn on.
    if abs(np.cos(a)) < abs(np.sin(a)):
        a += np.pi / 2
        w, h = h, w
    if np.cos(a) < 0:
        a += np.pi
    a = (a + np.pi) % (2 * np.pi) - np.pi
    return Rect(float(cx), float(cy), float(a), float(w), float(h))


def core_of(rect: Rect, spec: DetectorSpec) -> Rect:
    inset = min(spec.core_inset * rect.height, MAX_INSET_SHARE * rect.length)
    return Rect(
        rect.cx, rect.cy, rect.angle, rect.length - 2 * inset, rect.height * spec.core_height
    )


def line_of(core: Rect, spec: DetectorSpec) -> Rect:
    """The line a core was cut from (:func:`core_of` undone; a line so short that its inset
    was capped comes back a little long)."""
    height = core.height / spec.core_height
    return Rect(core.cx, core.cy, core.angle, core.length + 2 * spec.core_inset * height, height)


def core_map(
    polygons: Sequence[PolygonLike],
    shape: tuple[int, int],
    scale: float,
    spec: DetectorSpec,
) -> np.ndarray:
    """The training target: uint8 (H, W) at output resolution, 1 on each pixel that a
    line's core covers by half or more (drawn at :data:`SUPERSAMPLE` times the resolution
    and averaged: a core two pixels high is two rows, not the four a filled polygon's
    edges would touch). ``scale``: output pixels per page pixel."""
    h, w = shape
    fine = np.zeros((h * SUPERSAMPLE, w * SUPERSAMPLE), np.uint8)
    for polygon in polygons:
        core = core_of(rect_of(polygon), spec).scaled(scale * SUPERSAMPLE)
        # fillPoly fills the pixels whose centres (at +0.5) lie inside
        pts = np.round((core.corners() - 0.5) * 16).astype(np.int32)
        cv2.fillPoly(fine, [pts], 255, lineType=cv2.LINE_8, shift=4)
    coarse = cv2.resize(fine, (w, h), interpolation=cv2.INTER_AREA)
    return (coarse >= 128).astype(np.uint8)
