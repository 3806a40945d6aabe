"""Faults seen on real scans and photos (bench_pages.py --real), each on a small composed
page: wide word spaces that split a row into pieces, strokes of a picture read as lines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lineocr.layout import find_lines
from lineocr.metrics import char_errors
from lineocr.page import PageReader, is_noise
from lineocr.prediction import CharConfidence, Prediction
from lineocr.runtime import Recognizer
from tests.pages_helpers import LATIN, LATIN_FONT


def _spaced_page(lines: list[str], space: float, size: int = 30) -> tuple[np.ndarray, list]:
    """Lines drawn word by word with ``space`` x-heights between words (justified book
    type, a typewriter's double spaces), one under another; each row's ink box."""
    font = ImageFont.truetype(str(LATIN_FONT), size)
    x_height = font.getbbox("x")[3] - font.getbbox("x")[1]
    page = Image.new("L", (2400, 150 + len(lines) * int(size * 1.6)), 255)
    draw = ImageDraw.Draw(page)
    rows = []
    for r, text in enumerate(lines):
        x, y = 80, 60 + r * int(size * 1.6)
        boxes = []
        for word in text.split():
            boxes.append(draw.textbbox((x, y), word, font=font))
            draw.text((x, y), word, fill=0, font=font)
            x = boxes[-1][2] + round(space * x_height)
        rows.append((boxes[0][0], min(b[1] for b in boxes), boxes[-1][2], max(b[3] for b in boxes)))
    return np.asarray(page), rows


def test_row_with_wide_word_spaces_is_one_line():
    image, rows = _spaced_page(LATIN[:6], space=2.0)
    layout = find_lines(image)
    assert len(layout.lines) == len(rows)
    for line, row in zip(layout.lines, rows, strict=True):
        assert line.box[0] <= row[0] + 4 and line.box[2] >= row[2] - 4  # the whole row
        assert abs(line.box[1] - row[1]) < 10


def test_columns_with_a_gutter_stay_apart():
    left, _ = _spaced_page(LATIN[:6], space=1.0)
    right, _ = _spaced_page(LATIN[4:10], space=1.0)
    page = np.full((left.shape[0], 1500), 255, np.uint8)
    page[:, :700] = left[:, :700]  # each line's first words: a column
    page[:, 760:1460] = right[:, :700]
    layout = find_lines(page)
    assert {ln.block for ln in layout.lines} == {0, 1}
    assert all(ln.box[2] < 730 or ln.box[0] > 730 for ln in layout.lines)


def _prediction(text: str, confidence: float) -> Prediction:
    chars = tuple(CharConfidence(ch, confidence) for ch in text)
    return Prediction(text, confidence, chars)


@pytest.mark.parametrize(
    ("text", "confidence", "rtl", "noise"),
    [
        ("\u0625", 0.95, False, True),  # a stroke read surely as an alef with hamza
        ("( \u0661", 0.9, False, True),
        ("}K", 0.3, False, True),  # unsure, one Latin letter
        ("\u062c\u0636\u062a\u0626\u062a\u0626\u063a", 0.2, False, True),  # a page's edge
        ("9", 0.95, False, False),  # a page number
        ("214", 0.4, False, False),
        ("The river ran quietly", 0.3, False, False),  # text, however unsure
        ("\u0630\u0647\u0628 \u0627\u0644\u0648\u0644\u062f", 0.95, False, False),
        ("\u0625", 0.2, True, False),  # a right-to-left page keeps everything
    ],
)
def test_is_noise(text, confidence, rtl, noise):
    assert is_noise(_prediction(text, confidence), rtl) is noise


def _hatched_page() -> np.ndarray:
    """Six lines of text under a picture's shading: thin strokes a letter high and more,
    apart from one another, as an engraving's hatching binarises at 150 dpi (each stroke a
    line of its own for the layout, read as an alef or an Arabic one)."""
    font = ImageFont.truetype(str(LATIN_FONT), 30)
    page = Image.new("L", (1300, 900), 255)
    draw = ImageDraw.Draw(page)
    rng = np.random.default_rng(7)
    for x in range(100, 700, 45):
        for y in range(60, 330, 70):
            top = y + int(rng.integers(0, 12))
            draw.line((x, top, x + int(rng.integers(-3, 4)), top + int(rng.integers(26, 44))), 0, 3)
    for r, text in enumerate(LATIN[:6]):
        draw.text((100, 420 + r * 48), text, fill=0, font=font)
    return np.asarray(page)


@pytest.fixture(scope="module")
def reader() -> PageReader:
    return PageReader(Recognizer.load("printed"))


def test_picture_strokes_are_not_read_as_lines(reader):
    page = reader.read(_hatched_page())
    assert not any("\u0600" <= ch <= "\u06ff" for ch in page.text)
    truth = " ".join(LATIN[:6])
    assert char_errors(truth, " ".join(page.text.split())) <= 0.02 * len(truth)


def test_a_row_of_strokes_is_noise_however_sure():
    assert is_noise(_prediction("\u0661 \u0661 \u0661 \u0625 |", 0.95), rtl=False)
    assert not is_noise(_prediction("111 1", 0.95), rtl=False)  # ASCII digits are text
    # strokes read as Arabic ones beside a stroke read as I or l (seen on an engraving)
    assert is_noise(_prediction("\u0661 I", 0.95), rtl=False)
    assert is_noise(_prediction("\u0661\u0661I", 0.95), rtl=False)
    assert not is_noise(_prediction("II", 0.95), rtl=False)  # a Roman numeral heading
    assert not is_noise(_prediction("I.", 0.95), rtl=False)
