"""Pages composed for the page-reading tests: lines drawn by Pillow (with Raqm shaping) in
system fonts, set in columns with a heading and a picture, turned and skewed on demand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lineocr.data.pages import turn_page

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
ARABIC_FONT = Path("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf")

LATIN = [
    "The river ran quietly past the old mill",
    "where the children used to play in summer.",
    "Nobody remembered who had built the wheel,",
    "but everyone knew the sound it once made.",
    "In the evening the lamps were lit early",
    "and the smell of bread filled the street.",
    "A letter arrived on the third of March,",
    "written in a careful and patient hand.",
    "It asked for news of the family farm",
    "and of the horses sold the year before.",
]
ARABIC = [
    "ذهب الولد إلى المدرسة في الصباح",
    "وكانت الشمس مشرقة فوق المدينة",
    "قرأ المعلم الدرس بصوت واضح",
    "ثم كتب التلاميذ الجمل في دفاترهم",
    "وفي المساء عاد الجميع إلى البيوت",
    "حيث انتظرتهم الأسرة حول المائدة",
]


@dataclass
class Composed:
    image: np.ndarray  # uint8 grey page
    blocks: list[list[str]]  # the text in reading order, block by block
    boxes: list[tuple[int, int, int, int]]  # each line's ink box, in reading order
    # each line's words (text, ink box), in reading order, each line's in logical order
    words: list[list[tuple[str, tuple[int, int, int, int]]]] = field(default_factory=list)


def _draw_line(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font, rtl: bool):
    kwargs = {"direction": "rtl", "language": "ar"} if rtl else {}
    x, y = xy
    box = draw.textbbox((x, y), text, font=font, **kwargs)
    if rtl:  # right-aligned at x
        x -= box[2] - box[0]
        box = draw.textbbox((x, y), text, font=font, **kwargs)
    draw.text((x, y), text, fill=0, font=font, **kwargs)
    return box


def _word_boxes(draw: ImageDraw.ImageDraw, box, text: str, font, rtl: bool):
    """Each word of a line drawn by :func:`_draw_line` (its ink ``box``) with its ink box:
    drawn alone where the text before it ends (Raqm's advance, so Arabic's joins and
    Latin's kerning are those of the line; a space breaks both)."""
    kwargs = {"direction": "rtl", "language": "ar"} if rtl else {}
    line_left = draw.textbbox((0, 0), text, font=font, **kwargs)[0]
    start = box[0] - line_left  # the pen's x the line was drawn at
    full = draw.textlength(text, font=font, **kwargs)
    out = []
    pos = 0
    for word in text.split(" "):
        before = draw.textlength(text[:pos], font=font, **kwargs)
        advance = draw.textlength(word, font=font, **kwargs)
        pen = start + (full - before - advance if rtl else before)
        x0, _, x1, _ = draw.textbbox((pen, 0), word, font=font, **kwargs)
        out.append((word, (round(x0), box[1], round(x1), box[3])))
        pos += len(word) + 1
    return out


def compose(  # noqa: PLR0913 (a test page's keyword-only layout knobs)
    columns: list[list[str]],
    *,
    heading: str | None = None,
    picture: bool = False,
    rtl: bool = False,
    size: int = 30,
    width: int = 1700,
) -> Composed:
    """A page: an optional heading across the page, then the columns side by side (for RTL
    the first column at the right), an optional grey picture block above the columns."""
    font = ImageFont.truetype(str(ARABIC_FONT if rtl else LATIN_FONT), size)
    pitch = int(size * (2.0 if rtl else 1.6))
    rows = max(map(len, columns))
    height = 200 + (rows + 4) * pitch + (320 if picture else 0)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    blocks: list[list[str]] = []
    boxes: list[tuple[int, int, int, int]] = []
    words: list[list[tuple[str, tuple[int, int, int, int]]]] = []
    y = 100
    if heading is not None:
        hfont = ImageFont.truetype(str(ARABIC_FONT if rtl else LATIN_FONT), int(size * 1.5))
        boxes.append(_draw_line(draw, (width - 100 if rtl else 100, y), heading, hfont, rtl))
        words.append(_word_boxes(draw, boxes[-1], heading, hfont, rtl))
        blocks.append([heading])
        y += int(size * 3.5)
    if picture:
        draw.rectangle((100, y, 700, y + 260), fill=90)
        draw.ellipse((300, y + 40, 500, y + 220), fill=200)
        y += 320
    col_w = (width - 200) // len(columns)
    for c, lines in enumerate(columns):
        x = (width - 100 - c * col_w) if rtl else (100 + c * col_w)
        for r, text in enumerate(lines):
            boxes.append(_draw_line(draw, (x, y + r * pitch), text, font, rtl))
            words.append(_word_boxes(draw, boxes[-1], text, font, rtl))
        blocks.append(list(lines))
    return Composed(np.asarray(page), blocks, boxes, words)


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """The page turned counter-clockwise by ``degrees`` on a white canvas that holds it."""
    return turn_page(image, degrees)


def turned_points(
    points: Sequence[tuple[float, float]], degrees: float, size: tuple[int, int]
) -> np.ndarray:
    """Where ``points`` of a page of ``size`` (w, h) lie once :func:`turned` by ``degrees``:
    Pillow's ``rotate(expand=True)`` matrix (output -> input, as Pillow builds it),
    inverted."""
    w, h = size
    a = -math.radians(degrees)
    m = [round(math.cos(a), 15), round(math.sin(a), 15), 0.0]
    m += [round(-math.sin(a), 15), round(math.cos(a), 15), 0.0]

    def apply(x: float, y: float) -> tuple[float, float]:
        return m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]

    m[2], m[5] = apply(-w / 2.0, -h / 2.0)
    m[2] += w / 2.0
    m[5] += h / 2.0
    xs, ys = zip(*(apply(x, y) for x, y in ((0, 0), (w, 0), (w, h), (0, h))), strict=True)
    nw = math.ceil(max(xs)) - math.floor(min(xs))
    nh = math.ceil(max(ys)) - math.floor(min(ys))
    m[2], m[5] = apply(-(nw - w) / 2.0, -(nh - h) / 2.0)
    forward = np.array([[m[0], m[1], m[2]], [m[3], m[4], m[5]], [0.0, 0.0, 1.0]])
    back = np.linalg.inv(forward)
    pts = np.hstack([np.asarray(points, np.float64), np.ones((len(points), 1))])
    return (pts @ back.T)[:, :2]


def true_words(composed: Composed, degrees: float = 0.0) -> list[list[tuple[str, np.ndarray]]]:
    """Each line's true words as (text, quadrilateral on the page), the page
    :func:`turned` by ``degrees`` (0: as composed)."""
    h, w = composed.image.shape
    lines = []
    for words in composed.words:
        placed = []
        for text, (x0, y0, x1, y1) in words:
            quad = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
            if degrees:
                quad = turned_points(quad, degrees, (w, h))
            placed.append((text, quad.astype(np.float32)))
        lines.append(placed)
    return lines


@dataclass
class WordMatch:
    text: str
    box: tuple[int, int, int, int] | None  # the read word's
    centre_inside: bool  # the read box's centre inside the true word's quadrilateral
    iou: float  # the read box's with the true quadrilateral's bounding box


def match_words(page, truth: list[list[tuple[str, np.ndarray]]]) -> list[WordMatch]:
    """The read words matched to true ones: each read line to the true line its box
    overlaps most, then its words to that line's by text (difflib), so a word read wrong
    is left out rather than compared with another word's box."""
    import difflib

    import cv2

    def bounds(quads: list[np.ndarray]) -> tuple[float, float, float, float]:
        pts = np.vstack(quads)
        return (*pts.min(axis=0), *pts.max(axis=0))

    line_boxes = [bounds([q for _, q in words]) for words in truth]
    found = []
    for line in page.lines:
        if not line.words:
            continue
        k = max(range(len(truth)), key=lambda i: box_iou(line.box, line_boxes[i]))
        matcher = difflib.SequenceMatcher(
            a=[w.text for w in line.words], b=[t for t, _ in truth[k]], autojunk=False
        )
        for block in matcher.get_matching_blocks():
            for j in range(block.size):
                word = line.words[block.a + j]
                _, quad = truth[k][block.b + j]
                if word.box is None:
                    found.append(WordMatch(word.text, None, False, 0.0))
                    continue
                x0, y0, x1, y1 = word.box
                centre = (float(x0 + x1) / 2, float(y0 + y1) / 2)
                inside = cv2.pointPolygonTest(quad, centre, False) >= 0
                found.append(
                    WordMatch(word.text, word.box, inside, box_iou(word.box, bounds([quad])))
                )
    return found


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def uneven_light(image: np.ndarray) -> np.ndarray:
    """The page lit from one corner: brightness falling to 45 % across it."""
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1.0 - 0.55 * (xx / w + yy / h) / 2
    return (image.astype(np.float32) * light).astype(np.uint8)


def marks_page(side: int, pitch: tuple[int, int] = (16, 14)) -> np.ndarray:
    """A crafted page of letter-sized marks on a grid, each with a dot under it: tiny as a
    PNG, and thousands of line pieces for the layout to group (at 3000 px, 40,000 pieces:
    seconds of work). The hostile page of the server's tests and benchmarks."""
    page = np.full((side, side), 255, np.uint8)
    gx, gy = pitch
    for y in range(4, side - 12, gy):
        for x in range(2, side - 8, gx):
            page[y : y + 7, x : x + 5] = 0
            page[y + 9, x + 2] = 0
    return page


def form_page(
    lines: Sequence[str], number: str, height: int
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A form page of ``lines`` in :data:`LATIN_FONT` at 30 px (1100 x ``height``) and the
    ink box of ``number`` on the line that holds it."""
    font = ImageFont.truetype(str(LATIN_FONT), 30)
    page = Image.new("L", (1100, height), 255)
    draw = ImageDraw.Draw(page)
    number_box = (0, 0, 0, 0)
    for k, text in enumerate(lines):
        xy = (70, 50 + k * 80)
        draw.text(xy, text, font=font, fill=0)
        if number in text:
            start = draw.textbbox(xy, text[: text.index(number)], font=font)[2]
            full = draw.textbbox(xy, text, font=font)
            number_box = (start, full[1], full[2], full[3])
    return np.asarray(page), number_box
