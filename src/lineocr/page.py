"""Reading a page: layout (:mod:`lineocr.layout`) -> line crops -> a recogniser -> a
:class:`Page` of blocks of lines, set upright (0/90/180/270) and in reading order, each
line with its words placed on the page (:func:`place_words`).

:class:`Page`, :class:`Block` and :class:`Line` are plain data: every output is written
from them. Torch-free, as the recogniser is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lineocr.layout import Box, ClassicalDetector, Layout, Point, find_lines
from lineocr.prediction import CharConfidence, Prediction
from lineocr.preprocess import ink_box

SAMPLE_LINES = 6  # lines read per orientation tried
LINE_HEIGHTS = 3  # layout auto: ink this many model heights tall or less is one line
# The mean character confidence of the upright sample at or above which the page is taken
# as upright without trying the other turns. Measured on bench_pages.py's composed pages
# (12 pages, 6 kinds): read the right way up 0.990-0.997, turned a quarter or a half at
# most 0.90 (benchmarks/bench_pages.py); a page below it is read at all four turns.
UPRIGHT_CONFIDENCE = 0.97


@dataclass(frozen=True)
class Word:
    """A run of non-space characters of a line, in logical order: its text, its
    characters, and its confidence, the lowest of theirs (a word is as doubtful as its most
    doubtful letter). ``box`` (x0, y0, x1, y1, ends exclusive) and ``polygon`` (four
    corners: top-left, top-right, bottom-right, bottom-left as the line runs) in the input
    image's pixels, where its characters' places are known (else None and empty)."""

    text: str
    confidence: float
    chars: tuple[CharConfidence, ...] = ()
    box: Box | None = None
    polygon: tuple[Point, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": self.confidence, "box": _listed(self.box)}


def _listed(box: Box | None) -> list[int] | None:
    return None if box is None else list(box)


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    box: Box  # x0, y0, x1, y1 in the input image's pixels
    polygon: tuple[Point, ...]  # in the input image's pixels
    block: int
    chars: tuple[CharConfidence, ...] = ()
    words: tuple[Word, ...] = ()  # placed on the page; empty where places are not known

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "confidence": self.confidence,
            "box": list(self.box),
            "polygon": [list(p) for p in self.polygon],
            "block": self.block,
        }
        if self.words:
            out["words"] = [w.to_dict() for w in self.words]
        return out


def split_words(chars: Sequence[CharConfidence]) -> list[Word]:
    """``chars`` (a line's, logical order) cut at spaces into words, not yet placed."""
    found: list[Word] = []
    run: list[CharConfidence] = []
    for c in (*chars, CharConfidence(" ", 1.0)):
        if not c.char.isspace():
            run.append(c)
        elif run:
            text = "".join(r.char for r in run)
            found.append(Word(text, min(r.confidence for r in run), tuple(run)))
            run = []
    return found


def place_words(
    chars: Sequence[CharConfidence],
    polygon: Sequence[tuple[float, float]],
    edges: tuple[float, float] | None,
    size: tuple[int, int],
) -> tuple[Word, ...]:
    """The words of a line whose characters were placed on its image (``x0``/``x1``,
    ``Recognizer.read_batch(..., positions=True)``), placed on the page: ``polygon`` is the
    line's (four corners in the input image, top-left first as the line runs) and ``edges``
    the line image's columns at its left and right edges. The line image is cut square to
    the line (levelled, then turned back), so a column maps to the same fraction of the
    way along the polygon's top edge and its bottom edge; a word spans from its leftmost
    character's start to its rightmost's end (right-to-left words included), within the
    polygon. Empty when any place is unknown (a line read with ``tta``, or made by hand)."""
    if edges is None or len(polygon) != 4 or edges[1] <= edges[0] or not chars:
        return ()
    if any(c.x0 is None or c.x1 is None for c in chars):
        return ()
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = polygon

    def at(column: float) -> tuple[Point, Point]:  # the top and bottom points there
        t = min(1.0, max(0.0, (column - edges[0]) / (edges[1] - edges[0])))
        top = (round(x0 + t * (x1 - x0)), round(y0 + t * (y1 - y0)))
        bottom = (round(x3 + t * (x2 - x3)), round(y3 + t * (y2 - y3)))
        return top, bottom

    placed = []
    for word in split_words(chars):
        start = min(c.x0 for c in word.chars if c.x0 is not None)
        end = max(c.x1 for c in word.chars if c.x1 is not None)
        (a_top, a_bottom), (b_top, b_bottom) = at(start), at(end)
        corners = (a_top, b_top, b_bottom, a_bottom)
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        box = clamp_box((min(xs), min(ys), max(xs), max(ys)), size)
        placed.append(replace(word, box=box, polygon=corners))
    return tuple(placed)


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


def clamp_box(box: Box, size: tuple[int, int]) -> Box:
    """``box`` (x0, y0, x1, y1: pixel edges, ends exclusive) inside the image, at least 1
    px each way."""
    w, h = size
    x0, y0 = min(max(box[0], 0), max(w - 1, 0)), min(max(box[1], 0), max(h - 1, 0))
    return (x0, y0, min(max(box[2], x0 + 1), max(w, 1)), min(max(box[3], y0 + 1), max(h, 1)))


def _unturn(point: Point, rotation: int, size: tuple[int, int]) -> Point:
    """A point of the page turned by ``rotation`` as a point of the input image. Points
    are pixel edges (a polygon's corners, a box's ends), not pixel centres: the turned
    page's corner (0, 0) is a corner of the input image."""
    w, h = size  # of the input image
    x, y = point
    if rotation == 90:  # np.rot90 k=1: the turned page's (x, y) is the input's (w - y, x)
        return (w - y, x)
    if rotation == 180:
        return (w - x, h - y)
    if rotation == 270:
        return (y, h - x)
    return (x, y)


def reads_as_page(image: np.ndarray, line_height: int) -> bool:
    """The ``auto`` layout's choice (``lineocr read`` and the server share it): whether a
    grayscale image is a page rather than one line for a model of input height
    ``line_height``. A page when its ink is more than :data:`LINE_HEIGHTS` model heights
    tall and either not line-shaped or holding lines one above another, so a line image
    reads as it always has."""
    box = ink_box(image)
    if box is None or box[1] - box[0] <= LINE_HEIGHTS * line_height:
        return False
    top, bottom, left, right = box
    if right - left < 2 * (bottom - top):  # not line-shaped: a page, upright or turned
        return True
    # A wide image is a page only if the lines found lie one above another: a single line
    # of large print can fall apart into pieces side by side (an Arabic line into its
    # words and dots), which overlap in height.
    return rows_of_lines([line.box for line in find_lines(image).lines]) > 1


def rows_of_lines(boxes: Sequence[Box]) -> int:
    """How many bands of height the boxes (x0, y0, x1, y1) fall into, boxes whose heights
    overlap sharing a band."""
    rows = 0
    reach = -1
    for _, y0, _, y1 in sorted(boxes, key=lambda b: b[1]):
        if y0 >= reach:
            rows += 1
        reach = max(reach, y1)
    return rows


def _char_confidence(predictions: Sequence[Prediction]) -> float:
    """The mean confidence of the characters read (0.0 with none)."""
    chars = [c.confidence for p in predictions for c in p.chars]
    return float(np.mean(chars)) if chars else 0.0


def rtl_text(texts: Sequence[str]) -> bool:
    """Whether most of the letters in ``texts`` are of a right-to-left script."""
    rtl = ltr = 0
    for text in texts:
        for ch in text:
            kind = unicodedata.bidirectional(ch)
            rtl += kind in ("R", "AL")
            ltr += kind == "L"
    return rtl > ltr


# A line of a left-to-right page whose characters are read this unsurely on average
# (:func:`_char_confidence`) and are mostly not Latin letters or digits is not text: the
# strokes of an engraving, the page's edge or the binding in a photograph, read by a model
# whose charset has Arabic letters and digits that look like strokes (measured on the real
# pages of bench_pages.py --real: such lines 0.0-0.6, the text's lines 0.7-1.0).
NOISE_CONFIDENCE = 0.6


# What a stroke of a picture or a page's edge reads as: bars, brackets, marks, and the
# Arabic letters and digits drawn as one upright stroke (alef and its hamza forms, one, zero).
STROKE_SIGNS = frozenset("|!()[]{}/\\'`\":;.,-_~\u0627\u0622\u0623\u0625\u0660\u0661")
STROKE_LETTERS = frozenset("Il")  # Latin letters drawn as one upright stroke


def _latin(ch: str) -> bool:
    """A Latin letter (the Latin blocks up to U+024F) or an ASCII digit."""
    return (ch.isascii() and ch.isalnum()) or (ch.isalpha() and ord(ch) <= 0x24F)


def is_noise(prediction: Prediction, rtl: bool) -> bool:
    """Whether a line read on a page is marks that are not text. On a left-to-right page,
    a line with fewer than two Latin letters or digits, or no more of them than other
    signs (Arabic letters, brackets, bars), when it is read unsurely (mean character
    confidence below :data:`NOISE_CONFIDENCE`), is only :data:`STROKE_SIGNS` (strokes read
    surely as Arabic ones, alefs and bars) or those and :data:`STROKE_LETTERS` with an
    Arabic one among them, or is at most three signs none of them Latin.
    So a line of text, a page
    number ("9", "214") and an Arabic line read surely on a Latin page stay; a
    right-to-left page keeps all its lines."""
    if rtl:
        return False
    signs = [ch for ch in prediction.text if not ch.isspace()]
    latin = sum(_latin(ch) for ch in signs)
    if latin >= 2 and latin > len(signs) - latin:
        return False
    unsure = _char_confidence([prediction]) < NOISE_CONFIDENCE
    stroke_like = all(ch in STROKE_SIGNS or ch in STROKE_LETTERS for ch in signs)
    # strokes read as Arabic ones, alone or beside an I or l (a Roman "II" or "I." stays)
    strokes = stroke_like and (latin == 0 or any(not ch.isascii() for ch in signs))
    return unsure or strokes or (len(signs) <= 3 and latin == 0)


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

    def _read(
        self, crops: list[np.ndarray], *, positions: bool = True, **options: Any
    ) -> list[Prediction]:
        """The crops read; with ``positions``, each character's place on its crop (for the
        words' boxes: every reading that may end up on the page)."""
        if not crops:
            return []
        result: list[Prediction] = self.recognizer.read_batch(
            crops, batch_size=self.batch_size, positions=positions, **options
        )
        return result

    def _upright(
        self, image: np.ndarray, rtl: bool, **options: Any
    ) -> tuple[int, Layout, list[Prediction], dict[int, Prediction]]:
        """The rotation that sets the page upright, its layout, the few lines read at that
        rotation and those of them that are lines of the layout (by index). The page is
        laid out as it is and its widest lines read; when they read confidently
        (:data:`UPRIGHT_CONFIDENCE`) it is upright. Else it is also laid out turned a
        quarter, the sample of each layout is read turned half a turn as well (upside
        down), and the most confident of the four readings wins (a layout costs more than a
        few lines' reading, so a third one is made only when an upside-down reading wins,
        for the order of its lines).

        Confidence here is the mean of the characters' (:func:`_char_confidence`), not of
        the lines': a line's confidence falls with its length, so a turned layout's
        fragments of one or two signs (the ink of a card's few lines cut across, a desk's
        grain) would outvote a card's long lines read upright."""
        layout = self.detector.find_lines(image, rtl=rtl)
        picked = self._sample(layout)
        upright = self._read([layout.lines[i].image for i in picked], **options)
        if not self.orient or _char_confidence(upright) >= UPRIGHT_CONFIDENCE:
            return 0, layout, upright, dict(zip(picked, upright, strict=True))
        layouts = {0: layout, 90: self.detector.find_lines(_turn(image, 90), rtl=rtl)}
        samples = {0: picked, 90: self._sample(layouts[90])}
        readings: dict[int, list[Prediction]] = {0: upright}
        for rotation, found in layouts.items():
            crops = [found.lines[i].image for i in samples[rotation]]
            if rotation not in readings:
                readings[rotation] = self._read(crops, **options)
            flipped = [np.ascontiguousarray(np.rot90(c, 2)) for c in crops]
            # only voted on: a page read upside down is laid out again and read anew
            readings[rotation + 180] = self._read(flipped, positions=False, **options)
        best = max(readings, key=lambda r: (_char_confidence(readings[r]), -r))
        if best in layouts:
            known = dict(zip(samples[best], readings[best], strict=True))
            return best, layouts[best], readings[best], known
        return best, self.detector.find_lines(_turn(image, best), rtl=rtl), readings[best], {}

    def _sample(self, layout: Layout) -> list[int]:
        """The indices of the widest few lines (most to read, least to be fooled by)."""
        order = sorted(range(len(layout.lines)), key=lambda i: -layout.lines[i].image.shape[1])
        return order[:SAMPLE_LINES]

    def read(self, image: np.ndarray, **options: Any) -> Page:
        """Read a grayscale page (uint8 array); decoding options as ``read_batch`` takes."""
        return self.read_with_crops(image, **options)[0]

    def read_with_crops(self, image: np.ndarray, **options: Any) -> tuple[Page, list[np.ndarray]]:
        """:meth:`read`, and each of the page's lines (in ``Page.lines`` order) as the crop
        the recogniser read, for reading parts of a line again (:mod:`lineocr.fields`)."""
        rtl = bool(self.rtl)
        rotation, layout, sample, known = self._upright(image, rtl, **options)
        if self.rtl is None and rtl_text([p.text for p in sample]):
            rtl = True
            layout = self.detector.find_lines(_turn(image, rotation), rtl=True)
            known = {}
        # The sample already read is not read again: a line reads the same in any batch.
        rest = [i for i in range(len(layout.lines)) if i not in known]
        read = self._read([layout.lines[i].image for i in rest], **options)
        known.update(zip(rest, read, strict=True))
        predictions = [known[i] for i in range(len(layout.lines))]
        layout, predictions = _without_noise(layout, predictions, rtl)
        h, w = image.shape[:2]
        blocks: dict[int, list[Line]] = {}
        for region, prediction in zip(layout.lines, predictions, strict=True):
            polygon = tuple(_unturn(p, rotation, (w, h)) for p in region.polygon)
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            box = clamp_box((min(xs), min(ys), max(xs), max(ys)), (w, h))
            line = Line(
                prediction.text,
                prediction.confidence,
                box,
                polygon,
                region.block,
                prediction.chars,
                place_words(prediction.chars, polygon, region.edges, (w, h)),
            )
            blocks.setdefault(region.block, []).append(line)
        page = Page(
            tuple(Block(tuple(lines)) for _, lines in sorted(blocks.items())),
            rotation,
            layout.skew,
            (w, h),
            rtl,
        )
        # Page.lines go block by block; the layout's lines are in reading order, their
        # blocks numbered in that order, so the sort only guards that assumption.
        crops = [ln.image for ln in sorted(layout.lines, key=lambda ln: ln.block)]
        return page, crops


def _without_noise(
    layout: Layout, predictions: list[Prediction], rtl: bool
) -> tuple[Layout, list[Prediction]]:
    """The layout and its readings without the lines that are not text (:func:`is_noise`),
    blocks left empty dropped and the rest numbered on in reading order."""
    kept = [i for i, p in enumerate(predictions) if not is_noise(p, rtl)]
    if len(kept) == len(predictions):
        return layout, predictions
    blocks = sorted({layout.lines[i].block for i in kept})
    number = {b: n for n, b in enumerate(blocks)}
    lines = [replace(layout.lines[i], block=number[layout.lines[i].block]) for i in kept]
    return replace(layout, lines=lines), [predictions[i] for i in kept]
