"""Page reading (issue 33, classical layer): lines found on composed pages, set upright,
levelled and read in order by the bundled printed model."""

from __future__ import annotations

import numpy as np
import pytest

from lineocr import page as page_module
from lineocr.layout import Layout, LineRegion, checkpoints, find_lines, reading_order
from lineocr.metrics import char_errors
from lineocr.page import PageReader, rtl_text
from lineocr.prediction import CharConfidence, Prediction
from lineocr.runtime import Recognizer
from tests.pages_helpers import ARABIC, LATIN, compose, marks_page, turned, uneven_light

# Page CER measured on these pages with the bundled printed model (2026-12-07): 0.2 %
# (1 error: DejaVu Serif's "fi" ligature read as "f") on every Latin variant, 0.5 % on the
# Arabic page; the bounds leave a margin.
LATIN_CER_MAX = 0.02
ARABIC_CER_MAX = 0.04


@pytest.fixture(scope="module")
def reader() -> PageReader:
    return PageReader(Recognizer.load("printed"))


@pytest.fixture(scope="module")
def latin_page():
    return compose([LATIN[:5], LATIN[5:]], heading="A Quiet Town", picture=True)


def _truth(composed) -> str:
    return "\n\n".join("\n".join(block) for block in composed.blocks)


def _cer(truth: str, text: str) -> float:
    return char_errors(" ".join(truth.split()), " ".join(text.split())) / len(truth)


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def test_lines_found_in_reading_order_with_their_boxes(latin_page):
    layout = find_lines(latin_page.image)
    assert len(layout.lines) == 11  # the picture is not a line
    assert [ln.block for ln in layout.lines] == [0] + [1] * 5 + [2] * 5
    for line, box in zip(layout.lines, latin_page.boxes, strict=True):
        assert _iou(line.box, box) > 0.6
        assert line.image.shape[0] < 3 * line.ink_height  # cut tight, as training lines are


def test_blank_page_has_no_lines():
    assert find_lines(np.full((400, 600), 255, np.uint8)).lines == []


def test_reading_order_columns_then_rows():
    heading, left, right, footer = (
        (0, 0, 100, 10),
        (0, 20, 45, 80),
        (55, 20, 100, 60),
        (0, 90, 100, 99),
    )
    boxes = [right, footer, left, heading]
    assert reading_order(boxes) == [3, 2, 0, 1]
    assert reading_order(boxes, rtl=True) == [3, 0, 2, 1]


def test_two_column_page_read_in_order(reader, latin_page):
    page = reader.read(latin_page.image)
    assert page.rotation == 0
    assert len(page.blocks) == 3
    assert _cer(_truth(latin_page), page.block_text) <= LATIN_CER_MAX
    assert page.text == page.block_text.replace("\n\n", "\n")


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_turned_page_read_upright(reader, latin_page, degrees):
    page = reader.read(turned(latin_page.image, degrees))
    assert page.rotation == (360 - degrees) % 360
    assert _cer(_truth(latin_page), page.block_text) <= LATIN_CER_MAX
    # Boxes are in the turned image's pixels.
    h, w = turned(latin_page.image, degrees).shape
    assert all(
        0 <= ln.box[0] < ln.box[2] <= w and 0 <= ln.box[1] < ln.box[3] <= h for ln in page.lines
    )


@pytest.mark.parametrize("degrees", [6.0, -9.0])
def test_skewed_page_levelled(reader, latin_page, degrees):
    page = reader.read(turned(latin_page.image, degrees))
    assert page.skew == pytest.approx(degrees, abs=0.3)
    assert _cer(_truth(latin_page), page.block_text) <= LATIN_CER_MAX


def test_unevenly_lit_page(reader, latin_page):
    page = reader.read(uneven_light(latin_page.image))
    assert _cer(_truth(latin_page), page.block_text) <= LATIN_CER_MAX


def test_arabic_page_columns_right_to_left(reader):
    composed = compose([ARABIC[:3], ARABIC[3:]], rtl=True)
    page = reader.read(composed.image)
    assert page.rtl
    assert [len(b.lines) for b in page.blocks] == [3, 3]
    assert page.blocks[0].box[0] > page.blocks[1].box[2]  # the right column first
    assert _cer(_truth(composed), page.block_text) <= ARABIC_CER_MAX


def test_rtl_text():
    assert rtl_text(ARABIC[:1])
    assert not rtl_text(LATIN[:1])


def test_layout_and_page_import_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lineocr.layout, lineocr.page\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _Counting:
    """A recogniser that counts the lines it is given."""

    def __init__(self, recognizer) -> None:
        self.recognizer = recognizer
        self.lines = 0

    def read_batch(self, crops, **options):
        self.lines += len(crops)
        return self.recognizer.read_batch(crops, **options)


def test_upright_page_is_laid_out_once_and_each_line_read_once(reader, latin_page, monkeypatch):
    counting = _Counting(reader.recognizer)
    layouts = []

    class Spy:  # the classical layout analysis, counted
        def find_lines(self, image, **kwargs):
            layouts.append(image.shape)
            return find_lines(image, **kwargs)

    page = PageReader(counting, detector=Spy()).read(latin_page.image)
    assert len(layouts) == 1  # no turned layout: the upright sample read confidently
    assert counting.lines == len(page.lines)  # the sample is not read twice
    # The same page as the search over all four turns reads it.
    monkeypatch.setattr(page_module, "UPRIGHT_CONFIDENCE", 1.01)
    searched = PageReader(counting, detector=Spy()).read(latin_page.image)
    assert len(layouts) == 3 and searched.rotation == 0
    assert [ln.text for ln in searched.lines] == [ln.text for ln in page.lines]


def _region(width: int, y: int) -> LineRegion:
    image = np.full((30, width), 255, np.uint8)
    image[0, 0] = 0  # marks the crop's upper left corner: upside down it is the lower right
    box = (10, y, 10 + width, y + 30)
    polygon = ((10, y), (10 + width, y), (10 + width, y + 30), (10, y + 30))
    return LineRegion(box, polygon, 0, image, 20)


class _CardLike:
    """A detector for a card of three long lines: as given, its lines; turned a quarter,
    six short fragments (the ink of the lines cut across)."""

    def find_lines(self, image, **kwargs):
        h, w = image.shape
        if w > h:
            return Layout([_region(300, 40 * k) for k in range(3)], 0.0, 20.0, (w, h))
        return Layout([_region(30, 40 * k) for k in range(6)], 0.0, 20.0, (w, h))


class _ReadsCard:
    """Long upright lines: 20 characters read at 0.9 each (a line's confidence 0.12, as a
    long line in an unusual font has); fragments: one sign at 0.6; upside down: 0.5."""

    def read_batch(self, crops, **options):
        out = []
        for crop in crops:
            upright = crop[0, 0] == 0
            n = 20 if crop.shape[1] >= 100 else 1
            p = 0.9 if upright and n == 20 else 0.6 if upright else 0.5
            chars = tuple(CharConfidence("a", p) for _ in range(n))
            out.append(Prediction("a" * n, p**n, chars))
        return out


def test_few_long_lines_outvote_turned_fragments():
    """The turn is chosen by the mean confidence of the characters read, not of the lines
    (a long line's confidence is the product of many: a card's four lines read upright at
    0.9 a character lost to a quarter turn's one-sign fragments)."""
    page = PageReader(_ReadsCard(), detector=_CardLike()).read(np.full((200, 400), 255, np.uint8))
    assert page.rotation == 0
    assert len(page.lines) == 3


class _StopError(Exception):
    pass


def test_layout_work_stops_at_a_checkpoint_inside_its_loops() -> None:
    """Under :func:`checkpoints`, the layout calls the check between its steps and at each
    line piece it groups, so a caller can stop a page costly to lay out (a crafted page of
    thousands of marks) by raising from it; without checks it runs as before."""
    page = marks_page(500)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 200:  # far more than the layout's steps: inside its loops
            raise _StopError

    with pytest.raises(_StopError), checkpoints(check):
        find_lines(page)
    assert calls == 201
    calls = -(10**9)  # never stops
    with checkpoints(check):
        assert len(find_lines(page).lines) == len(find_lines(page).lines) > 0
