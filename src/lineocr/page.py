"""Reading a page: layout (:mod:`lineocr.layout`) -> line crops -> a recogniser -> a
:class:`Page` of blocks of lines, set upright (0/90/180/270) and in reading order.

:class:`Page`, :class:`Block` and :class:`Line` are plain data: every output is written
from them. Torch-free, as the recogniser is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lineocr.layout import Box, ClassicalDetector, Layout, Point
from lineocr.prediction import CharConfidence, Prediction

SAMPLE_LINES = 6  # lines read per orientation tried


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    box: Box  # x0, y0, x1, y1 in the input image's pixels
    polygon: tuple[Point, ...]  # in the input image's pixels
    block: int
    chars: tuple[CharConfidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.confidence,
            "box": list(self.box),
            "polygon": [list(p) for p in self.polygon],
            "block": self.block,
        }


@dataclass(frozen=True)
class Block:
    lines: tuple[Line, ...]

    @property
    def box(self) -> Box:
        return (
            min(ln.box[0] for ln in self.lines),
            min(ln.box[1] for ln in self.lines),
            max(ln.box[2] for ln in self.lines),
            max(ln.box[3] for ln in self.lines),
        )


@dataclass(frozen=True)
class Page:
    blocks: tuple[Block, ...]
    rotation: int  # degrees counter-clockwise the image was turned to read it upright
    skew: float  # degrees its lines leaned once upright
    size: tuple[int, int]  # the input image's width, height
    rtl: bool = False
    lines: tuple[Line, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(ln for b in self.blocks for ln in b.lines))

    @property
    def text(self) -> str:
        """The lines in reading order, one per line (the JSON ``text``)."""
        return "\n".join(ln.text for ln in self.lines)

    @property
    def block_text(self) -> str:
        """The lines in reading order, blocks separated by a blank line."""
        return "\n\n".join("\n".join(ln.text for ln in b.lines) for b in self.blocks)

    @property
    def confidence(self) -> float:
        """The lines' confidences averaged, weighted by their lengths (1.0 with no lines)."""
        weights = [max(1, len(ln.text)) for ln in self.lines]
        if not weights:
            return 1.0
        return float(np.average([ln.confidence for ln in self.lines], weights=weights))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.confidence,
            "lines": [ln.to_dict() for ln in self.lines],
            "rotation": self.rotation,
            "skew": round(self.skew, 2),
            "size": list(self.size),
        }


def _turn(image: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(image, rotation // 90))


def _unturn(point: Point, rotation: int, size: tuple[int, int]) -> Point:
    """A point of the page turned by ``rotation`` as a point of the input image."""
    w, h = size  # of the input image
    x, y = point
    if rotation == 90:  # np.rot90 k=1: (x, y) of the turned page is (w - 1 - y, x)
        return (w - 1 - y, x)
    if rotation == 180:
        return (w - 1 - x, h - 1 - y)
    if rotation == 270:
        return (y, h - 1 - x)
    return (x, y)


def _mean_confidence(predictions: Sequence[Prediction]) -> float:
    return float(np.mean([p.confidence for p in predictions])) if predictions else 0.0


def rtl_text(texts: Sequence[str]) -> bool:
    """Whether most of the letters in ``texts`` are of a right-to-left script."""
    rtl = ltr = 0
    for text in texts:
        for ch in text:
            kind = unicodedata.bidirectional(ch)
            rtl += kind in ("R", "AL")
            ltr += kind == "L"
    return rtl > ltr


class PageReader:
    """A recogniser reading whole pages.

    ``rtl``: order columns right to left (True), left to right (False), or decide from
    the script the recogniser reads on the page (None). ``orient``: try the page turned
    90/180/270° when upright reads poorly. ``detector``: what finds the lines, any object
    with ``find_lines(gray, *, rtl) -> Layout``: the classical layout analysis (None, the
    default) or a learned :class:`lineocr.detect.runtime.LineDetector`.
    """

    def __init__(
        self,
        recognizer: Any,
        *,
        rtl: bool | None = None,
        orient: bool = True,
        batch_size: int = 16,
        detector: Any = None,
    ) -> None:
        self.recognizer = recognizer
        self.detector = detector if detector is not None else ClassicalDetector()
        self.rtl = rtl
        self.orient = orient
        self.batch_size = batch_size

    def _read(self, crops: list[np.ndarray], **options: Any) -> list[Prediction]:
        if not crops:
            return []
        result: list[Prediction] = self.recognizer.read_batch(
            crops, batch_size=self.batch_size, **options
        )
        return result

    def _upright(
        self, image: np.ndarray, rtl: bool, **options: Any
    ) -> tuple[int, Layout, list[Prediction]]:
        """The rotation that sets the page upright, its layout and a few lines read. The
        page is laid out as it is and turned a quarter; the few widest lines of each are
        read as cut and turned half a turn (upside down), and the most confident of the
        four readings wins (a layout costs more than a few lines' reading, so a third one is
        made only when an upside-down reading wins, for the order of its lines)."""
        layout = self.detector.find_lines(image, rtl=rtl)
        if not self.orient:
            return 0, layout, self._read(self._sample(layout), **options)
        layouts = {0: layout, 90: self.detector.find_lines(_turn(image, 90), rtl=rtl)}
        readings: dict[int, list[Prediction]] = {}
        for rotation, found in layouts.items():
            crops = self._sample(found)
            readings[rotation] = self._read(crops, **options)
            flipped = [np.ascontiguousarray(np.rot90(c, 2)) for c in crops]
            readings[rotation + 180] = self._read(flipped, **options)
        best = max(readings, key=lambda r: (_mean_confidence(readings[r]), -r))
        layout = (
            layouts[best]
            if best in layouts
            else self.detector.find_lines(_turn(image, best), rtl=rtl)
        )
        return best, layout, readings[best]

    def _sample(self, layout: Layout) -> list[np.ndarray]:
        """The widest few lines (most to read, least to be fooled by)."""
        lines = sorted(layout.lines, key=lambda ln: -ln.image.shape[1])[:SAMPLE_LINES]
        return [ln.image for ln in lines]

    def read(self, image: np.ndarray, **options: Any) -> Page:
        """Read a grayscale page (uint8 array); decoding options as ``read_batch`` takes."""
        rtl = bool(self.rtl)
        rotation, layout, sample = self._upright(image, rtl, **options)
        if self.rtl is None and rtl_text([p.text for p in sample]):
            rtl = True
            layout = self.detector.find_lines(_turn(image, rotation), rtl=True)
        predictions = self._read([ln.image for ln in layout.lines], **options)
        h, w = image.shape[:2]
        blocks: dict[int, list[Line]] = {}
        for region, prediction in zip(layout.lines, predictions, strict=True):
            polygon = tuple(_unturn(p, rotation, (w, h)) for p in region.polygon)
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            box = (max(0, min(xs)), max(0, min(ys)), min(w, max(xs) + 1), min(h, max(ys) + 1))
            line = Line(
                prediction.text,
                prediction.confidence,
                box,
                polygon,
                region.block,
                prediction.chars,
            )
            blocks.setdefault(region.block, []).append(line)
        return Page(
            tuple(Block(tuple(lines)) for _, lines in sorted(blocks.items())),
            rotation,
            layout.skew,
            (w, h),
            rtl,
        )
