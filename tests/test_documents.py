"""Documents: PDF pages and multi-page TIFF frames read as ``path#page``; hostile documents
refused one line each while the rest is read; the searchable PDF's text layer extracted
by pdftotext, Arabic in logical order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lineocr.cli import app
from lineocr.documents import DocumentOptions, PageRange, document_pages, iter_pages, write_pdf
from lineocr.documents.inputs import PageRef, fitting_dpi, load_page
from lineocr.images import ImageError
from lineocr.page import Block, Line, Page
from tests.documents_helpers import (
    blank_pdf,
    encrypted_pdf,
    image_pdf,
    multipage_tiff,
    needs_pdftotext,
    pdftotext,
)
from tests.pages_helpers import ARABIC, LATIN, compose

runner = CliRunner()
DPI = 200  # the test documents' resolution: small pages, quick reads


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("documents")
    latin = compose([LATIN[:3]], heading="A Quiet Town", width=1000).image
    arabic = compose([ARABIC[:2]], rtl=True, width=1000).image
    return {
        "pdf": image_pdf(root / "two pages.pdf", [latin, arabic], dpi=DPI),
        "tiff": multipage_tiff(root / "fax.tif", [latin, arabic]),
    }


def read(*args: object):
    return runner.invoke(app, ["read", "-m", "printed", "--dpi", str(DPI), *map(str, args)])


def test_pdf_and_tiff_pages_are_named_path_hash_page(docs) -> None:
    result = read("--format", "jsonl", docs["pdf"], docs["tiff"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    names = [r["path"] for r in records]
    assert names == [f"{docs[k]}#{n}" for k in ("pdf", "tiff") for n in (1, 2)]
    for latin, arabic in (records[:2], records[2:]):
        assert latin["text"].splitlines()[:2] == ["A Quiet Town", LATIN[0]]
        assert arabic["text"].splitlines() == ARABIC[:2]  # a 2-line page is still a page


def test_pages_option_chooses_pages(docs) -> None:
    result = read("--format", "tsv", "--pages", "2", docs["pdf"], docs["tiff"])
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [
        f"{docs['pdf']}#2",
        f"{docs['tiff']}#2",
    ]
    bad = read("--pages", "0-2", docs["pdf"])
    assert bad.exit_code == 2
    assert "--pages" in bad.stderr


def test_page_range_parsing() -> None:
    assert PageRange.parse("1-3,7,10-").select(12) == [1, 2, 3, 7, 10, 11, 12]
    assert PageRange.parse("5,2,2-3").select(4) == [2, 3]  # document order, each once
    for bad in ("", "a", "3-1", "0", "1,,2", "-3"):
        with pytest.raises(ValueError, match="page range"):
            PageRange.parse(bad)


def test_a_one_frame_tiff_is_an_image_under_its_own_name(tmp_path: Path) -> None:
    tiff = multipage_tiff(tmp_path / "one.tif", [np.full((40, 100), 255, np.uint8)])
    assert document_pages(str(tiff), DocumentOptions(), []) is None


def test_hostile_documents_one_line_each_and_the_rest_read(docs, tmp_path: Path) -> None:
    data = docs["pdf"].read_bytes()
    hostile = {
        "encrypted": (encrypted_pdf(tmp_path / "locked.pdf"), "encrypted PDF"),
        "truncated": (tmp_path / "cut.pdf", "not a readable PDF"),
        "junk": (tmp_path / "junk.pdf", "not a readable PDF"),
        "pages": (blank_pdf(tmp_path / "long.pdf", 1500), "1,500 pages, more than the limit"),
        "bomb": (blank_pdf(tmp_path / "bomb.pdf", 1, (14400, 14400)), "page too large"),
        "frames": (
            multipage_tiff(tmp_path / "frames.tif", [np.full((8, 8), 255, np.uint8)] * 30),
            "more than 20 pages, more than the limit of 20",
        ),
    }
    hostile["truncated"][0].write_bytes(data[: len(data) // 3])
    hostile["junk"][0].write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    paths = [docs["pdf"], *(path for path, _ in hostile.values())]
    result = read("--format", "tsv", "--max-pages", "20", *paths)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    for path, reason in hostile.values():
        said = [e for e in errors if e.startswith(f"error: {path}")]
        assert len(said) == 1 and reason in said[0], (path, errors)
    assert "6 of 8 inputs could not be read" in result.stderr
    read_ok = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert read_ok == [f"{docs['pdf']}#1", f"{docs['pdf']}#2"]


def test_a_page_too_large_is_read_at_a_lower_dpi_while_that_is_readable(tmp_path: Path) -> None:
    """A page whose raster would pass the pixel limit is rasterised at the highest dpi that
    fits, said in a warning; one that fits only below 72 dpi is refused (a PDF bomb)."""
    pdf = blank_pdf(tmp_path / "poster.pdf", 1, (720, 720))  # 10 x 10 inches
    notes: list[str] = []
    options = DocumentOptions(dpi=300, max_pixels=1_000_000)
    (ref,) = document_pages(str(pdf), options, notes) or []
    assert ref.dpi == fitting_dpi(720, 720, 300, 1_000_000) == 100
    assert "read at 100 dpi, not 300" in notes[0]
    assert load_page(ref, max_pixels=1_000_000).shape == (1000, 1000)
    small = DocumentOptions(dpi=300, max_pixels=200_000)  # would need 44 dpi
    (bomb,) = document_pages(str(pdf), small, []) or []
    with pytest.raises(ImageError, match="too coarse to read") as caught:
        load_page(bomb, max_pixels=200_000)
    assert caught.value.kind == "too_large"


def test_page_refs_travel_to_worker_processes(docs) -> None:
    import pickle

    (first, second) = document_pages(str(docs["pdf"]), DocumentOptions(dpi=DPI), []) or []
    copy = pickle.loads(pickle.dumps(second))
    assert isinstance(copy, PageRef) and copy == f"{docs['pdf']}#2"
    assert (copy.path, copy.page, copy.dpi, copy.kind) == (str(docs["pdf"]), 2, DPI, "pdf")
    assert np.array_equal(load_page(copy), load_page(second))
    composed = compose([LATIN[:3]], heading="A Quiet Town", width=1000).image
    assert load_page(first).shape == pytest.approx(composed.shape, abs=1)  # back at its dpi


def test_iter_pages_reads_what_the_command_reads(docs, tmp_path: Path) -> None:
    names = [name for name, _ in iter_pages(docs["tiff"])]
    assert names == [f"{docs['tiff']}#1", f"{docs['tiff']}#2"]
    single = tmp_path / "a.png"
    from PIL import Image

    Image.new("L", (30, 10), 255).save(single)
    assert [name for name, _ in iter_pages(single)] == [str(single)]


def test_format_pdf_needs_an_output_file(docs, tmp_path: Path) -> None:
    result = read("--format", "pdf", docs["pdf"])
    assert result.exit_code == 2 and "--output" in result.stderr
    result = read("--output", tmp_path / "x.pdf", docs["pdf"])
    assert result.exit_code == 2 and "give --format pdf" in result.stderr
    result = read("--format", "pdf", "--output", tmp_path / "x.txt", docs["pdf"])
    assert result.exit_code == 2 and ".pdf" in result.stderr


@needs_pdftotext
def test_searchable_pdf_text_extracts_latin_and_arabic_in_logical_order(
    docs, tmp_path: Path
) -> None:
    out = tmp_path / "searchable.pdf"
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 nothing")
    result = read("--format", "pdf", "--output", out, docs["pdf"], bad, docs["tiff"])
    assert result.exit_code == 1  # the bad input said, the rest written
    assert f"error: {bad}: not a readable PDF" in result.stderr
    assert result.stdout == ""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(out))
    source = pdfium.PdfDocument(str(docs["pdf"]))
    assert len(pdf) == 4  # the PDF's pages, then the TIFF's
    assert pdf.get_page_size(0) == pytest.approx(source.get_page_size(0), abs=0.5)
    pages = re.split("\f", pdftotext(out))
    latin, arabic = pages[0], pages[1]
    for line in ("A Quiet Town", *LATIN[:3]):
        assert line in latin.splitlines()
    for line in ARABIC[:2]:  # logical order, plain letters (joined by any text view)
        assert line in arabic.splitlines()
    assert pages[3].split() == arabic.split()  # the TIFF's Arabic frame alike


@needs_pdftotext
def test_searchable_pdf_places_each_line_on_its_ink(tmp_path: Path) -> None:
    """Each line's text lies on its box (so a selection covers the ink), on an upright
    page and on one turned a quarter, as a Page from the page reader gives them."""
    image = np.full((400, 600), 255, np.uint8)
    boxes = [(50, 40, 550, 80), (50, 120, 300, 150)]
    texts = ["Selection follows the ink", "ذهب الولد (إلى) البيت"]
    upright = _page(texts, boxes, rotation=0)
    # The same page turned a quarter counter-clockwise: the reader's polygons start at the
    # line's top-left as read, now at the image's bottom-left.
    turned_boxes = [(y0, 600 - x1, y1, 600 - x0) for x0, y0, x1, y1 in boxes]
    turned = _page(texts, turned_boxes, 90)
    out = tmp_path / "placed.pdf"
    write_pdf([upright, turned], [image, np.ascontiguousarray(np.rot90(image))], out, dpi=72)
    text = pdftotext(out).split("\f")
    assert text[0].splitlines()[:2] == texts
    # Turned back upright, in poppler's order of the blocks.
    assert sorted(ln for ln in text[1].splitlines() if ln) == sorted(texts)
    # 72 dpi: points are pixels.
    assert _ink_of(out, 1, texts[0]) == pytest.approx(boxes[0], abs=1.5)
    assert _ink_of(out, 2, texts[0]) == pytest.approx(turned_boxes[0], abs=1.5)


def _ink_of(pdf: Path, page: int, line: str) -> tuple[float, ...]:
    """The box around the words of ``line`` on ``page``, as pdftotext places them."""
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>',
        pdftotext(pdf, "-bbox", "-f", str(page), "-l", str(page)),
    )
    found = [tuple(map(float, w[:4])) for w in words if w[4] in line.split()]
    assert len(found) == len(line.split())
    return (
        min(w[0] for w in found),
        min(w[1] for w in found),
        max(w[2] for w in found),
        max(w[3] for w in found),
    )


def _page(texts: list[str], boxes: list[tuple[int, int, int, int]], rotation: int) -> Page:
    lines = []
    for text, (x0, y0, x1, y1) in zip(texts, boxes, strict=True):
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]  # as read: TL, TR, BR, BL
        if rotation == 90:  # read upright, the line's top-left is the image's bottom-left
            corners = [(x0, y1), (x0, y0), (x1, y0), (x1, y1)]
        lines.append(Line(text, 0.9, (x0, y0, x1, y1), tuple(corners), 0))
    return Page((Block(tuple(lines)),), rotation, 0.0, (600, 400), rtl=False)


def test_a_library_failure_costs_only_its_document_or_page(docs, monkeypatch) -> None:
    """An exception PDFium's binding raises on a hostile file (any type) is that
    document's or that page's error, never the run's."""
    import pypdfium2 as pdfium

    options = DocumentOptions(dpi=DPI)
    (first, _) = document_pages(str(docs["pdf"]), options, []) or []

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pdfium.PdfPage, "render", broken)
    with pytest.raises(ImageError, match="cannot read the page: RuntimeError: boom"):
        load_page(first)
    monkeypatch.setattr(pdfium.PdfDocument, "get_page_size", broken)
    (listed,) = document_pages(str(docs["pdf"]), options, []) or []
    assert listed == str(docs["pdf"]) and listed.error == "cannot read the PDF: RuntimeError: boom"


@needs_pdftotext
def test_a_slanted_line_is_extracted_whole(tmp_path: Path) -> None:
    """A line skewed 5 degrees (a page scanned askew) is set square across its middle:
    pdftotext splits text turned by such an angle into letters on lines of their own."""
    import math

    text = "Skewed lines are read whole"
    rise = math.tan(math.radians(5)) * 500  # up to the right, as the reader's polygon has it
    corners = ((50, 120), (550, 120 - rise), (550, 160 - rise), (50, 160))
    line = Line(text, 0.9, (50, round(120 - rise), 550, 160), corners, 0)
    page = Page((Block((line,)),), 0, 5.0, (600, 300))
    out = tmp_path / "slanted.pdf"
    write_pdf([page], [np.full((300, 600), 255, np.uint8)], out, dpi=72)
    assert pdftotext(out).split() == text.split()
    x0, y0, x1, y1 = _ink_of(out, 1, text)
    assert (x0, x1) == pytest.approx((50, 550), abs=1.5)
    assert (y0 + y1) / 2 == pytest.approx(140 - rise / 2, abs=1.5)  # across the middle


@needs_pdftotext
def test_searchable_pdf_places_each_word_on_its_own_box(tmp_path: Path) -> None:
    """Where the reader placed a line's words, each word's text lies on the word's box
    (selecting a word selects its ink), Arabic ones too, and the text extracts in
    logical order with its spaces."""
    from lineocr.page import Word

    def line(text: str, spans: list[tuple[int, int]], y0: int, y1: int) -> Line:
        words = tuple(
            Word(w, 0.9, (), (x0, y0, x1, y1), ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))
            for w, (x0, x1) in zip(text.split(), spans, strict=True)
        )
        box = (min(s[0] for s in spans), y0, max(s[1] for s in spans), y1)
        corners = ((box[0], y0), (box[2], y0), (box[2], y1), (box[0], y1))
        return Line(text, 0.9, box, corners, 0, (), words)

    # Words wider and narrower than their letters' share: set across the line, they would
    # land elsewhere ("sit" 23 px to the left).
    latin = line("Words sit apart", [(40, 200), (215, 260), (275, 420)], 40, 80)
    arabic = line("ذهب الولد", [(300, 420), (140, 285)], 120, 160)  # first word on the right
    page = Page((Block((latin, arabic)),), 0, 0.0, (600, 400))
    out = tmp_path / "words.pdf"
    write_pdf([page], [np.full((400, 600), 255, np.uint8)], out, dpi=72)
    assert pdftotext(out).split("\n")[:2] == ["Words sit apart", "ذهب الولد"]
    for word in latin.words:
        assert _ink_of(out, 1, word.text) == pytest.approx(word.box, abs=1.5)
    for word in arabic.words:  # pdftotext's boxes name Arabic words in drawn order
        assert _ink_of(out, 1, word.text[::-1]) == pytest.approx(word.box, abs=1.5)


@needs_pdftotext
def test_the_words_of_a_slanted_line_share_one_baseline(tmp_path: Path) -> None:
    """Placed words of a line skewed 5 degrees are set square on the line's middle, each
    over its own stretch: extracted as one line, each word where its ink is along x."""
    import math

    from lineocr.page import place_words
    from lineocr.prediction import CharConfidence

    text = "Skewed lines are read whole"
    rise = math.tan(math.radians(5)) * 500
    corners = ((50, 120), (550, round(120 - rise)), (550, round(160 - rise)), (50, 160))
    step = 500 / len(text)
    chars = tuple(CharConfidence(c, 0.9, k * step, (k + 1) * step) for k, c in enumerate(text))
    words = place_words(chars, corners, (0, 500), (600, 300))
    line = Line(text, 0.9, (50, round(120 - rise), 550, 160), corners, 0, chars, words)
    out = tmp_path / "slanted_words.pdf"
    write_pdf(
        [Page((Block((line,)),), 0, 5.0, (600, 300))],
        [np.full((300, 600), 255, np.uint8)],
        out,
        dpi=72,
    )
    assert pdftotext(out).split("\n")[0] == text
    for word in words:
        assert word.box is not None
        x0, _, x1, _ = _ink_of(out, 1, word.text)
        assert (x0, x1) == pytest.approx((word.box[0], word.box[2]), abs=2.5)
