"""Words on pages: each word the page reader reads comes with a box on the page, and the
box covers the word's ink (pages composed with each word's true box; the bundled printed
model), upright, skewed, turned a quarter, right to left, and through the learned
detector's path (layout_from_quads). Characters' places on a line
(Recognizer.read_batch(positions=True)) are checked on a line image first."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lineocr.layout import Layout, layout_from_quads
from lineocr.page import PageReader
from lineocr.runtime import Recognizer
from tests.pages_helpers import (
    ARABIC,
    ARABIC_FONT,
    LATIN,
    LATIN_FONT,
    compose,
    match_words,
    true_words,
    turned,
    turned_points,
)

# On these pages (benchmarks/bench_word_boxes.py, 2026-12-08, 1,721 words in 6 fonts) every
# read word's box centre fell inside its true word box, IoU median 0.90, 10th percentile
# 0.81; on the pages below the lowest IoU is 0.64 (the heading's one-letter "A"), the
# median 0.87-0.90. The bounds leave a margin.
MIN_IOU = 0.45
MEDIAN_IOU = 0.8
MIN_MATCHED = 0.9  # of the true words, those read right (the others are not compared)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load("printed")


@pytest.fixture(scope="module")
def reader(recognizer) -> PageReader:
    return PageReader(recognizer)


def _check(page, truth, median_iou: float = MEDIAN_IOU) -> None:
    matches = match_words(page, truth)
    assert len(matches) >= MIN_MATCHED * sum(len(t) for t in truth)
    assert all(m.box is not None for m in matches)
    outside = [m.text for m in matches if not m.centre_inside]
    assert outside == []
    ious = [m.iou for m in matches]
    assert min(ious) >= MIN_IOU
    assert float(np.median(ious)) >= median_iou


def _drawn(text: str, font_path, rtl: bool = False) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A line image with wide margins and each word's ink columns (logical order)."""
    font = ImageFont.truetype(str(font_path), 30)
    image = Image.new("L", (1000, 90), 255)
    draw = ImageDraw.Draw(image)
    kwargs = {"direction": "rtl", "language": "ar"} if rtl else {}
    draw.text((160, 25), text, font=font, fill=0, **kwargs)
    full = draw.textlength(text, font=font, **kwargs)
    spans, pos = [], 0
    for word in text.split(" "):
        before = draw.textlength(text[:pos], font=font, **kwargs)
        advance = draw.textlength(word, font=font, **kwargs)
        left = 160 + (full - before - advance if rtl else before)
        spans.append((round(left), round(left + advance)))
        pos += len(word) + 1
    return np.asarray(image), spans


def test_characters_are_placed_on_the_line_image(recognizer) -> None:
    image, spans = _drawn(LATIN[0], LATIN_FONT)
    plain = recognizer.read_batch([image])[0]
    placed = recognizer.read_batch([image], positions=True)[0]
    # Placing costs nothing in what is read.
    assert (placed.text, placed.confidence) == (plain.text, plain.confidence)
    assert [c.confidence for c in placed.chars] == [c.confidence for c in plain.chars]
    assert all(c.x0 is None for c in plain.chars)
    assert placed.text == LATIN[0]
    starts = [c.x0 for c in placed.chars]
    assert starts == sorted(starts)  # left to right
    words = placed.text.split(" ")
    k = 0
    for word, (left, right) in zip(words, spans, strict=True):
        chars = placed.chars[k : k + len(word)]
        k += len(word) + 1
        middle = (chars[0].x0 + chars[-1].x1) / 2
        assert left < middle < right, word
        assert chars[0].x0 == pytest.approx(left, abs=12)
        assert chars[-1].x1 == pytest.approx(right, abs=12)


def test_right_to_left_characters_follow_their_letters(recognizer) -> None:
    # The lines the model reads word for word are checked (the bundled printed of
    # 2026-12-08 joins two words of ARABIC[0] and reads the next three exactly).
    checked = 0
    for text in ARABIC[:4]:
        image, spans = _drawn(text, ARABIC_FONT, rtl=True)
        placed = recognizer.read_batch([image], positions=True)[0]
        if placed.text.split() != text.split():
            continue
        checked += 1
        k = 0
        for word, (left, right) in zip(placed.text.split(" "), spans, strict=True):
            chars = placed.chars[k : k + len(word)]
            k += len(word) + 1
            # Logical order runs right to left: the word's first letter is its rightmost.
            assert chars[0].x1 > chars[-1].x0
            middle = (min(c.x0 for c in chars) + max(c.x1 for c in chars)) / 2
            assert left < middle < right, word
    assert checked >= 2


def test_positions_per_image_place_only_those_and_change_no_reading(recognizer) -> None:
    """One flag per image (the server's batches mix a page's lines with plain line images):
    the flagged lines get the places they get read alone, the others none, and every line
    reads as it does without places, in one batch."""
    lines = [_drawn(text, LATIN_FONT)[0] for text in LATIN[:3]]
    plain = recognizer.read_batch(lines)
    alone = [recognizer.read_batch([line], positions=True)[0] for line in lines]
    mixed = recognizer.read_batch(lines, positions=[True, False, True])
    for got, want in zip(mixed, plain, strict=True):
        assert (got.text, got.confidence) == (want.text, want.confidence)
    assert mixed[0].chars == alone[0].chars and mixed[2].chars == alone[2].chars
    assert mixed[1].chars == plain[1].chars and all(c.x0 is None for c in mixed[1].chars)
    with pytest.raises(ValueError, match="2 positions flags for 3 images"):
        recognizer.read_batch(lines, positions=[True, False])
    with pytest.raises(ValueError, match="one of them per image"):
        recognizer.read_batch(lines, positions="yes")


def test_a_read_with_test_time_augmentation_has_no_places(recognizer) -> None:
    image, _ = _drawn("short line", LATIN_FONT)
    read = recognizer.read_batch([image], positions=True, tta=True)[0]
    assert read.chars and all(c.x0 is None and c.x1 is None for c in read.chars)


def test_words_of_an_upright_two_column_page(reader) -> None:
    composed = compose([LATIN[:5], LATIN[5:]], heading="A Quiet Town", picture=True)
    page = reader.read(composed.image)
    _check(page, true_words(composed))
    record = page.to_dict()["lines"][0]
    assert [w["text"] for w in record["words"]] == ["A", "Quiet", "Town"]
    assert all(len(w["box"]) == 4 and 0 < w["confidence"] <= 1 for w in record["words"])


def test_words_of_an_arabic_page(reader) -> None:
    composed = compose([ARABIC[:4]], rtl=True)
    page = reader.read(composed.image)
    assert page.rtl
    _check(page, true_words(composed))


@pytest.mark.parametrize("degrees", [3.0, 90.0, 180.0])
def test_words_of_a_skewed_and_of_a_turned_page(reader, degrees: float) -> None:
    composed = compose([LATIN[:4]])
    page = reader.read(turned(composed.image, degrees))
    # turned back a further 270 (or 180): 90 + 270 and 180 + 180 are whole turns
    assert page.rotation == {3.0: 0, 90.0: 270, 180.0: 180}[degrees]
    _check(page, true_words(composed, degrees))
    if degrees == 90:  # the boxes are the input image's: tall and narrow, as the words are
        word = page.lines[0].words[1]
        assert word.box is not None and word.box[3] - word.box[1] > word.box[2] - word.box[0]


def test_words_through_the_learned_detectors_path(recognizer) -> None:
    """A detector's quadrilaterals (here the true lines, a little loose, as a learned
    detector finds them) become lines whose words are placed as the classical layout's."""
    composed = compose([LATIN[:4]])
    image = turned(composed.image, 2.0)
    truth = true_words(composed, 2.0)
    h, w = composed.image.shape
    quads = [  # each line's box on the composed page, turned with it
        turned_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], 2.0, (w, h)).tolist()
        for x0, y0, x1, y1 in (np.add(box, (-3, -3, 3, 3)) for box in composed.boxes)
    ]

    class Quads:
        def find_lines(self, gray: np.ndarray, *, rtl: bool = False) -> Layout:
            return layout_from_quads(gray, quads, rtl=rtl)

    page = PageReader(recognizer, detector=Quads()).read(image)
    assert all(ln.words for ln in page.lines)
    # A word's box is as tall as its line's quadrilateral, here 6 px taller than the ink.
    _check(page, truth, median_iou=0.65)
