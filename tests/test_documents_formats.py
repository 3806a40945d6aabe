"""hOCR, ALTO and PAGE-XML writers: each document passes an independent validator
(tests/format_validators.py names the packages and versions), and the boxes, text,
confidences, reading order and direction written are read back."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from lineocr.documents.formats import (
    DocumentPage,
    line_page,
    to_alto,
    to_hocr,
    to_page_xml,
    to_page_xml_files,
)
from lineocr.documents.formats.common import PAGE_LANGUAGES, words
from lineocr.documents.formats.pagexml import orientation
from lineocr.page import Block, Line, Page
from lineocr.prediction import CharConfidence, Prediction
from tests.format_validators import (
    ALTO_XSD,
    NS,
    PAGE_XSD,
    hocr_errors,
    schema,
    schema_errors,
    xml,
)

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _line(text: str, box: tuple[int, int, int, int], block: int, conf: float = 0.9) -> Line:
    x0, y0, x1, y1 = box
    polygon = ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1))
    chars = tuple(CharConfidence(c, 0.4 if c == "?" else 0.95) for c in text)
    return Line(text, conf, box, polygon, block, chars)


# Reading order differs from top-to-bottom order: the right column's block comes first
# (an RTL page), so the order must come from the Page, not from the boxes.
LATIN_PAGE = Page(
    (
        Block(
            (
                _line('Tom & Jerry <said> "hi"', (40, 30, 380, 70), 0, 0.91),
                _line("second line?", (40, 80, 300, 120), 0, 0.72),
            )
        ),
        Block((_line("Other column", (420, 30, 700, 70), 1, 0.99),)),
    ),
    0,
    0.0,
    (800, 600),
)
ARABIC_PAGE = Page(
    (
        Block((_line("ذهب الولد إلى المدرسة", (420, 30, 760, 80), 0, 0.93),)),
        Block((_line("وكانت الشمس مشرقة", (40, 30, 380, 80), 1, 0.88),)),
    ),
    0,
    0.0,
    (800, 600),
    rtl=True,
)


def _doc() -> list[DocumentPage]:
    return [DocumentPage(LATIN_PAGE, "scans/a b.png"), DocumentPage(ARABIC_PAGE, "fax.tif", 2)]


def test_alto_valid_against_the_alto_4_3_schema() -> None:
    assert schema_errors(to_alto(_doc(), lang="en", created=WHEN), ALTO_XSD) == []


def test_page_xml_valid_against_the_2019_schema() -> None:
    for doc_page in _doc():
        assert schema_errors(to_page_xml(doc_page, lang="ar", created=WHEN), PAGE_XSD) == []


def test_hocr_valid_by_hocr_spec(tmp_path: Path) -> None:
    assert hocr_errors(to_hocr(_doc(), lang="en"), tmp_path) == []


def test_the_validators_do_reject(tmp_path: Path) -> None:
    """The checks are live: each rejects a document missing what its standard requires."""
    alto = to_alto(_doc()).replace('CONTENT="Other" ', "")
    assert any("CONTENT" in e for e in schema_errors(alto, ALTO_XSD))
    page = re.sub(r"<Coords [^>]*/>", "", to_page_xml(_doc()[0]), count=2)
    assert schema_errors(page, PAGE_XSD)
    hocr = re.sub(r'title="bbox [0-9 ]+; x_wconf', 'title="x_wconf', to_hocr(_doc()))
    assert any("bbox" in e for e in hocr_errors(hocr, tmp_path))


def _box_of(title: str) -> tuple[int, ...]:
    found = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", title)
    assert found is not None
    return tuple(int(v) for v in found.groups())


def test_hocr_round_trip(tmp_path: Path) -> None:
    root = etree.fromstring(to_hocr(_doc(), lang="en").encode(), etree.HTMLParser())
    pages = root.xpath("//*[@class='ocr_page']")
    assert len(pages) == 2
    assert 'image "scans/a b.png"' in pages[0].get("title")
    assert _box_of(pages[0].get("title")) == (0, 0, 800, 600)
    for element, page in zip(pages, (LATIN_PAGE, ARABIC_PAGE), strict=True):
        blocks = element.xpath(".//*[@class='ocr_carea']")
        assert len(blocks) == len(page.blocks)
        for block_el, block in zip(blocks, page.blocks, strict=True):
            assert _box_of(block_el.get("title")) == block.box
            lines = block_el.xpath(".//*[@class='ocr_line']")
            assert [ln.text for ln in lines] == [ln.text for ln in block.lines]
            assert [_box_of(ln.get("title")) for ln in lines] == [ln.box for ln in block.lines]
    first = pages[0].xpath(".//*[@class='ocr_line']")[1].get("title")
    assert "x_wconf 72" in first  # the line's confidence, 0-100
    confs = re.search(r"x_confs ([\d ]+)", first)
    assert confs is not None and confs.group(1).split()[-1] == "40"  # the "?"


def test_alto_round_trip() -> None:
    root = xml(to_alto(_doc(), lang="en", created=WHEN))
    pages = root.findall(".//alto:Page", NS)
    assert [p.get("PHYSICAL_IMG_NR") for p in pages] == ["1", "2"]
    assert root.find(".//alto:fileName", NS) is None  # two files: no single image named
    for element, page, p in zip(pages, (LATIN_PAGE, ARABIC_PAGE), (1, 2), strict=True):
        blocks = element.findall(".//alto:TextBlock", NS)
        # The reading order: the blocks in order, and the same order in ReadingOrder.
        refs = root.findall(f".//alto:OrderedGroup[@ID='order_p{p}']/alto:ElementRef", NS)
        assert [r.get("REF") for r in refs] == [b.get("ID") for b in blocks]
        for block_el, block in zip(blocks, page.blocks, strict=True):
            lines = block_el.findall("alto:TextLine", NS)
            texts = [
                " ".join(s.get("CONTENT") for s in ln.findall("alto:String", NS)) for ln in lines
            ]
            assert texts == [ln.text for ln in block.lines]
            for line_el, line in zip(lines, block.lines, strict=True):
                x, y = int(line_el.get("HPOS")), int(line_el.get("VPOS"))
                w, h = int(line_el.get("WIDTH")), int(line_el.get("HEIGHT"))
                assert (x, y, x + w, y + h) == line.box
    question = root.find(".//alto:String[@CONTENT='line?']", NS)
    assert question.get("WC") == "0.4"  # the word's least sure character
    assert question.get("CC") == "0 0 0 0 5"  # 0 sure .. 9 unsure


def test_page_xml_round_trip() -> None:
    root = xml(to_page_xml(_doc()[0], created=WHEN))
    page = root.find("pc:Page", NS)
    assert (page.get("imageFilename"), page.get("imageWidth")) == ("scans/a b.png", "800")
    refs = page.findall("pc:ReadingOrder/pc:OrderedGroup/pc:RegionRefIndexed", NS)
    regions = page.findall("pc:TextRegion", NS)
    assert [r.get("regionRef") for r in sorted(refs, key=lambda r: int(r.get("index")))] == [
        r.get("id") for r in regions
    ]
    for region, block in zip(regions, LATIN_PAGE.blocks, strict=True):
        lines = region.findall("pc:TextLine", NS)
        assert [ln.findtext("pc:TextEquiv/pc:Unicode", namespaces=NS) for ln in lines] == [
            ln.text for ln in block.lines
        ]
        for line_el, line in zip(lines, block.lines, strict=True):
            points = [
                tuple(map(int, p.split(",")))
                for p in line_el.find("pc:Coords", NS).get("points").split()
            ]
            assert tuple(points) == line.polygon
            assert float(line_el.find("pc:TextEquiv", NS).get("conf")) == line.confidence
    assert root.findtext("pc:Metadata/pc:Created", namespaces=NS) == "2025-01-02T03:04:05"


def test_arabic_page_marks_right_to_left(tmp_path: Path) -> None:
    doc = [DocumentPage(ARABIC_PAGE, "ar.png")]
    hocr = etree.fromstring(to_hocr(doc, lang="ar").encode(), etree.HTMLParser())
    assert hocr.xpath("//*[@class='ocr_page']/@dir") == ["rtl"]
    assert set(hocr.xpath("//*[@class='ocr_line']/@dir")) == {"rtl"}
    assert hocr.xpath("//meta[@name='ocr-scripts']/@content") == ["Arab"]
    alto = xml(to_alto(doc, lang="ar"))
    assert {b.get("BASEDIRECTION") for b in alto.findall(".//alto:TextBlock", NS)} == {"rtl"}
    assert {b.get("LANG") for b in alto.findall(".//alto:TextBlock", NS)} == {"ar"}
    page = xml(to_page_xml(doc[0], lang="ar")).find("pc:Page", NS)
    assert page.get("readingDirection") == "right-to-left"
    assert page.get("primaryScript") == "Arab - Arabic"
    assert page.get("primaryLanguage") == "Arabic"
    # The Latin page says left to right.
    latin = xml(to_page_xml(DocumentPage(LATIN_PAGE, "a.png"))).find("pc:Page", NS)
    assert (latin.get("readingDirection"), latin.get("primaryScript")) == (
        "left-to-right",
        "Latn - Latin",
    )


def test_a_line_image_is_a_page_of_one_line() -> None:
    prediction = Prediction("ab c", 0.8, tuple(CharConfidence(c, 0.9) for c in "ab c"))
    page = line_page(prediction, (120, 30))
    assert page.lines[0].box == (0, 0, 120, 30) and page.lines[0].text == "ab c"
    doc = [DocumentPage(page, "line.png")]
    assert schema_errors(to_alto(doc), ALTO_XSD) == []
    assert schema_errors(to_page_xml(doc[0]), PAGE_XSD) == []
    assert [w.text for w in words(page.lines[0])] == ["ab", "c"]


def test_an_empty_line_and_an_empty_page_stay_valid(tmp_path: Path) -> None:
    empty_line = Page((Block((_line("", (0, 0, 10, 10), 0),)),), 0, 0.0, (50, 20))
    blank = Page((), 0, 0.0, (50, 20))
    doc = [DocumentPage(empty_line, "a.png"), DocumentPage(blank, "b.png")]
    assert schema_errors(to_alto(doc), ALTO_XSD) == []
    for doc_page in doc:
        assert schema_errors(to_page_xml(doc_page), PAGE_XSD) == []
    assert hocr_errors(to_hocr(doc), tmp_path) == []


def test_names_and_text_xml_cannot_hold_are_replaced(tmp_path: Path) -> None:
    page = Page((Block((_line("a\x00b", (0, 0, 10, 10), 0),)),), 0, 0.0, (50, 20))
    doc = [DocumentPage(page, 'bad\udcffname;"q".png')]
    for text in (to_alto(doc), to_page_xml(doc[0])):
        assert "a\ufffdb" in text and etree.fromstring(text.encode()) is not None
    hocr = to_hocr(doc)
    assert (
        'image "bad\ufffdname%3B\\"q\\".png"'
        in etree.fromstring(hocr.encode(), etree.HTMLParser()).xpath(
            "//*[@class='ocr_page']/@title"
        )[0]
    )
    assert hocr_errors(hocr, tmp_path) == []


def test_page_xml_files_one_per_page_named_after_the_images() -> None:
    doc = [
        DocumentPage(LATIN_PAGE, "a/scan.png"),
        DocumentPage(LATIN_PAGE, "b/scan.png"),
        DocumentPage(ARABIC_PAGE, "fax.tif", 3),
    ]
    files = to_page_xml_files(doc)
    assert list(files) == ["scan.xml", "scan_2.xml", "fax_p0003.xml"]
    assert xml(files["fax_p0003.xml"]).find("pc:Page", NS).get("imageFilename") == "fax.tif"


def test_alto_of_one_file_names_it_and_numbers_its_pages() -> None:
    doc = [DocumentPage(LATIN_PAGE, "scan.pdf", 4), DocumentPage(ARABIC_PAGE, "scan.pdf", 5)]
    root = xml(to_alto(doc))
    assert root.findtext(".//alto:fileName", namespaces=NS) == "scan.pdf"
    assert [p.get("PHYSICAL_IMG_NR") for p in root.findall(".//alto:Page", NS)] == ["4", "5"]


@pytest.mark.parametrize(
    ("rotation", "skew", "expected"),
    [(0, 0.0, 0.0), (90, 0.0, -90.0), (270, 0.0, 90.0), (180, 1.5, -178.5), (0, -2.0, -2.0)],
)
def test_page_orientation(rotation: int, skew: float, expected: float) -> None:
    assert orientation(rotation, skew) == expected


def test_page_language_names_are_the_schemas() -> None:
    """Every language name lineocr writes is one of PAGE-XML's LanguageSimpleType."""
    xsd = schema(PAGE_XSD)  # parsed and compiled; now read its enumeration
    del xsd
    from tests.format_validators import _shipped

    tree = etree.parse(str(_shipped(PAGE_XSD)))
    names = set(
        tree.xpath(
            "//xs:simpleType[@name='LanguageSimpleType']//xs:enumeration/@value",
            namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
        )
    )
    assert set(PAGE_LANGUAGES.values()) <= names


def test_a_bad_language_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="language tag"):
        to_hocr(_doc(), lang="english language")


def _placed_line(text: str, box: tuple[int, int, int, int], block: int) -> Line:
    """A line whose characters were placed on its image (as the page reader reads them):
    each character an equal share of the box's width, right to left for Arabic."""
    from lineocr.page import place_words

    x0, y0, x1, y1 = box
    polygon = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))  # pixel edges, as the layout's
    step = (x1 - x0) / len(text)
    rtl = any("\u0600" <= c <= "\u06ff" for c in text)
    chars = tuple(
        CharConfidence(c, 0.4 if c == "?" else 0.95, (j if not rtl else len(text) - 1 - j) * step)
        for j, c in enumerate(text)
    )
    chars = tuple(CharConfidence(c.char, c.confidence, c.x0, c.x0 + step) for c in chars)
    words_placed = place_words(chars, polygon, (0, x1 - x0), (800, 600))
    return Line(text, 0.9, box, polygon, block, chars, words_placed)


PLACED_PAGE = Page(
    (
        Block((_placed_line("Tom & Jerry", (40, 30, 370, 70), 0),)),
        Block((_placed_line("ذهب الولد", (420, 30, 600, 80), 1),)),
    ),
    0,
    0.0,
    (800, 600),
)


def test_words_with_boxes_in_every_format(tmp_path: Path) -> None:
    doc = [DocumentPage(PLACED_PAGE, "placed.png")]
    latin, arabic = PLACED_PAGE.lines
    # 30 px a character, boxes at pixel edges (ends exclusive) as the line's
    assert [w.box for w in latin.words] == [
        (40, 30, 130, 70),
        (160, 30, 190, 70),
        (220, 30, 370, 70),
    ]
    # hOCR: ocrx_word spans with their boxes and confidences inside each line.
    hocr = to_hocr(doc)
    assert hocr_errors(hocr, tmp_path) == []
    root = etree.fromstring(hocr.encode(), etree.HTMLParser())
    assert "ocrx_word" in root.xpath("//meta[@name='ocr-capabilities']/@content")[0]
    line_words = [
        [(w.text, _box_of(w.get("title"))) for w in ln.xpath(".//*[@class='ocrx_word']")]
        for ln in root.xpath("//*[@class='ocr_line']")
    ]
    assert line_words == [[(w.text, w.box) for w in ln.words] for ln in (latin, arabic)]
    assert "x_wconf 95" in root.xpath("//*[@class='ocrx_word']/@title")[0]
    # ALTO: each String with its box.
    alto = to_alto(doc, created=WHEN)
    assert schema_errors(alto, ALTO_XSD) == []
    strings = xml(alto).findall(".//alto:String", NS)
    found = [
        (s.get("CONTENT"), *(int(s.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")))
        for s in strings
    ]
    expected = [
        (w.text, w.box[0], w.box[1], w.box[2] - w.box[0], w.box[3] - w.box[1])
        for ln in (latin, arabic)
        for w in ln.words
    ]
    assert found == expected
    # PAGE-XML: Word elements with their quadrilaterals, between the line's Coords and its
    # TextEquiv (the schema's order).
    page_xml = to_page_xml(doc[0], created=WHEN)
    assert schema_errors(page_xml, PAGE_XSD) == []
    line_el = xml(page_xml).find(".//pc:TextLine", NS)
    assert [etree.QName(c).localname for c in line_el] == [
        "Coords",
        "Word",
        "Word",
        "Word",
        "TextEquiv",
    ]
    word = line_el.find("pc:Word", NS)
    assert word.findtext("pc:TextEquiv/pc:Unicode", namespaces=NS) == "Tom"
    points = [
        tuple(map(int, p.split(","))) for p in word.find("pc:Coords", NS).get("points").split()
    ]
    assert points == list(latin.words[0].polygon)


def test_a_line_without_placed_words_keeps_its_text_on_the_line(tmp_path: Path) -> None:
    """A line made by hand (no places): no word boxes are made up."""
    doc = [DocumentPage(LATIN_PAGE, "a.png")]
    root = etree.fromstring(to_hocr(doc).encode(), etree.HTMLParser())
    assert root.xpath("//*[@class='ocrx_word']") == []
    assert xml(to_alto(doc)).find(".//alto:String[@HPOS]", NS) is None
    assert xml(to_page_xml(doc[0])).find(".//pc:Word", NS) is None


def test_a_line_image_read_with_places_has_its_words_placed() -> None:
    chars = tuple(CharConfidence(c, 0.9, 10.0 * k, 10.0 * k + 10) for k, c in enumerate("ab c"))
    page = line_page(Prediction("ab c", 0.8, chars), (41, 30))
    placed = [(w.text, w.box) for w in page.lines[0].words]
    assert placed == [("ab", (0, 0, 20, 30)), ("c", (30, 0, 40, 30))]
