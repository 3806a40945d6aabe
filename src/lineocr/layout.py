"""Classical page layout: a page image -> its text lines, upright, in reading order.

Pure numpy/OpenCV (no PyTorch). The steps: divide out uneven light, binarise (Otsu),
estimate the text height from connected components, drop pictures and rules (components
far larger than text), estimate the skew (±10°) from the ink's row profile and rotate it
away, smear ink along x (at a scale of the text height) into line segments, attach dots
and diacritics to their line, group segments into blocks (columns, paragraphs), order the
blocks by a recursive cut of their boxes (columns left to right, or right to left for RTL
pages; top to bottom) and cut each line out with the margins training lines have
(:func:`lineocr.preprocess.trim`'s idea: about 0.1-0.15 of the ink height above and below,
0.3 at the sides), other lines' ink whitened.

Orientation (0/90/180/270) is not decided here: :class:`lineocr.page.PageReader` reads a
few lines of each rotation and keeps the one read most confidently.

Some pages cost far more than their size suggests (a crafted page of tens of thousands of
letter-sized marks: the grouping of segments into blocks is quadratic in them), so a caller
that must be able to stop the work (the server, when a page's request has ended) runs it
under :func:`checkpoints`: the layout calls the check between its steps and at each segment
of its loops, and the check stops it by raising.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lineocr.preprocess import auto_invert

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
Point = tuple[int, int]

MAX_SKEW = 10.0  # degrees
SMEAR = 1.2  # text heights: horizontal gaps bridged inside a line (word spaces, not gutters)
PICTURE = 3.5  # text heights: a component taller than this is a picture or a rule
MARGIN_Y = 0.15  # ink heights above and below a line's crop
MARGIN_X = 0.3  # ink heights at its sides


_checks = threading.local()


@contextlib.contextmanager
def checkpoints(check: Callable[[], None]) -> Iterator[None]:
    """Layout work in this thread, while the block runs, calls ``check`` between its steps
    and once per segment in its loops; ``check`` stops it by raising (e.g.
    :class:`lineocr.runtime.ReadCancelledError`), and the exception leaves
    :func:`find_lines`. A thread-local rather than an argument, so every caller of
    :func:`find_lines` (the page reader, the ``auto`` layout's look) is covered unchanged."""
    previous = getattr(_checks, "check", None)
    _checks.check = check
    try:
        yield
    finally:
        _checks.check = previous


def _checkpoint() -> None:
    check = getattr(_checks, "check", None)
    if check is not None:
        check()


@dataclass(frozen=True)
class LineRegion:
    """One text line found on a page."""

    box: Box  # in the page's coordinates (the axis-aligned box around the polygon)
    polygon: tuple[Point, ...]  # the line's box corners in the page's coordinates
    block: int  # index of its block, in reading order
    image: np.ndarray  # the line cut out upright, with training-like margins
    ink_height: int
    # The image's columns at which the polygon's left and right edges (P0-P3, P1-P2) lie:
    # a place on the line image is a place along the polygon (lineocr.page.place_words).
    # None: not known (a region made by hand).
    edges: tuple[int, int] | None = None


@dataclass(frozen=True)
class Layout:
    lines: list[LineRegion]  # in reading order
    skew: float  # degrees the page was turned (counter-clockwise) to level its lines
    text_height: float  # median height of the text's components, px
    size: tuple[int, int]  # width, height


def normalise_light(gray: np.ndarray) -> np.ndarray:
    """Dark text on even white: the page divided by its background (a max filter of a
    quarter-size copy, smoothed), so that shadows and uneven light do not fool Otsu."""
    page = auto_invert(gray)
    h, w = page.shape
    small = cv2.resize(page, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(3, min(small.shape) // 30) | 1
    background = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.medianBlur(background, k if k <= 255 else 255)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    out = page.astype(np.float32) * 255.0 / np.maximum(background.astype(np.float32), 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def binarise(norm: np.ndarray) -> np.ndarray:
    """Ink mask (uint8 0/1) of a light-normalised page; an empty mask for a blank page."""
    if int(norm.max()) - int(norm.min()) < 40:
        return np.zeros(norm.shape, np.uint8)
    _, mask = cv2.threshold(norm, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask.astype(np.uint8)


def text_mask(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """The mask without pictures, rules and specks, and the text height (median height of
    the letter-sized components)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask, 0.0
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    areas = stats[1:, cv2.CC_STAT_AREA]
    letters = (heights >= 4) & (areas >= 8) & (widths < 6 * heights)
    if not letters.any():
        return np.zeros_like(mask), 0.0
    text_h = float(np.median(heights[letters]))
    keep = np.ones(n, bool)
    keep[0] = False
    big = heights > PICTURE * text_h
    rule = (heights < 0.5 * text_h) & (widths > 15 * text_h)
    speck = areas < max(2.0, 0.02 * text_h * text_h)
    keep[1:] = ~(big | rule | speck)
    out = keep[labels].astype(np.uint8)
    # A picture's box goes whole (a photo binarises into many letter-sized specks); a
    # sparse one (a frame, a table's lines) only loses its own pixels.
    for i in np.flatnonzero(big) + 1:
        x, y, w, h, a = stats[i]
        if a > 0.15 * w * h:
            out[y : y + h, x : x + w] = 0
    return out, text_h


def estimate_skew(mask: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """Degrees (counter-clockwise positive, as the page appears turned) at which the ink's
    rows are most concentrated: the sum of squares of the row profile, on the ink's pixels
    projected at each angle."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return 0.0
    rng = np.random.default_rng(0)
    if len(xs) > 80_000:
        pick = rng.choice(len(xs), 80_000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs = xs.astype(np.float64) - xs.mean()
    ys = ys.astype(np.float64)

    def sharpness(deg: float) -> float:
        a = np.deg2rad(deg)
        rows = np.round(ys * np.cos(a) + xs * np.sin(a)).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        return float(np.dot(counts, counts))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = float(coarse[int(np.argmax([sharpness(a) for a in coarse]))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return float(fine[int(np.argmax([sharpness(a) for a in fine]))])


def _rotation(angle: float, w: int, h: int) -> tuple[np.ndarray, int, int]:
    """The affine matrix turning a w x h image by ``angle`` degrees about its centre into a
    canvas that holds all of it, and that canvas's size."""
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m, nw, nh


@dataclass
class _Segment:
    x0: int
    y0: int
    x1: int
    y1: int
    labels: list[int]

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def merge(self, other: _Segment) -> None:
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.labels += other.labels


def _x_overlap(a: _Segment, b: _Segment) -> int:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _y_overlap(a: _Segment, b: _Segment) -> int:
    return min(a.y1, b.y1) - max(a.y0, b.y0)


def _segments(mask: np.ndarray, text_h: float) -> tuple[list[_Segment], np.ndarray]:
    """Line segments: the ink smeared along x, dots and marks attached to their line."""
    k = max(3, round(SMEAR * text_h))
    smeared = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(0, (k, 1)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    segs = [
        _Segment(int(x), int(y), int(x + w), int(y + h), [i])
        for i, (x, y, w, h, _) in enumerate(stats)
        if i > 0
    ]
    if not segs:
        return [], labels
    tall = [float(s.height) for s in segs if s.height >= 0.6 * text_h]
    line_h = float(np.median(tall or [text_h]))
    # Marks (i-dots, accents, Arabic dots, a dash alone) join the nearest line they overlap.
    # (A short line of x-height letters, "as", is as tall as the text height: not a mark.)
    small = [s for s in segs if s.height < 0.6 * text_h]
    lines = [s for s in segs if s.height >= 0.6 * text_h]
    for s in small:
        _checkpoint()
        # By vertical distance first: a closing quote or dots just past a line's end belong
        # to it, not to the line above that reaches further.
        near = [
            (max(t.y0 - s.y1, s.y0 - t.y1, 0), max(-_x_overlap(s, t), 0), j)
            for j, t in enumerate(lines)
            if _x_overlap(s, t) > -2 * text_h and max(t.y0 - s.y1, s.y0 - t.y1) < 0.45 * line_h
        ]
        if near:
            lines[min(near)[2]].merge(s)
        elif (s.x1 - s.x0) >= 0.5 * line_h:  # a short line of its own (a dash, dots)
            lines.append(s)
    # Pieces of one line split at a wide space: merged when they share most of their rows
    # and the gap between them is not a column gutter (checked when blocks are formed).
    return lines, labels


def _blocks(segs: list[_Segment], text_h: float) -> list[list[_Segment]]:
    """Segments grouped into blocks: a segment joins the block whose last line is just
    above it and overlaps it along x; pieces of one row within a block are merged."""
    blocks: list[list[_Segment]] = []
    for s in sorted(segs, key=lambda s: (s.y0, s.x0)):
        _checkpoint()
        best = None
        for b in blocks:
            last = b[-1]
            if _y_overlap(last, s) > 0.5 * min(last.height, s.height):
                gap = max(s.x0 - last.x1, last.x0 - s.x1)
                if gap < 2.5 * text_h and _overlaps_block_x(b, s):
                    best = (b, True)
                    break
                continue
            gap = s.y0 - last.y1
            if (
                -0.3 * s.height <= gap < 1.2 * max(last.height, s.height)
                and (_x_overlap(last, s) > 0.3 * min(last.x1 - last.x0, s.x1 - s.x0))
                and (best is None or best[0][-1].y1 < last.y1)
            ):
                best = (b, False)
        if best is None:
            blocks.append([s])
        elif best[1]:
            best[0][-1].merge(s)
        else:
            best[0].append(s)
    return blocks


def _overlaps_block_x(block: list[_Segment], s: _Segment) -> bool:
    """Whether ``s`` lies within the horizontal extent of ``block``'s lines so far (a piece
    of the same line), or the block is a single line (a heading split at a wide space)."""
    if len(block) == 1:
        return True
    x0 = min(t.x0 for t in block[:-1])
    x1 = max(t.x1 for t in block[:-1])
    return s.x0 < x1 and s.x1 > x0


JOIN_GAP = 3.0  # line heights: the widest space between two pieces of a row that are joined
GUTTER = 1.0  # text heights: a clear stripe this wide through the rows around is a gutter
GUTTER_ROWS = 4.0  # line heights above and below a row in which a gutter must be clear


def _join_rows(segs: list[_Segment], mask: np.ndarray, text_h: float) -> list[_Segment]:
    """Pieces of one row joined into its line across wide word spaces (justified book
    type, fixed-pitch typewriter type: spaces of two text heights and more, which the
    smear does not bridge), unless a gutter parts them: a stripe of white at least
    :data:`GUTTER` text heights wide through the rows above and below as well as the row
    itself (a column gap, a table's), which a word space is not. Without this, a row's
    pieces start blocks of their own and the reading order interleaves them.

    One sweep from left to right; a row's open end is found by its height in bins of a
    line height, so a page of many pieces costs about one look per piece."""
    if len(segs) < 2:
        return segs
    tall = [float(s.height) for s in segs if s.height >= 0.6 * text_h]
    line_h = float(np.median(tall or [text_h]))
    bin_h = max(1.0, line_h)
    reach_y = round(GUTTER_ROWS * line_h)
    stripe = max(2, round(GUTTER * text_h))
    # Ink per column above any row: a band's ink in column x is a difference of two rows.
    below = np.zeros((mask.shape[0] + 1, mask.shape[1]), np.int32)
    np.cumsum(mask, axis=0, out=below[1:])
    open_rows: dict[int, list[_Segment]] = {}
    rows: list[_Segment] = []
    for s in sorted(segs, key=lambda s: s.x0):
        _checkpoint()
        centre = int((s.y0 + s.y1) / 2 / bin_h)
        best: _Segment | None = None
        for b in (centre - 1, centre, centre + 1):
            if b not in open_rows:
                continue
            # Rows ended too far to the left for any later piece (the sweep goes right).
            open_rows[b] = [r for r in open_rows[b] if s.x0 - r.x1 < JOIN_GAP * line_h]
            for r in open_rows[b]:
                gap = s.x0 - r.x1
                low, high = sorted((r.height, s.height))
                if (
                    -0.5 * text_h <= gap < JOIN_GAP * line_h
                    and _y_overlap(r, s) > 0.5 * low
                    and high <= 3 * low
                    and (best is None or r.x1 > best.x1)
                ):
                    best = r
        if best is not None and not _gutter(below, best, s, reach_y, stripe):
            best.merge(s)
            continue
        rows.append(s)
        open_rows.setdefault(centre, []).append(s)
    return rows


def _gutter(below: np.ndarray, left: _Segment, right: _Segment, reach_y: int, stripe: int) -> bool:
    """Whether the space between ``left`` and ``right`` (pieces of one row) is a gutter:
    a stripe of ``stripe`` columns clear of ink from ``reach_y`` above the row to as far
    below it, with other rows' ink beside it on both sides (a column's lines; a short list
    line's wide space beside nothing is no gutter)."""
    top, bottom = min(left.y0, right.y0), max(left.y1, right.y1)
    y0 = max(0, top - reach_y)
    y1 = min(below.shape[0] - 1, bottom + reach_y)

    def others(x0: int, x1: int) -> bool:  # ink in the band above or below the row
        above = below[top, x0:x1] - below[y0, x0:x1]
        under = below[y1, x0:x1] - below[bottom, x0:x1]
        return bool(above.any() or under.any())

    if right.x0 - left.x1 < stripe:
        return False
    clear = (below[y1, left.x1 : right.x0] - below[y0, left.x1 : right.x0]) == 0
    if int(clear.sum()) < stripe:  # most word spaces: other rows' ink across the space
        return False
    run = 0
    for column in clear:
        run = run + 1 if column else 0
        if run >= stripe:
            return others(left.x0, left.x1) and others(right.x0, right.x1)
    return False


def _box(block: list[_Segment]) -> Box:
    return (
        min(s.x0 for s in block),
        min(s.y0 for s in block),
        max(s.x1 for s in block),
        max(s.y1 for s in block),
    )


def reading_order(boxes: list[Box], rtl: bool = False) -> list[int]:
    """Indices of ``boxes`` (blocks) in reading order, by a recursive cut: at a vertical
    gap no box crosses, the sides in turn (left first, or right first for RTL); else at
    the highest horizontal gap, top first; boxes that cannot be cut, top to bottom."""

    def cut(ids: list[int]) -> list[int]:
        if len(ids) <= 1:
            return ids
        for axis in (0, 1):  # columns first, then rows
            spans = sorted((boxes[i][axis], boxes[i][axis + 2]) for i in ids)
            reach = spans[0][1]
            for start, end in spans[1:]:
                if start >= reach:  # a gap at `reach`
                    first = [i for i in ids if boxes[i][axis + 2] <= reach]
                    rest = [i for i in ids if boxes[i][axis + 2] > reach]
                    if axis == 0 and rtl:
                        first, rest = rest, first
                    return cut(first) + cut(rest)
                reach = max(reach, end)
        return sorted(ids, key=lambda i: (boxes[i][1], boxes[i][0]))

    return cut(list(range(len(boxes))))


def find_lines(gray: np.ndarray, *, rtl: bool = False, max_skew: float = MAX_SKEW) -> Layout:
    """The text lines of a grayscale page (uint8), in reading order."""
    h, w = gray.shape
    _checkpoint()
    norm = normalise_light(gray)
    _checkpoint()
    mask, text_h = text_mask(binarise(norm))
    if text_h == 0:
        return Layout([], 0.0, 0.0, (w, h))
    _checkpoint()
    skew = estimate_skew(mask, max_skew)
    _checkpoint()
    turn = np.eye(2, 3)
    if abs(skew) >= 0.1:
        # Turn the page by -skew; re-binarise the levelled page (sharper than a turned mask).
        turn, nw, nh = _rotation(-skew, w, h)
        norm = cv2.warpAffine(norm, turn, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255.0,))
        mask, text_h = text_mask(binarise(norm))
        if text_h == 0:
            return Layout([], skew, 0.0, (w, h))
    back = cv2.invertAffineTransform(turn)
    _checkpoint()
    segs, labels = _segments(mask, text_h)
    segs = _join_rows(segs, mask, text_h)
    blocks = _blocks(segs, text_h)
    order = reading_order([_box(b) for b in blocks], rtl)
    lines: list[LineRegion] = []
    ink = mask.astype(bool)
    for block_no, b in enumerate(order):
        for s in sorted(blocks[b], key=lambda s: s.y0):
            _checkpoint()
            image, left = _cut(norm, ink, labels, s)
            corners = np.array([[s.x0, s.y0, 1], [s.x1, s.y0, 1], [s.x1, s.y1, 1], [s.x0, s.y1, 1]])
            pts = corners @ back.T
            polygon = tuple((round(float(x)), round(float(y))) for x, y in pts)
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            box = (max(0, min(xs)), max(0, min(ys)), min(w, max(xs)), min(h, max(ys)))
            edges = (s.x0 - left, s.x1 - left)
            lines.append(LineRegion(box, polygon, block_no, image, s.height, edges))
    return Layout(lines, skew, text_h, (w, h))


def _cut(
    norm: np.ndarray, ink: np.ndarray, labels: np.ndarray, s: _Segment
) -> tuple[np.ndarray, int]:
    """The line's crop from the levelled, light-normalised page, with training-like margins;
    ink of other lines inside it whitened. And the page column of its left edge."""
    ink_h = s.height
    my, mx = round(MARGIN_Y * ink_h) + 1, round(MARGIN_X * ink_h) + 1
    y0, y1 = max(0, s.y0 - my), min(norm.shape[0], s.y1 + my)
    x0, x1 = max(0, s.x0 - mx), min(norm.shape[1], s.x1 + mx)
    crop = norm[y0:y1, x0:x1].copy()
    own = np.isin(labels[y0:y1, x0:x1], s.labels)
    # Ink that belongs to other lines (a descender from above, a neighbour's dot) goes.
    foreign = ink[y0:y1, x0:x1] & ~own & (labels[y0:y1, x0:x1] > 0)
    if foreign.any():
        grown = cv2.dilate(foreign.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        crop[grown & ~own] = 255
    return crop, x0


def layout_from_quads(
    gray: np.ndarray, quads: Sequence[Sequence[Sequence[float]]], *, rtl: bool = False
) -> Layout:
    """A :class:`Layout` from line quadrilaterals found by a detector (in the page's
    pixels): the page levelled by the lines' median lean, each line's box in the levelled
    page, blocks and reading order as :func:`find_lines` makes them, and each line cut out
    with the same margins, the parts of other lines' boxes inside its crop whitened."""
    h, w = gray.shape
    if len(quads) == 0:
        return Layout([], 0.0, 0.0, (w, h))
    pts = [np.asarray(q, np.float64).reshape(-1, 2) for q in quads]
    leans = []
    for p in pts:
        d = p[1] - p[0]  # the top edge, left to right
        if np.hypot(*d) > 0:
            leans.append(np.degrees(np.arctan2(-d[1], d[0])))  # counter-clockwise positive
    skew = float(np.median(leans)) if leans else 0.0
    norm = normalise_light(gray)
    turn = np.eye(2, 3)
    if abs(skew) >= 0.1:
        turn, nw, nh = _rotation(-skew, w, h)
        norm = cv2.warpAffine(norm, turn, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255.0,))
    back = cv2.invertAffineTransform(turn)
    segs = []
    for i, p in enumerate(pts):
        level = np.hstack([p, np.ones((len(p), 1))]) @ turn.T
        x0, y0 = np.floor(level.min(axis=0)).astype(int)
        x1, y1 = np.ceil(level.max(axis=0)).astype(int)
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(norm.shape[1], x1), min(norm.shape[0], y1)
        if x1 > x0 and y1 > y0:
            segs.append(_Segment(int(x0), int(y0), int(x1), int(y1), [i]))
    if not segs:
        return Layout([], skew, 0.0, (w, h))
    text_h = 0.7 * float(np.median([s.height for s in segs]))  # letters within a line's ink
    blocks = _blocks(_merged_rows(segs), text_h)
    order = reading_order([_box(b) for b in blocks], rtl)
    lines: list[LineRegion] = []
    for block_no, b in enumerate(order):
        for s in sorted(blocks[b], key=lambda s: s.y0):
            image, left = _cut_boxed(norm, segs, s)
            corners = np.array([[s.x0, s.y0, 1], [s.x1, s.y0, 1], [s.x1, s.y1, 1], [s.x0, s.y1, 1]])
            polygon = tuple((round(float(x)), round(float(y))) for x, y in corners @ back.T)
            xs, ys = [q[0] for q in polygon], [q[1] for q in polygon]
            box = (max(0, min(xs)), max(0, min(ys)), min(w, max(xs)), min(h, max(ys)))
            edges = (s.x0 - left, s.x1 - left)
            lines.append(LineRegion(box, polygon, block_no, image, s.height, edges))
    return Layout(lines, skew, text_h, (w, h))


def _merged_rows(segs: list[_Segment]) -> list[_Segment]:
    """Copies of the detector's boxes (``_blocks`` merges pieces of one row into the first)."""
    return [_Segment(s.x0, s.y0, s.x1, s.y1, list(s.labels)) for s in segs]


def _cut_boxed(norm: np.ndarray, segs: list[_Segment], s: _Segment) -> tuple[np.ndarray, int]:
    """The line's crop with training-like margins; what lies in other lines' boxes and not
    in its own whitened (a neighbour's descenders, a cell beside it). And the page column
    of its left edge."""
    ink_h = s.height
    my, mx = round(MARGIN_Y * ink_h) + 1, round(MARGIN_X * ink_h) + 1
    y0, y1 = max(0, s.y0 - my), min(norm.shape[0], s.y1 + my)
    x0, x1 = max(0, s.x0 - mx), min(norm.shape[1], s.x1 + mx)
    crop = norm[y0:y1, x0:x1].copy()
    foreign = np.zeros(crop.shape, bool)
    for t in segs:
        if t.labels == s.labels or t.x1 <= x0 or t.x0 >= x1 or t.y1 <= y0 or t.y0 >= y1:
            continue
        foreign[max(0, t.y0 - y0) : t.y1 - y0, max(0, t.x0 - x0) : t.x1 - x0] = True
    own = np.zeros(crop.shape, bool)
    own[s.y0 - y0 : s.y1 - y0, s.x0 - x0 : s.x1 - x0] = True
    crop[foreign & ~own] = 255
    return crop, x0


class ClassicalDetector:
    """The classical layout analysis as a detector object (what PageReader uses unless
    given a learned one)."""

    name = "classical"

    def find_lines(self, gray: np.ndarray, *, rtl: bool = False) -> Layout:
        return find_lines(gray, rtl=rtl)
